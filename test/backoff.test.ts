import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDefaults, backoffDelayMs } from '../src/peers/backoff.ts';

const noJitter = (): number => 0;
const fullJitter = (): number => 1;

test('delays double from reconnectBaseMs, attempt 0 being the first retry', () => {
  const delays = [0, 1, 2, 3, 4].map((a) => backoffDelayMs(a, {}, noJitter));
  assert.equal(delays, [250, 500, 1000, 2000, 4000]);
});

test('delays are capped at reconnectMaxMs, even for huge attempt numbers', () => {
  assert.is(backoffDelayMs(6, {}, noJitter), 16_000);
  assert.is(backoffDelayMs(7, {}, noJitter), backoffDefaults.reconnectMaxMs);
  assert.is(backoffDelayMs(5000, {}, noJitter), backoffDefaults.reconnectMaxMs);
  assert.is(backoffDelayMs(3, { reconnectBaseMs: 100, reconnectMaxMs: 100 }, noJitter), 100);
});

test('jitter only shortens: random 0 gives the full delay, random 1 takes off reconnectJitter of it', () => {
  assert.is(backoffDelayMs(2, {}, noJitter), 1000);
  assert.is(backoffDelayMs(2, {}, fullJitter), 500);
  assert.is(backoffDelayMs(2, { reconnectJitter: 0.2 }, fullJitter), 800);
  assert.is(backoffDelayMs(2, { reconnectJitter: 0 }, fullJitter), 1000);
  assert.is(backoffDelayMs(2, { reconnectJitter: 1 }, fullJitter), 0);
  assert.is(backoffDelayMs(40, {}, fullJitter), backoffDefaults.reconnectMaxMs / 2);
});

test('with Math.random every delay is an integer within bounds', () => {
  for (let a = 0; a < 20; a++) {
    const cap = Math.min(backoffDefaults.reconnectMaxMs, backoffDefaults.reconnectBaseMs * 2 ** a);
    const d = backoffDelayMs(a, {}, Math.random);
    assert.ok(Number.isInteger(d) && d >= cap / 2 && d <= cap, `attempt ${a}: ${d}`);
  }
});

test('a negative or fractional attempt is a caller bug', () => {
  assert.throws(() => backoffDelayMs(-1, {}, Math.random), /invariant/);
  assert.throws(() => backoffDelayMs(0.5, {}, Math.random), /invariant/);
});

test.run();
