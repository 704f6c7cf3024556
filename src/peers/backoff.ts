/** Reconnect delays: exponential growth from a base, capped, with random jitter so peers do not retry in step. */
import { fraction, nonNegativeInt, optionsObject, positiveInt } from '../options.ts';
import { assert, StrongcastError } from '../errors.ts';

/** Defaults of {@link BackoffOptions}. */
export const backoffDefaults = { reconnectBaseMs: 250, reconnectMaxMs: 30_000, reconnectJitter: 0.5 } as const;

/** Options of {@link backoffDelayMs}. */
export interface BackoffOptions {
  /**
   * Delay before the first retry, in ms, before jitter.
   * @default 250
   */
  reconnectBaseMs?: number;
  /**
   * Longest delay, in ms, before jitter. Jitter only shortens a delay, so no delay ever exceeds this.
   * @default 30_000
   */
  reconnectMaxMs?: number;
  /**
   * Fraction of the delay that is random: the delay is drawn from [d * (1 - jitter), d]. 0 is no jitter.
   * @default 0.5
   */
  reconnectJitter?: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry): `min(reconnectMaxMs, reconnectBaseMs * 2^attempt)`,
 * shortened by up to `reconnectJitter` of itself using `random()` in [0, 1). Always an integer.
 * @throws StrongcastError ERR_INVALID_OPTION naming the bad field, or when reconnectMaxMs < reconnectBaseMs.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  assert(Number.isSafeInteger(attempt) && attempt >= 0, 'backoff attempt must be an integer >= 0');
  optionsObject(options);
  const baseMs = positiveInt(options.reconnectBaseMs ?? backoffDefaults.reconnectBaseMs, 'reconnectBaseMs');
  const maxMs = nonNegativeInt(options.reconnectMaxMs ?? backoffDefaults.reconnectMaxMs, 'reconnectMaxMs');
  const jitter = fraction(options.reconnectJitter ?? backoffDefaults.reconnectJitter, 'reconnectJitter');
  if (maxMs < baseMs) {
    throw new StrongcastError('ERR_INVALID_OPTION', 'options.reconnectMaxMs must be at least options.reconnectBaseMs');
  }
  // 2^attempt overflows to Infinity past ~1024, which Math.min turns back into the cap
  const delayMs = Math.min(maxMs, baseMs * 2 ** attempt);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(delayMs * (1 - jitter * r));
}
