/**
 * A peer's message and byte rates as backpressure: over a rate, reading from the peer stops until its token
 * bucket has refilled, so TCP slows the peer down. Nothing is dropped or scored (issue 16, item 3): a peer
 * over our rate may be an honest relay passing on what many others sent it, and scoring it would ban exactly
 * the node that connects us to them; what a flood costs us stays bounded by the rate, and its invalid or
 * duplicate content is scored by its own offences.
 */
import type { Clock, Timer } from '../io/clock.ts';
import { TokenBucket } from '../token-bucket.ts';

/** The rates of one peer. */
export interface RateLimits {
  peerMsgsPerSec: number;
  peerMsgsBurst: number;
  peerBytesPerSec: number;
  peerBytesBurst: number;
}

/** What a hold's end calls back. */
export interface RateHoldEvents {
  /** The byte bucket is out of debt: reading may resume unless something else holds it. */
  bytesRepaid(): void;
  /** The message bucket is out of debt: the messages that waited may be handled. */
  messagesRepaid(): void;
}

/** The two holds of one connection. */
export class RateHolds {
  readonly #msgBucket: TokenBucket;
  readonly #byteBucket: TokenBucket;
  #bytesHeld = false;
  #msgsHeld = false;
  #byteTimer: Timer | null = null;
  #msgTimer: Timer | null = null;

  constructor(
    limits: RateLimits,
    private readonly clock: Clock,
    private readonly events: RateHoldEvents,
    /** `rateHolds` counts the times reading stopped because the peer went over one of its rates. */
    private readonly counters: { rateHolds: number },
  ) {
    this.#msgBucket = new TokenBucket({ ratePerSec: limits.peerMsgsPerSec, burst: limits.peerMsgsBurst }, clock.now());
    this.#byteBucket = new TokenBucket({ ratePerSec: limits.peerBytesPerSec, burst: limits.peerBytesBurst }, clock.now());
  }

  /** The peer is over its byte rate: the socket is not read. */
  get bytesHeld(): boolean {
    return this.#bytesHeld;
  }

  /** The peer is over its message rate: its next messages wait. */
  get messagesHeld(): boolean {
    return this.#msgsHeld;
  }

  /**
   * Charges a read to the byte bucket. If that put the bucket in debt, reading stops (the connection pauses
   * once this read is handled) until the refill has repaid it. Since nothing is read while in debt, the debt
   * is at most one read chunk.
   */
  chargeBytes(bytes: number, now: number): void {
    const waitMs = this.#byteBucket.spend(bytes, now);
    if (waitMs === 0) return;
    // A read while held (data the stream had already taken in before the pause) only lengthens the hold.
    this.#byteTimer?.cancel();
    // Resumed unconditionally when the timer fires: a wall clock stepped backwards refills nothing until it
    // catches up, and must not hold a link for the size of the step; the debt left lengthens the next hold.
    this.#byteTimer = this.clock.setTimer(() => this.#endByteHold(), Math.ceil(waitMs));
    if (this.#bytesHeld) return;
    this.#bytesHeld = true;
    this.counters.rateHolds++;
  }

  /**
   * Charges one message to the message bucket. Over the rate, the message is still handled and the ones after
   * it wait until the refill has repaid the debt.
   */
  chargeMessage(): void {
    // The clock, not the time of the read: frames that waited are handled later than they were read.
    const waitMs = this.#msgBucket.spend(1, this.clock.now());
    if (waitMs === 0 || this.#msgsHeld) return;
    this.#msgsHeld = true;
    this.counters.rateHolds++;
    this.#msgTimer = this.clock.setTimer(() => this.#endMessageHold(), Math.ceil(waitMs));
  }

  /** Hold timers now set (for tests: a closed connection leaves none). */
  get timersSet(): number {
    return (this.#byteTimer ? 1 : 0) + (this.#msgTimer ? 1 : 0);
  }

  /** Ends both holds without calling back: the connection is closing. */
  stop(): void {
    this.#byteTimer?.cancel();
    this.#byteTimer = null;
    this.#bytesHeld = false;
    this.#msgTimer?.cancel();
    this.#msgTimer = null;
    this.#msgsHeld = false;
  }

  #endByteHold(): void {
    this.#byteTimer = null;
    this.#bytesHeld = false;
    this.events.bytesRepaid();
  }

  #endMessageHold(): void {
    this.#msgTimer = null;
    this.#msgsHeld = false;
    this.events.messagesRepaid();
  }
}
