/**
 * The simulated flood the two light-peer tests share (fair-overload-sim, relay-rate-sim): raw peers send a
 * victim validly signed broadcasts from many origins for 3 s of virtual time, a light neighbour broadcasts
 * every 100 ms once the flood has filled the victim's queues, and a node joins halfway through. The test
 * builds the victim (its verifier and what its thread pays) and judges what this returns.
 */
import * as assert from 'uvu/assert';
import { createNode } from '../../src/create-node.ts';
import type { StrongcastNode } from '../../src/core/node.ts';
import { identityFromSeed } from '../../src/crypto/keys.ts';
import { gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { MemoryNetwork } from '../../src/sim/memory-network.ts';
import { Prng } from '../../src/sim/prng.ts';
import { Scheduler } from '../../src/sim/scheduler.ts';
import { seededRandom, SimHost } from '../../src/sim/sim-host.ts';
import { simPoolVerifier } from '../../src/sim/sim-verifier.ts';
import { simNode } from '../helpers/sim-node.ts';
import { testKey } from '../sim/keys.ts';
import { RawHost } from './raw-host.ts';

/**
 * The victim both tests flood: a plain node on victimIp:7000 with a two-thread pool of `signatureMs` a
 * signature, whose thread pays `deliverMs` of virtual time for every broadcast it delivers (0: nothing).
 */
export function floodVictim(sched: Scheduler, net: MemoryNetwork, o: { networkId: string; victimIp: string; signatureMs: number; deliverMs: number }): StrongcastNode {
  const host = new SimHost(sched, o.victimIp);
  const v = createNode({
    host: o.victimIp,
    port: 7000,
    networkId: o.networkId,
    identity: identityFromSeed(new Uint8Array(32).fill(1)),
    verifier: simPoolVerifier(host, { threads: 2, signatureMs: o.signatureMs }),
    transport: net.transport(host),
    clock: host.clock(),
    random: seededRandom(1),
    peerExchange: false,
    maxPeers: 16,
  });
  if (o.deliverMs > 0) v.on('message', () => host.spend(o.deliverMs));
  return v;
}

/** The flood's shape. */
export interface LightPeerFlood {
  seed: number;
  /** The scheduler's label, printed with a failure. */
  label: string;
  networkId: string;
  victimIp: string;
  /** Makes the victim, listening on victimIp:7000. */
  victim: (sched: Scheduler, net: MemoryNetwork) => StrongcastNode;
  /** Raw flooding peers, and the broadcasts each sends per 10 ms tick on each of its connections. */
  flooders: number;
  perTick: number;
  /** Distinct origins the flood's broadcasts come from. */
  origins: number;
}

/** What the run saw; the nodes are still running (`stop` ends them). */
export interface LightPeerFloodRun {
  victim: StrongcastNode;
  /** Broadcasts the flooders sent. */
  sent: number;
  /** Broadcasts the victim had delivered when the flood stopped (before the 3 s drain). */
  deliveredInFlood: number;
  /** The light neighbour's broadcasts sent, and the victim's delivery latency of each delivered one, in ms. */
  lightSent: number;
  lightLatencies: number[];
  /** When the joiner started, and when it was first connected (null: never). */
  joinStartMs: number;
  joinedMs: number | null;
  stop: () => Promise<void>;
}

/** Runs the flood (module comment) and drains for 3 s. */
export async function runLightPeerFlood(o: LightPeerFlood): Promise<LightPeerFloodRun> {
  const sched = new Scheduler(0, 5_000_000, o.label);
  const prng = new Prng(o.seed);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 3) });
  const v = o.victim(sched, net);
  const peers = [`${o.victimIp}:7000`];
  const light = simNode(sched, net, { networkId: o.networkId, ip: '10.1.0.1', seed: 2, verifyMs: 1, options: { peers } });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  v.on('message', (m) => {
    const at = sentAt.get(m.id);
    if (at !== undefined) latencies.push(sched.now - at);
  });
  await v.start();
  await light.start();
  const raws = Array.from({ length: o.flooders }, (_, i) => new RawHost(net, new SimHost(sched, `10.66.0.${i + 1}`), testKey(i, 91), o.networkId, prng));
  for (const h of raws) h.dial(o.victimIp, 7000);
  await sched.run(1000);
  assert.is(v.peers().length, 1 + o.flooders, 'the light neighbour and the flooders are connected');

  const origins = Array.from({ length: o.origins }, (_, i) => testKey(i, 92));
  let sent = 0;
  let joiner: StrongcastNode | null = null;
  let joinStartMs = 0;
  let joinedMs: number | null = null;
  for (let tick = 0; tick < 300; tick++) {
    for (const h of raws) {
      for (const c of h.open.values()) {
        for (let j = 0; j < o.perTick; j++) {
          const origin = origins[sent % origins.length]!;
          const unsigned = { origin: origin.publicKey, seq: ++sent, topic: 'flood', data: new Uint8Array(32).fill(j) };
          c.send({ t: 'gossip', ...unsigned, hops: 0, sig: origin.sign(gossipSignedBytes(o.networkId, unsigned)) });
        }
      }
    }
    // The light neighbour broadcasts every 100 ms once the flood has filled the victim's queues.
    if (tick >= 50 && tick % 10 === 0) {
      const at = sched.now;
      sentAt.set((await light.broadcast('chat', `light ${tick}`)).id, at);
    }
    if (tick === 150) {
      joiner = simNode(sched, net, { networkId: o.networkId, ip: '10.9.0.1', seed: 9, verifyMs: 1, options: { peers } });
      joiner.on('peer', (p) => {
        if (p.state === 'connected' && joinedMs === null) joinedMs = sched.now;
      });
      joinStartMs = sched.now;
      await joiner.start();
    }
    await sched.run(sched.now + 10);
  }
  const deliveredInFlood = v.stats().delivered;
  await sched.run(sched.now + 3000);
  const stop = async (): Promise<void> => {
    await Promise.all([v, light, joiner!].map((n) => n.stop()));
    for (const h of raws) for (const c of h.open.values()) c.close();
  };
  return { victim: v, sent, deliveredInFlood, lightSent: sentAt.size, lightLatencies: latencies, joinStartMs, joinedMs, stop };
}
