/**
 * The virtual clock and event queue of the full-node simulator: events run in (time, insertion) order, so a
 * run is a pure function of its seed. A runaway guard turns an endless loop (a relay storm, a reconnect loop)
 * into a failure that names the seed.
 */

interface Event {
  at: number;
  seq: number;
  fn: () => void;
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A binary min-heap of timed callbacks over a virtual clock in ms. */
export class Scheduler {
  now: number;
  /** Events run so far. */
  events = 0;
  readonly #queue: Event[] = [];
  #seq = 0;
  readonly #eventsMax: number;
  readonly #label: string;

  constructor(startMs: number, eventsMax: number, label: string) {
    this.now = startMs;
    this.#eventsMax = eventsMax;
    this.#label = label;
  }

  /** Runs `fn` at virtual time `ms` (never earlier than now). */
  at(ms: number, fn: () => void): void {
    const q = this.#queue;
    q.push({ at: Math.max(ms, this.now), seq: this.#seq++, fn });
    for (let i = q.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(q[i]!, q[p]!)) break;
      [q[i], q[p]] = [q[p]!, q[i]!];
      i = p;
    }
  }

  /** Runs `fn` after `ms`. */
  after(ms: number, fn: () => void): void {
    this.at(this.now + ms, fn);
  }

  /** Runs every event up to and including `untilMs`, then sets the clock to it. */
  runUntil(untilMs: number): void {
    for (let e = this.#queue[0]; e !== undefined && e.at <= untilMs; e = this.#queue[0]) {
      this.#pop();
      if (++this.events > this.#eventsMax) throw new Error(`${this.#label} runaway: more than ${this.#eventsMax} events`);
      this.now = e.at;
      e.fn();
    }
    this.now = untilMs;
  }

  #pop(): void {
    const q = this.#queue;
    const last = q.pop();
    if (last === undefined || q.length === 0) return;
    q[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < q.length && before(q[l]!, q[m]!)) m = l;
      if (r < q.length && before(q[r]!, q[m]!)) m = r;
      if (m === i) break;
      [q[i], q[m]] = [q[m]!, q[i]!];
      i = m;
    }
  }
}
