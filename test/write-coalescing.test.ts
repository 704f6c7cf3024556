/**
 * Write coalescing on one connection, with an injected clock and a socket that records each write it gets:
 * frames sent in one event-loop turn share one write at its end, unless the turn runs past the coalescing
 * window, when what is held goes out at once (so a long read batch does not hold every relay to its end).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import type { PeerConnection } from '../src/net/peer-connection.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { TurnFlush } from '../src/net/turn-flush.ts';
import type { FakeSocket } from './helpers/fake-socket.ts';
import { openMemoryConnection } from './helpers/memory-connection.ts';

const verifier = createMainThreadVerifier();
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const frame = Buffer.from([0, 0, 0, 1, 0xc0]);
/**
 * Past any flush a connection can have scheduled: it flushes at the end of the turn or at most writeCoalesceMs
 * (2 ms here) later, on a timer; a 10 ms timer set after it fires after it, however late both fire, since
 * Node runs due timers in the order they fall due.
 */
const pastFlushes = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

/**
 * An open connection (the peer's handshake played by the test) whose handshake writes are done and forgotten,
 * with the clock moved well past its last flush.
 */
async function connection(
  writeCoalesceMs: number,
  shared: { clock: { ms: number }; turnFlush?: TurnFlush; seed?: number } = { clock: { ms: 1_000_000 } },
): Promise<{ conn: PeerConnection; socket: FakeSocket; clock: { ms: number } }> {
  const { clock, turnFlush, seed = 41 } = shared;
  const turn = new TurnBudget({ now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
  const limits = resolveLimits({ writeCoalesceMs });
  const h = await openMemoryConnection({ networkId: 'coalesce', selfSeed: seed, peerSeed: seed + 1, verifier, limits, clock, turn, ...(turnFlush ? { turnFlush } : {}) });
  await pastFlushes();
  h.socket.writes.length = 0;
  h.socket.written.length = 0;
  clock.ms += 1000;
  return { conn: h.conn, socket: h.socket, clock };
}

test('frames sent in one turn on an idle link share one write, at the end of the turn', async () => {
  const { conn, socket } = await connection(2);
  for (let i = 0; i < 5; i++) assert.ok(conn.sendFrame(frame, 'gossip'));
  assert.equal(socket.writes, [], 'nothing written during the turn');
  await nextTurn();
  assert.equal(socket.writes, [5], 'one write of five frames');
  conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('a turn that runs past writeCoalesceMs writes what it holds at once, not at its end', async () => {
  const { conn, socket, clock } = await connection(2);
  conn.sendFrame(frame, 'gossip');
  conn.sendFrame(frame, 'gossip');
  clock.ms += 1;
  conn.sendFrame(frame, 'gossip');
  assert.equal(socket.writes, [], '1 ms into a 2 ms window: still held');
  clock.ms += 1;
  conn.sendFrame(frame, 'gossip');
  assert.equal(socket.writes, [4], 'at 2 ms the four held frames go in one write, within the turn');
  conn.sendFrame(frame, 'gossip');
  conn.sendFrame(frame, 'gossip');
  assert.equal(socket.writes, [4], 'the next frames are held again');
  clock.ms += 2;
  conn.sendFrame(frame, 'gossip');
  assert.equal(socket.writes, [4, 3]);
  await pastFlushes();
  assert.equal(socket.writes, [4, 3], 'nothing was left behind, and no flush writes an empty batch');
  conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('writeCoalesceMs 0: one write per turn, and a turn held 1 ms writes at once', async () => {
  const { conn, socket, clock } = await connection(0);
  conn.sendFrame(frame, 'gossip');
  conn.sendFrame(frame, 'gossip');
  assert.equal(socket.writes, [], 'held to the end of the turn');
  await nextTurn();
  assert.equal(socket.writes, [2]);
  conn.sendFrame(frame, 'gossip');
  clock.ms += 1;
  conn.sendFrame(frame, 'gossip');
  assert.equal(socket.writes, [2, 2], 'a turn 1 ms long writes at once');
  conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('a clock stepped backwards neither flushes early nor holds writes past the end of the turn', async () => {
  const { conn, socket, clock } = await connection(2);
  conn.sendFrame(frame, 'gossip');
  clock.ms -= 60_000;
  conn.sendFrame(frame, 'gossip');
  assert.equal(socket.writes, []);
  await pastFlushes();
  assert.equal(socket.writes, [2]);
  conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('connections sharing one end-of-turn flush: one callback for both, each writes once at the end of the turn', async () => {
  let turnsScheduled = 0;
  const turnFlush = new TurnFlush((run) => {
    turnsScheduled++;
    setImmediate(run);
  });
  const clock = { ms: 1_000_000 };
  const a = await connection(2, { clock, turnFlush, seed: 51 });
  const b = await connection(2, { clock, turnFlush, seed: 61 });
  clock.ms += 1000;
  turnsScheduled = 0;
  for (let i = 0; i < 3; i++) a.conn.sendFrame(frame, 'gossip');
  for (let i = 0; i < 2; i++) b.conn.sendFrame(frame, 'gossip');
  assert.is(turnsScheduled, 1, 'one callback for both connections');
  assert.equal([a.socket.writes, b.socket.writes], [[], []], 'nothing written during the turn');
  await nextTurn();
  assert.equal([a.socket.writes, b.socket.writes], [[3], [2]]);
  a.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
  b.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('a connection that flushed early in the turn and holds again waits for its window, not for the end of the turn', async () => {
  const { conn, socket, clock } = await connection(2);
  conn.sendFrame(frame, 'gossip');
  clock.ms += 2;
  conn.sendFrame(frame, 'gossip');
  assert.equal(socket.writes, [2], 'the window passed: written within the turn');
  conn.sendFrame(frame, 'gossip');
  await nextTurn();
  assert.equal(socket.writes, [2], 'the end of the turn does not cut the new window short');
  await pastFlushes();
  assert.equal(socket.writes, [2, 1]);
  conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test.after(() => verifier.close());
test.run();
