import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TokenBucket } from '../src/token-bucket.ts';

test('a new bucket is full: exactly burst can be taken at once, not one more', () => {
  const b = new TokenBucket({ ratePerSec: 10, burst: 5 }, 0);
  assert.is(b.tokens(0), 5);
  for (let i = 0; i < 5; i++) assert.ok(b.take(1, 0), `take ${i}`);
  assert.not.ok(b.take(1, 0));
  assert.is(b.tokens(0), 0);
});

test('tokens refill continuously at ratePerSec', () => {
  const b = new TokenBucket({ ratePerSec: 10, burst: 5 }, 1000);
  assert.ok(b.take(5, 1000));
  assert.is(b.tokens(1050), 0.5);
  assert.not.ok(b.take(1, 1099));
  assert.ok(b.take(1, 1100), 'one token after exactly 100 ms');
  assert.not.ok(b.take(1, 1100));
});

test('refill stops at burst however long the bucket idles', () => {
  const b = new TokenBucket({ ratePerSec: 1000, burst: 3 }, 0);
  b.take(3, 0);
  assert.is(b.tokens(1e9), 3);
});

test('a cost above burst never succeeds; exactly burst does', () => {
  const b = new TokenBucket({ ratePerSec: 1, burst: 100 }, 0);
  assert.not.ok(b.take(100.5, 1e9));
  assert.is(b.tokens(1e9), 100, 'a failed take removes nothing');
  assert.ok(b.take(100, 1e9));
});

test('a failed take takes nothing, and cost 0 always succeeds', () => {
  const b = new TokenBucket({ ratePerSec: 1, burst: 10 }, 0);
  b.take(8, 0);
  assert.not.ok(b.take(3, 0));
  assert.is(b.tokens(0), 2);
  assert.ok(b.take(0, 0));
  b.take(2, 0);
  assert.ok(b.take(0, 0));
});

test('byte budgets: fractional rates and large costs', () => {
  const b = new TokenBucket({ ratePerSec: 1024 * 1024, burst: 2 * 1024 * 1024 }, 0);
  assert.ok(b.take(2 * 1024 * 1024, 0));
  assert.not.ok(b.take(1024 * 1024, 999));
  assert.ok(b.take(1024 * 1024, 1000));
});

test('time going backwards neither adds nor removes tokens', () => {
  const b = new TokenBucket({ ratePerSec: 10, burst: 10 }, 1000);
  b.take(10, 1000);
  assert.is(b.tokens(500), 0);
  assert.is(b.tokens(1100), 1);
});

test('a negative cost is a bug in the caller and throws', () => {
  const b = new TokenBucket({ ratePerSec: 1, burst: 1 }, 0);
  assert.throws(() => b.take(-1, 0), /invariant/);
});

test.run();
