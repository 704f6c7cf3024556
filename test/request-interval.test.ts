/** Per-peer spacing of answered requests (getpeers, getchain), at its edge. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RequestInterval } from '../src/peers/request-interval.ts';

test('a peer is answered once per interval: 1 ms short of it is refused, exactly at it is allowed', () => {
  const r = new RequestInterval(1000);
  assert.ok(r.allow('a', 5000), 'the first request is answered');
  assert.not.ok(r.allow('a', 5999), 'one ms before the interval is up');
  assert.ok(r.allow('a', 6000), 'exactly one interval later');
  assert.not.ok(r.allow('a', 6000), 'the same instant again');
});

test('a refused request does not push the next allowed time back', () => {
  const r = new RequestInterval(100);
  assert.ok(r.allow('a', 0));
  for (let t = 10; t < 100; t += 10) assert.not.ok(r.allow('a', t));
  assert.ok(r.allow('a', 100), 'still due one interval after the last answer, not after the last ask');
});

test('peers are spaced independently, and a forgotten peer is answered at once and not remembered', () => {
  const r = new RequestInterval(1000);
  assert.ok(r.allow('a', 0));
  assert.ok(r.allow('b', 1), 'another peer is not held back by a');
  assert.is(r.size, 2);
  r.forget('a');
  assert.is(r.size, 1);
  assert.ok(r.allow('a', 2), 'a reconnected peer starts afresh');
});

test.run();
