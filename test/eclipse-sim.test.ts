/**
 * Eclipse by churn on the simulator (issue 16, item 2): a fresh sybil from one of 20 network groups connects
 * to the victim every 100 ms for 30 s of virtual time. The shipped node code runs on in-memory links with a
 * seeded network, so a failing run replays from its seed. The honest peers that were there first and keep
 * bringing broadcasts are never evicted, and an honest node that starts mid-attack gets in at once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StrongcastNode } from '../src/core/node.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Prng } from '../src/sim/prng.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { RawHost } from './sim-net/raw-host.ts';
import { simNode as simNodeOn } from './helpers/sim-node.ts';
import { SimHost } from '../src/sim/sim-host.ts';
import type { NodeOptions } from '../src/core/node-options.ts';
import { testKey } from './sim/keys.ts';

const networkId = 'eclipse-sim';
const victimIp = '10.0.0.1';

/** A node on simulated host `ip`, its key from `seed`. */
function simNode(sched: Scheduler, net: MemoryNetwork, ip: string, seed: number, extra: Partial<NodeOptions> = {}): StrongcastNode {
  return simNodeOn(sched, net, { networkId, ip, seed, verifyMs: 1, options: { ...{ pingIntervalMs: 500, reconnectBaseMs: 100, reconnectMaxMs: 1000 }, ...extra } });
}

test('simulator: 300 sybils churning through the inbound slots evict no long-standing useful honest peer, and a new honest node joins within 2 s', async () => {
  const seed = 16;
  const sched = new Scheduler(0, 1_000_000, `eclipse seed ${seed}`);
  const prng = new Prng(seed);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 5) });
  // 12 slots: 3 reserved for our own dials (a quarter), 9 for inbound peers.
  const v = simNode(sched, net, victimIp, 1, { maxPeers: 12, targetPeers: 2 });
  const honest = [2, 3, 4, 5].map((i) => simNode(sched, net, `10.${i}.0.1`, i, { peers: [`${victimIp}:7000`] }));
  const honestIds = new Set(honest.map((h) => h.id));
  const evictedHonest: string[] = [];
  const joinedAt = new Map<string, number>();
  v.on('peer', (p) => {
    if (p.state === 'connected' && !joinedAt.has(p.id)) joinedAt.set(p.id, sched.now);
    if (p.state === 'disconnected' && p.code === 'ERR_EVICTED' && honestIds.has(p.id)) evictedHonest.push(p.id.slice(0, 8));
  });
  await v.start();
  for (const h of honest) await h.start();
  await sched.run(3000);
  assert.is(v.peers().length, 4, 'the honest peers are in before the attack');
  let newcomer: StrongcastNode | null = null;
  let newcomerStartMs = 0;
  for (let k = 0; k < 300; k++) {
    const sybil = new RawHost(net, new SimHost(sched, `10.${100 + (k % 20)}.${k >> 8}.${(k & 255) + 1}`), testKey(k, 66), networkId, prng);
    sybil.dial(victimIp, 7000);
    if (k % 10 === 0) for (const h of honest) void h.broadcast('chat', `still here ${k}`);
    if (k === 150) {
      newcomer = simNode(sched, net, '10.9.0.1', 9, { peers: [`${victimIp}:7000`] });
      newcomerStartMs = sched.now;
      await newcomer.start();
    }
    await sched.run(sched.now + 100);
    assert.ok(v.peers().filter((p) => !p.outbound).length <= 9, `inbound peers within their share at ${sched.now} ms`);
  }
  await sched.run(sched.now + 1000);
  assert.ok(v.evictions > 100, `sybils churned through the inbound slots: ${v.evictions} evictions`);
  assert.equal(evictedHonest, [], 'no honest peer that was there first and keeps bringing broadcasts was evicted');
  for (const h of honest) assert.ok(v.peerIds().includes(h.id), `honest ${h.id.slice(0, 8)} still connected`);
  const joined = joinedAt.get(newcomer!.id);
  assert.ok(joined !== undefined && joined - newcomerStartMs <= 2000, `the newcomer joined ${joined === undefined ? 'never' : `${joined - newcomerStartMs} ms after its start`}`);
  await Promise.all([v, ...honest, newcomer!].map((n) => n.stop()));
});

test('simulator: sybils churning from 30 addresses in 30 groups, one peer each, do not evict a passive honest newcomer or a restarted honest node after they join', async () => {
  const seed = 17;
  const sched = new Scheduler(0, 1_000_000, `eclipse churn seed ${seed}`);
  const prng = new Prng(seed);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 5) });
  const v = simNode(sched, net, victimIp, 1, { maxPeers: 12, targetPeers: 2 });
  const useful = [2, 3, 4].map((i) => simNode(sched, net, `10.${i}.0.1`, i, { peers: [`${victimIp}:7000`] }));
  // Neither of these ever brings the victim a broadcast: eviction's "useful" rule cannot protect them.
  const restartedIp = '10.5.0.1';
  let restarted = simNode(sched, net, restartedIp, 5, { peers: [`${victimIp}:7000`] });
  const newcomer = simNode(sched, net, '10.9.0.1', 9, { peers: [`${victimIp}:7000`] });
  const evicted: string[] = [];
  v.on('peer', (p) => {
    if (p.state === 'disconnected' && p.code === 'ERR_EVICTED' && (p.id === newcomer.id || p.id === restarted.id)) evicted.push(`${p.id.slice(0, 8)} at ${sched.now} ms`);
  });
  await v.start();
  for (const h of [...useful, restarted]) await h.start();
  await sched.run(3000);
  assert.is(v.peers().length, 4, 'the honest peers are in before the attack');
  for (let k = 0; k < 300; k++) {
    // 30 addresses in 30 groups, each back with a fresh key once it was cut (the attack suite's sybils come
    // from 32 addresses): every group in the table holds one peer, as the newcomers' do.
    const sybil = new RawHost(net, new SimHost(sched, `10.${100 + (k % 30)}.0.1`), testKey(k, 67), networkId, prng);
    sybil.dial(victimIp, 7000);
    if (k % 10 === 0) for (const h of useful) void h.broadcast('chat', `still here ${k}`);
    if (k === 100) await restarted.stop();
    if (k === 105) {
      restarted = simNode(sched, net, restartedIp, 5, { peers: [`${victimIp}:7000`] });
      await restarted.start();
    }
    if (k === 110) await newcomer.start();
    await sched.run(sched.now + 100);
  }
  await sched.run(sched.now + 1000);
  assert.ok(v.evictions > 100, `sybils churned through the inbound slots: ${v.evictions} evictions`);
  assert.equal(evicted, [], 'neither the newcomer nor the restarted node was evicted once in');
  assert.ok(v.peerIds().includes(newcomer.id), 'the newcomer is connected at the end');
  assert.ok(v.peerIds().includes(restarted.id), 'the restarted node is connected at the end');
  await Promise.all([v, ...useful, restarted, newcomer].map((n) => n.stop()));
});

test('simulator: an attacker with an address in an honest peer\'s network group, connecting and leaving over and over, does not get that peer evicted', async () => {
  for (const seed of [18, 19, 20, 21]) {
    const sched = new Scheduler(0, 1_000_000, `eclipse pump seed ${seed}`);
    const prng = new Prng(seed);
    const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 5) });
    // 16 slots, 4 reserved: 12 inbound. Nine sybils come first and stay, so the honest peer is not among the
    // oldest that age protects; it never brings a broadcast.
    const v = simNode(sched, net, victimIp, 1, { maxPeers: 16, targetPeers: 2 });
    await v.start();
    const sybil = (k: number, ip: string): void => new RawHost(net, new SimHost(sched, ip), testKey(k, 69), networkId, prng).dial(victimIp, 7000);
    for (let k = 0; k < 9; k++) {
      sybil(k, `10.${120 + k}.0.1`);
      await sched.run(sched.now + 100);
    }
    const honest = simNode(sched, net, '10.5.0.1', 5, { peers: [`${victimIp}:7000`] });
    let evicted = 0;
    v.on('peer', (p) => {
      if (p.state === 'disconnected' && p.code === 'ERR_EVICTED' && p.id === honest.id) evicted++;
    });
    await honest.start();
    await sched.run(sched.now + 1000);
    // The pump: one address in the honest peer's /16 completes the handshake and leaves, 20 times.
    for (let k = 0; k < 20; k++) {
      const pump = new RawHost(net, new SimHost(sched, '10.5.0.99'), testKey(k, 68), networkId, prng);
      pump.dial(victimIp, 7000);
      await sched.run(sched.now + 100);
      for (const c of pump.open.values()) c.link.destroy();
      await sched.run(sched.now + 100);
    }
    // Then fresh sybils, one address each in groups of their own, fill the table and keep arriving.
    for (let k = 9; k < 30; k++) {
      sybil(k, `10.${120 + k}.0.1`);
      await sched.run(sched.now + 200);
    }
    assert.ok(v.evictions >= 10, `seed ${seed}: the table was full and evicted: ${v.evictions}`);
    assert.is(evicted, 0, `seed ${seed}: the honest peer was evicted`);
    await Promise.all([v, honest].map((n) => n.stop()));
  }
});

test('simulator: honest nodes sharing a full seed back off after an eviction instead of churning through it every pass', async () => {
  const sched = new Scheduler(0, 1_000_000, 'churn seed 5');
  const prng = new Prng(5);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 5) });
  // Two inbound slots (a table this small reserves none), three honest nodes configured to keep dialing it.
  const seedNode = simNode(sched, net, victimIp, 1, { maxPeers: 2, targetPeers: 1 });
  const defaults = { reconnectBaseMs: 250, reconnectMaxMs: 30_000 };
  const others = [2, 3, 4].map((i) => simNode(sched, net, `10.${i}.0.1`, i, { peers: [`${victimIp}:7000`], ...defaults }));
  await seedNode.start();
  for (const o of others) await o.start();
  await sched.run(120_000);
  // Without the backoff, an evicted node redials at its next maintenance pass (2 s) and evicts another: 60+.
  assert.ok(seedNode.evictions <= 30, `${seedNode.evictions} evictions in 120 s`);
  assert.ok(seedNode.evictions >= 1, 'the third node did get in now and then');
  assert.is(seedNode.peers().length, 2, 'the seed stays full');
  await Promise.all([seedNode, ...others].map((n) => n.stop()));
});

test.run();
