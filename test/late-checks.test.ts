/** LateChecks (core/late-checks.ts): which chain checks put a validator out of synchrony, at their edges. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LateChecks, checksWatchedMax } from '../src/core/late-checks.ts';

const id = { miner: 1, t0: 5 };
/** checkMsMax 100; a chain that arrived at 1000 in a round ending at 1150. */
const begin = (l: LateChecks, startMs = 1000, deadlineMs = 1150) => l.begin(id, 2, deadlineMs, startMs);

test('a check that ends at or after its round end and ran longer than checkMsMax is out of synchrony; at the edges it is not', () => {
  const l = new LateChecks(100);
  assert.is(l.end(begin(l), 1149), null, 'ended 1 ms before the round end, after 149 ms: in time');
  assert.equal(l.end(begin(l), 1150), { instance: id, round: 2, lateMs: 0, checkMs: 150, ended: true }, 'at the round end the core counts the next round');
  assert.is(l.end(begin(l, 1100), 1200), null, 'late by 50 ms, but the check ran exactly checkMsMax: the chain came late, not the check');
  assert.equal(l.end(begin(l, 1100), 1201)?.checkMs, 101, 'one ms longer: out of synchrony');
  assert.is(l.outOfSync, 2);
});

test('a chain timed for the very end of its round (a Byzantine sender can) is never out of synchrony when checked quickly', () => {
  const l = new LateChecks(100);
  const c = begin(l, 1149);
  assert.is(l.overdue(1160), null);
  assert.is(l.end(c, 1160), null);
  assert.is(l.outOfSync, 0);
});

test('a check still running past its round end and checkMsMax is reported while it runs, once, and not again when it ends', () => {
  const l = new LateChecks(100);
  const a = begin(l, 1000);
  const c = begin(l, 1000);
  begin(l, 1100, 1400);
  assert.is(l.overdue(1149), null, 'before the round end');
  const late = l.overdue(1150);
  assert.equal(late, { instance: id, round: 2, lateMs: 0, checkMs: 150, ended: false });
  assert.is(l.outOfSync, 2, 'both old checks are counted');
  assert.is(l.overdue(1300), null, 'each reported once; the third is still within its round');
  assert.is(l.end(c, 1400), null, 'already reported while it ran');
  assert.is(l.end(a, 1400), null);
  assert.is(l.running, 1);
  assert.is(l.overdue(1401)?.round, 2, 'the third, past its round end and 301 ms long');
  assert.is(l.running, 0);
});

test(`at most checksWatchedMax = ${checksWatchedMax} running checks are watched; one more is still judged when it ends`, () => {
  const l = new LateChecks(100);
  for (let i = 0; i < checksWatchedMax; i++) begin(l, 1000 + i / checksWatchedMax);
  assert.is(l.running, checksWatchedMax);
  const extra = begin(l, 1001);
  assert.is(l.running, checksWatchedMax, 'not watched');
  assert.ok(l.end(extra, 1200) !== null, 'judged at its end');
});

test.run();
