/**
 * Backpressure for the node's verifications in progress (inflightMax, shared by every peer). Before a
 * connection hands on a message that needs checking, it asks the gate; while the cap is reached, or others
 * already wait, it stops (its socket is not read) and waits its turn, and the gate resumes the waiting
 * connections in the order they came once half the cap is free. So overload slows every sender in turn
 * instead of dropping a broadcast from whoever sent next, honest relays included (issue 16, item 3).
 * Pure: the node says when the cap is reached and when a check ended.
 */
import type { DeferredWork } from './turn-budget.ts';

/** A queue of connections waiting for room among the verifications in progress. */
export class OverloadGate {
  readonly #waiting = new Set<DeferredWork>();
  /** Times a connection had to wait, since start. */
  waits = 0;

  /**
   * @param inflight checks in progress now
   * @param inflightMax the cap on them (the gossip core's inflightMax)
   */
  constructor(
    private readonly inflight: () => number,
    private readonly inflightMax: number,
  ) {}

  /** Connections waiting. */
  get waitingCount(): number {
    return this.#waiting.size;
  }

  /**
   * Whether `work` may hand on one more message now. When it may not, it is queued and resumed (its
   * resumeWork) once there is room; new work queues behind work already waiting.
   */
  admit(work: DeferredWork): boolean {
    if (this.#waiting.size === 0 && this.inflight() < this.inflightMax) return true;
    if (!this.#waiting.has(work)) this.waits++;
    this.#waiting.add(work);
    return false;
  }

  /**
   * A check ended. Once half the cap is free, the waiting work resumes in order; each takes what room there
   * is and queues again, at the back, when the cap is reached before it is done.
   */
  release(): void {
    if (this.#waiting.size === 0 || this.inflight() > this.inflightMax >> 1) return;
    const round = [...this.#waiting];
    this.#waiting.clear();
    for (const w of round) w.resumeWork();
  }

  /** Forgets the waiting work (the node is stopping). */
  clear(): void {
    this.#waiting.clear();
  }
}
