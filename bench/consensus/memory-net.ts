/**
 * The in-memory half of the consensus benchmark: n honest Dolev-Strong cores (the real state machine, real
 * Ed25519 keys and signatures) on a simulated full mesh with a virtual clock. Every node has its own
 * main-thread verifier (the same core, cache and counters as the worker pool, run inline) and hands it every
 * chain it admits, exactly as the validator shell does: gossip duplicate suppression by consensus id, the
 * round check by the receiver's clock, then checkChain, then onVerifiedChain. Sends and forwards reach every
 * other node after a seeded random delay of 1..0.6Δ, so chains arrive out of order and some grow longer than
 * the two signatures of the fastest path.
 *
 * Each chain is checked to the end before the next event runs, so the verifier's counter before and after a
 * call gives the signatures that call verified, attributed to one (node, block). "Naive" counts every
 * signature of every chain handed to the verifier: what the node would verify without the valid-signature
 * cache (the gossip layer's duplicate suppression still applies).
 */
import { toHex } from '../../src/bytes.ts';
import { blockHash } from '../../src/consensus/block.ts';
import { DolevStrong, type ConsensusAction } from '../../src/consensus/dolev-strong.ts';
import { createGenesis, genesisHash } from '../../src/consensus/genesis.ts';
import { identityFromSeed, type Identity } from '../../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../../src/crypto/main-thread-verifier.ts';
import type { VerifyPool } from '../../src/crypto/verify-pool.ts';
import { consensusId } from '../../src/gossip/gossip-core.ts';
import type { ConsensusMessage } from '../../src/wire/schema.ts';
import { Prng } from '../../src/sim/prng.ts';
import { EventQueue } from '../../src/sim/event-queue.ts';

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
  /** Distinct chains verified per node per block, and every copy received (duplicates dropped by gossip). */
  chainsVerifiedPerNodePerBlock: number;
  chainCopiesReceivedPerNodePerBlock: number;
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
const eventsMax = 5_000_000;

interface MemNode {
  index: number;
  core: DolevStrong;
  verifier: VerifyPool;
  seen: Set<string>;
  /** Decided block hash (or null) per t0. */
  decided: Map<number, string | null>;
  /** Per block hash hex: signatures verified and signatures handed over. */
  perBlock: Map<string, { verified: number; requested: number; chains: number; copies: number }>;
}


function keyOf(i: number): Identity {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, i + 1);
  seed.set(new TextEncoder().encode('consensus-bench'), 8);
  return identityFromSeed(seed);
}

/** Runs `spec.blocks` honest instances through n cores and counts verifications and CPU. */
export async function runMemory(spec: MemorySpec): Promise<MemoryResult> {
  const n = spec.validators;
  const ids = Array.from({ length: n }, (_, i) => keyOf(i));
  const startMs = 1_000_000;
  const genesis = createGenesis({ publicKeys: ids.map((id) => id.publicKey), networkId: 'bench-consensus', faults: spec.faults, roundMs, startMs });
  const consensus = { networkId: genesis.networkId, genesisHash: genesisHash(genesis), validatorKeys: ids.map((id) => id.publicKey) };
  const nodes: MemNode[] = ids.map((id, index) => {
    const verifier = createMainThreadVerifier({ consensus });
    // As the validator shell does: a node's own signatures go into its cache when it signs.
    const sign = (b: Uint8Array) => {
      const sig = id.sign(b);
      verifier.rememberOwn(index, b, sig);
      return sig;
    };
    return { index, core: new DolevStrong({ genesis, selfIndex: index, sign }), verifier, seen: new Set(), decided: new Map(), perBlock: new Map() };
  });
  const k = spec.faults + 1;
  const rng = new Prng(spec.seed);
  const queue = new EventQueue<() => void | Promise<void>>();
  let now = startMs - roundMs;
  let longest = 0;
  const proposed = new Map<number, string>();

  const broadcast = (from: number, msg: ConsensusMessage, skip: number): void => {
    for (const node of nodes) {
      if (node.index === from || node.index === skip) continue;
      const copy = { ...msg, hops: msg.hops + 1 };
      queue.push(now + rng.int(delayMinMs, delayMaxMs), () => receive(node, from, copy));
    }
  };
  const apply = (node: MemNode, actions: ConsensusAction[], from: number): void => {
    for (const a of actions) {
      if (a.type === 'send') broadcast(node.index, a.msg, -1);
      else if (a.type === 'forward') broadcast(node.index, a.msg, from);
      else if (a.type === 'proposed') proposed.set(a.instance.t0, toHex(a.blockHash));
      else if (a.type === 'decided') node.decided.set(a.instance.t0, a.block ? toHex(a.block.hash) : null);
      else if (a.type === 'rejected') throw new Error(`seed=${spec.seed}: node ${node.index} rejected (${a.code}): ${a.reason}`);
    }
  };
  const receive = async (node: MemNode, from: number, msg: ConsensusMessage): Promise<void> => {
    const hash = blockHash(msg.block);
    const hex = toHex(hash);
    const counts = node.perBlock.get(hex) ?? { verified: 0, requested: 0, chains: 0, copies: 0 };
    node.perBlock.set(hex, counts);
    counts.copies++;
    // The node's gossip layer: a copy of a chain already handed to the shell is dropped unverified.
    const id = consensusId(hash, msg);
    if (node.seen.has(id)) return;
    node.seen.add(id);
    // The validator shell: a chain outside rounds 1..k is refused before any signature is checked.
    const round = node.core.roundOf(msg.block.t0, now);
    if (round < 1 || round > k) return;
    const before = node.verifier.stats().signaturesVerified;
    const check = await node.verifier.checkChain({ msg, blockHash: hash, round });
    counts.verified += node.verifier.stats().signaturesVerified - before;
    counts.requested += msg.signers.length;
    counts.chains++;
    longest = Math.max(longest, msg.signers.length);
    if (!check.ok) throw new Error(`seed=${spec.seed}: node ${node.index} refused an honest chain (${check.code}): ${check.reason}`);
    apply(node, node.core.onVerifiedChain(msg, now, hash), from);
  };

  for (let t0 = 0; t0 < spec.blocks; t0++) {
    const miner = nodes[t0 % n] as MemNode;
    const payload = new TextEncoder().encode(`block ${t0} by validator ${miner.index}`);
    queue.push(startMs + t0 * roundMs, () => apply(miner, miner.core.propose(payload, t0, now), miner.index));
  }
  const endMs = startMs + (spec.blocks - 1 + k) * roundMs + 1;
  // Every core ticks just after each round boundary, where instances end and decisions fall due.
  for (let t = startMs + 1; t <= endMs + roundMs; t += roundMs) {
    queue.push(t, () => {
      for (const node of nodes) apply(node, node.core.tick(now), node.index);
    });
  }

  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let events = 0;
  for (let e = queue.pop(); e !== undefined && e.at <= endMs + roundMs; e = queue.pop()) {
    if (++events > eventsMax) throw new Error(`seed=${spec.seed}: more than ${eventsMax} events`);
    now = e.at;
    await e.fn();
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  await Promise.all(nodes.map((node) => node.verifier.close()));

  return summarize(spec, nodes, proposed, k, longest, (cpu.user + cpu.system) / 1000, wallMs);
}

function summarize(spec: MemorySpec, nodes: MemNode[], proposed: Map<number, string>, k: number, longest: number, cpuMs: number, wallMs: number): MemoryResult {
  const n = spec.validators;
  // Correct: every node decided, for every t0, the very block its miner proposed, and all chains are equal.
  let decided = 0;
  let disagreements = 0;
  for (let t0 = 0; t0 < spec.blocks; t0++) {
    const want = proposed.get(t0);
    if (want !== undefined && nodes.every((node) => node.decided.get(t0) === want)) decided++;
    if (!nodes.every((node) => node.decided.get(t0) === (nodes[0] as MemNode).decided.get(t0))) disagreements++;
  }
  const chainOf = (node: MemNode): string => node.core.chain().map((b) => toHex(b.hash)).join(',');
  const sameChains = nodes.every((node) => chainOf(node) === chainOf(nodes[0] as MemNode));
  const cells = nodes.flatMap((node) => [...proposed.values()].map((h) => node.perBlock.get(h) ?? { verified: 0, requested: 0, chains: 0, copies: 0 }));
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
    chainCopiesReceivedPerNodePerBlock: sum((c) => c.copies) / perNodeBlock,
    longestChainSignatures: longest,
    cpuMsPerBlockAllNodes: cpuMs / Math.max(1, decided),
    cpuMsPerNodePerBlock: cpuMs / perNodeBlock,
    wallMs,
  };
}
