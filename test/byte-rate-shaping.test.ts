/**
 * The per-peer byte rate (peerBytesPerSec, burst peerBytesBurst) shapes a connection instead of dropping
 * reads: a read that takes the byte bucket into debt is still decoded and handled, then the socket is not
 * read until the bucket has refilled, so TCP slows the peer and the frame decoder stays in step. Checked on
 * a connection over an in-memory socket with an injected clock (the edges), on real sockets on loopback
 * (nothing lost, the link stays open, delivery takes the time the rate says), and with the same node code on
 * the simulated network.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../src/bytes.ts';
import { generateIdentity, type Identity } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import type { ErrorCode } from '../src/errors.ts';
import { encodeFrame, sealedFrameBytes } from '../src/wire/framing.ts';
import { gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import { createNode } from '../src/create-node.ts';
import { nodeDefaults, resolveLimits, type NodeOptions } from '../src/core/node-options.ts';
import { PeerConnection } from '../src/net/peer-connection.ts';
import type { RateHolds } from '../src/net/rate-holds.ts';
import type { Message } from '../src/wire/schema.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { nextTurn, openMemoryConnection, sealedFrames, sealedGetchainBytes, range, type MemoryConnection } from './helpers/memory-connection.ts';
import { fastOptions, recordDeliveries, stopAll, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';
import { Prng } from '../src/sim/prng.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { seededRandom, SimHost } from '../src/sim/sim-host.ts';
import { simVerifier } from '../src/sim/sim-verifier.ts';
import { RawHost } from './sim-net/raw-host.ts';

const networkId = 'shaping-net';
/** Most bytes one socket read returns (libuv's read buffer): a hold starts only after a read, so one read may exceed the rate. */
const readChunkBytesMax = 64 * 1024;
const verifier = createMainThreadVerifier();

/** An open connection on an in-memory socket with the given byte rate; getchain's `from` numbers the frames. */
function openConnection(clock: { ms: number }, peerBytesPerSec: number, peerBytesBurst: number): Promise<MemoryConnection> {
  return openMemoryConnection({
    networkId,
    selfSeed: 31,
    peerSeed: 32,
    verifier,
    limits: resolveLimits({ peerBytesPerSec, peerBytesBurst }),
    clock,
    turn: new TurnBudget({ turnWorkMsMax: 1000, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) }),
  });
}

/** The connection's rate holds (a private part of it, read here to see that a close leaves no timer). */
const holdState = (c: PeerConnection): RateHolds => (c as unknown as { rates: RateHolds }).rates;

test('exactly peerBytesBurst bytes are read without a hold; one byte more is handled, then reading stops once', async () => {
  const clock = { ms: 1_000_000 };
  const h = await openConnection(clock, 100, sealedGetchainBytes(0, 10)); // one byte owed: a 10 ms hold
  h.socket.push(h.frames(0, 10));
  assert.equal(h.handled, range(0, 10));
  assert.not.ok(h.socket.isPaused(), 'exactly the burst: still reading');
  assert.equal(h.offences, []);
  assert.is(h.conn.stats.rateHolds, 0);

  // One byte over the burst, and it is the first byte of a frame: it must not be lost, or the decoder desyncs.
  const next = h.frames(10, 1);
  h.socket.push(next.subarray(0, 1));
  assert.ok(h.socket.isPaused(), 'in debt by one byte: not read');
  assert.equal(h.offences, [], 'held, not scored');
  assert.is(h.conn.stats.rateHolds, 1);
  assert.is(h.conn.stats.dropped, 0, 'nothing is dropped');

  const bytesIn = h.conn.stats.bytesIn;
  h.socket.push(next.subarray(1));
  await nextTurn();
  assert.is(h.conn.stats.bytesIn, bytesIn, 'the rest of the frame waits in the socket while held');
  clock.ms += 1000; // the refill the rest of the frame needs, so reading it starts no second hold
  await waitFor(() => h.handled.length === 11, 'the held frame, once reading resumed', 2000);
  assert.equal(h.handled, range(0, 11), 'the frame cut by the hold decodes whole: the decoder stayed in step');
  assert.not.ok(h.socket.isPaused());
  assert.equal(h.offences, [], 'no offence for the hold');
  assert.is(h.conn.state, 'open');
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('holds are never scored: a peer held again and again, as an honest relay over our rate is, is not banned by its holds', async () => {
  const clock = { ms: 3_000_000 };
  const h = await openConnection(clock, 1000, sealedGetchainBytes(0, 5));
  const hold = async (from: number): Promise<void> => {
    h.socket.push(h.frames(from, 6)); // one frame past what the bucket holds: a hold
    assert.ok(h.socket.isPaused(), `held after frame ${from + 5}`);
    clock.ms += 1000; // a full refill by the time the timer fires
    await waitFor(() => !h.socket.isPaused(), 'reading resumed', 3000);
  };
  for (let i = 0; i < 3; i++) await hold(6 * i);
  assert.is(h.conn.stats.rateHolds, 3);
  assert.equal(h.offences, [], 'three holds, no offence');
  assert.equal(h.handled, range(0, 18), 'every frame handled');
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('a hold lasts until the debt is repaid at peerBytesPerSec, and frames read meanwhile are all handled first', async () => {
  const clock = { ms: 2_000_000 };
  const burst = sealedGetchainBytes(0, 20);
  const h = await openConnection(clock, 1000, burst);
  const chunk = h.frames(0, 30); // in debt by the ten frames past the burst
  const debtBytes = chunk.byteLength - burst;
  const t0 = Date.now();
  h.socket.push(chunk);
  assert.equal(h.handled, range(0, 30), 'the whole read is handled: nothing dropped');
  assert.ok(h.socket.isPaused());
  clock.ms += debtBytes; // 1 byte per ms: the injected clock says the debt is repaid when the timer fires
  await waitFor(() => !h.socket.isPaused(), 'reading resumed', 3000);
  // Timers never fire early, so this lower bound is safe; no upper bound on a shared machine.
  assert.ok(Date.now() - t0 >= debtBytes - 1, `held ${Date.now() - t0} ms for a ${debtBytes} ms debt`);
  assert.equal(h.offences, []);
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('closing a connection held for its byte rate leaves no timer and resumes the socket so it can finish closing', async () => {
  const clock = { ms: 3_000_000 };
  const burst = sealedGetchainBytes(0, 5);
  const h = await openConnection(clock, 10, burst); // 10 bytes/s: a hold of many seconds
  h.socket.push(h.frames(0, 10));
  assert.ok(h.socket.isPaused());
  assert.is(holdState(h.conn).timersSet, 1, 'a hold timer is set');
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
  assert.not.ok(h.socket.isPaused(), 'a paused socket would never read the FIN');
  assert.is(holdState(h.conn).timersSet, 0, 'the hold timer is cleared');
  assert.not.ok(holdState(h.conn).bytesHeld);
});

// ---- real sockets on loopback -------------------------------------------------------------------------------

/** Signed broadcasts of `identity`, framed, `count` of them with `dataBytes` of data each. */
function signedFrames(identity: Identity, count: number, dataBytes: number): Buffer {
  const data = new Uint8Array(dataBytes).fill(0x78);
  const out: Buffer[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const unsigned = { origin: identity.publicKey, seq, topic: 'chat', data };
    const sig = identity.sign(gossipSignedBytes(fastOptions.networkId!, unsigned));
    out.push(encodeFrame({ t: 'gossip', ...unsigned, hops: 0, sig }));
  }
  return Buffer.concat(out);
}

test('a peer sending past its byte rate over a real socket is slowed, not cut: every message arrives and the link stays open', async () => {
  const rate = 64 * 1024;
  const burst = 16 * 1024;
  // Default scoring: holds are scored at most once a second, so a peer that is only fast is never banned.
  const opts: NodeOptions = { ...fastOptions, peerBytesPerSec: rate, peerBytesBurst: burst };
  const a = createNode(opts);
  await a.start();
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    const rawId = toHex(raw.identity.publicKey);
    const offences: string[] = [];
    a.on('offence', (o) => void (o.peer === rawId && offences.push(o.code)));
    const seen = recordDeliveries([a]);
    const count = 176;
    const flood = sealedFrames(raw.session!, signedFrames(raw.identity, count, 1024));
    assert.ok(flood.byteLength > burst + readChunkBytesMax + rate, `a flood of ${flood.byteLength} bytes outlasts the burst and one read`);
    const t0 = Date.now();
    raw.sendBytes(flood); // one write: the kernel cuts it into reads wherever it likes
    await waitFor(() => seen.ids[0]!.length === count, `all ${count} messages delivered`, 8000);
    const elapsedMs = Date.now() - t0;
    // The last read starts only once the bucket is out of debt; it can hold up to one read's worth itself.
    const minMs = ((flood.byteLength - burst - readChunkBytesMax) / rate) * 1000;
    assert.ok(elapsedMs >= minMs * 0.9, `delivered in ${elapsedMs} ms, the rate allows no less than ${Math.round(minMs)} ms`);
    assert.is(new Set(seen.ids[0]).size, count, 'each message once');
    assert.equal(offences, [], 'held to its rate, not scored, and no framing error');
    const info = a.peers().find((p) => p.id === rawId);
    assert.ok(info, 'the connection is still open');
    assert.ok(info.rateHolds >= 1, `reading was held (${info.rateHolds} holds)`);
    assert.not.ok(raw.closed);
  } finally {
    raw.close();
    await stopAll([a]);
  }
});

test('a peer sending exactly peerBytesBurst at once over a real socket is not held', async () => {
  const count = 20;
  const identity = generateIdentity();
  const plain = signedFrames(identity, count, 512);
  // 1 KiB/s: a single byte over the burst would hold the link for about a millisecond and be scored.
  const a = createNode({ ...fastOptions, peerBytesPerSec: 1024, peerBytesBurst: plain.byteLength + sealedFrameBytes(0) * count });
  await a.start();
  const raw = await RawPeer.handshake(a.listenPort, fastOptions.networkId, identity);
  try {
    const rawId = toHex(raw.identity.publicKey);
    const offences: string[] = [];
    a.on('offence', (o) => void (o.peer === rawId && offences.push(o.code)));
    const seen = recordDeliveries([a]);
    raw.sendBytes(sealedFrames(raw.session!, plain));
    await waitFor(() => seen.ids[0]!.length === count, 'all delivered', 3000);
    assert.equal(offences, [], 'no hold, no offence');
    assert.is(a.peers().find((p) => p.id === rawId)?.rateHolds, 0);
  } finally {
    raw.close();
    await stopAll([a]);
  }
});

// ---- the same connection code on the simulated network --------------------------------------------------------

test('simulator: the shipped node over an in-memory link holds reading over its byte rate and delivers everything, in order, no sooner than the rate allows', async () => {
  const rate = 20_000;
  const burst = 10_000;
  const sched = new Scheduler(0, 1_000_000, 'shaping');
  const prng = new Prng(7);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 5) });
  const host = new SimHost(sched, '10.0.0.1');
  const node = createNode({
    host: host.ip,
    port: 7000,
    networkId,
    peerBytesPerSec: rate,
    peerBytesBurst: burst,
    verifier: simVerifier(host, null, () => 1),
    transport: net.transport(host),
    clock: host.clock(),
    random: seededRandom(1),
  });
  const got: Array<{ seq: number; atMs: number }> = [];
  const offences: ErrorCode[] = [];
  node.on('message', (m) => void got.push({ seq: m.seq, atMs: sched.now }));
  node.on('offence', (o) => void offences.push(o.code));
  await node.start();
  const key = generateIdentity();
  const raw = new RawHost(net, new SimHost(sched, '10.0.0.2'), key, networkId, prng);
  raw.dial(host.ip, 7000);
  await sched.run(100);
  const conn = raw.open.get(node.id);
  assert.ok(conn, 'connected');
  // About 3 s past the burst: the peer is held back to the rate for all of it, and never scored.
  const count = 300;
  let bytes = 0;
  let largestWrite = 0;
  const startMs = sched.now;
  for (let seq = 1; seq <= count; seq++) {
    const unsigned = { origin: key.publicKey, seq, topic: 't', data: new Uint8Array(100) };
    const frame = encodeFrame({ t: 'gossip', ...unsigned, hops: 0, sig: key.sign(gossipSignedBytes(networkId, unsigned)) });
    bytes += sealedFrameBytes(frame.byteLength);
    largestWrite = Math.max(largestWrite, sealedFrameBytes(frame.byteLength));
    conn.sendFrame(frame);
  }
  assert.ok(bytes > burst + rate, `${bytes} bytes outlast the burst and a second of the rate`);
  await sched.run(startMs + 60_000);
  assert.equal(got.map((g) => g.seq), range(1, count), 'every message, in order, none twice');
  const lastMs = got[count - 1]!.atMs - startMs;
  // Reading stops only once a read has put the bucket in debt: at most one read (here one frame) beyond the rate.
  const minMs = ((bytes - burst - largestWrite) / rate) * 1000;
  assert.ok(lastMs >= minMs, `last delivered after ${lastMs} ms, the rate allows no less than ${minMs} ms`);
  const info = node.peers().find((p) => p.id === raw.id);
  assert.ok(info, 'the link is still open');
  assert.ok(info.rateHolds >= 1, 'reading was held');
  assert.equal(offences, [], `held ${info.rateHolds} times, never scored, no framing error`);
  await node.stop();
});

test.after(() => verifier.close());
test.run();
