/**
 * Overload charged to the peers that cause it (issue 16, item 3), on the simulator: the victim's verification
 * pool has a real capacity (two threads, 1 ms of virtual time a signature: 2,000 signatures/s), and four raw
 * peers send it validly signed broadcasts at 2,000/s each, four times what it can check. A light honest
 * neighbour's broadcasts must still be delivered by the victim within a bound, and a node that joins during
 * the flood must get in quickly: their few checks go ahead of the heavy peers' backlog instead of behind it.
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

const networkId = 'fair-sim';
const victimIp = '10.0.0.1';
/** Heavy raw peers, and the signed broadcasts each sends per 10 ms of virtual time (2,000/s). */
const heavyPeers = 4;
const heavyPerTick = 20;
/** How late the victim may deliver a light neighbour's broadcast, in virtual ms (the attack suite's goal). */
const lightDeliveryMsMax = 250;
/** How long a node joining during the flood may take to be connected, in virtual ms. */
const joinMsMax = 500;

/** The victim: a plain node whose verifier has the capacity of a two-thread pool at 1 ms a signature. */
function victim(sched: Scheduler, net: MemoryNetwork): StrongcastNode {
  const host = new SimHost(sched, victimIp);
  return createNode({
    host: victimIp,
    port: 7000,
    networkId,
    identity: identityFromSeed(new Uint8Array(32).fill(1)),
    verifier: simPoolVerifier(host, { threads: 2, signatureMs: 1 }),
    transport: net.transport(host),
    clock: host.clock(),
    random: seededRandom(1),
    peerExchange: false,
    maxPeers: 16,
  });
}

test('simulator: heavy peers saturating the victim\'s verification do not delay a light peer\'s broadcasts past 250 ms, and a node joining mid-flood gets in within 500 ms', async () => {
  const seed = 11;
  const sched = new Scheduler(0, 5_000_000, `fair seed ${seed}`);
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
  const heavy = Array.from({ length: heavyPeers }, (_, i) => new RawHost(net, new SimHost(sched, `10.66.0.${i + 1}`), testKey(i, 91), networkId, prng));
  for (const h of heavy) h.dial(victimIp, 7000);
  await sched.run(1000);
  assert.is(v.peers().length, 1 + heavyPeers, 'the light neighbour and the heavy peers are connected');

  const origins = Array.from({ length: 64 }, (_, i) => testKey(i, 92));
  let seq = 0;
  let joiner: StrongcastNode | null = null;
  let joinStartMs = 0;
  let joinedMs: number | null = null;
  for (let tick = 0; tick < 300; tick++) {
    for (const h of heavy) {
      for (const c of h.open.values()) {
        for (let j = 0; j < heavyPerTick; j++) {
          const origin = origins[seq % origins.length]!;
          const unsigned = { origin: origin.publicKey, seq: ++seq, topic: 'flood', data: new Uint8Array(32).fill(j) };
          c.send({ t: 'gossip', ...unsigned, hops: 0, sig: origin.sign(gossipSignedBytes(networkId, unsigned)) });
        }
      }
    }
    // The light neighbour broadcasts every 100 ms once the flood has filled the victim's queue.
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
  await sched.run(sched.now + 3000);
  assert.ok(v.stats().delivered > 4000, `the victim was kept busy: ${v.stats().delivered} broadcasts delivered`);
  assert.is(latencies.length, sentAt.size, `every light broadcast was delivered by the victim (${latencies.length} of ${sentAt.size})`);
  const worst = Math.max(...latencies);
  assert.ok(worst <= lightDeliveryMsMax, `the light neighbour's broadcasts took up to ${worst} ms at the victim (${latencies.join(', ')})`);
  assert.ok(joinedMs !== null && joinedMs - joinStartMs <= joinMsMax, `the joining node was connected ${joinedMs === null ? 'never' : `${joinedMs - joinStartMs} ms after its start`}`);
  await Promise.all([v, light, joiner!].map((n) => n.stop()));
  for (const h of heavy) for (const c of h.open.values()) c.close();
});

test.run();
