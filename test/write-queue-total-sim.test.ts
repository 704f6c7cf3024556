/**
 * The bound on bytes queued for writing across all of a node's connections (writeQueuedBytesTotalMax), on the
 * simulator: a node relays a burst of large broadcasts to six peers over links slower than the burst. Within
 * the bound each broadcast goes in full; past it the peers with bytes queued hear only its id (IHAVE) and ask
 * for it (GRAFT) once the queues drained, so the queues stay within the bound and one frame per peer, where
 * before they held every frame for every peer (the burst times six). Lazy push keeps the broadcast reliable:
 * every peer still delivers every broadcast, once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StrongcastNode } from '../src/core/node.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Prng } from '../src/sim/prng.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { encodeGossipFrame } from '../src/wire/gossip-codec.ts';
import { sealedFrameBytes } from '../src/wire/framing.ts';
import { simNode } from './helpers/sim-node.ts';

const networkId = 'write-queue-total-sim';
const sourceIp = '10.0.0.1';
const peers = 6;
const broadcasts = 20;
const dataBytes = 32 * 1024;
/** The source's links to its peers: 1,000 bytes a ms behind a 16 KiB send buffer (the burst takes 4 s to cross one). */
const slowLink = { bytesPerMs: 1000, sendBufferBytes: 16 * 1024 };

/** A star: the source and six peers linked only to it; what the source queued at most, and who delivered what. */
async function burst(writeQueuedBytesTotalMax: number | undefined, seed: number): Promise<{ source: StrongcastNode; queuedMax: number; delivered: Map<string, string[]>; ids: string[]; frameBytes: number }> {
  const sched = new Scheduler(0, 20_000_000, `write-queue-total seed ${seed}`);
  const prng = new Prng(seed);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 3), capacity: (from) => (from.ip === sourceIp ? slowLink : undefined) });
  const source = simNode(sched, net, { networkId, ip: sourceIp, seed: 1, verifyMs: 1, options: writeQueuedBytesTotalMax === undefined ? {} : { writeQueuedBytesTotalMax } });
  const others = Array.from({ length: peers }, (_, i) => simNode(sched, net, { networkId, ip: `10.${i + 1}.0.1`, seed: i + 2, verifyMs: 1, options: { peers: [`${sourceIp}:7000`] } }));
  const delivered = new Map<string, string[]>(others.map((o) => [o.id, []]));
  for (const o of others) o.on('message', (m) => delivered.get(o.id)!.push(m.id));
  for (const n of [source, ...others]) await n.start();
  await sched.run(1000);
  assert.is(source.peers().length, peers, 'every peer connected');
  const ids: string[] = [];
  let queuedMax = 0;
  for (let i = 0; i < broadcasts; i++) {
    ids.push((await source.broadcast('big', new Uint8Array(dataBytes).fill(i))).id);
    queuedMax = Math.max(queuedMax, source.writeQueuedBytesTotal());
  }
  for (let t = sched.now; t < 60_000; t += 5) {
    await sched.run(t);
    queuedMax = Math.max(queuedMax, source.writeQueuedBytesTotal());
  }
  const sample = { t: 'gossip' as const, origin: new Uint8Array(32), seq: 1, topic: 'big', data: new Uint8Array(dataBytes), hops: 0, sig: new Uint8Array(64) };
  const frameBytes = sealedFrameBytes(encodeGossipFrame(sample, 0, 1024 * 1024).byteLength);
  for (const n of [source, ...others]) await n.stop();
  return { source, queuedMax, delivered, ids, frameBytes };
}

test('simulator: past writeQueuedBytesTotalMax a burst of large broadcasts goes as ids to the peers with bytes queued: the queues stay within the bound and one frame per peer, and every peer still delivers every broadcast once', async () => {
  const bound = 256 * 1024;
  const { source, queuedMax, delivered, ids, frameBytes } = await burst(bound, 7);
  const r = source.broadcastRelay.counters;
  const report = `queued at most ${queuedMax} bytes (bound ${bound} + ${peers} x ${frameBytes}); eagerDeferred ${r.eagerDeferred}, graftHeld ${r.graftHeld}, graftServed ${r.graftServed}`;
  assert.ok(queuedMax <= bound + peers * frameBytes, `the source's write queues stayed within the bound and one frame per peer: ${report}`);
  assert.ok(r.eagerDeferred > 0 && r.graftServed > 0, `full frames were deferred and asked for later: ${report}`);
  for (const [peer, got] of delivered) assert.equal([...got].sort(), [...ids].sort(), `${peer.slice(0, 8)} delivered every broadcast, once: ${report}`);
});

test('simulator: with the default bound (4 MiB) the same burst goes out in full, as before: it fits', async () => {
  const { source, queuedMax, delivered, ids, frameBytes } = await burst(undefined, 7);
  assert.ok(queuedMax >= broadcasts * peers * frameBytes - peers * slowLink.sendBufferBytes - 2 * frameBytes, `every frame for every peer was queued at once (${queuedMax} bytes)`);
  assert.is(source.broadcastRelay.counters.eagerDeferred, 0);
  for (const got of delivered.values()) assert.equal([...got].sort(), [...ids].sort());
});

test.run();
