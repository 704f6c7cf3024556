/**
 * A token bucket for rate limits (messages or bytes per peer). Tokens refill continuously at `ratePerSec`
 * up to `burst`; time is passed in, so the bucket never reads a clock. `take` refuses what it cannot pay
 * (a whole message can be dropped); `spend` always pays and may leave the bucket in debt, for a byte stream
 * whose bytes cannot be dropped without breaking its framing: the owner then stops reading for a while.
 */
import { optionsObject, positiveNumber } from './options.ts';
import { assert, StrongcastError } from './errors.ts';

/** Options of {@link TokenBucket}. Both are required: a rate limit has no sensible universal default. */
export interface TokenBucketOptions {
  /** Tokens added per second of elapsed time, continuously (not in steps). */
  ratePerSec: number;
  /** Most tokens the bucket holds; also the cost of the largest single take that can ever succeed. */
  burst: number;
}

/** A bucket that starts full. */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #atMs: number;

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(options: TokenBucketOptions, nowMs: number) {
    optionsObject(options);
    if (options === undefined) throw new StrongcastError('ERR_INVALID_OPTION', 'options must be an object');
    this.#ratePerMs = positiveNumber(options.ratePerSec, 'ratePerSec') / 1000;
    this.#burst = positiveNumber(options.burst, 'burst');
    this.#tokens = this.#burst;
    this.#atMs = nowMs;
  }

  /** Tokens available at `nowMs` (a fraction while refilling). */
  tokens(nowMs: number): number {
    this.#refill(nowMs);
    return this.#tokens;
  }

  /**
   * Takes `cost` tokens if that many are available and returns true; otherwise takes nothing and returns
   * false. A cost above `burst` never succeeds. A cost of 0 always succeeds.
   */
  take(cost: number, nowMs: number): boolean {
    // costs come from our own code (1 per message, or a byte count), so a negative one is a bug
    assert(Number.isFinite(cost) && cost >= 0, 'token cost must be a finite number >= 0');
    this.#refill(nowMs);
    // tiny epsilon: continuous refill in floating point can land a hair under an exact whole token
    if (cost > this.#tokens + 1e-9 || cost > this.#burst) return false;
    this.#tokens = Math.max(0, this.#tokens - cost);
    return true;
  }

  /** Gives back `cost` tokens a take paid for what did not happen after all, never beyond `burst`. */
  refund(cost: number, nowMs: number): void {
    assert(Number.isFinite(cost) && cost >= 0, 'token cost must be a finite number >= 0');
    this.#refill(nowMs);
    this.#tokens = Math.min(this.#burst, this.#tokens + cost);
  }

  /**
   * Takes `cost` tokens whatever is available, so the bucket may go into debt (below zero), and returns the
   * ms of refill that repay the debt: 0 when the bucket is not in debt, a fraction otherwise.
   *
   * Nothing here bounds the debt: the owner does, by not spending again until the returned time has passed.
   * A reader that stops reading while in debt owes at most one read chunk beyond the burst (more only while
   * a clock stepped backwards refills nothing, until it catches up).
   */
  spend(cost: number, nowMs: number): number {
    assert(Number.isFinite(cost) && cost >= 0, 'token cost must be a finite number >= 0');
    this.#refill(nowMs);
    this.#tokens -= cost;
    // same epsilon as take: a refill that lands a hair under an exact whole token is not a debt
    if (this.#tokens >= -1e-9) {
      this.#tokens = Math.max(0, this.#tokens);
      return 0;
    }
    return -this.#tokens / this.#ratePerMs;
  }

  #refill(nowMs: number): void {
    // time that goes backwards (a clock adjustment) adds nothing rather than removing tokens
    if (nowMs > this.#atMs) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (nowMs - this.#atMs) * this.#ratePerMs);
      this.#atMs = nowMs;
    }
  }
}
