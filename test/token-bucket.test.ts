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

test('refund gives tokens back, never beyond burst', () => {
  const b = new TokenBucket({ ratePerSec: 1, burst: 2 }, 0);
  assert.ok(b.take(2, 0));
  b.refund(1, 0);
  assert.is(b.tokens(0), 1);
  b.refund(5, 0);
  assert.is(b.tokens(0), 2, 'capped at burst');
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

// ---- spend: a byte stream that cannot drop what it read goes into debt and waits it out -----------------

test('spend of exactly the tokens available leaves no debt: 0 ms wait', () => {
  const b = new TokenBucket({ ratePerSec: 1000, burst: 100 }, 0);
  assert.is(b.spend(100, 0), 0, 'exactly burst');
  assert.is(b.tokens(0), 0);
  assert.is(b.spend(0, 0), 0, 'cost 0 on an empty bucket');
  assert.is(b.spend(10, 10), 0, 'exactly what 10 ms refilled');
});

test('spend of one token more than available goes into debt and returns the ms that refill it', () => {
  const b = new TokenBucket({ ratePerSec: 10, burst: 5 }, 0);
  assert.is(b.spend(6, 0), 100, 'one token owed at 10 per second');
  assert.is(b.tokens(0), -1, 'the debt is kept, not forgiven');
  const bytes = new TokenBucket({ ratePerSec: 20 * 1024, burst: 20 * 1024 }, 0);
  assert.is(bytes.spend(20 * 1024 + 1, 0), 1000 / (20 * 1024), 'one byte over a 20 KiB/s burst');
});

test('spend always pays, even above burst, and a debt is repaid after exactly the returned ms', () => {
  const b = new TokenBucket({ ratePerSec: 1000, burst: 100 }, 5000);
  const waitMs = b.spend(350, 5000);
  assert.is(waitMs, 250, '250 tokens owed at 1 per ms');
  assert.ok(b.tokens(5000 + waitMs - 1) < 0, 'still in debt 1 ms early');
  assert.is(b.tokens(5000 + waitMs), 0, 'out of debt on time');
  assert.not.ok(b.take(1, 5000 + waitMs), 'nothing to take yet');
  assert.ok(b.take(1, 5000 + waitMs + 1), 'refilling again after');
});

test('spending while in debt adds to the debt; take refuses until it is repaid', () => {
  const b = new TokenBucket({ ratePerSec: 1000, burst: 10 }, 0);
  assert.is(b.spend(20, 0), 10);
  assert.is(b.spend(5, 0), 15);
  assert.not.ok(b.take(0.5, 14));
  assert.ok(b.take(1, 16));
});

test('spend with a clock stepped backwards adds nothing to the bucket', () => {
  const b = new TokenBucket({ ratePerSec: 1000, burst: 100 }, 10_000);
  assert.is(b.spend(100, 10_000), 0);
  assert.is(b.spend(10, 9_000), 10, 'the step back refilled nothing: all 10 owed');
  assert.is(b.tokens(9_500), -10);
  assert.is(b.tokens(10_010), 0, 'repaid once the clock passes where it was');
});

test('a negative or non-finite spend is a bug in the caller and throws', () => {
  const b = new TokenBucket({ ratePerSec: 1, burst: 1 }, 0);
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => b.spend(bad, 0), /invariant/);
  assert.is(b.tokens(0), 1, 'a refused cost took nothing');
});

test.run();
