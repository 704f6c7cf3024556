/**
 * A binary min-heap of timed callbacks ordered by (time, insertion): the event queue of every simulator here
 * (the consensus simulator, the full-node fault simulator and the in-memory consensus benchmark), so a run
 * is a pure function of its seed.
 */

/** One queued callback. */
export interface QueuedEvent<F> {
  at: number;
  seq: number;
  fn: F;
}

function before<F>(a: QueuedEvent<F>, b: QueuedEvent<F>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Events in (at, seq) order; equal times run in the order they were pushed. */
export class EventQueue<F = () => void> {
  readonly #q: QueuedEvent<F>[] = [];
  #seq = 0;

  /** The next event, without removing it. */
  peek(): QueuedEvent<F> | undefined {
    return this.#q[0];
  }

  push(at: number, fn: F): void {
    const q = this.#q;
    q.push({ at, seq: this.#seq++, fn });
    for (let i = q.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(q[i]!, q[p]!)) break;
      [q[i], q[p]] = [q[p]!, q[i]!];
      i = p;
    }
  }

  pop(): QueuedEvent<F> | undefined {
    const q = this.#q;
    const top = q[0];
    const last = q.pop();
    if (top === undefined || last === undefined || q.length === 0) return top;
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
    return top;
  }
}
