/**
 * One simulated machine: an address, a clock that reads the shared virtual timeline plus an offset of its
 * own (machines' clocks differ), seeded randomness, and a process that can be paused (SIGSTOP: whatever
 * reaches it waits, in order, and runs when it resumes) or killed and started again (SIGKILL: its memory,
 * timers and pending events are gone; a new incarnation starts from what the test kept, e.g. its store).
 * Everything that reaches a host's code (timers, link data, dial answers) goes through `run`, so a dead or
 * paused process never acts.
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

  /** Runs `fn` as the process of incarnation `inc` would: now, after a pause, or never if it died. */
  run(inc: number, fn: () => void): void {
    if (!this.#alive || inc !== this.#incarnation) return;
    if (this.paused) this.#backlog.push(fn);
    else fn();
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
      now: () => sched.now + this.offsetMs,
      setTimer: (fn, ms) => once(fn, sched.now + Math.max(0, ms)),
      nextTurn: (fn) => once(fn, sched.now),
      setRepeating: (fn, ms) => {
        let live = true;
        // Re-armed when it runs, so a paused process fires once on resume, as a Node interval does.
        const arm = (): void => sched.at(sched.now + ms, () => this.run(inc, () => {
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
