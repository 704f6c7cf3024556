/**
 * The round length Δ that `init` and `testnet` choose when the operator gives none:
 *
 *   Δ_default(n) = max(roundMsFloor, the timing rule's smallest Δ for the stated σ and D, roundMarginFactor × need(n)),
 *
 * rounded up to a multiple of roundMsStep and at most genesisLimits.roundMsMax. need(n) is the smallest Δ at
 * which the consensus benchmark's loopback runs stayed correct with all-mine rounds (every validator mines in
 * each of 3 consecutive rounds, n blocks per round): n validator processes sharing one 2-core machine, the
 * largest of three recorded runs (bench/RESULTS.md, "consensus", and the two before it in that file's
 * history). It is the CPU a validator needs per round when every validator mines; the
 * network's share is the timing rule's D, checked on its own. Between measured n it takes the figure of the
 * next measured n above; above the largest measured n it grows as the work of an all-mine round does: with
 * n^2 for validators on machines of their own (n blocks of n - 1 signatures each per validator), with n^3
 * when all n run on one machine (`testnet`: n such validators share its cores).
 */
import { genesisLimits } from '../consensus/genesis.ts';
import { smallestRoundMs } from '../consensus/timing.ts';

/** One point of the measured basis: the smallest Δ correct with all-mine rounds for n validators. */
export interface MeasuredRound {
  validators: number;
  roundMs: number;
}

/**
 * The smallest round lengths the consensus benchmark measured correct with all-mine rounds on loopback
 * (n processes on 2 cores, one verification thread each), by n, ascending: the largest of the three full
 * runs recorded on 2026-12-06 (n = 4: 25, 20, 25 ms; n = 8: 250, 100, 250 ms; n = 16: 1000, 500, 750 ms).
 * The spread between runs (2x at n = 16) is what roundMarginFactor covers.
 */
export const measuredRoundMs: readonly MeasuredRound[] = [
  { validators: 4, roundMs: 25 },
  { validators: 8, roundMs: 250 },
  { validators: 16, roundMs: 1000 },
];

/** Where measuredRoundMs comes from, as init prints it. */
export const measuredRoundBasis = 'the largest of 3 loopback runs with all-mine rounds, n processes on 2 cores';

/** The default Δ is never below this, in ms (the round length before the measured rule: it stays for small n). */
export const roundMsFloor = 1000;
/** Δ_default is at least this many times the measured need. */
export const roundMarginFactor = 2;
/** Δ_default is rounded up to a multiple of this, in ms. */
export const roundMsStep = 50;

/** How the default round length was chosen, for the operator. */
export interface RoundChoice {
  roundMs: number;
  /** One line: the rule's terms for this n, and whether need(n) was measured or extrapolated. */
  basis: string;
}

/**
 * need(n): the measured smallest Δ of the next measured n at or above `validators`, or, above the largest
 * measured n, that figure scaled by (n / n_max)^exponent.
 */
export function neededRoundMs(validators: number, sameMachine: boolean): { roundMs: number; measuredAt: number; extrapolated: boolean } {
  const at = measuredRoundMs.find((m) => m.validators >= validators);
  if (at) return { roundMs: at.roundMs, measuredAt: at.validators, extrapolated: false };
  const top = measuredRoundMs[measuredRoundMs.length - 1] as MeasuredRound;
  const exponent = sameMachine ? 3 : 2;
  return { roundMs: top.roundMs * (validators / top.validators) ** exponent, measuredAt: top.validators, extrapolated: true };
}

/**
 * The default round length for `validators` validators and the stated skew and delivery bounds.
 * `sameMachine`: every validator runs on this one machine (testnet), so their work adds up on its cores.
 */
export function defaultRoundMs(validators: number, clockSkewMsMax: number, deliveryMsMax: number, sameMachine: boolean): RoundChoice {
  const need = neededRoundMs(validators, sameMachine);
  const timing = smallestRoundMs(clockSkewMsMax, deliveryMsMax);
  const margin = roundMarginFactor * need.roundMs;
  const raw = Math.max(roundMsFloor, timing, margin);
  const roundMs = Math.min(genesisLimits.roundMsMax, Math.ceil(raw / roundMsStep) * roundMsStep);
  const needText = need.extrapolated
    ? `${Math.ceil(need.roundMs)} ms extrapolated from ${need.measuredAt} validators by (n/${need.measuredAt})^${sameMachine ? 3 : 2}`
    : `${need.roundMs} ms measured for ${need.measuredAt} validators`;
  const basis =
    `default for ${validators} validators: max(${roundMsFloor} ms, timing rule ${timing} ms, ${roundMarginFactor} x ${needText} (${measuredRoundBasis}))` +
    (roundMs < raw ? `, capped at ${genesisLimits.roundMsMax} ms` : '');
  return { roundMs, basis };
}
