/**
 * The per-turn work budget (src/net/turn-budget.ts) on its own, with an injected clock and a hand-run "next turn"
 * queue, and on connections (src/net/peer-connection.ts) over in-memory sockets: frames past the budget wait in
 * order with the socket paused, connections are served in the order they read, and nothing is lost or reordered.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { StrongcastError } from '../src/errors.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import { earlyBytesMax } from '../src/net/connection-handshake.ts';
import { TurnBudget, turnBudgetDefaults, type DeferredWork, type WorkPriority } from '../src/net/turn-budget.ts';
import { nextTurn, openMemoryConnection, range, sealedGetchainBytes, startMemoryConnection, type MemoryConnection } from './helpers/memory-connection.ts';

/** A budget whose turns the test runs by hand. */
function manualBudget(turnWorkMsMax: number): { budget: TurnBudget; clock: { ms: number }; turns: Array<() => void>; runTurn: () => void } {
  const clock = { ms: 5_000 };
  const turns: Array<() => void> = [];
  const budget = new TurnBudget({ turnWorkMsMax, now: () => clock.ms, nextTurn: (run) => void turns.push(run) });
  const runTurn = (): void => {
    const run = turns.shift();
    assert.ok(run, 'a next turn was scheduled');
    run();
  };
  return { budget, clock, turns, runTurn };
}

/** Work of `pieces` steps of `stepMs` each, recording `name` per step, that asks the budget before each. */
function work(name: string, pieces: number, stepMs: number, budget: TurnBudget, clock: { ms: number }, log: string[]): DeferredWork {
  let left = pieces;
  const w: DeferredWork = {
    resumeWork: () => {
      while (left > 0) {
        if (!budget.allows()) return budget.defer(w);
        left--;
        log.push(name);
        clock.ms += stepMs;
      }
    },
  };
  return w;
}

test('a turn allows work until turnWorkMsMax has passed, then refuses, and the next turn starts afresh', () => {
  const { budget, clock, turns, runTurn } = manualBudget(10);
  assert.ok(budget.allows(), 'the first piece of a turn always fits');
  assert.is(turns.length, 1, 'opening a turn schedules the next one');
  clock.ms += 9;
  assert.ok(budget.allows(), '9 ms into a 10 ms budget');
  clock.ms += 1;
  assert.not.ok(budget.allows(), 'at 10 ms the turn is spent');
  assert.not.ok(budget.allows());
  assert.is(budget.counters.turnsCut, 1, 'one cut turn, however often it is asked');
  runTurn();
  assert.ok(budget.allows(), 'a new turn');
  clock.ms += 9;
  assert.ok(budget.allows());
  assert.is(budget.counters.turnsCut, 1);
});

test('a clock stepped backwards does not stretch the turn by the size of the step', () => {
  const { budget, clock } = manualBudget(10);
  assert.ok(budget.allows());
  clock.ms -= 60_000;
  assert.ok(budget.allows());
  clock.ms += 10;
  assert.not.ok(budget.allows(), 'ten ms after the step back the turn is spent');
});

test('deferred work resumes on a later turn, in order, each taking turns while there is budget', () => {
  const { budget, clock, runTurn, turns } = manualBudget(4);
  const log: string[] = [];
  const a = work('a', 6, 1, budget, clock, log);
  const b = work('b', 3, 1, budget, clock, log);
  a.resumeWork();
  b.resumeWork();
  assert.equal(log, ['a', 'a', 'a', 'a'], 'a used the whole turn; b had to wait');
  assert.is(budget.waitingCount, 2);
  runTurn();
  assert.equal(log.length, 4, 'the end of a spent turn does no more work: timers run first');
  runTurn();
  assert.equal(log.slice(4), ['a', 'a', 'b', 'b'], 'a finished, then b until the budget ran out');
  runTurn();
  assert.equal(log.slice(8), ['b']);
  assert.is(budget.waitingCount, 0);
  runTurn(); // the turn opened by the last piece
  assert.is(turns.length, 0, 'nothing left to do, nothing scheduled');
});

test('waiting work takes turns round robin: work the budget cuts short goes to the back, behind the work that waited', () => {
  const { budget, clock, runTurn } = manualBudget(2);
  const log: string[] = [];
  const a = work('a', 4, 1, budget, clock, log);
  const b = work('b', 4, 1, budget, clock, log);
  const c = work('c', 4, 1, budget, clock, log);
  a.resumeWork();
  b.resumeWork();
  c.resumeWork();
  for (let i = 0; i < 6; i++) runTurn();
  // a filled the first turn and its next; b and c waited without starting, then take turns, a turn's budget each.
  assert.equal(log.join(' '), 'a a a a b b c c b b c c');
});

test('work that throws is loud, and neither it nor the work queued behind it is lost', () => {
  const { budget, clock, runTurn } = manualBudget(5);
  const log: string[] = [];
  const a = work('a', 2, 5, budget, clock, log);
  let throws = 1;
  const boom: DeferredWork = {
    resumeWork: () => {
      if (throws-- > 0) throw new Error('bug');
      log.push('boom');
    },
  };
  const b = work('b', 1, 1, budget, clock, log);
  a.resumeWork();
  budget.defer(boom);
  budget.defer(b);
  runTurn(); // the turn a spent ends
  runTurn(); // a's rest takes the next
  assert.throws(() => runTurn(), /bug/);
  assert.is(budget.waitingCount, 2, 'the work that threw (it may hold unread frames) and b are still queued');
  runTurn();
  assert.equal(log, ['a', 'a', 'boom', 'b']);
  assert.is(budget.waitingCount, 0);
});

/** Work like `work`, asking mayContinue as a connection does, at `priority`, with its pieces since it (re)started. */
function flowWork(name: string, pieces: number, priority: WorkPriority, budget: TurnBudget, clock: { ms: number }, log: string[]): DeferredWork {
  let left = pieces;
  const w: DeferredWork = {
    resumeWork: () => {
      for (let done = 0; left > 0; done++) {
        if (!budget.mayContinue(done, priority)) return budget.defer(w, priority);
        left--;
        log.push(name);
        clock.ms += 1;
      }
    },
  };
  return w;
}

test('priorities: deferred work resumes after all work of higher priority, whenever it queued; while such work waits, lower work does not start, nor open the turn', () => {
  const { budget, clock, runTurn } = manualBudget(4);
  const log: string[] = [];
  const rest = flowWork('r', 6, 'rest', budget, clock, log);
  const light = flowWork('l', 2, 'light', budget, clock, log);
  const verdict = flowWork('v', 1, 'verdict', budget, clock, log);
  const late = flowWork('x', 1, 'rest', budget, clock, log);
  rest.resumeWork();
  light.resumeWork();
  verdict.resumeWork();
  assert.equal(log, ['r', 'r', 'r', 'r'], 'the first work spent the turn; the others had to wait');
  assert.is(budget.waitingCountOf('light'), 1);
  assert.is(budget.waitingCountOf('verdict'), 1);
  runTurn();
  late.resumeWork();
  assert.equal(log.length, 4, 'a new turn, but higher work waits: lower work queues behind it');
  assert.not.ok(budget.mayContinue(0, 'light'), 'light work yields to verdict work');
  assert.ok(budget.mayContinue(0, 'verdict'), 'verdict work may start: the turn was left to it');
  runTurn();
  assert.equal(log.join(' '), 'r r r r v l l r', 'verdict, then light, then the rest in the order it queued');
  runTurn();
  assert.equal(log.slice(8), ['x', 'r'], 'x queued before the rest of r went back in line');
  assert.is(budget.waitingCount, 0);
});

test('finish: the waiting work is done to its end past the budget, by priority, and the budget is as new', () => {
  const { budget, clock, turns } = manualBudget(2);
  const log: string[] = [];
  const rest = flowWork('r', 5, 'rest', budget, clock, log);
  const light = flowWork('l', 3, 'light', budget, clock, log);
  rest.resumeWork();
  light.resumeWork();
  assert.equal(log, ['r', 'r']);
  budget.finish();
  assert.equal(log.join(' '), 'r r l l l r r r', 'everything, though a turn allows two');
  assert.is(budget.waitingCount, 0);
  assert.is(budget.waitingCountOf('light'), 0);
  turns.length = 0;
  assert.ok(budget.allows(), 'a new turn');
  clock.ms += 2;
  assert.not.ok(budget.allows(), 'with the usual budget');
});

test('clear drops waiting work and the budget keeps working', () => {
  const { budget, clock, runTurn } = manualBudget(1);
  const log: string[] = [];
  const a = work('a', 3, 1, budget, clock, log);
  a.resumeWork();
  assert.is(budget.waitingCount, 1);
  budget.clear();
  runTurn();
  assert.equal(log, ['a'], 'cleared work does not resume');
  assert.ok(budget.allows());
});

test('turnQuantumFrames must be a positive integer; the default is 64 frames', () => {
  assert.is(new TurnBudget({ now: Date.now, nextTurn: (run) => void setImmediate(run) }).turnQuantumFrames, 64);
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new TurnBudget({ turnQuantumFrames: bad, now: Date.now, nextTurn: (run) => void setImmediate(run) }), (e: unknown) => e instanceof StrongcastError && e.code === 'ERR_INVALID_OPTION' && e.message.includes('turnQuantumFrames'));
    assert.throws(() => resolveLimits({ turnQuantumFrames: bad }), (e: unknown) => e instanceof StrongcastError && e.message.includes('turnQuantumFrames'));
  }
  assert.is(resolveLimits({}).turnQuantumFrames, 64);
});

test('turnWorkMsMax must be a positive integer; the default is 50 ms', () => {
  assert.is(new TurnBudget({ now: Date.now, nextTurn: (run) => void setImmediate(run) }).turnWorkMsMax, turnBudgetDefaults.turnWorkMsMax);
  assert.is(turnBudgetDefaults.turnWorkMsMax, 50);
  for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
    assert.throws(() => new TurnBudget({ turnWorkMsMax: bad as number, now: Date.now, nextTurn: (run) => void setImmediate(run) }), (e: unknown) => e instanceof StrongcastError && e.code === 'ERR_INVALID_OPTION' && e.message.includes('turnWorkMsMax'));
    assert.throws(() => resolveLimits({ turnWorkMsMax: bad as number }), (e: unknown) => e instanceof StrongcastError && e.message.includes('turnWorkMsMax'));
  }
  assert.is(resolveLimits({}).turnWorkMsMax, 50);
});

// ---- on connections ----------------------------------------------------------------------------------------

const networkId = 'turn-net';
const verifier = createMainThreadVerifier();
/**
 * An open connection on an in-memory socket. Each message handled costs `msPerMessage` of the injected
 * clock, and getchain's `from` field numbers the frames so the test sees their order.
 */
function openConnection(turn: TurnBudget, clock: { ms: number }, msPerMessage: number, peerTag: number, order: string[] = []): Promise<MemoryConnection> {
  return openMemoryConnection({
    networkId,
    selfSeed: 11,
    peerSeed: peerTag,
    verifier,
    limits: resolveLimits({}),
    clock,
    turn,
    onMessage: (m) => {
      if (m.t === 'getchain') order.push(`${peerTag}:${m.from}`);
      clock.ms += msPerMessage;
    },
  });
}


test('frames past the turn budget wait in order with the socket paused, and are all handled on later turns', async () => {
  const clock = { ms: 1_000_000 };
  const turn = new TurnBudget({ turnWorkMsMax: 5, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
  const h = await openConnection(turn, clock, 1, 21);
  await nextTurn();
  h.socket.push(h.frames(0, 20));
  assert.equal(h.handled, range(0, 5), 'five 1 ms messages fit in a 5 ms turn');
  assert.ok(h.socket.isPaused(), 'the socket is not read while frames wait');
  await nextTurn();
  assert.equal(h.handled, range(0, 5), 'the turn that read them is spent: nothing more until timers have run');
  await nextTurn();
  assert.equal(h.handled, range(0, 10), 'the next turn handles the next five');
  for (let i = 0; i < 10 && h.handled.length < 20; i++) await nextTurn();
  assert.equal(h.handled, range(0, 20), 'all twenty, in order, none twice');
  assert.not.ok(h.socket.isPaused(), 'reading resumes once the inbox is empty');
  assert.ok(turn.counters.turnsCut >= 3);
  h.socket.push(h.frames(20, 3));
  assert.equal(h.handled, range(0, 23).slice(0, h.handled.length));
  for (let i = 0; i < 3 && h.handled.length < 23; i++) await nextTurn();
  assert.equal(h.handled, range(0, 23), 'frames read after the backlog come after it');
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('connections with frames waiting take turns: one cut short by the budget goes to the back, behind those that waited', async () => {
  const clock = { ms: 2_000_000 };
  const turn = new TurnBudget({ turnWorkMsMax: 4, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
  const order: string[] = [];
  const a = await openConnection(turn, clock, 1, 22, order);
  const b = await openConnection(turn, clock, 1, 23, order);
  await nextTurn();
  a.socket.push(a.frames(0, 10)); // a's first read: more than one turn's work
  b.socket.push(b.frames(0, 3)); // b read after it
  a.socket.push(a.frames(10, 2)); // a's next read, buffered in its socket while its first waits
  for (let i = 0; i < 20 && (a.handled.length < 12 || b.handled.length < 3); i++) await nextTurn();
  const expected = [...range(0, 8).map((v) => `22:${v}`), '23:0', '23:1', '23:2', ...range(8, 4).map((v) => `22:${v}`)];
  assert.equal(order, expected, 'a\'s first two turns, then b (which waited since a\'s first), then a\'s rest and its second read');
  a.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
  b.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('turnQuantumFrames: while others wait, a connection takes that many frames a turn and goes to the back; a light one is served in the first round, and one with nothing waiting that reads a frame handles it at once', async () => {
  const clock = { ms: 3_000_000 };
  const turn = new TurnBudget({ turnWorkMsMax: 6, turnQuantumFrames: 2, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
  const order: string[] = [];
  const a = await openConnection(turn, clock, 1, 31, order);
  const b = await openConnection(turn, clock, 1, 32, order);
  const c = await openConnection(turn, clock, 1, 33, order);
  await nextTurn();
  a.socket.push(a.frames(0, 12));
  b.socket.push(b.frames(0, 12));
  c.socket.push(c.frames(0, 1));
  assert.equal(order, range(0, 6).map((v) => `31:${v}`), 'alone, a takes the whole turn: no quantum while nobody waits');
  for (let i = 0; i < 3 && !order.includes('33:0'); i++) await nextTurn();
  assert.is(order.indexOf('33:0'), 6 + 2 + 2, 'the light connection\'s frame comes after one quantum of a and one of b, not after their 24 frames');
  assert.equal(order.slice(6, 10), ['31:6', '31:7', '32:0', '32:1']);
  assert.ok(turn.waitingCount >= 1, 'the heavy ones still have frames waiting');
  const handledBefore = order.length;
  await nextTurn(); // a fresh turn, its budget unspent by reads
  assert.ok(turn.waitingCount > 0, 'a and b still wait');
  c.socket.push(c.frames(1, 1));
  assert.is(order[order.length - 1], '33:1', 'handled as it was read, although others wait');
  for (let i = 0; i < 20 && order.length < 26; i++) await nextTurn();
  assert.ok(order.length > handledBefore);
  for (const tag of ['31', '32']) assert.equal(order.filter((o) => o.startsWith(`${tag}:`)), range(0, 12).map((v) => `${tag}:${v}`), `${tag}'s frames all handled, in order`);
  for (const h of [a, b, c]) h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('verdict work: past the turn budget it waits for the connection\'s turn, in order, and counts as work in progress until done; the verdict on a peer\'s only message in progress is acted on at once', async () => {
  const clock = { ms: 4_000_000 };
  const turn = new TurnBudget({ turnWorkMsMax: 5, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
  const heavy = await openConnection(turn, clock, 1, 41);
  const single = await openConnection(turn, clock, 1, 42);
  await nextTurn();
  const acted: string[] = [];
  const verdict = (c: MemoryConnection, name: string): void =>
    c.conn.afterVerdict(() => {
      c.conn.endWork(false);
      acted.push(name);
      clock.ms += 1;
    });
  for (let i = 0; i < 8; i++) heavy.conn.beginWork(false);
  single.conn.beginWork(false);
  assert.ok(turn.allows());
  clock.ms += 5; // this turn's budget is spent
  for (let i = 0; i < 3; i++) verdict(heavy, `h${i}`);
  assert.equal(acted, [], 'a peer with more in progress: its verdicts wait for a turn');
  assert.ok(turn.isWaiting(heavy.conn));
  verdict(single, 's');
  assert.equal(acted, ['s'], 'the only message a peer has in progress: acted on at once, spent turn or not');
  for (let i = 0; i < 3 && acted.length < 4; i++) await nextTurn();
  assert.equal(acted, ['s', 'h0', 'h1', 'h2'], 'on a later turn, in the order the verdicts came');
  // Counted until done: at peerInflightMax in progress reading stops, and verdicts waiting keep it stopped.
  const { peerInflightMax } = resolveLimits({});
  for (let i = 0; i < peerInflightMax - 5; i++) heavy.conn.beginWork(false);
  assert.ok(heavy.socket.isPaused(), `${peerInflightMax} in progress: not read`);
  clock.ms += 5;
  for (let i = 0; i < peerInflightMax / 2 + 1; i++) verdict(heavy, 'h');
  assert.ok(heavy.socket.isPaused(), 'verdicts back but not acted on: still in progress, still not read');
  for (let i = 0; i < 200 && heavy.socket.isPaused(); i++) await nextTurn();
  assert.not.ok(heavy.socket.isPaused(), 'read again once half are done');
  heavy.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
  single.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('a bad frame after good ones: the good ones are handled first, then the connection closes with the frame error', async () => {
  const clock = { ms: 4_000_000 };
  const turn = new TurnBudget({ turnWorkMsMax: 2, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
  const h = await openConnection(turn, clock, 1, 26);
  await nextTurn();
  const oversized = Buffer.from([0x7f, 0xff, 0xff, 0xff, 0]);
  h.socket.push(Buffer.concat([h.frames(0, 7), oversized, h.frames(7, 3)]));
  assert.equal(h.handled, [0, 1]);
  assert.equal(h.closes, [], 'still open while good frames wait');
  for (let i = 0; i < 10 && h.closes.length === 0; i++) await nextTurn();
  assert.equal(h.handled, range(0, 7), 'every frame before the bad one, none after it');
  assert.equal(h.closes, ['ERR_FRAME_TOO_LARGE']);
});

test('sealed bytes right behind the last handshake message wait, undecoded, for the verdict on it: earlyBytesMax of them are all handled after it, one byte more is a protocol error', async () => {
  for (const extra of [0, 1]) {
    const clock = { ms: 6_000_000 };
    const turn = new TurnBudget({ turnWorkMsMax: 1000, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
    const h = await startMemoryConnection({ networkId, selfSeed: 11, peerSeed: 28, verifier, limits: resolveLimits({}), clock, turn });
    // More frames than fit, cut at earlyBytesMax (+ extra) bytes: the last one arrives whole only later.
    let count = 0;
    while (sealedGetchainBytes(0, count) <= earlyBytesMax) count++;
    const early = h.frames(0, count);
    h.socket.push(Buffer.concat([h.peerHandshake, early.subarray(0, earlyBytesMax + extra)]));
    for (let i = 0; i < 20 && h.handled.length < count - 1 && h.closes.length === 0; i++) await nextTurn();
    if (extra === 0) {
      assert.is(h.conn.state, 'open');
      assert.equal(h.handled, range(0, count - 1), 'every whole early frame, in order');
      h.socket.push(early.subarray(earlyBytesMax));
      for (let i = 0; i < 5 && h.handled.length < count; i++) await nextTurn();
      assert.equal(h.handled, range(0, count), 'and the one cut at the limit once its rest came');
      h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
    } else {
      assert.equal(h.closes, ['ERR_BAD_HANDSHAKE']);
      assert.equal(h.handled, [], 'nothing handled from a peer over the limit');
      assert.equal(h.conn.decodeWork, { valuesWalked: 0, bodiesUnpacked: 0 }, 'nothing decoded either');
      assert.equal(h.offences.map((o) => o.code), ['ERR_BAD_HANDSHAKE']);
    }
  }
});

test('closing a connection with frames waiting drops them, and reading resumes so the socket can finish closing', async () => {
  const clock = { ms: 5_000_000 };
  const turn = new TurnBudget({ turnWorkMsMax: 3, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
  const h = await openConnection(turn, clock, 1, 27);
  await nextTurn();
  h.socket.push(h.frames(0, 30));
  assert.ok(h.socket.isPaused());
  h.conn.close('ERR_CONNECTION_CLOSED', 'test');
  assert.not.ok(h.socket.isPaused(), 'a paused socket would never read the FIN');
  for (let i = 0; i < 5; i++) await nextTurn();
  assert.equal(h.handled, range(0, 3), 'nothing handled after the close');
});

test.after(() => verifier.close());
test.run();
