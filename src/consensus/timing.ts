/**
 * The timing rule of Dolev-Strong on real machines, as one checkable inequality:
 *
 *   proposeLateMsMax + clockSkewMsMax + deliveryMsMax < Δ
 *
 * - proposeLateMsMax (P): how late after T0 (by its own clock) a miner may still send its proposal;
 * - clockSkewMsMax (σ): the largest difference between two honest validators' clocks;
 * - deliveryMsMax (D): from the moment an honest node sends a chain until every honest node has it verified:
 *   the network delay along the slowest path (every hop, each relaying node's verification included) plus
 *   the receiver's own verification, queueing in the pool counted.
 *
 * Why it is enough (Dolev & Strong 1983, with clocks that differ): an honest node that accepts block B in
 * round r < k relays it at once, at most at T0 + rΔ by its clock; another honest node reads at most σ more
 * on its own clock, and has the chain verified at most D later: before T0 + (r+1)Δ, still in round r + 1,
 * where the chain's r + 1 signatures are enough. Round 1 starts up to P late, hence the P. On the early
 * side, nothing of an instance leaves an honest node before its own T0 (dolev-strong.ts holds what an early
 * chain causes), so it reaches others no earlier than σ before their T0, which they accept as round 1.
 * Strict: a chain that arrives at exactly T0 + (r+1)Δ is already in round r + 2.
 */
import { StrongcastError } from '../errors.ts';

/** The four terms of the rule, in ms. */
export interface TimingTerms {
  roundMs: number;
  proposeLateMsMax: number;
  clockSkewMsMax: number;
  deliveryMsMax: number;
}

/**
 * What `init` assumes about a network when the operator says nothing: machines on one continent with NTP.
 * A loopback or LAN network can state smaller bounds (`init --delay-ms-max 5 --clock-skew-ms-max 1`).
 */
export const timingDefaults = {
  /** Delivery bound D: network delay over every hop plus verification, in ms. */
  deliveryMsMax: 100,
  /** Clock skew σ between two validators, in ms (NTP over the internet: tens of ms). */
  clockSkewMsMax: 50,
} as const;

/** The node-side default of P and of the early-chain window: a quarter of the round. */
export function quarterRoundMs(roundMs: number): number {
  return Math.floor(roundMs / 4);
}

/** Ms to spare in the rule (negative or zero: the rule does not hold). */
export function timingSlackMs(t: TimingTerms): number {
  return t.roundMs - (t.proposeLateMsMax + t.clockSkewMsMax + t.deliveryMsMax);
}

/**
 * Checks that a round length can hold a network with the given skew and delivery bounds when validators run
 * with their defaults (P = Δ/4, an early-chain window of Δ/4, which must cover the skew).
 * @throws StrongcastError ERR_INVALID_OPTION naming the terms and the smallest round length that works.
 */
export function checkRoundLength(roundMs: number, clockSkewMsMax: number, deliveryMsMax: number): void {
  const terms = { roundMs, proposeLateMsMax: quarterRoundMs(roundMs), clockSkewMsMax, deliveryMsMax };
  if (timingSlackMs(terms) > 0 && clockSkewMsMax <= quarterRoundMs(roundMs)) return;
  const need = smallestRoundMs(clockSkewMsMax, deliveryMsMax);
  throw new StrongcastError(
    'ERR_INVALID_OPTION',
    `--round-ms ${roundMs} breaks the timing rule P + σ + D < Δ (P = Δ/4 = ${terms.proposeLateMsMax}, σ = ${clockSkewMsMax}, D = ${deliveryMsMax}; ` +
      `and σ must fit the Δ/4 early window): use --round-ms ${need} or more, or state smaller --clock-skew-ms-max / --delay-ms-max`,
  );
}

/** The smallest Δ that satisfies the rule with validators' defaults for the given σ and D. */
export function smallestRoundMs(clockSkewMsMax: number, deliveryMsMax: number): number {
  // Δ - floor(Δ/4) > σ + D first holds near 4(σ + D)/3: start just below and step up (a few steps at most).
  let roundMs = Math.max(1, 4 * clockSkewMsMax, Math.floor((4 * (clockSkewMsMax + deliveryMsMax)) / 3) - 1);
  while (timingSlackMs({ roundMs, proposeLateMsMax: quarterRoundMs(roundMs), clockSkewMsMax, deliveryMsMax }) <= 0) roundMs++;
  return roundMs;
}
