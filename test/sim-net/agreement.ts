/**
 * One seeded agreement run: validators and observers (the shipped node and validator on the simulated
 * network) on a topology drawn from the seed (mesh, sparse, line, ring, cut vertex, validators only through
 * observers), each machine's clock off by its own amount within the skew bound, links whose delay goes
 * down to 0, verification taking up to a sizeable part of the round (each node's verifier of a kind drawn
 * from the seed: the main-thread verifier or the pool, both verifying on the node's thread when the shipped
 * ones would and charging it the time, or the queued model), and a Byzantine coalition (rewriter.ts)
 * that rewrites every field no signature covers, equivocates, and releases chains early and late to chosen
 * nodes. Honest and Byzantine miners take turns over a few rounds.
 *
 * The round length is sized by the README's timing rule, P + σ + D < Δ, from what the run draws: σ the skew
 * bound, D the honest diameter times (link delay + verification + write coalescing) plus the receiver's
 * verification, P = Δ/4. So every violation the checks find is the protocol's or the code's fault.
 */
import { toHex, utf8 } from '../../src/bytes.ts';
import { Prng } from '../../src/sim/prng.ts';
import { simVerifierKinds, type SimVerifierKind } from '../../src/sim/sim-verifier.ts';
import { nodeDefaults } from '../../src/core/node-options.ts';
import { plumtreeDefaults } from '../../src/gossip/plumtree.ts';
import { minerModes, rewriterCounters, Rewriter, type MinerMode, type RewriterCounters } from './rewriter.ts';
import { buildShape, diameterOver, pickByzantine, shapes, type Shape } from './sparse-topology.ts';
import { World, type SimValidator } from './world.ts';

/** What one run drew and what it produced. */
export interface AgreementOutcome {
  seed: number;
  world: World;
  shape: Shape;
  n: number;
  f: number;
  observers: number;
  byzantine: number[];
  /** Honest validators and observers. */
  honest: number[];
  /** Sizing of the timing rule. */
  timing: { roundMs: number; skewMsMax: number; deliveryMsMax: number; hops: number; delayMaxMs: number; verifyMsMax: number };
  /** Each node's kind of verifier, by index (Byzantine nodes' unused). */
  verifiers: SimVerifierKind[];
  /** Instances that had a miner, and what the honest miners proposed. */
  instances: Array<{ miner: number; t0: number; honest: boolean; mode?: MinerMode }>;
  proposals: Array<{ miner: number; t0: number; hash: string }>;
  counters: RewriterCounters;
  /** What went wrong: empty when the run held every property. */
  violations: string[];
}

/** Options of a run: the negative controls switch off what agreement needs. */
export interface AgreementOptions {
  /** FOR NEGATIVE CONTROLS: rounds per instance in place of f + 1. */
  roundsOverride?: number;
}

interface Draw {
  shape: Shape;
  n: number;
  f: number;
  observers: number;
  adj: Set<number>[];
  byzantine: number[];
  honest: number[];
  timing: AgreementOutcome['timing'];
  offsetsMs: number[];
  verifiers: SimVerifierKind[];
}

/** Everything the seed decides before the world starts. */
function draw(seed: number): Draw {
  const rng = new Prng(seed * 2654435761);
  const shape = shapes[seed % shapes.length]!;
  const n = rng.pick([4, 4, 5, 7]);
  const f = rng.int(1, n - 1);
  const observers = shape === 'via-observers' ? rng.int(1, 3) : rng.int(0, 2);
  const adj = buildShape(shape, n, observers, rng);
  const byzantine = pickByzantine(adj, n, rng.int(0, f), rng);
  const honest = [...Array(n + observers).keys()].filter((i) => !byzantine.includes(i));
  const hops = diameterOver(adj, new Set(honest));
  const delayMaxMs = rng.pick([1, 3, 8, 20]);
  const verifyMsMax = rng.pick([0, 2, 6, 15]);
  // Per hop: the link, the relaying node's verification, and up to writeCoalesceMs held for a shared write.
  const deliveryMsMax = Math.max(1, hops) * (delayMaxMs + verifyMsMax + nodeDefaults.writeCoalesceMs) + verifyMsMax;
  const skewMsMax = rng.pick([0, 5, 20, 40]);
  // P = Δ/4, so P + σ + D < Δ holds for Δ > 4(σ + D)/3.
  const roundMs = Math.floor((4 * (skewMsMax + deliveryMsMax)) / 3) + 2 + rng.int(0, 10);
  const offsetsMs = Array.from({ length: n + observers }, () => rng.int(-Math.floor(skewMsMax / 2), Math.floor(skewMsMax / 2)));
  // Two machines at the two ends of the bound, when there are clocks to spread.
  if (skewMsMax > 0 && honest.length >= 2) {
    const [a, b] = rng.shuffle(honest);
    offsetsMs[a!] = -Math.floor(skewMsMax / 2);
    offsetsMs[b!] = Math.floor(skewMsMax / 2);
  }
  // Each node's verifier is one of the shipped kinds or the queued model, so both the on-the-spot and the
  // queued paths run; drawn from a stream of its own, so the draws above stay what they were for each seed.
  const kinds = new Prng(seed * 2246822519 + 7);
  const verifiers = Array.from({ length: n + observers }, () => kinds.pick(simVerifierKinds));
  return { shape, n, f, observers, adj, byzantine, honest, timing: { roundMs, skewMsMax, deliveryMsMax, hops, delayMaxMs, verifyMsMax }, offsetsMs, verifiers };
}

/** Builds and runs the agreement scenario of `seed`. */
export async function runAgreement(seed: number, opts: AgreementOptions = {}): Promise<AgreementOutcome> {
  const d = draw(seed);
  const { timing } = d;
  const world = new World({
    seed,
    n: d.n,
    faults: d.f,
    roundMs: timing.roundMs,
    delayMinMs: 0,
    delayMaxMs: timing.delayMaxMs,
    verifyMsMax: timing.verifyMsMax,
    diskMsMax: 3,
    syncIntervalMs: 500,
    eventsMax: 2_000_000,
    offsetsMs: d.offsetsMs,
    clockSkewMsMax: timing.skewMsMax,
    observers: d.observers,
    verifierKindOf: (i) => d.verifiers[i]!,
    ...(opts.roundsOverride === undefined ? {} : { consensusOverrides: { roundsOverride: opts.roundsOverride } }),
  });
  world.mesh = d.adj;
  const counters = rewriterCounters();
  const rng = world.rng;
  const rewriters = d.byzantine.map((i) => new Rewriter(world, i, d.byzantine, counters, rng.shuffle(d.honest).slice(0, rng.int(0, d.honest.length))));
  for (const i of d.honest) world.startNode(i);
  for (const r of rewriters) r.connect(d.adj[r.index]!);
  const k = opts.roundsOverride ?? d.f + 1;
  const instances = scheduleMining(world, d, rewriters);
  const proposals: AgreementOutcome['proposals'] = [];
  for (const inst of instances) if (inst.honest) mineAt(world, inst.miner, inst.t0, proposals);
  const lastT0 = Math.max(...instances.map((x) => x.t0));
  // Past the last instance's end, two rounds more: the outcomes observers follow need a delivery bound too.
  // They ride their signers' broadcast trees, and the coalition withholds them once it has fed them first
  // (rewriter.ts), so an outcome may come only by the tree's repair on each honest hop: an IHAVE flush, the
  // graft timeout and a few retries (plumtree.ts), not within a round.
  const { lazyFlushMs, graftTimeoutMs, graftRetryMs } = plumtreeDefaults;
  const repairMs = Math.max(1, timing.hops) * (2 * lazyFlushMs + graftTimeoutMs + 3 * (graftRetryMs + lazyFlushMs) + timing.deliveryMsMax);
  await world.sched.run(world.T0(lastT0 + k + 3) + timing.skewMsMax + timing.deliveryMsMax + repairMs);
  const outcome: AgreementOutcome = { seed, world, shape: d.shape, n: d.n, f: d.f, observers: d.observers, byzantine: d.byzantine, honest: d.honest, timing, verifiers: d.verifiers, instances, proposals, counters, violations: [] };
  outcome.violations = checkAgreement(outcome);
  return outcome;
}

/** Miners for t0 = 1..4: honest or coalition members, now and then two in one round. */
function scheduleMining(world: World, d: Draw, rewriters: Rewriter[]): AgreementOutcome['instances'] {
  const rng = world.rng;
  const validators = [...Array(d.n).keys()];
  const out: AgreementOutcome['instances'] = [];
  for (let t0 = 1; t0 <= 4; t0++) {
    const miners = rng.shuffle(validators).slice(0, rng.next() < 0.25 ? 2 : 1);
    for (const m of miners) {
      const r = rewriters.find((x) => x.index === m);
      if (!r) {
        out.push({ miner: m, t0, honest: true });
        continue;
      }
      const mode = rng.pick(minerModes);
      out.push({ miner: m, t0, honest: false, mode });
      world.sched.at(world.T0(t0) - 2 * d.timing.skewMsMax - 5, () => r.mine(t0, mode));
    }
  }
  return out;
}

/** Asks honest validator `m` to mine late in round t0 - 1, so its next round start is t0. */
function mineAt(world: World, m: number, t0: number, proposals: AgreementOutcome['proposals']): void {
  world.sched.at(world.T0(t0) - Math.max(1, Math.floor(world.opts.roundMs / 8)), () => {
    const sv = world.nodes[m];
    sv?.host.run(sv.host.incarnation, () => {
      sv.validator.mine(utf8(`seed ${world.seed} ${m}@${t0}`)).then(
        (p) => void proposals.push({ miner: m, t0: p.instance.t0, hash: p.hash }),
        () => undefined,
      );
    });
  });
}

/**
 * Every property of a run that can fail, as lines naming the seed:
 *  - agreement: honest validators hold the same chain;
 *  - observers never disagree: an observer's chain is a prefix of the validators'; and it is all of it when
 *    at least f+1 validators are honest (an observer follows outcomes f+1 validators signed, so with fewer
 *    honest ones it may rightly wait forever, never wrongly append);
 *  - validity: every block an honest validator proposed is in every honest validator's chain (and every
 *    observer's, when it can follow);
 *  - honest traffic is never held against an honest peer: no ban, and no offence beyond the mild ones a
 *    forward that lost a round may earn;
 *  - no false alarm: no validator reports a divergence while honest chains agree.
 */
export function checkAgreement(o: AgreementOutcome): string[] {
  const out: string[] = [];
  const nodes = o.honest.map((i) => o.world.nodes[i]).filter((x): x is SimValidator => x !== null);
  const validators = nodes.filter((x) => !o.world.isObserver(x.index));
  const observers = nodes.filter((x) => o.world.isObserver(x.index));
  const canFollow = validators.length >= o.f + 1;
  const show = (): string => nodes.map((x) => `  ${o.world.isObserver(x.index) ? 'observer' : 'validator'} ${x.index}: ${x.chainHashes().map((h) => h.slice(0, 8)).join(' ')}`).join('\n');
  const ref = validators[0]?.chainHashes().join(',') ?? '';
  if (validators.some((x) => x.chainHashes().join(',') !== ref)) out.push(`seed=${o.seed} agreement: honest validators' chains differ:\n${show()}`);
  for (const x of observers) {
    const line = x.chainHashes().join(',');
    if (!ref.startsWith(line)) out.push(`seed=${o.seed} observer ${x.index} holds a chain the validators do not:\n${show()}`);
    else if (canFollow && line !== ref) out.push(`seed=${o.seed} observer ${x.index} did not follow the whole chain (${o.honest.length} honest, f=${o.f}):\n${show()}`);
  }
  const expected = canFollow ? nodes : validators;
  for (const p of o.proposals) {
    const missing = expected.filter((x) => !x.chainHashes().includes(p.hash)).map((x) => x.index);
    if (missing.length > 0) out.push(`seed=${o.seed} validity: honest validator ${p.miner}'s block for t0=${p.t0} (${p.hash.slice(0, 12)}) is missing at ${missing.join(', ')}`);
  }
  const alarmed = validators.filter((x) => x.counters.diverged > 0).map((x) => x.index);
  if (alarmed.length > 0 && validators.every((x) => x.chainHashes().join(',') === ref)) out.push(`seed=${o.seed} false alarm: validators ${alarmed.join(', ')} reported a divergence, but honest chains agree`);
  const honestIds = new Set(nodes.map((x) => toHex(x.node.identity.publicKey)));
  for (const x of nodes) {
    for (const e of x.offencesSeen) {
      if (!honestIds.has(e.peer)) continue;
      if (e.banned || !mildCodes.has(e.code)) out.push(`seed=${o.seed} node ${x.index} scored an honest peer: ${e.code}${e.banned ? ' (banned)' : ''}: ${e.reason}`);
    }
  }
  return out;
}

/**
 * What an honest peer may be scored for: a forward of a chain it accepted in its round r reaches a node
 * already in round r + 1 (too few signatures there) or past round k. Never ERR_TOO_EARLY: an honest node sends
 * nothing of an instance before its own T0, so under the timing rule nothing it sends is early by more than σ.
 */
const mildCodes = new Set(['ERR_TOO_FEW_SIGNATURES', 'ERR_INSTANCE_OVER']);
