/** The overload gate at its edges: room below the cap, a queue in order, resumed at half the cap. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverloadGate } from '../src/net/overload-gate.ts';

test('admits below inflightMax; at it, work queues and resumes in order once half the cap is free', () => {
  let inflight = 0;
  const gate = new OverloadGate(() => inflight, 8);
  const resumed: string[] = [];
  const work = (name: string) => ({ resumeWork: () => void resumed.push(name) });
  const [a, b] = [work('a'), work('b')];
  inflight = 7;
  assert.ok(gate.admit(a), 'one below the cap: room');
  inflight = 8;
  assert.not.ok(gate.admit(a), 'at the cap: waits');
  assert.not.ok(gate.admit(b));
  assert.not.ok(gate.admit(a), 'queued once');
  assert.is(gate.waitingCount, 2);
  inflight = 7;
  assert.not.ok(gate.admit(work('c')), 'room again, but others wait first');
  gate.release();
  assert.equal(resumed, [], 'not before half the cap is free');
  inflight = 4;
  gate.release();
  assert.equal(resumed, ['a', 'b', 'c'], 'in the order they came');
  assert.is(gate.waitingCount, 0);
  assert.ok(gate.admit(a));
  assert.is(gate.waits, 3);
});

test.run();
