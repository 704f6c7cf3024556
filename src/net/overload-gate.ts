/**
 * Backpressure for the node's verifications in progress (inflightMax, shared by every peer). Before a
 * connection hands on a message that needs checking, it asks the gate; while the cap is reached, or others
 * already wait, it stops (its socket is not read) and waits its turn, and once half the cap is free the gate
 * resumes the waiting connections, each with its fair share of the free room (the room over the connections
 * waiting, at least one), queueing again at the back if it has more. So overload slows every sender in
 * proportion to what it sends instead of dropping a broadcast from whoever sent next, honest relays
 * included (issue 16, item 3), and the first connection resumed cannot take all the room.
 *
 * A connection with nothing of its own being checked goes straight in while there is room, even when others
 * wait: a peer that sends a message now and then (a light honest neighbour) is never queued behind the
 * backlogs of those that send much. Each such connection has at most one message in flight that way, so the
 * waiting connections still get room once half the cap is free.
 *
 * Pure: the node says when the cap is reached and when a check ended.
 */
import type { DeferredWork } from './turn-budget.ts';

/** A queue of connections waiting for room among the verifications in progress. */
export class OverloadGate {
  readonly #waiting = new Set<DeferredWork>();
  /** Messages each connection resumed in the current release may still hand on (its fair share). */
  readonly #allowance = new Map<DeferredWork, number>();
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
   * Whether `work` may hand on one more message now, given `ownInflight` of its messages being checked. When
   * it may not, it is queued (at the back) and resumed (its resumeWork) once there is room.
   */
  admit(work: DeferredWork, ownInflight: number): boolean {
    const allowance = this.#allowance.get(work);
    if (allowance !== undefined) {
      // Resumed by release(): it may take its share, then it queues again behind the others.
      if (allowance > 0 && this.inflight() < this.inflightMax) {
        this.#allowance.set(work, allowance - 1);
        return true;
      }
      this.#allowance.delete(work);
      return this.#wait(work);
    }
    if (this.inflight() >= this.inflightMax || this.#waiting.has(work)) return this.#wait(work);
    // Nobody waits, or this connection has nothing being checked: it goes ahead (see the file's comment).
    if (this.#waiting.size === 0 || ownInflight === 0) return true;
    return this.#wait(work);
  }

  /**
   * A check ended. Once half the cap is free, the waiting work resumes in order, each with its fair share
   * of the free room (when the room is smaller than the queue, one each for the first ones, the rest keeping
   * their places); what has more queues again, at the back.
   */
  release(): void {
    if (this.#waiting.size === 0 || this.inflight() > this.inflightMax >> 1) return;
    const room = this.inflightMax - this.inflight();
    const round = [...this.#waiting].slice(0, room);
    for (const w of round) this.#waiting.delete(w);
    const share = Math.max(1, Math.floor(room / round.length));
    for (const w of round) this.#allowance.set(w, share);
    try {
      for (const w of round) w.resumeWork();
    } finally {
      this.#allowance.clear();
    }
  }

  /** Forgets the waiting work (the node is stopping). */
  clear(): void {
    this.#waiting.clear();
    this.#allowance.clear();
  }

  #wait(work: DeferredWork): false {
    if (!this.#waiting.has(work)) this.waits++;
    this.#waiting.add(work);
    return false;
  }
}
