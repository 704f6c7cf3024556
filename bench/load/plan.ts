/**
 * The plan of a load run, as pure code: which validators are Byzantine, and from one seed the whole
 * schedule of faults (SIGKILL + restart, SIGSTOP/SIGCONT, isolate), Byzantine attacks and blocks to mine.
 * The same seed and settings give the same plan, which is printed at the start so a run can be replayed.
 *
 * Rules that keep the run inside what Dolev-Strong promises (fault-bound.ts says how they are judged):
 *  - fault bound: the 3 Byzantine validators are faulty all the time, and an honest validator is out from the
 *    moment its fault starts until the plan expects it back (restart allowance, reconnect allowance, resume
 *    allowance below: running and connected again, and live from the round after it noticed the outage);
 *    no instance, whatever its start, may have more than f validators faulty during its k + 1 rounds.
 *    `planProblems` checks it on every plan and `buildPlan` refuses a plan that breaks it;
 *  - a block is mined only by a validator that is not out while its instance may run, so validity applies to
 *    every planned block; a flood hits only validators that are up for the whole step;
 *  - quiet windows (optional, `quietWindows`): for a node that does not catch up again after being paused
 *    or cut off, no instance with a block may run while one is out, so mining stops around those outages.
 *    A killed validator never needs them: a restart always catches up.
 */
import { instanceSpanMs, worstInstance, type OutageSpan } from './fault-bound.ts';
import { Prng } from './prng.ts';
import { planSuite, suiteProblems, type SuitePlan } from './suite-plan.ts';
import type { AttackName } from '../attack/catalog.ts';

/** Settings of a run. */
export interface LoadConfig {
  quick: boolean;
  seed: number;
  /** Validators in the genesis (at least 16 for the issue's workload). */
  validators: number;
  /** f: faults tolerated; k = f + 1 rounds per instance. */
  faults: number;
  /** Δ, in ms. */
  roundMs: number;
  /** Length of the load phase (traffic, attacks and faults), in ms. */
  loadMs: number;
  /** Honest broadcasts per second, all origins together. */
  msgsPerSec: number;
  /** An honest validator mines a block every this many rounds (outside quiet windows). */
  mineEveryRounds: number;
  /** Peak resident memory allowed per validator process, in MB. */
  memoryBoundMb: number;
  /** Keep mining out of pause and isolate outages (for a node without resync after an outage). */
  quietWindows: boolean;
  /**
   * Test of the checks only (never set by a normal run): the run cuts one honest validator off while a block
   * is proposed and leaves that cut out of its fault accounting, so validity breaks as the checks see it and
   * the run must fail.
   */
  breakValidity: boolean;
  /**
   * Each process in a Linux network namespace of its own, with its own address, clock offset and shaped links
   * (hosting.ts), instead of all on loopback.
   */
  hosts: boolean;
  /** Observers (nodes with the genesis and no key) besides the validators; each linked to a few validators. */
  observers: number;
  /**
   * The attack suite's attacks (bench/attack/) aimed at one honest validator during the load phase, from an
   * attacker process of its own (suite-plan.ts); that validator runs with per-IP limits on loopback.
   */
  attackSuite: boolean;
  /** Attacks of the suite left out of the run (to tell one attack's harm from the others'); empty: none. */
  suiteSkip: AttackName[];
}

/** A fault injected into an honest validator. */
export type Fault =
  | { kind: 'kill'; node: number; atMs: number; downMs: number }
  | { kind: 'pause'; node: number; atMs: number; durMs: number }
  | { kind: 'isolate'; node: number; atMs: number; durMs: number };

/** One step of the flooder. */
export type FloodStep = 'dups' | 'replay' | 'garbage' | 'badsig' | 'burst';

/** A Byzantine action. */
export type Attack =
  | { kind: 'flood'; step: FloodStep; atMs: number; durMs: number; targets: number[] }
  | { kind: 'equivocate'; atMs: number }
  | { kind: 'withhold'; atMs: number };

/** A block to mine. */
export interface Mine {
  atMs: number;
  node: number;
}

/** Which validator plays which Byzantine role. */
export interface Roles {
  flooder: number;
  equivocator: number;
  withholder: number;
  honest: number[];
}

/** Everything a run will do, times relative to the start of the load phase. */
export interface Plan {
  config: LoadConfig;
  roles: Roles;
  k: number;
  faults: Fault[];
  attacks: Attack[];
  mines: Mine[];
  /** Spans (ms) in which no instance with a block may run. */
  quiet: Array<[number, number]>;
  /** Most validators faulty for one instance under the plan (Byzantine included); at most f. */
  faultyPeak: number;
  /** The attack suite's target and schedule (attackSuite), else null. */
  suite: SuitePlan | null;
}

/** Time a restarted validator is allowed to start, connect and be live again (the round after) before it counts as back, in ms. */
export const restartAllowanceMs = 12_000;
/** Time an isolated validator is allowed to reconnect and be live again (the round after) when its isolation ends, in ms. */
export const reconnectAllowanceMs = 3_000;
/** Time a resumed (SIGCONT) validator is allowed to notice the pause at its next tick and be live again, in ms. */
export const resumeAllowanceMs = 3_000;
/** No broadcast is originated by a validator this long before a fault of its own, in ms. */
export const originGuardMs = 3_000;

/** Defaults for a full run and for --quick. */
export function defaultConfig(quick: boolean, seed: number): LoadConfig {
  return {
    quick,
    seed,
    validators: 16,
    faults: 5,
    roundMs: 1000,
    loadMs: quick ? 24_000 : 180_000,
    msgsPerSec: 60,
    mineEveryRounds: 3,
    memoryBoundMb: 200,
    quietWindows: false,
    breakValidity: false,
    hosts: false,
    observers: 0,
    attackSuite: false,
    suiteSkip: [],
  };
}

/** When a planned fault keeps its node out: from the fault until the plan expects it back, [start, back). */
export function plannedOutage(f: Fault): OutageSpan {
  switch (f.kind) {
    case 'kill':
      return { node: f.node, fromMs: f.atMs, toMs: f.atMs + f.downMs + restartAllowanceMs };
    case 'pause':
      return { node: f.node, fromMs: f.atMs, toMs: f.atMs + f.durMs + resumeAllowanceMs };
    case 'isolate':
      return { node: f.node, fromMs: f.atMs, toMs: f.atMs + f.durMs + reconnectAllowanceMs };
  }
}

/** Whether validator `node` has no planned outage overlapping [fromMs, toMs). */
export function upThroughout(faults: readonly Fault[], node: number, fromMs: number, toMs: number): boolean {
  return faults.every((f) => {
    if (f.node !== node) return true;
    const o = plannedOutage(f);
    return o.toMs <= fromMs || toMs <= o.fromMs;
  });
}

/** When a planned fault keeps its node from originating or mining: [start, end). */
export function busyWindow(f: Fault): [number, number] {
  switch (f.kind) {
    case 'kill':
      return [f.atMs - originGuardMs, f.atMs + f.downMs + restartAllowanceMs];
    case 'pause':
      return [f.atMs - originGuardMs, f.atMs + f.durMs + 1000];
    case 'isolate':
      return [f.atMs - originGuardMs, f.atMs + f.durMs + reconnectAllowanceMs];
  }
}

/** Whether validator `node` may originate traffic or mine at time `t` under the plan. */
export function eligibleAt(faults: readonly Fault[], node: number, t: number): boolean {
  return faults.every((f) => {
    if (f.node !== node) return true;
    const [a, b] = busyWindow(f);
    return t < a || t >= b;
  });
}

function overlaps(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[1] && b[0] < a[1];
}

/** Picks the three Byzantine validators (never validator 0, so a reader finds an honest one first). */
function pickRoles(rng: Prng, n: number): Roles {
  const [flooder, equivocator, withholder] = rng.shuffle(Array.from({ length: n - 1 }, (_, i) => i + 1)).slice(0, 3) as [number, number, number];
  const honest = Array.from({ length: n }, (_, i) => i).filter((i) => i !== flooder && i !== equivocator && i !== withholder);
  return { flooder, equivocator, withholder, honest };
}

/**
 * The fault sequence: full runs kill 1, then pause+isolate, kill 2 at once, pause+isolate, kill 1. With the
 * attack suite the same kinds come one at a time (suiteFaults): the suite's target counts as out for the
 * whole load phase (suiteOutage), so at most one other honest validator may be out at once.
 */
function planFaults(rng: Prng, c: LoadConfig, honest: number[]): Fault[] {
  if (c.attackSuite) return suiteFaults(rng, c, honest);
  const nodes = rng.shuffle(honest);
  let next = 0;
  const take = () => nodes[next++ % nodes.length] as number;
  const D = c.loadMs;
  const out: Fault[] = [];
  const killOne = (at: number) => out.push({ kind: 'kill', node: take(), atMs: at, downMs: rng.int(5000, 9000) });
  const quiet = (at: number) => {
    out.push({ kind: 'pause', node: take(), atMs: at, durMs: rng.int(2500, 4500) });
    out.push({ kind: 'isolate', node: take(), atMs: at + rng.int(500, 1500), durMs: rng.int(3000, 5000) });
  };
  if (c.quick) {
    // Pause and isolate share one quiet window early; the kill comes once their budget windows have ended.
    quiet(rng.int(1500, 2500));
    out.push({ kind: 'kill', node: take(), atMs: rng.int(17_500, 18_500), downMs: rng.int(4000, 5000) });
    return out;
  }
  const at = (lo: number, hi: number) => Math.round(D * (lo + (hi - lo) * rng.next()));
  killOne(at(0.08, 0.12));
  quiet(at(0.28, 0.32));
  const k2 = at(0.45, 0.48);
  out.push({ kind: 'kill', node: take(), atMs: k2, downMs: rng.int(5000, 8000) });
  out.push({ kind: 'kill', node: take(), atMs: k2 + rng.int(0, 1000), downMs: rng.int(5000, 8000) });
  quiet(at(0.64, 0.68));
  killOne(at(0.8, 0.84));
  return out;
}

/** Kinds of the faults of a run with the attack suite, in order, as many as fit (a quick run's 24 s fit one). */
const suiteFaultKinds: Readonly<Record<'full' | 'quick', readonly Fault['kind'][]>> = {
  full: ['kill', 'pause', 'isolate', 'kill', 'pause', 'isolate', 'kill'],
  quick: ['pause', 'isolate', 'kill'],
};

/**
 * One fault at a time, for a run with the attack suite: each starts a whole instance span (plus a second)
 * after the previous one's planned outage ended, so no instance overlaps two of them; as many of
 * suiteFaultKinds as fit in the load phase (its last 10% left for recovery).
 */
function suiteFaults(rng: Prng, c: LoadConfig, honest: number[]): Fault[] {
  const nodes = rng.shuffle(honest);
  const spanMs = instanceSpanMs(c.faults + 1, c.roundMs);
  const out: Fault[] = [];
  let atMs = Math.round(c.loadMs * 0.08);
  for (const [i, kind] of suiteFaultKinds[c.quick ? 'quick' : 'full'].entries()) {
    const node = nodes[i % nodes.length] as number;
    const fault: Fault = kind === 'kill' ? { kind, node, atMs, downMs: rng.int(4000, 8000) } : { kind, node, atMs, durMs: rng.int(2500, 4500) };
    if (plannedOutage(fault).toMs > c.loadMs * 0.9) break;
    out.push(fault);
    atMs = plannedOutage(fault).toMs + spanMs + 1000 + rng.int(0, 2000);
  }
  return out;
}

/**
 * The suite's target as out for the whole load phase and its drain: attacks aimed at one validator may drive
 * it out of synchrony (on one machine shared by every validator, its stalls are also the others' load), and
 * Dolev-Strong counts a validator out of synchrony as faulty, so the plan leaves it a place among the f.
 */
export function suiteOutage(p: Pick<Plan, 'suite' | 'config' | 'k'>): OutageSpan[] {
  if (!p.suite) return [];
  return [{ node: p.suite.target, fromMs: 0, toMs: p.config.loadMs + (p.k + 3) * p.config.roundMs }];
}

/** Planned outages of a plan: its faults', and the suite target's. */
export function plannedOutages(p: Pick<Plan, 'faults' | 'suite' | 'config' | 'k'>): OutageSpan[] {
  return [...p.faults.map(plannedOutage), ...suiteOutage(p)];
}

/** Spans in which no instance with a block may run (around pause and isolate outages). */
function quietSpans(faults: readonly Fault[], c: LoadConfig): Array<[number, number]> {
  if (!c.quietWindows) return [];
  return faults
    .filter((f) => f.kind !== 'kill')
    .map((f) => [f.atMs - 1000, f.atMs + ('durMs' in f ? f.durMs : 0) + reconnectAllowanceMs] as [number, number]);
}

/** The span an instance started from a request at `t` may occupy: proposal at the next round (2 retries), k rounds. */
function instanceSpan(t: number, k: number, roundMs: number): [number, number] {
  return [t, t + (k + 3) * roundMs];
}

/**
 * Everything from a mine request at `t` to the decision of its block: up to a round to the next round start,
 * two proposals made again a round later each, then the instance's span (k rounds and its decision round).
 */
export function mineSpan(t: number, k: number, roundMs: number): [number, number] {
  return [t, t + 3 * roundMs + instanceSpanMs(k, roundMs)];
}

/** Byzantine validators in every run: a flooder, an equivocating miner, a withholder. */
export const byzantineCount = 3;

/** A flood step's targets must stay up this long after the step, so what they saw of it can be read, in ms. */
export const floodSettleMs = 3000;

/**
 * What is wrong with a plan, one line per problem (none for a good plan): an instance with more than f
 * validators faulty, a block mined by a validator that is out while its instance may run, a flood aimed at a
 * validator that is out during the step.
 */
export function planProblems(p: Plan): string[] {
  const c = p.config;
  const out: string[] = [];
  const worst = worstInstance(plannedOutages(p), byzantineCount, instanceSpanMs(p.k, c.roundMs));
  if (worst.faulty > c.faults) {
    out.push(`the instance starting at +${sec(worst.startMs ?? 0)} has ${worst.faulty} validators faulty (${byzantineCount} Byzantine + ${worst.nodes.join(',')}), more than f = ${c.faults}`);
  }
  for (const m of p.mines) {
    const [a, b] = mineSpan(m.atMs, p.k, c.roundMs);
    if (!upThroughout(p.faults, m.node, a, b)) out.push(`mine at +${sec(m.atMs)} by validator ${m.node}, which is out while its instance may run`);
  }
  for (const a of p.attacks) {
    if (a.kind !== 'flood') continue;
    const down = a.targets.filter((n) => !upThroughout(p.faults, n, a.atMs, a.atMs + a.durMs + floodSettleMs));
    if (down.length > 0) out.push(`flood ${a.step} at +${sec(a.atMs)} aimed at validators ${down.join(',')}, out during the step`);
  }
  if (p.suite) {
    const floodTargets = p.attacks.flatMap((a) => (a.kind === 'flood' ? a.targets : []));
    out.push(...suiteProblems(p.suite, c.loadMs, p.faults.map((f) => f.node), floodTargets));
  }
  return out;
}

/** Builds the plan of a run from its settings and seed. @throws when the plan breaks a rule of planProblems */
export function buildPlan(c: LoadConfig): Plan {
  const rng = new Prng(c.seed);
  const roles = pickRoles(rng.fork(1), c.validators);
  const k = c.faults + 1;
  const faults = planFaults(rng.fork(2), c, roles.honest);
  // Forks draw from `rng` in turn: the suite's comes last, so a plan without it is the plan it was before.
  const minerRng = rng.fork(3);
  const attackRng = rng.fork(4);
  const suite = c.attackSuite ? planSuite(rng.fork(5), c, roles.honest.filter((i) => !faults.some((f) => f.node === i))) : null;
  const quiet = quietSpans(faults, c);
  const allowed = (t: number) => quiet.every((q) => !overlaps(instanceSpan(t, k, c.roundMs), q));

  const mines: Mine[] = [];
  const order = minerRng.shuffle(roles.honest);
  let turn = 0;
  const mineEveryMs = c.mineEveryRounds * c.roundMs;
  // The last instance must end inside the load phase plus drain; stop mining k + 3 rounds before the end.
  for (let t = 1000; t + (k + 3) * c.roundMs <= c.loadMs + k * c.roundMs; t += mineEveryMs) {
    if (!allowed(t)) continue;
    for (let tries = 0; tries < order.length; tries++) {
      const node = order[turn++ % order.length] as number;
      const [a, b] = mineSpan(t, k, c.roundMs);
      if (eligibleAt(faults, node, t) && upThroughout(faults, node, a, b)) {
        mines.push({ atMs: t, node });
        break;
      }
    }
  }

  const attacks: Attack[] = [];
  const steps: FloodStep[] = ['dups', 'replay', 'garbage', 'badsig', 'burst'];
  let cycle = attackRng.shuffle(steps);
  const floodEveryMs = c.quick ? 4000 : 7000;
  for (let t = 2000, i = 0; t < c.loadMs - 1000; t += floodEveryMs, i++) {
    if (i > 0 && i % steps.length === 0) cycle = attackRng.shuffle(steps);
    const step = cycle[i % steps.length] as FloodStep;
    const durMs = step === 'dups' ? 3000 : 1000;
    const healthy = roles.honest.filter((n) => n !== suite?.target && eligibleAt(faults, n, t) && upThroughout(faults, n, t, t + durMs + floodSettleMs));
    const targets = attackRng.shuffle(healthy).slice(0, 3).sort((a, b) => a - b);
    attacks.push({ kind: 'flood', step, atMs: t, durMs, targets });
  }
  const byzEveryMs = c.quick ? 5000 : 13_000;
  let equivocate = true;
  for (let t = c.quick ? 1500 : 4000; t + (k + 3) * c.roundMs <= c.loadMs + k * c.roundMs; t += byzEveryMs) {
    if (!allowed(t)) continue;
    attacks.push(equivocate ? { kind: 'equivocate', atMs: t } : { kind: 'withhold', atMs: t });
    equivocate = !equivocate;
  }
  attacks.sort((a, b) => a.atMs - b.atMs);
  const faultyPeak = worstInstance(plannedOutages({ faults, suite, config: c, k }), byzantineCount, instanceSpanMs(k, c.roundMs)).faulty;
  const plan: Plan = { config: c, roles, k, faults, attacks, mines, quiet, faultyPeak, suite };
  const problems = planProblems(plan);
  if (problems.length > 0) throw new Error(`plan of seed ${c.seed} breaks its rules: ${problems.join('; ')}`);
  return plan;
}

function sec(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The plan as the lines printed at the start of a run. */
export function describePlan(p: Plan): string[] {
  const c = p.config;
  const r = p.roles;
  const lines = [
    `seed ${c.seed}: ${c.validators} validators, f = ${c.faults}, k = ${p.k} rounds of ${c.roundMs} ms, load phase ${sec(c.loadMs)}, ${c.msgsPerSec} msg/s, a block every ${c.mineEveryRounds} rounds`,
    `Byzantine: flooder ${r.flooder}, equivocating miner ${r.equivocator}, withholder ${r.withholder}; honest: ${r.honest.join(',')}`,
    `faulty in one instance under this plan: at most ${p.faultyPeak} of f = ${c.faults} (3 Byzantine + honest validators out during its k + 1 rounds, from fault to expected recovery${p.suite ? `, and the suite's target ${p.suite.target} throughout` : ''})`,
    'faults:',
    ...p.faults.map((f) =>
      f.kind === 'kill'
        ? `  +${sec(f.atMs)} SIGKILL validator ${f.node}, restart after ${sec(f.downMs)}`
        : f.kind === 'pause'
          ? `  +${sec(f.atMs)} SIGSTOP validator ${f.node}, SIGCONT after ${sec(f.durMs)}`
          : `  +${sec(f.atMs)} isolate validator ${f.node} for ${sec(f.durMs)}`,
    ),
    `quiet windows (no block instance may run): ${p.quiet.length === 0 ? 'none' : p.quiet.map(([a, b]) => `+${sec(a)}..+${sec(b)}`).join(', ')}`,
    `attacks: ${p.attacks
      .map((a) => (a.kind === 'flood' ? `+${sec(a.atMs)} ${a.step}->${a.targets.join('/')}` : `+${sec(a.atMs)} ${a.kind}`))
      .join(', ')}`,
    `mines: ${p.mines.map((m) => `+${sec(m.atMs)}@${m.node}`).join(', ')}`,
  ];
  if (p.suite) {
    lines.push(`attack suite against validator ${p.suite.target} (per-IP limits on): ${p.suite.attacks.map((a) => `+${sec(a.atMs)} ${a.name} ${sec(a.durMs)}`).join(', ')}`);
  }
  return lines;
}
