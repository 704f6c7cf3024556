/**
 * The in-memory half of the consensus benchmark: n honest validators, each the shipped node and validator
 * (src/core) on its own simulated host (src/sim: virtual clock, in-memory links of a full mesh, delays of
 * 1..0.6Δ per send, so chains arrive out of order and some grow longer than the two signatures of the
 * fastest path), with real Ed25519 keys and signatures and each its own verifier (the pool's core, cache
 * and counters, answering in the same turn). So what is measured is what a node does: framing, duplicate
 * suppression, the round check, checkChain, the state machine, relays, forwards and outcomes.
 *
 * Each checkChain call runs its batch before it returns, so the verifier's counter across the call gives
 * the signatures that call verified, attributed to one (node, block). "Naive" counts every signature of
 * every chain handed to the verifier: what the node would verify without the valid-signature cache (the
 * gossip layer's duplicate suppression still applies).
 */
import { toHex } from '../../src/bytes.ts';
import { createGenesis, genesisHash, type Genesis } from '../../src/consensus/genesis.ts';
import { identityFromSeed, type Identity } from '../../src/crypto/keys.ts';
import type { VerifyPool } from '../../src/crypto/verify-pool.ts';
import { createNode } from '../../src/create-node.ts';
import type { StrongcastNode } from '../../src/core/node.ts';
import { Validator } from '../../src/core/validator.ts';
import { MemoryNetwork } from '../../src/sim/memory-network.ts';
import { Prng } from '../../src/sim/prng.ts';
import { Scheduler } from '../../src/sim/scheduler.ts';
import { seededRandom, SimHost } from '../../src/sim/sim-host.ts';
import { simVerifier } from '../../src/sim/sim-verifier.ts';

/** One in-memory configuration. */
export interface MemorySpec {
  validators: number;
  faults: number;
  /** Blocks proposed, one per round, miners in turn (miner = t0 mod n). */
  blocks: number;
  seed: number;
}

/** What one in-memory run measured. */
export interface MemoryResult {
  validators: number;
  faults: number;
  rounds: number;
  blocks: number;
  /** Blocks every node decided, all with the proposed hash, in the same chain order. */
  blocksDecided: number;
  allDecidedCorrectly: boolean;
  /** Instances (t0) not decided alike by every node. */
  disagreements: number;
  /** Ed25519 verifications run per node per decided block (with the cache): mean, and max over (node, block). */
  verificationsPerNodePerBlock: number;
  verificationsPerNodePerBlockMax: number;
  /** Signatures of every chain handed to the verifier, per node per block: mean and max over (node, block). */
  naiveVerificationsPerNodePerBlock: number;
  naiveVerificationsPerNodePerBlockMax: number;
  /** Distinct chains verified per node per block. */
  chainsVerifiedPerNodePerBlock: number;
  /** Copies of flooded messages (chains and validators' outcomes) each node received per block, duplicates included. */
  floodCopiesPerNodePerBlock: number;
  /**
   * Frames each node handled per block, by kind: Dolev-Strong chains (flooded), validators' outcomes (down
   * each signer's broadcast tree), and the trees' own IHAVE, GRAFT and PRUNE frames.
   */
  chainFramesPerNodePerBlock: number;
  outcomeFramesPerNodePerBlock: number;
  treeFramesPerNodePerBlock: number;
  /** Signatures verified per node per block outside chain checks: the other validators' signed outcomes. */
  otherVerificationsPerNodePerBlock: number;
  /** Longest chain any node received, in signatures. */
  longestChainSignatures: number;
  /** CPU of the whole process (all n nodes, signing, verifying, the simulator) per decided block, and per node. */
  cpuMsPerBlockAllNodes: number;
  cpuMsPerNodePerBlock: number;
  wallMs: number;
}

/** Δ of the virtual clock; only ratios of delays to it matter. */
const roundMs = 100;
const delayMinMs = 1;
const delayMaxMs = Math.floor(0.6 * roundMs);
/** A run never processes more events than this (a forwarding loop would be a bug). */
const eventsMax = 10_000_000;

interface BlockCounts {
  verified: number;
  requested: number;
  chains: number;
}

interface MemNode {
  index: number;
  validator: Validator;
  node: StrongcastNode;
  /** Signatures the node's verifier has run so far (counted as each batch runs). */
  verifiedNow: number;
  /** Decided block hash (or null) per t0. */
  decided: Map<number, string | null>;
  /** Per block hash hex: signatures verified and signatures handed over, chains checked. */
  perBlock: Map<string, BlockCounts>;
}

function keyOf(i: number): Identity {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, i + 1);
  seed.set(new TextEncoder().encode('consensus-bench'), 8);
  return identityFromSeed(seed);
}

/**
 * The verifier a node and its validator use, counting per block what each checkChain call made the verifier
 * run: the inline executor runs a call's batch before the call returns, so the counter's change across the
 * call is that call's work (a signature already in flight for another call is waited for, not run again).
 */
function countingVerifier(inner: VerifyPool, m: MemNode, longest: { value: number }): VerifyPool {
  return {
    verify: (checks) => inner.verify(checks),
    close: () => inner.close(),
    stats: () => inner.stats(),
    rememberOwn: (signer, bytes, sig) => inner.rememberOwn(signer, bytes, sig),
    checkChain: (check) => {
      const hex = toHex(check.blockHash);
      const counts = m.perBlock.get(hex) ?? { verified: 0, requested: 0, chains: 0 };
      m.perBlock.set(hex, counts);
      const before = m.verifiedNow;
      const result = inner.checkChain(check);
      counts.verified += m.verifiedNow - before;
      counts.requested += check.msg.signers.length;
      counts.chains++;
      longest.value = Math.max(longest.value, check.msg.signers.length);
      return result;
    },
  };
}

/** One validator of the run: the shipped node and validator on a simulated host. */
function startValidator(i: number, ids: Identity[], genesis: Genesis, net: MemoryNetwork, sched: Scheduler, longest: { value: number }): MemNode {
  const host = new SimHost(sched, memIp(i));
  const consensus = { networkId: genesis.networkId, genesisHash: genesisHash(genesis), validatorKeys: ids.map((id) => id.publicKey) };
  const m = { index: i, verifiedNow: 0, decided: new Map(), perBlock: new Map() } as unknown as MemNode;
  const verifier = countingVerifier(simVerifier(host, consensus, () => 0, (s) => void (m.verifiedNow += s)), m, longest);
  const peers = ids.map((_, j) => j).filter((j) => j !== i).map((j) => `${memIp(j)}:7000`);
  m.node = createNode({ host: host.ip, port: 7000, networkId: genesis.networkId, identity: ids[i], verifier, transport: net.transport(host), clock: host.clock(), random: seededRandom(i + 1), peers, peerExchange: false, maintainIntervalMs: 100, reconnectBaseMs: 50 });
  m.validator = new Validator({ node: m.node, genesis, identity: ids[i]!, verifier });
  m.validator.on('decided', (e) => void m.decided.set(e.instance.t0, e.block ? e.block.hash : null));
  m.validator.on('rejected', (e) => {
    throw new Error(`node ${i} rejected (${e.code}): ${e.reason}`);
  });
  void m.node.start().then(() => m.validator.start());
  return m;
}

function memIp(i: number): string {
  return `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/**
 * Runs `spec.blocks` honest instances through n validators (the shipped node and validator, each on its own
 * simulated host with its own verifier, a full mesh of in-memory links) and counts verifications and CPU.
 */
export async function runMemory(spec: MemorySpec): Promise<MemoryResult> {
  const n = spec.validators;
  const ids = Array.from({ length: n }, (_, i) => keyOf(i));
  const startMs = 1_000_000;
  const genesis = createGenesis({ publicKeys: ids.map((id) => id.publicKey), networkId: 'bench-consensus', faults: spec.faults, roundMs, startMs });
  const k = spec.faults + 1;
  const rng = new Prng(spec.seed);
  const sched = new Scheduler(startMs - 1000, eventsMax, `seed=${spec.seed}`);
  const net = new MemoryNetwork(sched, { delayMs: () => rng.int(delayMinMs, delayMaxMs) });
  const longest = { value: 0 };
  const nodes = ids.map((_, i) => startValidator(i, ids, genesis, net, sched, longest));
  const proposed = new Map<number, string>();
  for (let t0 = 0; t0 < spec.blocks; t0++) {
    const miner = nodes[t0 % n] as MemNode;
    const payload = new TextEncoder().encode(`block ${t0} by validator ${miner.index}`);
    // Asked late in the round before, `mine` proposes at the start of t0.
    sched.at(startMs + t0 * roundMs - roundMs / 8, () => void miner.validator.mine(payload).then((p) => proposed.set(p.instance.t0, p.hash)));
  }
  // Connections and handshakes first, outside the measurement.
  await sched.run(startMs - 1);
  const endMs = startMs + (spec.blocks - 1 + k + 1) * roundMs + 1;
  const verifiedBefore = nodes.map((m) => m.verifiedNow);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await sched.run(endMs);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  const copies = nodes.reduce((t, m) => t + m.node.gossip.counters.admitted + m.node.gossip.counters.duplicates, 0);
  const framesIn = (f: (t: StrongcastNode['traffic']['in']) => number): number => nodes.reduce((t, m) => t + f(m.node.traffic.in), 0);
  const frames = { chain: framesIn((t) => t.ds), outcome: framesIn((t) => t.outcome), tree: framesIn((t) => t.ihave + t.graft + t.prune) };
  // Everything the verifiers ran while blocks were decided, chains or not (validators' outcomes, mostly).
  const verifiedAll = nodes.reduce((t, m, i) => t + m.verifiedNow - verifiedBefore[i]!, 0);
  for (const m of nodes) {
    m.validator.stop();
    await m.node.stop();
  }
  return summarize(spec, nodes, proposed, k, longest.value, { copies, verifiedAll, frames }, (cpu.user + cpu.system) / 1000, wallMs);
}

function summarize(spec: MemorySpec, nodes: MemNode[], proposed: Map<number, string>, k: number, longest: number, totals: { copies: number; verifiedAll: number; frames: { chain: number; outcome: number; tree: number } }, cpuMs: number, wallMs: number): MemoryResult {
  const n = spec.validators;
  // Correct: every node decided, for every t0, the very block its miner proposed, and all chains are equal.
  let decided = 0;
  let disagreements = 0;
  for (let t0 = 0; t0 < spec.blocks; t0++) {
    const want = proposed.get(t0);
    if (want !== undefined && nodes.every((node) => node.decided.get(t0) === want)) decided++;
    if (!nodes.every((node) => node.decided.get(t0) === (nodes[0] as MemNode).decided.get(t0))) disagreements++;
  }
  const chainOf = (node: MemNode): string => node.validator.chain().map((b) => toHex(b.hash)).join(',');
  const sameChains = nodes.every((node) => chainOf(node) === chainOf(nodes[0] as MemNode));
  const cells = nodes.flatMap((node) => [...proposed.values()].map((h) => node.perBlock.get(h) ?? { verified: 0, requested: 0, chains: 0 }));
  const sum = (f: (c: (typeof cells)[number]) => number): number => cells.reduce((s, c) => s + f(c), 0);
  const max = (f: (c: (typeof cells)[number]) => number): number => cells.reduce((m, c) => Math.max(m, f(c)), 0);
  const perNodeBlock = Math.max(1, n * decided);
  return {
    validators: n,
    faults: spec.faults,
    rounds: k,
    blocks: spec.blocks,
    blocksDecided: decided,
    allDecidedCorrectly: decided === spec.blocks && sameChains,
    disagreements,
    verificationsPerNodePerBlock: sum((c) => c.verified) / perNodeBlock,
    verificationsPerNodePerBlockMax: max((c) => c.verified),
    naiveVerificationsPerNodePerBlock: sum((c) => c.requested) / perNodeBlock,
    naiveVerificationsPerNodePerBlockMax: max((c) => c.requested),
    chainsVerifiedPerNodePerBlock: sum((c) => c.chains) / perNodeBlock,
    floodCopiesPerNodePerBlock: totals.copies / perNodeBlock,
    chainFramesPerNodePerBlock: totals.frames.chain / perNodeBlock,
    outcomeFramesPerNodePerBlock: totals.frames.outcome / perNodeBlock,
    treeFramesPerNodePerBlock: totals.frames.tree / perNodeBlock,
    otherVerificationsPerNodePerBlock: (totals.verifiedAll - sum((c) => c.verified)) / perNodeBlock,
    longestChainSignatures: longest,
    cpuMsPerBlockAllNodes: cpuMs / Math.max(1, decided),
    cpuMsPerNodePerBlock: cpuMs / perNodeBlock,
    wallMs,
  };
}
