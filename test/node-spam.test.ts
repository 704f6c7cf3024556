/** Real sockets on loopback: duplicates, floods, forgeries and garbage are bounded and never hurt honest traffic. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { type StrongcastNode } from '../src/core/node.ts';
import { createNode } from '../src/create-node.ts';
import { encodeFrame } from '../src/wire/framing.ts';
import { fastOptions, holdsFor, hopSettleMs, recordDeliveries, sleep, stopAll, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';
import { createGenesis } from '../src/consensus/genesis.ts';
import { buildChain, testNet } from './sim/chains.ts';
import { testBlock } from './sim/byzantine.ts';
import { testKeys } from './sim/keys.ts';

async function pair(extra = {}): Promise<[StrongcastNode, StrongcastNode]> {
  const a = createNode({ ...fastOptions, ...extra });
  const b = createNode({ ...fastOptions });
  await a.start();
  await b.start();
  await b.connect(`127.0.0.1:${a.listenPort}`);
  return [a, b];
}

test('two idle peers exchange a bounded number of frames (no peer-exchange storm) and stay within tight rate limits', async () => {
  const [a, b] = await pair({ peerMsgsPerSec: 20, peerMsgsBurst: 20 });
  try {
    const offences: string[] = [];
    a.on('offence', (o) => offences.push(o.code));
    // Not a wait for an event: the window is what is measured (frames an idle link carries in 1.5 s). A
    // loaded machine runs fewer maintenance passes in it, never more, so the bounds below only get easier.
    await sleep(1500);
    assert.equal(offences, [], 'the honest peer was never rate-limited');
    assert.is(a.peers().length, 1);
    // Maintenance runs every 100 ms here: one getpeers each at most, answered at most once a second.
    const frames = a.stats().framesIn;
    assert.ok(frames < 40, `frames in over 1.5 s: ${frames}`);
  } finally {
    await stopAll([a, b]);
  }
});

test('getpeers asked again within getPeersIntervalMs is ignored, not scored: one peers reply, no offence', async () => {
  const a = createNode({ ...fastOptions });
  await a.start();
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const offences: string[] = [];
    a.on('offence', (o) => offences.push(o.code));
    raw.received.length = 0;
    for (let i = 0; i < 5; i++) raw.send({ t: 'getpeers' });
    // A ping behind the asks: the node handles a connection's frames in order and answers each getpeers at
    // once, so its pong comes after every answer it gave to the five.
    const marker = 424_242;
    raw.send({ t: 'ping', n: marker });
    await raw.waitFor((m) => m.t === 'pong' && m.n === marker);
    const answers = (): number => raw.received.filter((m) => m.t === 'peers').length;
    // And should an answer ever be deferred, it would be one hop behind: watched for hopSettleMs.
    await holdsFor(() => answers() <= 1, hopSettleMs, 'at most one answer');
    assert.is(answers(), 1, 'five asks within the interval, one answer');
    assert.equal(offences, [], 'an eager honest peer is not penalised');
    assert.not.ok(raw.closed);
  } finally {
    raw.close();
    await stopAll([a]);
  }
});

test('a duplicate injected by a peer is delivered once and relayed once', async () => {
  const [a, b] = await pair();
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const seen = recordDeliveries([a, b]);
    const g = raw.gossip(1, 'twice');
    raw.send(g);
    raw.send(g);
    raw.send({ ...g, hops: 3 }); // same signed content, other hop count: still the same message
    await waitFor(() => seen.ids[1]!.length === 1 && a.gossip.counters.duplicates >= 2, 'relay reached b, and a handled both copies');
    // a handles each copy as it reads it; a second delivery or relay would reach b one hop later (hopSettleMs).
    await holdsFor(() => seen.ids[0]!.length === 1 && seen.ids[1]!.length === 1 && a.counters.relayedFrames === 1, hopSettleMs, 'delivered and relayed once');
    assert.is(seen.ids[0]!.length, 1, 'a delivers once');
    assert.is(seen.ids[1]!.length, 1, 'b delivers once');
    assert.is(a.counters.relayedFrames, 1, 'a relayed it to b once, and not back to the sender');
    assert.ok(a.gossip.counters.duplicates >= 2, 'duplicates counted');
    assert.is(a.gossip.counters.verifiedOk, 1, 'the signature was verified once');
  } finally {
    raw.close();
    await stopAll([a, b]);
  }
});

test('a node that follows no genesis, sent outcomes it cannot check, keeps them out of its seen ids: a broadcast is not delivered twice', async () => {
  // It neither checks nor carries outcomes. Had it marked each one's id seen, unchecked junk from one peer
  // would push the ids of the broadcasts it delivered out of the seen cache (seenEntriesMax, oldest first),
  // and a replay of one would be delivered again.
  const seenEntriesMax = 200;
  const [a, b] = await pair({ seenEntriesMax });
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const seen = recordDeliveries([a]);
    const g = raw.gossip(1, 'once');
    raw.send(g);
    await waitFor(() => seen.ids[0]!.length === 1, 'a delivered the broadcast');
    for (let i = 0; i < 2 * seenEntriesMax; i++) {
      raw.send({ t: 'outcome', signer: 0, t0: i, height: i + 1, blocks: [{ miner: 0, hash: randomBytes(32) }], sig: randomBytes(64) });
    }
    raw.send(g);
    await waitFor(() => a.gossip.counters.duplicates >= 1 || seen.ids[0]!.length > 1, 'a handled the replay');
    await holdsFor(() => seen.ids[0]!.length === 1, hopSettleMs, 'delivered once');
    assert.is(seen.ids[0]!.length, 1, 'the replay is a duplicate, not a second delivery');
  } finally {
    raw.close();
    await stopAll([a, b]);
  }
});

test('a flooding peer is held to its message rate (not read meanwhile), not banned for it, while honest traffic still gets through', async () => {
  const [a, b] = await pair({ peerMsgsPerSec: 50, peerMsgsBurst: 100 });
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const seen = recordDeliveries([a, b]);
    const started = Date.now();
    for (let i = 0; i < 400; i++) raw.send(raw.gossip(i + 1, `flood ${i}`));
    const { id } = await b.broadcast('chat', 'honest');
    await waitFor(() => seen.ids[0]!.includes(id), 'honest message delivered during the attack');
    await sleep(500);
    const fromFlooder = seen.ids[0]!.filter((x) => x !== id).length;
    const allowed = 100 + (50 * (Date.now() - started)) / 1000 + 5;
    assert.ok(fromFlooder <= allowed, `the flooder kept to its burst and rate: ${fromFlooder} delivered, at most ${Math.round(allowed)}`);
    assert.ok(fromFlooder >= 100, `and what it sent is taken, not dropped: ${fromFlooder}`);
    const flooder = a.peers().find((p) => p.id === Buffer.from(raw.identity.publicKey).toString('hex'));
    assert.ok(flooder && flooder.rateHolds > 0, 'its socket was held');
    assert.not.ok(a.isBanned(flooder.id), 'rate alone bans nobody');
  } finally {
    raw.close();
    await stopAll([a, b]);
  }
});

test('a key banned for bad signatures cannot come back: its handshake is refused with ERR_BANNED once it shows its id', async () => {
  const a = createNode({ ...fastOptions });
  await a.start();
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    for (let i = 0; i < 3; i++) raw.send(raw.gossip(i + 1, `forged ${i}`, { badSig: true }));
    await raw.waitClosed(3000);
    assert.ok(a.isBanned(Buffer.from(raw.identity.publicKey).toString('hex')), 'banned');
    const again = await RawPeer.open(a.listenPort, raw.identity);
    again.beginHandshake();
    const r = await again.waitFor((m) => m.t === 'reject');
    assert.is(r.t === 'reject' && r.code, 'ERR_BANNED');
    again.close();
  } finally {
    raw.close();
    await stopAll([a]);
  }
});

test('a message with a bad signature is dropped, scored and not relayed', async () => {
  const [a, b] = await pair();
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const seen = recordDeliveries([a, b]);
    raw.send(raw.gossip(1, 'forged', { badSig: true }));
    await waitFor(() => a.counters.badSignatures === 1, 'bad signature counted');
    // The genuine message with the same id still gets through afterwards.
    raw.send(raw.gossip(1, 'forged'));
    await waitFor(() => seen.ids[1]!.length === 1, 'genuine copy relayed');
    assert.is(seen.ids[0]!.length, 1);
    assert.ok(a.scoreOf(Buffer.from(raw.identity.publicKey).toString('hex')) > 0, 'sender scored');
  } finally {
    raw.close();
    await stopAll([a, b]);
  }
});

test('the hop count is not signed and decides nothing: copies sent at and far past the limit are delivered and relayed, counting up to the limit', async () => {
  const [a, b] = await pair({ hopLimit: 4 });
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const seen = recordDeliveries([a, b]);
    const offences: string[] = [];
    a.on('offence', (o) => offences.push(o.code));
    // A Byzantine peer raises the unsigned hop count of broadcasts it passes on: that must not stop them.
    raw.send(raw.gossip(1, 'at the limit', { hops: 4 }));
    raw.send(raw.gossip(2, 'far past it', { hops: 200 }));
    raw.send(raw.gossip(3, 'one below', { hops: 3 }));
    await waitFor(() => seen.ids[1]!.length === 3, 'all three relayed to b');
    assert.is(seen.ids[0]!.length, 3, 'all three delivered at a');
    assert.equal([...seen.hops[0]!.values()], [4, 200, 3], 'a reports the hop count each copy carried');
    assert.equal([...seen.hops[1]!.values()], [4, 4, 4], 'relays count up to hopLimit and stay there');
    assert.equal(offences, [], 'a high hop count is not an offence');
  } finally {
    raw.close();
    await stopAll([a, b]);
  }
});

test('a consensus chain whose hop count a peer raised to the limit is still forwarded; the honest copy after it is a duplicate', async () => {
  const [a, b] = await pair({ hopLimit: 4 });
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const keys = testKeys(4);
    const net = testNet(createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId: 'hops', faults: 1, roundMs: 1000, startMs: 0 }), keys);
    const chain = buildChain(net, testBlock(0, 1, 'hops'), [0, 1]);
    const judged: Array<{ node: string; hops: number }> = [];
    for (const [name, node] of [['a', a], ['b', b]] as const) {
      node.attachConsensus({ onChain: async (msg) => (judged.push({ node: name, hops: msg.hops }), { valid: true, forward: true }), onOutcome: async () => ({ valid: true, forward: false }), validatorKey: () => undefined });
    }
    raw.send({ ...chain, hops: 4 });
    await waitFor(() => judged.some((j) => j.node === 'b'), 'b got the chain a forwarded');
    const duplicatesBefore = a.gossip.counters.duplicates;
    raw.send({ ...chain, hops: 0 });
    await waitFor(() => a.gossip.counters.duplicates > duplicatesBefore, 'a handled the honest copy');
    // a judges a chain as it admits it, so it is settled for a; a forward of it would reach b one hop later.
    await holdsFor(() => judged.length === 2, hopSettleMs, 'judged once per node');
    assert.equal(judged, [{ node: 'a', hops: 4 }, { node: 'b', hops: 4 }], 'judged once per node; the later honest copy was a duplicate');
  } finally {
    raw.close();
    await stopAll([a, b]);
  }
});

test('garbage bytes, oversized and empty frames close only that connection; the node keeps working', async () => {
  const [a, b] = await pair({ frameBytesMax: 4096 });
  try {
    const seen = recordDeliveries([a, b]);
    const garbage = await RawPeer.open(a.listenPort);
    garbage.sendBytes(randomBytes(2000));
    await garbage.waitClosed();
    const big = await RawPeer.open(a.listenPort);
    big.sendBytes(Buffer.from([0, 0, 0x10, 0x01])); // 4097 > frameBytesMax
    const r = await big.waitFor((m) => m.t === 'reject');
    assert.is(r.t === 'reject' && r.code, 'ERR_FRAME_TOO_LARGE');
    const empty = await RawPeer.open(a.listenPort);
    empty.sendBytes(Buffer.from([0, 0, 0, 0]));
    const r2 = await empty.waitFor((m) => m.t === 'reject');
    assert.is(r2.t === 'reject' && r2.code, 'ERR_FRAME_EMPTY');
    // Bodies are msgpack only inside the sealed channel: there a body that is not msgpack closes it.
    const notMsgpack = await RawPeer.handshake(a.listenPort);
    notMsgpack.sendFrame(Buffer.from([0, 0, 0, 1, 0xc1])); // 0xc1 is never valid msgpack
    const r3 = await notMsgpack.waitFor((m) => m.t === 'reject');
    assert.is(r3.t === 'reject' && r3.code, 'ERR_BAD_MSGPACK');
    for (const p of [big, empty, notMsgpack]) p.close();
    assert.is(a.peers().length, 1, 'the honest peer is untouched');
    const { id } = await b.broadcast('chat', 'still alive');
    await waitFor(() => seen.ids[0]!.includes(id), 'node still delivers');
  } finally {
    await stopAll([a, b]);
  }
});

test('a read backlog far beyond one turn of turnWorkMsMax is handled over many turns: every message delivered and relayed once', async () => {
  const [a, b] = await pair({ turnWorkMsMax: 1 });
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const seen = recordDeliveries([a, b]);
    const offences: string[] = [];
    a.on('offence', (o) => offences.push(o.code));
    const count = 1500;
    raw.sendSealed(Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame(raw.gossip(i + 1, `backlog ${i}`)))));
    await waitFor(() => seen.ids[1]!.length === count, 'the whole backlog relayed to b', 15_000);
    assert.ok(a.stats().turnsCut > 0, 'verifying the backlog took more than one 1 ms turn, so turns were cut');
    assert.is(new Set(seen.ids[0]).size, count, 'a delivered every message');
    assert.is(seen.ids[0]!.length, count, 'and none twice');
    assert.is(a.gossip.counters.verifiedOk, count, 'one verification each');
    assert.equal(offences, []);
    assert.not.ok(raw.closed);
  } finally {
    raw.close();
    await stopAll([a, b]);
  }
});

test('a peer that stops reading is dropped once its write queue passes writeQueueBytesMax', async () => {
  const a = createNode({ ...fastOptions, writeQueueBytesMax: 256 * 1024 });
  await a.start();
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    raw.socket.pause(); // never read again: the kernel buffers fill, then our queue
    const drops: string[] = [];
    a.on('peer', (e) => e.state === 'disconnected' && e.code && drops.push(e.code));
    const payload = new Uint8Array(200 * 1024);
    for (let i = 0; i < 200 && drops.length === 0; i++) {
      await a.broadcast('bulk', payload);
      // Pacing, not a wait: lets the node's writes and its queue check run between bursts.
      if (i % 10 === 9) await sleep(5);
    }
    await waitFor(() => drops.length > 0, 'slow peer dropped');
    assert.is(drops[0], 'ERR_SLOW_PEER');
  } finally {
    raw.close();
    await stopAll([a]);
  }
});

test.run();
