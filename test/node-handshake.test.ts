/** Real sockets on loopback: the handshake refuses what it must, with a clear reason, and keepalive works. */
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type StrongcastNode } from '../src/core/node.ts';
import { createNode } from '../src/create-node.ts';
import { isStrongcastError, type ErrorCode } from '../src/errors.ts';
import NoiseState from 'noise-handshake';
import { encodeVersionAndNetwork, makeNoiseKeyPair, noisePrologue } from '../src/peers/handshake.ts';
import { systemRandom } from '../src/io/system-random.ts';
import { encodeFrame } from '../src/wire/framing.ts';
import { encodeNoiseFrame } from '../src/wire/handshake-frames.ts';
import type { Message } from '../src/wire/schema.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { tcpTransport } from '../src/io/tcp-transport.ts';
import type { Transport } from '../src/io/transport.ts';
import { fastOptions, holdsFor, hopSettleMs, stopAll, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';
import { reservePorts } from './helpers/ports.ts';

async function node(extra = {}): Promise<StrongcastNode> {
  const n = createNode({ ...fastOptions, ...extra });
  await n.start();
  return n;
}

async function refusedWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(isStrongcastError(e), `typed error, got ${String(e)}`);
    assert.is((e as { code: string }).code, code, (e as Error).message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('a node on another network id is refused with ERR_WRONG_NETWORK', async () => {
  const a = await node({ networkId: 'net-a' });
  const b = await node({ networkId: 'net-b' });
  try {
    await refusedWith(b.connect(`127.0.0.1:${a.listenPort}`), 'ERR_WRONG_NETWORK');
    assert.is(a.peers().length, 0);
  } finally {
    await stopAll([a, b]);
  }
});

test('another protocol version is refused with ERR_WRONG_VERSION', async () => {
  const a = await node();
  const raw = await RawPeer.open(a.listenPort);
  try {
    // A first handshake message claiming version 99 (prologue and payload both say so).
    const noise = new NoiseState('XX', true, makeNoiseKeyPair(systemRandom));
    noise.initialise(noisePrologue('strongcast-test', 99));
    raw.sendBytes(encodeNoiseFrame(noise.send(encodeVersionAndNetwork(99, 'strongcast-test'))));
    const r = await raw.waitFor((m) => m.t === 'reject');
    assert.is(r.t === 'reject' && r.code, 'ERR_WRONG_VERSION');
    await raw.waitClosed();
  } finally {
    raw.close();
  }
  // A node of version 3 or older opens with its plaintext msgpack hello: refused as another version too.
  const old = await RawPeer.open(a.listenPort);
  try {
    const id = generateIdentity();
    old.sendBytes(encodeFrame({ t: 'hello', v: 3, net: 'strongcast-test', key: id.publicKey, host: '', port: 0, nonce: randomBytes(32) } as unknown as Message));
    const r = await old.waitFor((m) => m.t === 'reject');
    assert.is(r.t === 'reject' && r.code, 'ERR_WRONG_VERSION');
    assert.match(r.t === 'reject' ? r.reason : '', 'without the encrypted handshake');
  } finally {
    old.close();
    await stopAll([a]);
  }
});

test('connecting to oneself is refused with ERR_SELF_CONNECTION', async () => {
  const a = await node();
  try {
    await refusedWith(a.connect(`127.0.0.1:${a.listenPort}`), 'ERR_SELF_CONNECTION');
    assert.is(a.peers().length, 0);
  } finally {
    await stopAll([a]);
  }
});

test('a second connection to the same node id is refused; one link remains', async () => {
  const a = await node();
  const b = await node();
  try {
    await b.connect(`127.0.0.1:${a.listenPort}`);
    await refusedWith(b.connect(`127.0.0.1:${a.listenPort}`), 'ERR_DUPLICATE_PEER');
    // b has refused the second connection; a drops its end when the refusal or the close reaches it, one hop
    // later. Neither may open it or lose the first meanwhile.
    await holdsFor(() => a.peers().length === 1 && b.peers().length === 1, hopSettleMs, 'one link on each side');
  } finally {
    await stopAll([a, b]);
  }
});

test('two nodes dialing each other at once end with exactly one link on both sides', async () => {
  const a = await node();
  const b = await node();
  try {
    await Promise.allSettled([a.connect(`127.0.0.1:${b.listenPort}`), b.connect(`127.0.0.1:${a.listenPort}`)]);
    const oneLink = (): boolean => a.peers().length === 1 && b.peers().length === 1 && a.peers()[0]!.outbound === !b.peers()[0]!.outbound;
    // The tie-break closes the losing connection at the end of its handshake; its other end sees that one hop later.
    await waitFor(oneLink, 'one link, the same at both ends');
    await holdsFor(oneLink, hopSettleMs, 'one link, the same at both ends');
    assert.is(a.peers().length, 1);
    assert.is(b.peers().length, 1);
    assert.is(a.peers()[0]!.outbound, !b.peers()[0]!.outbound, 'both ends kept the same connection');
  } finally {
    await stopAll([a, b]);
  }
});

test('a peer that cannot prove its key is refused with ERR_BAD_PROOF', async () => {
  const a = await node();
  const raw = await RawPeer.open(a.listenPort);
  try {
    // The identity payload's signature over our Noise static key is not the id's: the node refuses it.
    raw.beginHandshake('strongcast-test', { local: { noiseStaticSig: new Uint8Array(64).fill(7) } });
    const r = await raw.waitFor((m) => m.t === 'reject');
    assert.is(r.t === 'reject' && r.code, 'ERR_BAD_PROOF');
    assert.is(a.peers().length, 0);
  } finally {
    raw.close();
    await stopAll([a]);
  }
});

test('a message before the handshake is refused with ERR_BAD_HANDSHAKE', async () => {
  const a = await node();
  const raw = await RawPeer.open(a.listenPort);
  try {
    raw.sendBytes(encodeFrame(raw.gossip(1, 'too early'))); // plaintext, where a handshake frame belongs
    const r = await raw.waitFor((m) => m.t === 'reject');
    assert.is(r.t === 'reject' && r.code, 'ERR_BAD_HANDSHAKE');
  } finally {
    raw.close();
    await stopAll([a]);
  }
});

test('maxPeers is enforced: an outbound dial beyond it is refused with ERR_TOO_MANY_PEERS, an inbound newcomer evicts an inbound peer', async () => {
  const a = await node({ maxPeers: 2, targetPeers: 1 });
  const others = [await node(), await node(), await node()];
  try {
    await others[0]!.connect(`127.0.0.1:${a.listenPort}`);
    await others[1]!.connect(`127.0.0.1:${a.listenPort}`);
    await waitFor(() => a.peers().length === 2, 'both inbound peers open');
    await refusedWith(a.connect(`127.0.0.1:${others[2]!.listenPort}`), 'ERR_TOO_MANY_PEERS');
    assert.is(a.peers().length, 2);
    await others[2]!.connect(`127.0.0.1:${a.listenPort}`);
    await waitFor(() => a.peerIds().includes(others[2]!.id), 'the newcomer is in');
    assert.is(a.peers().length, 2, 'still at maxPeers');
    assert.is(a.evictions, 1, 'one inbound peer made room');
  } finally {
    await stopAll([a, ...others]);
  }
});

test('handshakesPendingMax: a newcomer to a full pool takes the place of the oldest handshake (ERR_HANDSHAKE_EVICTED), so a genuine one completes in a full pool', async () => {
  const a = await node({ handshakesPendingMax: 2, handshakeTimeoutMs: 5000, handshakeFirstMessageTimeoutMs: 5000 });
  const idle: RawPeer[] = [];
  try {
    for (let i = 0; i < 2; i++) idle.push(await RawPeer.open(a.listenPort));
    await waitFor(() => a.handshakingCount === 2, 'two connections in their handshake');
    const third = await RawPeer.open(a.listenPort);
    idle.push(third);
    const r = await idle[0]!.waitFor((m) => m.t === 'reject', 2000);
    assert.is(r.t === 'reject' && r.code, 'ERR_HANDSHAKE_EVICTED', 'the oldest made room');
    await idle[0]!.waitClosed(2000);
    await waitFor(() => a.handshakingCount === 2, 'the newcomer holds its place');
    assert.not.ok(idle[1]!.closed || third.closed, 'the two newer ones are kept');
    const genuine = await RawPeer.handshake(a.listenPort);
    idle.push(genuine);
    assert.is(a.peers().length, 1, 'a genuine handshake completes though the pool was full');
    assert.is(a.handshakeCounters.evicted, 2);
    assert.is(a.handshakeCounters.refused, 0, 'no newcomer refused: loopback is not held to the per-IP caps by default');
  } finally {
    for (const p of idle) p.close();
    await stopAll([a]);
  }
});

test('a connection that never completes its handshake is closed after handshakeTimeoutMs', async () => {
  const a = await node({ handshakeTimeoutMs: 300 });
  const raw = await RawPeer.open(a.listenPort);
  try {
    const started = Date.now();
    const r = await raw.waitFor((m) => m.t === 'reject', 2000);
    assert.is(r.t === 'reject' && r.code, 'ERR_HANDSHAKE_TIMEOUT');
    assert.ok(Date.now() - started >= 250, 'not before the timeout');
  } finally {
    raw.close();
    await stopAll([a]);
  }
});

test('a peer that goes silent is dropped after idleTimeoutMs; a live one is kept by ping/pong', async () => {
  const [idleTimeoutMs, pingIntervalMs] = [400, 100];
  const a = await node({ idleTimeoutMs, pingIntervalMs });
  const b = await node({ idleTimeoutMs, pingIntervalMs });
  const raw = await RawPeer.handshake(a.listenPort);
  try {
    await b.connect(`127.0.0.1:${a.listenPort}`);
    // The raw peer never answers pings.
    const r = await raw.waitFor((m) => m.t === 'reject', 3000);
    assert.is(r.t === 'reject' && r.code, 'ERR_IDLE_TIMEOUT');
    // b is only kept by its pongs from here on: watched for a whole idleTimeoutMs and one ping interval more.
    await holdsFor(() => a.peers().length === 1 && a.peers()[0]!.id === b.id, idleTimeoutMs + pingIntervalMs, 'the node that answers pings stays');
    assert.is(a.peers().length, 1, 'the node that answers pings stays');
    assert.is(a.peers()[0]!.id, b.id);
  } finally {
    raw.close();
    await stopAll([a, b]);
  }
});

test('a configured peer that goes away is reconnected with backoff when it returns', async () => {
  // a comes back on the port b was configured with, so the port must stay free while a is down: one from
  // below the ephemeral range, which the system never hands to a port-0 listener or an outgoing connection.
  const block = await reservePorts(1);
  const port = block.base;
  await block.release();
  const a = await node({ port });
  // b's dials that failed (a is down), seen through its transport
  let failedDials = 0;
  const tcp = tcpTransport();
  const transport: Transport = {
    listen: (...args) => tcp.listen(...args),
    dial: (host, p, timeoutMs, done) =>
      tcp.dial(host, p, timeoutMs, (err, link) => {
        if (err && p === port) failedDials++;
        done(err, link);
      }),
  };
  const b = await node({ peers: [`127.0.0.1:${port}`], transport });
  let a2: StrongcastNode | null = null;
  try {
    await waitFor(() => b.peers().length === 1, 'first connection');
    await a.stop();
    await waitFor(() => b.peers().length === 0, 'disconnect seen');
    const failedBefore = failedDials;
    await waitFor(() => failedDials >= failedBefore + 2, 'a few failed attempts while it is down');
    a2 = createNode({ ...fastOptions, port });
    await a2.start();
    await waitFor(() => b.peers().length === 1 && b.peers()[0]!.id === a2!.id, 'reconnected', 5000);
  } finally {
    await stopAll([a, b, ...(a2 ? [a2] : [])]);
  }
});

test('isolate cuts a node off, refuses connections meanwhile, and it reconnects afterwards', async () => {
  const a = await node();
  const b = await node({ peers: [`127.0.0.1:${a.listenPort}`] });
  try {
    await waitFor(() => b.peers().length === 1, 'connected');
    b.isolate(400);
    assert.is(b.peers().length, 0, 'every connection closed at once');
    await refusedWith(a.connect(`127.0.0.1:${b.listenPort}`), 'ERR_CONNECTION_CLOSED');
    // Watched for the whole isolation: at every check while b is still isolated, no link on either side.
    await holdsFor(() => !b.isolated || (a.peers().length === 0 && b.peers().length === 0), 400, 'no reconnection while isolated');
    await waitFor(() => b.peers().length === 1, 'reconnected after isolation', 4000);
  } finally {
    await stopAll([a, b]);
  }
});

test.run();
