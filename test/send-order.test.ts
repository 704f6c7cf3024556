/**
 * The sending side of one connection (net/outbox.ts), on a socket the test can stop: frames are handed to the
 * socket only while it holds fewer than socketQueuedBytesTarget bytes, the rest wait unsealed, consensus
 * frames (here getchain) ahead of the others (here pings), and go when the socket drains; each frame is
 * sealed as it is handed on, so the peer opens every one in the order it arrives. writeQueueBytesMax counts
 * what waits here with what the socket holds, and a polite close sends what waits before its reject.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Socket } from 'node:net';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { tcpTransport } from '../src/io/tcp-transport.ts';
import type { Link } from '../src/io/transport.ts';
import { resolveLimits, type NodeOptions } from '../src/core/node-options.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { encodeFrame, sealedFrameBytes } from '../src/wire/framing.ts';
import type { Message } from '../src/wire/schema.ts';
import { nextTurn, openMemoryConnection, range, type MemoryConnection } from './helpers/memory-connection.ts';

const verifier = createMainThreadVerifier();
/** A ping's frame on the wire (every ping here is numbered below 128: one msgpack byte, all the same size). */
const pingBytes = sealedFrameBytes(encodeFrame({ t: 'ping', n: 1 }).byteLength);

/** An open connection whose handshake and first frames the peer has read; `read()` gives what came since. */
async function connection(options: NodeOptions): Promise<MemoryConnection & { read(): Message[] }> {
  const clock = { ms: 1_000_000 };
  const turn = new TurnBudget({ now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
  const h = await openMemoryConnection({ networkId: 'send-order', selfSeed: 51, peerSeed: 52, verifier, limits: resolveLimits({ writeCoalesceMs: 0, ...options }), clock, turn });
  for (let i = 0; i < 5; i++) await nextTurn();
  // written[0] is the listener's handshake reply, which the peer read to finish the handshake.
  let readUpTo = 1;
  const read = (): Message[] => {
    const chunk = Buffer.concat(h.socket.written.slice(readUpTo));
    readUpTo = h.socket.written.length;
    const { messages, error } = h.peer.push(chunk);
    assert.is(error, undefined, `every frame opens, in the order it arrived: ${error?.message}`);
    return messages;
  };
  assert.equal(read().map((m) => m.t), ['ping'], 'the listener confirms with a ping');
  return { ...h, read };
}

/** What the peer read, as `ping n` and `getchain n`. */
const names = (messages: Message[]): string[] => messages.map((m) => (m.t === 'ping' ? `ping ${m.n}` : m.t === 'getchain' ? `getchain ${m.from}` : m.t));

test('frames wait for room once the socket holds socketQueuedBytesTarget bytes; consensus frames sent after them go first when it drains, every frame sealed in the order it leaves', async () => {
  const target = 10 * pingBytes;
  const h = await connection({ socketQueuedBytesTarget: target });
  h.socket.holding = true;
  for (const n of range(1, 40)) assert.ok(h.conn.send({ t: 'ping', n }));
  for (const from of range(1, 3)) assert.ok(h.conn.send({ t: 'getchain', from }));
  await nextTurn();
  assert.equal(names(h.read()), range(1, 10).map((n) => `ping ${n}`), 'the socket was handed frames up to the target: ten pings');
  assert.is(h.socket.writableLength, target, 'and holds them');
  assert.is(h.conn.writeQueuedBytes, 40 * pingBytes + 3 * sealedFrameBytes(encodeFrame({ t: 'getchain', from: 1 }).byteLength), 'the rest wait in the connection, counted in its write queue');
  h.socket.holding = false;
  h.socket.release();
  for (let i = 0; i < 3; i++) await nextTurn();
  assert.equal(names(h.read()), [...range(1, 3).map((n) => `getchain ${n}`), ...range(11, 30).map((n) => `ping ${n}`)], 'once it drained: the getchains first, then the pings in order');
  assert.is(h.conn.writeQueuedBytes, 0);
  assert.equal(h.closes, []);
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('with room on the socket every frame goes at once, in the order sent, one write per turn', async () => {
  const h = await connection({ socketQueuedBytesTarget: 10 * pingBytes });
  h.socket.writes.length = 0;
  h.conn.send({ t: 'ping', n: 1 });
  h.conn.send({ t: 'getchain', from: 1 });
  h.conn.send({ t: 'ping', n: 2 });
  await nextTurn();
  assert.equal(names(h.read()), ['ping 1', 'getchain 1', 'ping 2'], 'nothing waited: nothing overtook');
  assert.equal(h.socket.writes, [3]);
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('frames of one turn beyond the target all go at its flush, a write of the target at a time, while the socket takes each at once', async () => {
  const h = await connection({ socketQueuedBytesTarget: 10 * pingBytes });
  h.socket.writes.length = 0;
  for (const n of range(1, 35)) h.conn.send({ t: 'ping', n });
  assert.equal(h.socket.writes, [], 'held to the end of the turn');
  await nextTurn();
  assert.equal(h.socket.writes, [10, 10, 10, 5], 'one flush: four writes, not one per coalescing window');
  assert.equal(names(h.read()), range(1, 35).map((n) => `ping ${n}`));
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('writeQueueBytesMax counts the frames waiting for room with what the socket holds: at the limit the peer stays, one frame beyond it is dropped as too slow', async () => {
  const h = await connection({ writeQueueBytesMax: 10 * pingBytes, socketQueuedBytesTarget: 2 * pingBytes });
  h.socket.holding = true;
  for (const n of range(1, 10)) assert.ok(h.conn.send({ t: 'ping', n }), `ping ${n} taken`);
  await nextTurn();
  assert.is(h.socket.writableLength, 2 * pingBytes, 'two in the socket');
  assert.is(h.conn.writeQueuedBytes, 10 * pingBytes, 'ten in all: the limit');
  assert.equal(h.closes, []);
  assert.not.ok(h.conn.send({ t: 'ping', n: 11 }), 'one more is refused');
  assert.equal(h.closes, ['ERR_SLOW_PEER']);
  assert.equal(h.offences.map((o) => o.code), ['ERR_SLOW_PEER']);
});

test('a polite close sends the frames still waiting for room, in order, and then its reject', async () => {
  const h = await connection({ socketQueuedBytesTarget: 2 * pingBytes });
  h.socket.holding = true;
  for (const n of range(1, 6)) h.conn.send({ t: 'ping', n });
  h.conn.send({ t: 'getchain', from: 1 });
  await nextTurn();
  h.conn.close('ERR_IDLE_TIMEOUT', 'test');
  h.socket.holding = false;
  h.socket.release();
  await nextTurn();
  assert.equal(names(h.read()), ['ping 1', 'ping 2', 'getchain 1', 'ping 3', 'ping 4', 'ping 5', 'ping 6', 'reject']);
  assert.is(h.peer.rejected?.code, 'ERR_IDLE_TIMEOUT');
});

test('over TCP: bytes that waited in the socket for a peer that did not read drain once it reads, and the owner hears of it', async () => {
  let peer: Socket | undefined;
  const server = createServer((s) => {
    peer = s;
    s.pause();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  let link: Link | undefined;
  try {
    link = await new Promise<Link>((resolve, reject) => tcpTransport().dial('127.0.0.1', port, 2000, (err, l) => (err ? reject(err) : resolve(l!))));
    let drains = 0;
    link.attach({ data: () => undefined, close: () => undefined, drain: () => void drains++ });
    for (let i = 0; i < 10_000 && link.writableLength === 0; i++) {
      link.write(new Uint8Array(64 * 1024));
      await nextTurn();
    }
    assert.ok(link.writableLength > 0, 'the kernel buffers filled and bytes wait in the socket');
    assert.is(drains, 0, 'no drain while they wait');
    peer!.resume();
    for (let i = 0; i < 500 && drains === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.is(link.writableLength, 0);
    assert.is(drains, 1, 'one drain once they have gone');
  } finally {
    link?.destroy();
    peer?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test.after(() => verifier.close());
test.run();
