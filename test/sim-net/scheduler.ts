/**
 * The virtual clock and event queue of the full-node simulator: events run in (time, insertion) order, so a
 * run is a pure function of its seed. A runaway guard turns an endless loop (a relay storm, a reconnect loop)
 * into a failure that names the seed.
 */

import { EventQueue } from '../sim/event-queue.ts';

/** Timed callbacks over a virtual clock in ms. */
export class Scheduler {
  now: number;
  /** Events run so far. */
  events = 0;
  readonly #queue = new EventQueue();
  readonly #eventsMax: number;
  readonly #label: string;

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

  /** Runs every event up to and including `untilMs`, then sets the clock to it. */
  runUntil(untilMs: number): void {
    for (let e = this.#queue.peek(); e !== undefined && e.at <= untilMs; e = this.#queue.peek()) {
      this.#queue.pop();
      if (++this.events > this.#eventsMax) throw new Error(`${this.#label} runaway: more than ${this.#eventsMax} events`);
      this.now = e.at;
      e.fn();
    }
    this.now = untilMs;
  }
}
