/**
 * One simulated machine: an address, a clock that reads the shared virtual timeline plus an offset of its
 * own (machines' clocks differ), seeded randomness, and a process that can be paused (SIGSTOP: whatever
 * reaches it waits, in order, and runs when it resumes) or killed and started again (SIGKILL: its memory,
 * timers and pending events are gone; a new incarnation starts from what the test kept, e.g. its store).
 * Everything that reaches a host's code (timers, link data, dial answers) goes through `run`, so a dead or
 * paused process never acts.
 *
 * Code runs in no virtual time unless a test says what it costs: `spend(ms)` is work on the process's one
 * thread (the event loop), so its clock moves on by that much and what reaches it meanwhile waits, in order,
 * until the thread is free, as on a machine whose event loop is busy. `continueWith` is work the process
 * goes on with before any of that (a MessagePort read again while results keep coming).
 */
import type { Clock, Timer } from '../io/clock.ts';
import type { Random } from '../io/random.ts';
import { Prng } from './prng.ts';
import type { Scheduler } from './scheduler.ts';

/** A seeded Random. */
export function seededRandom(seed: number): Random {
  const rng = new Prng(seed);
  return {
    next: () => rng.next(),
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(rng.next() * 256);
      return out;
    },
  };
}

/** A machine of the simulated network. */
export class SimHost {
  /** Bumped by every kill: events of an earlier incarnation are dropped. */
  #incarnation = 0;
  #alive = true;
  #pausedUntilMs = Number.NEGATIVE_INFINITY;
  #backlog: Array<() => void> = [];
  /** The process's thread is busy with work (spend) until this timeline time. */
  #busyUntilMs = Number.NEGATIVE_INFINITY;
  /** What reached the process while its thread was busy, in order; and what it goes on with first (continueWith). */
  #waiting: Array<() => void> = [];
  #next: Array<() => void> = [];
  /** A wake-up to run the next of those is scheduled. */
  #wakeScheduled = false;

  constructor(
    readonly sched: Scheduler,
    /** The host's IP address on the simulated network. */
    readonly ip: string,
    /** How far this machine's clock reads ahead of the timeline (negative: behind), in ms. */
    public offsetMs = 0,
  ) {}

  get alive(): boolean {
    return this.#alive;
  }

  get paused(): boolean {
    return this.sched.now < this.#pausedUntilMs;
  }

  /** The current incarnation (to tie an event to the process that caused it). */
  get incarnation(): number {
    return this.#incarnation;
  }

  /** Runs `fn` as the process of incarnation `inc` would: now, once its thread is free, after a pause, or never if it died. */
  run(inc: number, fn: () => void): void {
    if (!this.#alive || inc !== this.#incarnation) return;
    if (this.paused) this.#backlog.push(fn);
    else if (this.sched.now < this.#busyUntilMs || this.#waiting.length > 0 || this.#next.length > 0) {
      this.#waiting.push(fn);
      this.#wakeLater();
    } else fn();
  }

  /**
   * Runs `fn` once the work the process is doing now is done, before anything that reached it meanwhile (and
   * after what it was already to go on with).
   */
  continueWith(fn: () => void): void {
    this.#next.push(fn);
    this.#wakeLater();
  }

  /** One wake-up when the thread is free: it runs one waiting function (a new event each, so each one's promise work runs before the next). */
  #wakeLater(): void {
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    const inc = this.#incarnation;
    this.sched.at(Math.max(this.#busyUntilMs, this.#pausedUntilMs, this.sched.now), () => {
      this.#wakeScheduled = false;
      if (!this.#alive || inc !== this.#incarnation) return;
      const fn = this.sched.now < Math.max(this.#busyUntilMs, this.#pausedUntilMs) ? undefined : (this.#next.shift() ?? this.#waiting.shift());
      if (this.#next.length > 0 || this.#waiting.length > 0) this.#wakeLater();
      fn?.();
    });
  }

  /**
   * The process works `ms` on its thread (virtual time, from now or from the end of the work it is already
   * doing): its clock reads that much later, and events that reach it meanwhile wait until it is done.
   */
  spend(ms: number): void {
    this.#busyUntilMs = this.#timelineNow + ms;
  }

  /** The timeline time as the process sees it: now, or the end of the work it is doing. */
  get #timelineNow(): number {
    return Math.max(this.sched.now, this.#busyUntilMs);
  }

  /** Runs `fn` at timeline time `ms` in the current incarnation. */
  at(ms: number, fn: () => void): void {
    const inc = this.#incarnation;
    this.sched.at(ms, () => this.run(inc, fn));
  }

  /** SIGSTOP for `ms`, then SIGCONT: what arrived meanwhile runs then, in order. */
  pause(ms: number): void {
    const until = this.sched.now + ms;
    this.#pausedUntilMs = Math.max(this.#pausedUntilMs, until);
    const inc = this.#incarnation;
    this.sched.at(until, () => {
      if (inc !== this.#incarnation || this.paused) return;
      const backlog = this.#backlog;
      this.#backlog = [];
      // One event each, in order: the promise work of one runs before the next, as on a machine.
      for (const fn of backlog) this.sched.at(this.sched.now, () => this.run(inc, fn));
    });
  }

  /** SIGKILL: nothing of this incarnation runs again. */
  kill(): void {
    this.#alive = false;
    this.#incarnation++;
    this.#backlog = [];
    this.#pausedUntilMs = Number.NEGATIVE_INFINITY;
    this.#busyUntilMs = Number.NEGATIVE_INFINITY;
    this.#waiting = [];
    this.#next = [];
    this.#wakeScheduled = false;
  }

  /** Starts a new process on this machine (after a kill). */
  restart(): void {
    this.#alive = true;
  }

  /** A Clock for the current incarnation: the timeline plus this machine's offset, timers through `run`. */
  clock(): Clock {
    const inc = this.#incarnation;
    const sched = this.sched;
    const once = (fn: () => void, atMs: number): Timer => {
      let live = true;
      sched.at(atMs, () => this.run(inc, () => live && fn()));
      return { cancel: () => void (live = false) };
    };
    return {
      now: () => this.#timelineNow + this.offsetMs,
      setTimer: (fn, ms) => once(fn, this.#timelineNow + Math.max(0, ms)),
      nextTurn: (fn) => once(fn, this.#timelineNow),
      setRepeating: (fn, ms) => {
        let live = true;
        // Re-armed when it runs, so a paused process fires once on resume, as a Node interval does.
        const arm = (): void => sched.at(this.#timelineNow + ms, () => this.run(inc, () => {
          if (!live) return;
          arm();
          fn();
        }));
        arm();
        return { cancel: () => void (live = false) };
      },
    };
  }
}
