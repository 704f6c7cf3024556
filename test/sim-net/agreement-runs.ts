/**
 * Many agreement runs in a row (agreement.ts), with the coverage that shows what they exercised: shapes,
 * observers, clock spread, each of the adversary's moves, the kinds of verifier and what they verified on the
 * node's own thread. Shared by the CI test and `npm run sim`.
 */
import { runAgreement, type AgreementOutcome } from './agreement.ts';
import { rewriterCounters, type RewriterCounters } from './rewriter.ts';
import type { Shape } from './sparse-topology.ts';
import type { SimVerifierKind } from '../../src/sim/sim-verifier.ts';

/** What a batch of runs covered, and what failed. */
export interface AgreementBatch {
  runs: number;
  failures: Array<{ seed: number; violations: string[] }>;
  shapes: Map<Shape, number>;
  minerModes: Map<string, number>;
  withObservers: number;
  /** Runs where observers could follow (at least f+1 honest validators). */
  observersFollowing: number;
  withByzantine: number;
  maxSkewMs: number;
  honestProposals: number;
  blocksDecided: number;
  counters: RewriterCounters;
  events: number;
  /** Honest nodes by kind of verifier. */
  verifiers: Map<SimVerifierKind, number>;
  /** Signatures the honest nodes verified on their own thread, by kind of verifier (the rest went to threads or the queued model). */
  signaturesHere: Map<SimVerifierKind, number>;
}

/** An empty batch. */
export function emptyBatch(): AgreementBatch {
  return { runs: 0, failures: [], shapes: new Map(), minerModes: new Map(), withObservers: 0, observersFollowing: 0, withByzantine: 0, maxSkewMs: 0, honestProposals: 0, blocksDecided: 0, counters: rewriterCounters(), events: 0, verifiers: new Map(), signaturesHere: new Map() };
}

/** Adds one run to a batch. */
export function account(b: AgreementBatch, o: AgreementOutcome): void {
  b.runs++;
  if (o.violations.length > 0) b.failures.push({ seed: o.seed, violations: o.violations });
  b.shapes.set(o.shape, (b.shapes.get(o.shape) ?? 0) + 1);
  for (const inst of o.instances) if (inst.mode) b.minerModes.set(inst.mode, (b.minerModes.get(inst.mode) ?? 0) + 1);
  const honestValidators = o.honest.filter((i) => i < o.n).length;
  if (o.observers > 0) b.withObservers++;
  if (o.observers > 0 && honestValidators >= o.f + 1) b.observersFollowing++;
  if (o.byzantine.length > 0) b.withByzantine++;
  b.maxSkewMs = Math.max(b.maxSkewMs, o.timing.skewMsMax);
  b.honestProposals += o.proposals.length;
  b.blocksDecided += o.world.nodes[o.honest.find((i) => i < o.n) ?? 0]?.chainHashes().length ?? 0;
  for (const k of Object.keys(b.counters) as Array<keyof RewriterCounters>) b.counters[k] += o.counters[k];
  b.events += o.world.sched.events;
  for (const i of o.honest) {
    const kind = o.verifiers[i]!;
    const stats = o.world.nodes[i]?.verifier.stats();
    // The main-thread verifier verifies everything on the node's thread; a pool, what it counts as here.
    const here = kind === 'main-thread' ? stats?.signaturesVerified : kind === 'pool' ? stats?.signaturesHere : 0;
    b.verifiers.set(kind, (b.verifiers.get(kind) ?? 0) + 1);
    b.signaturesHere.set(kind, (b.signaturesHere.get(kind) ?? 0) + (here ?? 0));
  }
}

/** Runs seeds `from` .. `from + count - 1`; `onRun` sees each outcome (to print progress or a failure). */
export async function runAgreementBatch(from: number, count: number, onRun?: (o: AgreementOutcome) => void): Promise<AgreementBatch> {
  const b = emptyBatch();
  for (let seed = from; seed < from + count; seed++) {
    const o = await runAgreement(seed);
    account(b, o);
    onRun?.(o);
  }
  return b;
}

/** One line per coverage figure, for the runner's summary and the test's messages. */
export function describeBatch(b: AgreementBatch): string {
  return [
    `runs ${b.runs}, violations ${b.failures.length}, events ${b.events}`,
    `shapes ${[...b.shapes].map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `runs with observers ${b.withObservers} (able to follow ${b.observersFollowing}), with a Byzantine coalition ${b.withByzantine}, largest skew bound ${b.maxSkewMs} ms`,
    `honest proposals ${b.honestProposals}, blocks decided ${b.blocksDecided}`,
    `Byzantine miners ${[...b.minerModes].map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `adversary ${Object.entries(b.counters).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `honest nodes' verifiers ${[...b.verifiers].map(([k, v]) => `${k}=${v}`).join(' ')}; signatures verified on a node's own thread ${[...b.signaturesHere].map(([k, v]) => `${k}=${v}`).join(' ')}`,
  ].join('\n');
}
