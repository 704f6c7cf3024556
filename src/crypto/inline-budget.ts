/**
 * The time a verifier's own thread may spend verifying small batches itself instead of posting them as tasks
 * (batch-scheduler.ts): a task has a fixed cost (posting it, waking a sleeping thread, the answer's trip
 * back) that a batch of one or two signatures does not repay, but a thread that verifies everything itself
 * is no pool at all, so the time is a budget, refilled at `inlineMsPerSecMax` ms a second.
 */
import { TokenBucket } from '../token-bucket.ts';

/** The budget holds this many seconds of its rate: a burst of small batches after a quiet spell all stay here. */
const inlineBurstSec = 0.1;
/** A budget refilled to within this of zero is spent (continuous refill in floating point lands a hair off). */
const inlineBudgetEpsilonMs = 1e-9;
/**
 * Most bytes of a batch verified on this thread: the cost per signature holds for small messages, and
 * sixteen 256 KiB broadcasts would have this thread hash 4 MiB in one turn.
 */
export const inlineBatchBytesMax = 64 * 1024;

/** The inline budget of one scheduler; `now` is its clock in ms. */
export class InlineBudget {
  readonly #bucket: TokenBucket;
  readonly #now: () => number;

  /** @param msPerSec the refill rate (inlineMsPerSecMax), positive */
  constructor(msPerSec: number, now: () => number) {
    this.#now = now;
    this.#bucket = new TokenBucket({ ratePerSec: msPerSec, burst: msPerSec * inlineBurstSec }, now());
  }

  /** The time now, by the budget's clock: pass it to charge() once the work is done. */
  now(): number {
    return this.#now();
  }

  /** True while there is time left; a batch may then run and take the budget into debt by its own length. */
  left(): boolean {
    return this.#bucket.tokens(this.#now()) > inlineBudgetEpsilonMs;
  }

  /** Charges the time since `startedMs` (from now()); nothing runs here again until a debt is repaid. */
  charge(startedMs: number): void {
    const now = this.#now();
    this.#bucket.spend(Math.max(0, now - startedMs), now);
  }
}
