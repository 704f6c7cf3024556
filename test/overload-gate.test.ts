/**
 * The overload gate at its edges: room below the cap, a queue in order, resumed at half the cap with a fair
 * share of the room each, and a connection with nothing being checked going straight in.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverloadGate } from '../src/net/overload-gate.ts';
import type { DeferredWork } from '../src/net/turn-budget.ts';

test('admits below inflightMax; at it, work queues and resumes in order once half the cap is free', () => {
  let inflight = 0;
  const gate = new OverloadGate(() => inflight, 8);
  const resumed: string[] = [];
  const work = (name: string) => ({ resumeWork: () => void resumed.push(name) });
  const [a, b] = [work('a'), work('b')];
  inflight = 7;
  assert.ok(gate.admit(a, 5), 'one below the cap: room');
  inflight = 8;
  assert.not.ok(gate.admit(a, 6), 'at the cap: waits');
  assert.not.ok(gate.admit(b, 2));
  assert.not.ok(gate.admit(a, 6), 'queued once');
  assert.is(gate.waitingCount, 2);
  inflight = 7;
  assert.not.ok(gate.admit(work('c'), 1), 'room again, but others wait first');
  gate.release();
  assert.equal(resumed, [], 'not before half the cap is free');
  inflight = 4;
  gate.release();
  assert.equal(resumed, ['a', 'b', 'c'], 'in the order they came');
  assert.is(gate.waitingCount, 0);
  assert.ok(gate.admit(a, 6));
  assert.is(gate.waits, 3);
});

/** A connection with `backlog` messages, each admitted one more check in progress, as a PeerConnection's inbox. */
function sender(name: string, backlog: number, gate: OverloadGate, state: { inflight: number }, log: string[]): DeferredWork & { left: () => number } {
  let left = backlog;
  let own = 0;
  const w = {
    left: () => left,
    resumeWork: () => {
      while (left > 0 && gate.admit(w, own)) {
        left--;
        own++;
        state.inflight++;
        log.push(name);
      }
    },
  };
  return w;
}

test('release: each waiting connection takes its fair share of the free room (room / waiting) and queues again at the back', () => {
  const state = { inflight: 0 };
  const gate = new OverloadGate(() => state.inflight, 12);
  const log: string[] = [];
  const [a, b, c] = [sender('a', 20, gate, state, log), sender('b', 20, gate, state, log), sender('c', 20, gate, state, log)];
  a.resumeWork();
  assert.is(log.length, 12, 'a alone fills the cap');
  b.resumeWork();
  c.resumeWork();
  assert.is(gate.waitingCount, 3, 'a, b, c wait');
  log.length = 0;
  state.inflight = 6;
  gate.release();
  assert.equal(log, ['a', 'a', 'b', 'b', 'c', 'c'], 'room 6 over 3 waiting: 2 each, in the order they came; the first resumed does not take it all');
  log.length = 0;
  state.inflight = 2;
  gate.release();
  assert.equal(log, ['a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'c'], 'room 10 over 3: 3 each; each queued again at the back, so the order holds');
  log.length = 0;
  state.inflight = 7;
  gate.release();
  assert.equal(log, [], 'not before half the cap is free');
  state.inflight = 2;
  const d = sender('d', 5, gate, state, log);
  d.resumeWork();
  assert.equal(log, ['d'], 'd had nothing in flight: straight in although others wait, then it queues');
  log.length = 0;
  state.inflight = 6;
  gate.release();
  assert.equal(log, ['a', 'b', 'c', 'd'], 'room 6 over 4 waiting: one each');
});

test('release: when the room is smaller than the queue, one each for the first ones while the rest keep their places; never past the cap', () => {
  const state = { inflight: 4 };
  const gate = new OverloadGate(() => state.inflight, 4);
  const log: string[] = [];
  const all = ['x', 'y', 'z'].map((n) => sender(n, 3, gate, state, log));
  for (const w of all) w.resumeWork();
  assert.is(gate.waitingCount, 3);
  state.inflight = 2;
  gate.release();
  assert.equal(log, ['x', 'y'], 'room 2 over 3 waiting: one each for the first two; z keeps its place');
  assert.is(state.inflight, 4, 'the cap is not passed');
  log.length = 0;
  state.inflight = 1;
  gate.release();
  assert.equal(log, ['z', 'x', 'y'], 'z first next time, then x and y, queued again behind it');
});

test('a connection with nothing being checked goes straight in while there is room, even behind waiting ones; with one in flight, or at the cap, it waits', () => {
  let inflight = 11;
  const gate = new OverloadGate(() => inflight, 12);
  const heavy = { resumeWork: () => undefined };
  inflight = 12;
  assert.not.ok(gate.admit(heavy, 500), 'the heavy sender waits at the cap');
  inflight = 11;
  const light = { resumeWork: () => undefined };
  assert.ok(gate.admit(light, 0), 'nothing of its own in flight, room for one: it goes ahead');
  inflight = 12;
  assert.not.ok(gate.admit({ resumeWork: () => undefined }, 0), 'at the cap even a light one waits (the gossip core would drop it)');
  inflight = 11;
  assert.not.ok(gate.admit(light, 1), 'one of its own in flight: it waits its turn like the rest');
});

test.run();
