/**
 * A plain node (no validator) on a simulated host of the in-memory network: the shipped node code on a
 * virtual clock and in-memory links, its key and its kind of verifier from a seed, for simulator tests of
 * the peer layer.
 */
import { createNode } from '../../src/create-node.ts';
import type { NodeOptions } from '../../src/core/node-options.ts';
import type { StrongcastNode } from '../../src/core/node.ts';
import { identityFromSeed } from '../../src/crypto/keys.ts';
import type { MemoryNetwork } from '../../src/sim/memory-network.ts';
import type { Scheduler } from '../../src/sim/scheduler.ts';
import { seededRandom, SimHost } from '../../src/sim/sim-host.ts';
import { simVerifierOf, type SimVerifierKind } from '../../src/sim/sim-verifier.ts';
import { Prng } from '../../src/sim/prng.ts';

/** Where and how the node runs; `options` are the node's own, over the simulator's defaults here. */
export interface SimNodeSpec {
  networkId: string;
  ip: string;
  /** Key seed (also the node's random seed). */
  seed: number;
  /**
   * Virtual ms of verification: each batch of the 'queued' kind; each signature of the 'main-thread' and
   * 'pool' kinds (on the node's thread when they verify there, SimHost.spend).
   */
  verifyMs: number;
  /**
   * The kind of verifier (src/sim/sim-verifier.ts). @default one of the shipped kinds ('main-thread', 'pool'),
   * drawn from `seed`, so a mesh runs both and a failing seed replays
   */
  verifier?: SimVerifierKind;
  options?: Partial<NodeOptions>;
}

/** The kind of verifier a node of key seed `seed` has unless its spec names one: a shipped kind, drawn from the seed. */
export function simVerifierKindOf(seed: number): SimVerifierKind {
  return new Prng(seed * 2654435761 + 11).pick(['main-thread', 'pool'] as const);
}

/** Starts nothing: returns the node, to be started by the test. Peer exchange off, port 7000. */
export function simNode(sched: Scheduler, net: MemoryNetwork, spec: SimNodeSpec): StrongcastNode {
  const host = new SimHost(sched, spec.ip);
  return createNode({
    host: spec.ip,
    port: 7000,
    networkId: spec.networkId,
    identity: identityFromSeed(new Uint8Array(32).fill(spec.seed)),
    verifier: simVerifierOf(host, { kind: spec.verifier ?? simVerifierKindOf(spec.seed), batchMs: () => spec.verifyMs, signatureMs: spec.verifyMs }),
    transport: net.transport(host),
    clock: host.clock(),
    random: seededRandom(spec.seed),
    peerExchange: false,
    ...spec.options,
  });
}

/**
 * `n` plain nodes that will form a full mesh: node i dials every node before it (at `ip(j)`:7000), key seed
 * i + 1, 1 virtual ms of verification (a batch, or a signature: see SimNodeSpec.verifyMs). Starts nothing: the test attaches its listeners, then starts them.
 */
export function simMesh(sched: Scheduler, net: MemoryNetwork, n: number, networkId: string, ip: (i: number) => string, options: Partial<NodeOptions> = {}): StrongcastNode[] {
  return Array.from({ length: n }, (_, i) =>
    simNode(sched, net, { networkId, ip: ip(i), seed: i + 1, verifyMs: 1, options: { ...options, peers: Array.from({ length: i }, (_, j) => `${ip(j)}:7000`) } }),
  );
}
