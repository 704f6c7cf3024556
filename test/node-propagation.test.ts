/** Real sockets on loopback: broadcasts reach every node hop by hop, exactly once. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fastOptions, holdsFor, recordDeliveries, startNodes, stopAll, treeSettleMs, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';
import { prng } from '../src/sim/prng.ts';
import { type StrongcastNode } from '../src/core/node.ts';
import { createNode } from '../src/create-node.ts';
import { encodeFrame } from '../src/wire/framing.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { createVerifyPool } from '../src/crypto/verify-pool.ts';
import type { Verifier } from '../src/crypto/verifier.ts';

test('a line of 6 nodes carries a broadcast end to end, each node delivering it once', async () => {
  // Node i dials only node i-1; peer exchange off so the line stays a line.
  const nodes = await startNodes(6, (i, ports) => (i === 0 ? [] : [ports[i - 1]!]), () => ({ peerExchange: false }));
  try {
    await waitFor(() => nodes.every((n, i) => n.peers().length === (i === 0 || i === 5 ? 1 : 2)), 'line formed');
    assert.not.ok(nodes[5]!.peers().some((p) => p.id === nodes[0]!.id), 'ends are not linked directly');
    const seen = recordDeliveries(nodes);
    const { id } = await nodes[0]!.broadcast('chat', 'end to end');
    await waitFor(() => seen.ids[5]!.includes(id), 'delivery at the far end');
    // Every node has it now; a second delivery would come from a copy sent back along the line or asked for
    // after an announcement, both within treeSettleMs (see there).
    const once = (i: number): boolean => seen.ids[i]!.length === 1 && seen.ids[i]![0] === id;
    await holdsFor(() => [1, 2, 3, 4, 5].every(once) && seen.ids[0]!.length === 0, treeSettleMs, 'each node delivers it exactly once');
    for (let i = 1; i < 6; i++) assert.equal(seen.ids[i], [id], `node ${i} delivers exactly once`);
    assert.equal(seen.ids[0], [], 'the origin does not deliver its own message');
    assert.equal(seen.hops[5]!.get(id), 4, 'the far end got it after 4 relays');
  } finally {
    await stopAll(nodes);
  }
});

test('a random mesh of 12 nodes delivers every broadcast to every node exactly once', async () => {
  const seed = 12345;
  const rnd = prng(seed);
  // Each node dials 2 random earlier nodes: connected by construction, random shape.
  const nodes = await startNodes(12, (i, ports) => {
    if (i === 0) return [];
    const picks = new Set<number>();
    while (picks.size < Math.min(2, i)) picks.add(Math.floor(rnd() * i));
    return [...picks].map((j) => ports[j]!);
  }, () => ({ peerExchange: false }));
  try {
    await waitFor(() => nodes.every((n) => n.peers().length >= 1), 'mesh formed');
    const seen = recordDeliveries(nodes);
    const ids: string[] = [];
    for (const origin of [0, 3, 7, 11, 5]) ids.push((await nodes[origin]!.broadcast('chat', `from ${origin}`)).id);
    const expected = (i: number): number => ids.length - ([0, 3, 7, 11, 5].includes(i) ? 1 : 0);
    await waitFor(() => seen.ids.every((l, i) => l.length === expected(i)), `all deliveries (seed=${seed})`);
    // Every node has every broadcast; a duplicate delivery would come by one of the mesh's redundant links or
    // after an announcement, within treeSettleMs (see there).
    await holdsFor(() => seen.ids.every((l, i) => l.length === expected(i)), treeSettleMs, `no delivery beyond the expected ones (seed=${seed})`);
    for (let i = 0; i < 12; i++) {
      assert.equal(new Set(seen.ids[i]).size, seen.ids[i]!.length, `node ${i} has no duplicate deliveries (seed=${seed})`);
    }
    const totalRelays = nodes.reduce((a, n) => a + n.counters.relayedFrames, 0);
    assert.ok(totalRelays > 0, 'messages were relayed');
  } finally {
    await stopAll(nodes);
  }
});

test('peer exchange: 8 nodes told only one seed address form a mesh at their target degree', async () => {
  let nodes: StrongcastNode[] = [];
  try {
    // The seed has room for all seven as inbound peers (maxPeers less its outbound slots, outboundSlotsMin):
    // a seed with fewer inbound slots than joiners evicts some, and an evicted joiner that had not yet heard
    // of other nodes waits out its backoff to ask again (a gap in peer exchange, not what this test is about).
    nodes = await startNodes(8, (i, ports) => (i === 0 ? [] : [ports[0]!]), (i) => ({ targetPeers: 3, maxPeers: i === 0 ? 10 : 8 }));
    await waitFor(() => nodes.every((n) => n.peers().length >= 3), 'every node at target degree', 8000);
    // Nodes other than the seed reached peers they were never told about.
    const nonSeedLinks = nodes.slice(1).some((n) => n.peers().some((p) => p.id !== nodes[0]!.id));
    assert.ok(nonSeedLinks, 'nodes learned each other through the seed');
    const seen = recordDeliveries(nodes);
    const { id } = await nodes[7]!.broadcast('chat', 'via pex');
    await waitFor(() => seen.ids.slice(0, 7).every((l) => l.includes(id)), 'broadcast reached all');
  } finally {
    await stopAll(nodes);
  }
});

test('with a verifier on this thread, each broadcast of a read is delivered before the next one is verified', async () => {
  const verifier = createMainThreadVerifier({});
  const a = createNode({ ...fastOptions, verifier });
  await a.start();
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    // The verified count each delivery sees: through a promise, a whole read is verified before any delivery.
    const verifiedAtDelivery: number[] = [];
    a.on('message', () => verifiedAtDelivery.push(verifier.stats().signaturesVerified));
    const before = verifier.stats().signaturesVerified;
    const count = 20;
    raw.sendSealed(Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame(raw.gossip(i + 1, `same read ${i}`)))));
    await waitFor(() => verifiedAtDelivery.length === count, 'every broadcast delivered');
    assert.equal(verifiedAtDelivery, Array.from({ length: count }, (_, i) => before + i + 1));
  } finally {
    raw.close();
    await stopAll([a]);
    await verifier.close();
  }
});

test('with a pool that has room, each broadcast of a read is verified on the node\'s thread and delivered before the next one is verified, never queued', async () => {
  const pool = createVerifyPool({ threads: 1 });
  let queued = 0;
  // The pool, counting the checks handed to its queue (verify) rather than answered at once (tryVerifyNow).
  const verifier: Verifier = {
    verify: (checks, lane, checkClass) => ((queued += checks.length), pool.verify(checks, lane, checkClass)),
    tryVerifyNow: (check, lane) => pool.tryVerifyNow?.(check, lane),
    close: () => pool.close(),
  };
  const a = createNode({ ...fastOptions, verifier });
  await a.start();
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const verifiedAtDelivery: number[] = [];
    a.on('message', () => verifiedAtDelivery.push(pool.stats().signaturesVerified));
    const before = pool.stats().signaturesVerified;
    const here = pool.stats().signaturesHere;
    queued = 0; // the handshake's proof went through verify()
    const count = 20;
    raw.sendSealed(Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame(raw.gossip(i + 1, `same read ${i}`)))));
    await waitFor(() => verifiedAtDelivery.length === count, 'every broadcast delivered');
    // Through the queue, the read's checks were verified in batches at the end of the turn, then delivered.
    assert.equal(verifiedAtDelivery, Array.from({ length: count }, (_, i) => before + i + 1));
    assert.is(queued, 0, 'no check went through verify()');
    assert.is(pool.stats().signaturesHere - here, count, 'all verified on this thread');
  } finally {
    raw.close();
    await stopAll([a]);
    await pool.close();
  }
});

test('a message listener that throws is the application\'s error: the node still relays, delivers the rest and keeps reading', async () => {
  const a = createNode({ ...fastOptions });
  const b = createNode({ ...fastOptions });
  await a.start();
  await b.start();
  await b.connect(`127.0.0.1:${a.listenPort}`);
  const raw = await RawPeer.handshake(a.listenPort);
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const seen = recordDeliveries([a, b]);
    a.on('message', (m) => {
      if (m.seq === 1) throw new Error('listener bug');
    });
    raw.sendSealed(Buffer.concat([1, 2, 3].map((seq) => encodeFrame(raw.gossip(seq, `listener ${seq}`)))));
    await waitFor(() => seen.ids[1]!.length === 3, 'b got all three through a');
    assert.is(seen.ids[0]!.length, 3, 'a delivered all three');
    await waitFor(() => uncaught.length === 1, 'the listener error surfaced');
    assert.match(String(uncaught[0]), /listener bug/);
    raw.send(raw.gossip(4, 'after the error'));
    await waitFor(() => seen.ids[1]!.length === 4, 'a keeps reading and relaying');
  } finally {
    process.off('uncaughtException', onUncaught);
    raw.close();
    await stopAll([a, b]);
  }
});

test.run();
