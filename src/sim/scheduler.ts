/**
 * One virtual timeline for a simulated network: events run in (time, insertion) order, and after each one
 * every promise continuation it set off runs before the next event, as they would on a machine before the
 * event loop moves on. So the node code, which awaits its verifier and its disk, runs unchanged, and a run
 * is a pure function of its seed. A runaway guard turns an endless loop (a relay storm, a reconnect loop)
 * into a failure that names the run.
 */
import { EventQueue } from './event-queue.ts';

/** Settles every pending promise continuation: a macrotask runs only once the microtask queue is empty. */
const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Timed callbacks over a virtual clock in ms. */
export class Scheduler {
  now: number;
  /** Events run so far. */
  events = 0;
  readonly #queue = new EventQueue();
  readonly #eventsMax: number;
  readonly #label: string;

  /** @param label names the run in errors (e.g. `seed=42`), so a failure can be replayed */
  constructor(startMs: number, eventsMax: number, label: string) {
    this.now = startMs;
    this.#eventsMax = eventsMax;
    this.#label = label;
  }

  /** Runs `fn` at virtual time `ms` (never earlier than now). */
  at(ms: number, fn: () => void): void {
    this.#queue.push(Math.max(ms, this.now), fn);
  }

  /** Runs `fn` after `ms`. */
  after(ms: number, fn: () => void): void {
    this.at(this.now + ms, fn);
  }

  /** Time of the next event, if any. */
  get nextAt(): number | undefined {
    return this.#queue.peek()?.at;
  }

  /**
   * Runs every event up to and including `untilMs`, each followed by the promise work it caused, then sets
   * the clock to `untilMs`. An exception from an event fails the run, with its label and time.
   */
  async run(untilMs: number): Promise<void> {
    let failure: unknown = null;
    const fail = (err: unknown): void => void (failure ??= err);
    // A throw inside promise work (or an error rethrown in a microtask) fails the run too, with its label.
    process.on('unhandledRejection', fail);
    process.on('uncaughtException', fail);
    try {
      // Promise work started before the run (a node's start) comes first, at the current time.
      await drainMicrotasks();
      for (let e = this.#queue.peek(); e !== undefined && e.at <= untilMs; e = this.#queue.peek()) {
        this.#queue.pop();
        if (++this.events > this.#eventsMax) throw new Error(`${this.#label} runaway: more than ${this.#eventsMax} events`);
        this.now = e.at;
        try {
          e.fn();
        } catch (err) {
          fail(err);
        }
        await drainMicrotasks();
        if (failure !== null) throw new Error(`${this.#label} at ${this.now} ms: ${(failure as Error).stack ?? String(failure)}`);
      }
    } finally {
      process.off('unhandledRejection', fail);
      process.off('uncaughtException', fail);
    }
    this.now = Math.max(this.now, untilMs);
  }
}
