/**
 * The attack suite's attacks in a load run (`npm run load -- --attack-suite`): the one honest validator they
 * aim at and when each attack runs. Pure: settings and a seeded PRNG in, the schedule out.
 *
 *  - the target is an honest validator with no planned fault, so every attack meets it up and its counters
 *    are read through the whole run, and it is never a flood step's target, so what it charges during an
 *    attack window is the suite's (on loopback the flooder sends from one address, which the target's per-IP
 *    limits would ban, ending the flood steps aimed at it);
 *  - every attack kind of the suite runs once (a quick run: the suite's quick set), in a seeded order, each
 *    for `durMs`, one at a time, evenly spaced over the load phase with a gap after each in which the next
 *    one is prepared (the attacker signs relay-rate's broadcasts in advance: seconds of CPU).
 */
import { attackNames, quickAttacks, type AttackName } from '../attack/catalog.ts';
import type { Prng } from './prng.ts';

/** One attack of the suite in a load run, times relative to the start of the load phase. */
export interface SuiteAttack {
  name: AttackName;
  atMs: number;
  durMs: number;
}

/** The suite's part of a load plan. */
export interface SuitePlan {
  /** The honest validator every attack aims at. */
  target: number;
  attacks: SuiteAttack[];
}

/** Where the attacks sit in the load phase, and how long each runs, in ms. */
export interface SuiteTiming {
  /** The first attack starts this long into the load phase. */
  firstMs: number;
  /** The last attack ends at least this long before the load phase does. */
  endMarginMs: number;
  /** How long each attack runs. */
  durMs: number;
  /** Shortest gap between the end of one attack and the start of the next (the next is prepared in it). */
  gapMinMs: number;
}

/** The timing of a full run and of a quick one. */
export const suiteTiming: Readonly<Record<'full' | 'quick', SuiteTiming>> = {
  full: { firstMs: 8000, endMarginMs: 8000, durMs: 4000, gapMinMs: 3000 },
  quick: { firstMs: 1500, endMarginMs: 1000, durMs: 2500, gapMinMs: 1000 },
};

/** The attacks a run takes: every kind of the suite, or its quick set; never the suite's no-attack control. */
export function suiteAttackNames(quick: boolean): AttackName[] {
  return (quick ? quickAttacks : attackNames).filter((n) => n !== 'baseline');
}

/**
 * The suite's schedule: the target among `candidates` (honest validators with no planned fault) and every
 * attack of `suiteAttackNames(quick)` but those in `suiteSkip`, in a seeded order, evenly spaced.
 * @throws Error when no validator can be the target or the load phase is too short for the attacks
 */
export function planSuite(rng: Prng, c: { quick: boolean; loadMs: number; suiteSkip?: readonly AttackName[] }, candidates: readonly number[]): SuitePlan {
  if (candidates.length === 0) throw new Error('--attack-suite: no honest validator is free of planned faults to be the target');
  const t = suiteTiming[c.quick ? 'quick' : 'full'];
  // Skipped attacks are drawn in the shuffle too, so the others keep their places in the order.
  const names = rng.shuffle(suiteAttackNames(c.quick)).filter((n) => !(c.suiteSkip ?? []).includes(n));
  if (names.length === 0) throw new Error('--suite-skip leaves no attack to run');
  const stepMs = Math.floor((c.loadMs - t.firstMs - t.endMarginMs) / names.length);
  if (stepMs < t.durMs + t.gapMinMs) {
    const needS = Math.ceil((t.firstMs + t.endMarginMs + names.length * (t.durMs + t.gapMinMs)) / 1000);
    throw new Error(`--attack-suite: a load phase of ${c.loadMs / 1000} s is too short for ${names.length} attacks of ${t.durMs / 1000} s (needs ${needS} s)`);
  }
  const target = rng.pick(candidates);
  return { target, attacks: names.map((name, i) => ({ name, atMs: t.firstMs + i * stepMs, durMs: t.durMs })) };
}

/**
 * What is wrong with a suite schedule under a plan's faults and flood steps, one line per problem: attacks
 * that overlap, an attack past the load phase, a target with a planned fault or aimed at by a flood step.
 */
export function suiteProblems(s: SuitePlan, loadMs: number, faultNodes: readonly number[], floodTargets: readonly number[]): string[] {
  const out: string[] = [];
  if (faultNodes.includes(s.target)) out.push(`attack-suite target ${s.target} has a planned fault`);
  if (floodTargets.includes(s.target)) out.push(`attack-suite target ${s.target} is a flood step's target`);
  const sorted = [...s.attacks].sort((a, b) => a.atMs - b.atMs);
  sorted.forEach((a, i) => {
    const next = sorted[i + 1];
    if (next && a.atMs + a.durMs > next.atMs) out.push(`attack-suite ${a.name} at +${a.atMs} ms overlaps ${next.name}`);
    if (a.atMs + a.durMs > loadMs) out.push(`attack-suite ${a.name} at +${a.atMs} ms ends after the load phase`);
  });
  return out;
}
