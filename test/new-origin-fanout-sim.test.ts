/**
 * A large first broadcast of a new origin in a full mesh, on the simulator (the shipped node, in-memory links):
 * how many full copies each node receives. A new origin's tree starts with every link eager, so before
 * newOriginEagerPeersMax each node relayed it to every peer that had not sent it, and each node took a copy
 * from nearly every peer (the attack suite's graft flood: sybils' 256 KiB broadcasts, each arriving ~14 times
 * at every validator of 16, ~1 MB of short-lived buffers per copy). Now each node sends it in full to a few
 * peers and its id to the rest, which ask for it only if no copy came: every node still delivers it, once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NodeOptions } from '../src/core/node-options.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Prng } from '../src/sim/prng.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { simMesh } from './helpers/sim-node.ts';

const networkId = 'new-origin-fanout-sim';
const nodes = 12;
const dataBytes = 256 * 1024;

/** A full mesh of `nodes`; node 0 broadcasts one message of `bytes`: full copies each other node received, and its deliveries. */
async function firstBroadcast(bytes: number, seed: number, options: Partial<NodeOptions> = {}): Promise<{ copies: number[]; delivered: number[]; announced: number }> {
  const sched = new Scheduler(0, 20_000_000, `new-origin-fanout seed ${seed}`);
  const prng = new Prng(seed);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 5) });
  const all = simMesh(sched, net, nodes, networkId, (i) => `10.${i + 1}.0.1`, { ...options, maxPeers: 32 });
  const delivered = all.map(() => 0);
  all.forEach((n, i) => n.on('message', () => delivered[i]!++));
  for (const n of all) await n.start();
  await sched.run(2000);
  for (const n of all) assert.is(n.peers().length, nodes - 1, 'a full mesh');
  const before = all.map((n) => n.traffic.in.gossip);
  await all[0]!.broadcast('big', new Uint8Array(bytes).fill(7));
  await sched.run(sched.now + 5000);
  const copies = all.map((n, i) => n.traffic.in.gossip - before[i]!);
  const announced = all.reduce((s, n) => s + n.broadcastRelay.counters.newOriginAnnounced, 0);
  for (const n of all) await n.stop();
  return { copies: copies.slice(1), delivered: delivered.slice(1), announced };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('simulator: a 256 KiB first broadcast of a new origin reaches every node of a 12-node mesh once, each node receiving at most a few full copies (newOriginEagerPeersMax 4), not one from nearly every peer', async () => {
  for (const seed of [1, 2, 3]) {
    const { copies, delivered, announced } = await firstBroadcast(dataBytes, seed);
    const report = `seed ${seed}: full copies per node ${copies.join(',')}; ids announced instead ${announced}`;
    assert.ok(delivered.every((d) => d === 1), `every node delivered it once: ${report}`);
    assert.ok(mean(copies) <= 5, `at most ~newOriginEagerPeersMax copies per node on average: ${report}`);
    assert.ok(Math.max(...copies) <= 8, `no node took a copy from most of its 11 peers: ${report}`);
    assert.ok(announced > 0, report);
  }
});

test('simulator: the same broadcast with every peer eager (newOriginEagerPeersMax above the degree, as before) arrives at each node from most of its peers', async () => {
  const { copies, delivered } = await firstBroadcast(dataBytes, 1, { newOriginEagerPeersMax: 64 });
  assert.ok(delivered.every((d) => d === 1));
  assert.ok(mean(copies) >= 8, `full copies per node ${copies.join(',')}`);
});

test('simulator: a small first broadcast (below newOriginLazyFrameBytesMin) still goes to every peer in full', async () => {
  const { copies, delivered, announced } = await firstBroadcast(1024, 1);
  assert.ok(delivered.every((d) => d === 1));
  assert.is(announced, 0);
  assert.ok(mean(copies) >= 8, `full copies per node ${copies.join(',')}`);
});

test.run();
