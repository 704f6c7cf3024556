/**
 * The broadcast tree's lazy flush (IHAVE announcements, GRAFTs of overdue ids) runs only while the tree has
 * work: an idle node is not woken every lazyFlushMs for nothing (each wake-up of a process costs CPU, which
 * n validators on shared cores pay n times). On the simulator, whose scheduler counts every timer that fires.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StrongcastNode } from '../src/core/node.ts';
import { Plumtree, plumtreeDefaults } from '../src/gossip/plumtree.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { simMesh } from './helpers/sim-node.ts';

const networkId = 'lazy-flush-idle';

/** n nodes, each connected to every other, broadcast trees on (the default gossipMode). */
async function mesh(sched: Scheduler, n: number): Promise<StrongcastNode[]> {
  const net = new MemoryNetwork(sched, { delayMs: () => 2 });
  const nodes = simMesh(sched, net, n, networkId, (i) => `10.3.0.${i + 1}`);
  for (const node of nodes) await node.start();
  return nodes;
}

test('an idle node sets no lazy-flush timer: over 10 s of quiet, 4 nodes fire fewer timers than one lazyFlushMs timer each would', async () => {
  const sched = new Scheduler(0, 1_000_000, 'lazy-flush idle');
  const nodes = await mesh(sched, 4);
  await sched.run(3_000);
  assert.ok(nodes.every((x) => x.peers().length === 3), 'full mesh');
  const before = sched.events;
  await sched.run(13_000);
  const events = sched.events - before;
  // A repeating lazy flush alone is 4 x 10 s / lazyFlushMs = 400 events; what is left is keepalive pings and
  // their frames, and maintenance.
  const oneTimerEach = (4 * 10_000) / plumtreeDefaults.lazyFlushMs;
  assert.ok(events < oneTimerEach / 2, `${events} events in 10 s of quiet (a lazy-flush timer each would be ${oneTimerEach} alone)`);
  await Promise.all(nodes.map((x) => x.stop()));
});

test('the lazy flush still runs while there is work: broadcasts after a quiet spell reach every node, with IHAVEs sent on the lazy links', async () => {
  const sched = new Scheduler(0, 1_000_000, 'lazy-flush work');
  const nodes = await mesh(sched, 6);
  await sched.run(3_000);
  const got = nodes.map(() => new Set<string>());
  nodes.forEach((x, i) => x.on('message', (m) => got[i]!.add(m.id)));
  const ids: string[] = [];
  for (let round = 0; round < 3; round++) {
    await sched.run(sched.now + 5_000); // quiet: no flush timer armed
    for (let k = 0; k < 5; k++) ids.push((await nodes[k % 6]!.broadcast('t', `after quiet ${round}.${k}`)).id);
    await sched.run(sched.now + 1_000);
  }
  nodes.forEach((x, i) => {
    const own = ids.filter((_, j) => j % 5 % 6 === i);
    assert.is(got[i]!.size, ids.length - own.length, `node ${i} got every broadcast but its own`);
  });
  const ihaves = nodes.reduce((s, x) => s + x.broadcastRelay.counters.ihaveFrames, 0);
  assert.ok(ihaves > 0, 'IHAVE frames went out on lazy links');
  assert.ok(nodes.every((x) => !x.broadcastRelay.tree.hasWork()), 'nothing left queued or missing');
  await Promise.all(nodes.map((x) => x.stop()));
});

test('Plumtree.onWork is called when an id is queued for an IHAVE or starts to be missing; hasWork until tick clears it', () => {
  const t = new Plumtree();
  let calls = 0;
  t.onWork = () => calls++;
  t.addPeer('a');
  t.addPeer('b');
  assert.is(t.hasWork(), false);
  t.announce('a', 'id1');
  assert.is(calls, 1);
  assert.is(t.hasWork(), true);
  t.tick(0);
  assert.is(t.hasWork(), false, 'flushed');
  t.onIhave('b', ['id2'], 0, () => false);
  assert.is(calls, 2);
  assert.is(t.hasWork(), true, 'id2 waits to be asked for');
});

test.run();
