/**
 * The relay-rate attack (issue 16, item 3) on the simulator, where the victim's own thread is the bottleneck:
 * six raw sybils send it validly signed broadcasts at 1,500/s each (under the per-peer rate of 5,000), and
 * each one it delivers costs its event loop 0.25 ms of virtual time (relaying it to every peer and handing it
 * to the application; about what the attack suite's victim spends), so it can deliver 4,000/s of the 9,000/s
 * offered. Its verification pool has two threads at 0.06 ms a signature (33,000/s): verdicts come back far
 * faster than the node can act on them. A light neighbour's broadcasts must still be delivered by the victim
 * within 250 ms (the suite's probe goal), and a node joining mid-flood must be connected within 500 ms.
 *
 * Before the work that follows a verdict counted against the turn budget, the victim acted on every verdict
 * as its batch came back, and with results coming back all the time (a MessagePort is read for as long as
 * one is ready) its event loop did not turn for hundreds of ms: the light neighbour's reads, checks and
 * relays waited behind the sybils' deliveries.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import type { StrongcastNode } from '../src/core/node.ts';
import { identityFromSeed } from '../src/crypto/keys.ts';
import { gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Prng } from '../src/sim/prng.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { seededRandom, SimHost } from '../src/sim/sim-host.ts';
import { simPoolVerifier } from '../src/sim/sim-verifier.ts';
import { RawHost } from './sim-net/raw-host.ts';
import { simNode } from './helpers/sim-node.ts';
import { testKey } from './sim/keys.ts';

const networkId = 'relay-rate-sim';
const victimIp = '10.0.0.1';
/** Sybils, and the signed broadcasts each sends per 10 ms of virtual time (1,500/s). */
const sybils = 6;
const sybilPerTick = 15;
/** Virtual ms of the victim's thread each broadcast it delivers costs. */
const deliverMs = 0.25;
/** How late the victim may deliver a light neighbour's broadcast, in virtual ms (the attack suite's goal). */
const lightDeliveryMsMax = 250;
/** How long a node joining during the flood may take to be connected, in virtual ms. */
const joinMsMax = 500;

/** The victim: a plain node with a two-thread pool, whose thread pays deliverMs for every delivery. */
function victim(sched: Scheduler, net: MemoryNetwork): StrongcastNode {
  const host = new SimHost(sched, victimIp);
  const v = createNode({
    host: victimIp,
    port: 7000,
    networkId,
    identity: identityFromSeed(new Uint8Array(32).fill(1)),
    verifier: simPoolVerifier(host, { threads: 2, signatureMs: 0.06 }),
    transport: net.transport(host),
    clock: host.clock(),
    random: seededRandom(1),
    peerExchange: false,
    maxPeers: 16,
  });
  v.on('message', () => host.spend(deliverMs));
  return v;
}

test('simulator: sybils whose valid broadcasts cost the victim\'s thread more than it has do not delay a light peer\'s broadcasts past 250 ms, and a node joining mid-flood gets in within 500 ms', async () => {
  const seed = 16;
  const sched = new Scheduler(0, 5_000_000, `relay-rate seed ${seed}`);
  const prng = new Prng(seed);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 3) });
  const v = victim(sched, net);
  const light = simNode(sched, net, { networkId, ip: '10.1.0.1', seed: 2, verifyMs: 1, options: { peers: [`${victimIp}:7000`] } });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  v.on('message', (m) => {
    const at = sentAt.get(m.id);
    if (at !== undefined) latencies.push(sched.now - at);
  });
  await v.start();
  await light.start();
  const raws = Array.from({ length: sybils }, (_, i) => new RawHost(net, new SimHost(sched, `10.66.0.${i + 1}`), testKey(i, 91), networkId, prng));
  for (const h of raws) h.dial(victimIp, 7000);
  await sched.run(1000);
  assert.is(v.peers().length, 1 + sybils, 'the light neighbour and the sybils are connected');

  const origins = Array.from({ length: 256 }, (_, i) => testKey(i, 92));
  let sent = 0;
  let joiner: StrongcastNode | null = null;
  let joinStartMs = 0;
  let joinedMs: number | null = null;
  for (let tick = 0; tick < 300; tick++) {
    for (const h of raws) {
      for (const c of h.open.values()) {
        for (let j = 0; j < sybilPerTick; j++) {
          const origin = origins[sent % origins.length]!;
          const unsigned = { origin: origin.publicKey, seq: ++sent, topic: 'flood', data: new Uint8Array(32).fill(j) };
          c.send({ t: 'gossip', ...unsigned, hops: 0, sig: origin.sign(gossipSignedBytes(networkId, unsigned)) });
        }
      }
    }
    // The light neighbour broadcasts every 100 ms once the flood has filled the victim's queues.
    if (tick >= 50 && tick % 10 === 0) {
      const at = sched.now;
      sentAt.set((await light.broadcast('chat', `light ${tick}`)).id, at);
    }
    if (tick === 150) {
      joiner = simNode(sched, net, { networkId, ip: '10.9.0.1', seed: 9, verifyMs: 1, options: { peers: [`${victimIp}:7000`] } });
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
  // 3 s of flood at 9,000/s against 4,000/s: the victim's thread was the bottleneck throughout.
  assert.ok(deliveredInFlood > 8000 && deliveredInFlood < sent * 0.6, `the victim delivered ${deliveredInFlood} of ${sent} sybil broadcasts during the flood: busy, and behind`);
  assert.is(latencies.length, sentAt.size, `every light broadcast was delivered by the victim (${latencies.length} of ${sentAt.size})`);
  const worst = Math.max(...latencies);
  assert.ok(worst <= lightDeliveryMsMax, `the light neighbour's broadcasts took up to ${worst} ms at the victim (${latencies.map((l) => Math.round(l)).join(', ')})`);
  assert.ok(joinedMs !== null && joinedMs - joinStartMs <= joinMsMax, `the joining node was connected ${joinedMs === null ? 'never' : `${joinedMs - joinStartMs} ms after its start`}`);
  await Promise.all([v, light, joiner!].map((n) => n.stop()));
  for (const h of raws) for (const c of h.open.values()) c.close();
});

test.run();
