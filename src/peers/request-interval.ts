/**
 * Per-peer spacing of requests that cost us a reply (getpeers, getchain): one answer per peer per interval.
 * A request that comes too soon is ignored, not scored: an honest node that resyncs or reconnects twice
 * asks twice, and answering it later gains it nothing a repeated ask would not.
 */

/** When each peer was last answered, and whether it may be answered now. Time is passed in. */
export class RequestInterval {
  readonly #lastMs = new Map<string, number>();

  /** @param intervalMs least time between two answers to one peer */
  constructor(readonly intervalMs: number) {}

  /** True (and the answer is counted) when `peerId` was not answered within the interval before `nowMs`. */
  allow(peerId: string, nowMs: number): boolean {
    if (nowMs - (this.#lastMs.get(peerId) ?? Number.NEGATIVE_INFINITY) < this.intervalMs) return false;
    this.#lastMs.set(peerId, nowMs);
    return true;
  }

  /** Forgets a peer that disconnected, so the table holds open peers only. */
  forget(peerId: string): void {
    this.#lastMs.delete(peerId);
  }

  /** Peers remembered (for tests). */
  get size(): number {
    return this.#lastMs.size;
  }
}
