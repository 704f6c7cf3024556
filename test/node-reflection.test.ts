/**
 * Reflection (issue 16, item 4), on loopback: a peer cannot aim our dials. Only the one `peers` reply to each
 * `getpeers` of ours is used, outbound dials in progress stay within dialsPendingMax, and our own dials never
 * take the handshake slots of inbound peers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { createNode } from '../src/create-node.ts';
import { tcpTransport } from '../src/io/tcp-transport.ts';
import type { Transport } from '../src/io/transport.ts';
import type { PeerAddress } from '../src/wire/schema.ts';
import { fastOptions, sleep, stopAll, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';

/** A TCP transport that records every dial it is asked for. */
function countingTransport(): { transport: Transport; dials: string[] } {
  const tcp = tcpTransport();
  const dials: string[] = [];
  const transport: Transport = {
    listen: (...a) => tcp.listen(...a),
    dial: (host, port, timeoutMs, done) => {
      dials.push(`${host}:${port}`);
      tcp.dial(host, port, timeoutMs, done);
    },
  };
  return { transport, dials };
}

/** `n` addresses on loopback where nothing listens (a dial is refused at once), numbered from `from`. */
function deadAddresses(from: number, n: number): PeerAddress[] {
  return Array.from({ length: n }, (_, i) => {
    const k = from + i;
    return { id: new Uint8Array(32).fill(k & 0xff).map((x, j) => (j < 4 ? (k >> (8 * j)) & 0xff : x)), host: `127.66.${(k >> 8) & 0xff}.${k & 0xff}`, port: 9 };
  });
}

test('peers replies nobody asked for are dropped, counted, scored and never dialed: the victim dials one reply, within dialsPendingMax', async () => {
  const { transport, dials } = countingTransport();
  // No periodic asks: the only getpeers is the one sent when the peer opened.
  const v = createNode({ ...fastOptions, transport, maintainIntervalMs: 60_000, dialsPendingMax: 3 });
  await v.start();
  const raw = await RawPeer.handshake(v.listenPort);
  try {
    await raw.waitFor((m) => m.t === 'getpeers');
    const replies = 300;
    for (let r = 0; r < replies; r++) raw.send({ t: 'peers', addrs: deadAddresses(r * 64, 64) });
    // The node handles a connection's frames in order: the pong of a ping sent last comes after every reply.
    raw.send({ t: 'ping', n: 77 });
    await waitFor(() => raw.closed || raw.received.some((m) => m.t === 'pong' && m.n === 77), 'every reply handled or the sender banned');
    await sleep(200); // dials of a late pass would show within this
    const dialed = dials.filter((d) => d.startsWith('127.66.'));
    assert.ok(dialed.length <= 3, `dialed ${dialed.length} attacker addresses, at most dialsPendingMax (3)`);
    const firstReply = new Set(deadAddresses(0, 64).map((a) => `${a.host}:${a.port}`));
    assert.ok(dialed.every((d) => firstReply.has(d)), 'only addresses of the one reply we asked for');
    assert.ok(v.counters.unsolicitedPeers >= 99, `unsolicited replies counted: ${v.counters.unsolicitedPeers}`);
    assert.ok(raw.closed, 'a flood of unsolicited replies adds up to a ban');
  } finally {
    raw.close();
    await stopAll([v]);
  }
});

test('a reply within peersReplyTimeoutMs is used; one after it is unsolicited and not dialed', async () => {
  const { transport, dials } = countingTransport();
  const v = createNode({ ...fastOptions, transport, maintainIntervalMs: 60_000, peersReplyTimeoutMs: 400 });
  await v.start();
  const late = await RawPeer.handshake(v.listenPort);
  const prompt = await RawPeer.handshake(v.listenPort);
  try {
    await late.waitFor((m) => m.t === 'getpeers');
    await prompt.waitFor((m) => m.t === 'getpeers');
    prompt.send({ t: 'peers', addrs: deadAddresses(1000, 1) });
    await sleep(600);
    late.send({ t: 'peers', addrs: deadAddresses(2000, 1) });
    late.send({ t: 'ping', n: 5 });
    await late.waitFor((m) => m.t === 'pong' && m.n === 5);
    assert.is(v.counters.unsolicitedPeers, 1, 'the late reply');
    assert.ok(dials.includes(`${deadAddresses(1000, 1)[0]!.host}:9`), 'the prompt reply was dialed');
    assert.not.ok(dials.includes(`${deadAddresses(2000, 1)[0]!.host}:9`), 'the late one was not');
    assert.ok(v.scoreOf(Buffer.from(late.identity.publicKey).toString('hex')) > 0, 'scored, lightly');
    assert.not.ok(late.closed);
  } finally {
    late.close();
    prompt.close();
    await stopAll([v]);
  }
});

/** Loopback servers that accept TCP connections and never say a word (a handshake to them hangs). */
async function silentServers(n: number): Promise<{ ports: number[]; close(): Promise<void>; accepted: () => number }> {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  let accepted = 0;
  for (let i = 0; i < n; i++) {
    const s = createServer((sock) => {
      accepted++;
      sockets.push(sock);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  return {
    ports: servers.map((s) => (s.address() as { port: number }).port),
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

test('answered asks cannot push dials past dialsPendingMax, and our hanging dials never crowd out an inbound handshake', async () => {
  const silent = await silentServers(12);
  const addrs: PeerAddress[] = silent.ports.map((port, i) => ({ id: new Uint8Array(32).fill(200 + i), host: '127.0.0.1', port }));
  const v = createNode({ ...fastOptions, handshakeTimeoutMs: 5000, dialsPendingMax: 3, handshakesPendingMax: 4 });
  await v.start();
  const raw = await RawPeer.handshake(v.listenPort);
  const honest = createNode({ ...fastOptions });
  await honest.start();
  try {
    // The attacker answers every ask (maintenance asks every 100 ms while below targetPeers) with the silent servers.
    let answered = 0;
    let pendingMax = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      const asks = raw.received.filter((m) => m.t === 'getpeers').length;
      for (; answered < asks; answered++) raw.send({ t: 'peers', addrs });
      pendingMax = Math.max(pendingMax, v.handshakingCount);
      await sleep(10);
    }
    assert.ok(answered >= 3, `the attacker answered ${answered} asks`);
    assert.ok(silent.accepted() >= 3, `the victim dialed the offered addresses (${silent.accepted()})`);
    assert.is(pendingMax, 3, `outbound handshakes in progress peak at dialsPendingMax (3), not above`);
    const started = Date.now();
    await honest.connect(`127.0.0.1:${v.listenPort}`);
    assert.ok(Date.now() - started < 2000, 'an honest node joins at once');
    await waitFor(() => v.peerIds().includes(honest.id), 'the victim opened its side too', 2000);
  } finally {
    raw.close();
    await stopAll([v, honest]);
    await silent.close();
  }
});

test.run();
