import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fraction, nonNegativeInt, nonNegativeNumber, optionsObject, positiveInt, positiveNumber } from '../src/options.ts';
import { isStrongcastError } from '../src/errors.ts';
import { SeenCache } from '../src/gossip/seen-cache.ts';
import { TokenBucket } from '../src/token-bucket.ts';
import { PeerScores } from '../src/peers/peer-score.ts';
import { backoffDelayMs } from '../src/peers/backoff.ts';
import { FrameDecoder } from '../src/wire/framing.ts';

function rejects(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), `expected ERR_INVALID_OPTION, got ${String(e)}`);
    assert.is((e as Error).message, message);
    return;
  }
  assert.unreachable(`accepted, expected '${message}'`);
}

const validators = [
  { fn: positiveInt, what: 'a positive integer', good: [1, 2 ** 53 - 1], bad: [0, -1, 1.5, NaN, Infinity, 2 ** 53, '1', null, undefined] },
  { fn: nonNegativeInt, what: 'a non-negative integer', good: [0, 7], bad: [-1, 0.5, NaN, Infinity, '0', null] },
  { fn: positiveNumber, what: 'a positive number', good: [0.001, 5, 1e300], bad: [0, -0.1, NaN, Infinity, '2', null] },
  { fn: nonNegativeNumber, what: 'a non-negative number', good: [0, 0.5], bad: [-0.001, NaN, -Infinity, Infinity, false] },
  { fn: fraction, what: 'a number in 0..1', good: [0, 0.5, 1], bad: [-0.001, 1.001, NaN, '0.5', null] },
] as const;

for (const { fn, what, good, bad } of validators) {
  test(`${fn.name} accepts ${good.join(', ')} and names the field otherwise`, () => {
    for (const v of good) assert.is(fn(v, 'x'), v);
    for (const v of bad) rejects(() => fn(v, 'someField'), `options.someField must be ${what}`);
  });
}

test('optionsObject accepts undefined and objects only', () => {
  optionsObject(undefined);
  optionsObject({});
  for (const v of [null, 5, 'x', []]) rejects(() => optionsObject(v), 'options must be an object');
});

/** Every option of every constructor in the network building blocks, with its message. */
const table: [string, () => unknown, string][] = [
  ['frameBytesMax', () => new FrameDecoder({ frameBytesMax: 0 }), 'options.frameBytesMax must be a positive integer'],
  ['seenEntriesMax', () => new SeenCache({ seenEntriesMax: 0 }), 'options.seenEntriesMax must be a positive integer'],
  ['seenTtlMs', () => new SeenCache({ seenTtlMs: -1 }), 'options.seenTtlMs must be a non-negative integer'],
  ['ratePerSec', () => new TokenBucket({ ratePerSec: 0, burst: 1 }, 0), 'options.ratePerSec must be a positive number'],
  ['burst', () => new TokenBucket({ ratePerSec: 1, burst: -1 }, 0), 'options.burst must be a positive number'],
  ['banScore', () => new PeerScores({ banScore: 0 }), 'options.banScore must be a positive number'],
  ['banMs', () => new PeerScores({ banMs: 1.5 }), 'options.banMs must be a positive integer'],
  ['scoreDecayPerSec', () => new PeerScores({ scoreDecayPerSec: -1 }), 'options.scoreDecayPerSec must be a non-negative number'],
  ['scoredPeersMax', () => new PeerScores({ scoredPeersMax: 0 }), 'options.scoredPeersMax must be a positive integer'],
  ['reconnectBaseMs', () => backoffDelayMs(0, { reconnectBaseMs: 0 }, Math.random), 'options.reconnectBaseMs must be a positive integer'],
  ['reconnectMaxMs', () => backoffDelayMs(0, { reconnectMaxMs: -5 }, Math.random), 'options.reconnectMaxMs must be a non-negative integer'],
  ['reconnectMaxMs < base', () => backoffDelayMs(0, { reconnectBaseMs: 100, reconnectMaxMs: 99 }, Math.random), 'options.reconnectMaxMs must be at least options.reconnectBaseMs'],
  ['reconnectJitter', () => backoffDelayMs(0, { reconnectJitter: 1.5 }, Math.random), 'options.reconnectJitter must be a number in 0..1'],
  ['not an object', () => new SeenCache(5 as never), 'options must be an object'],
];

test('every building block validates its options once, with a message naming the field', () => {
  for (const [, fn, message] of table) rejects(fn, message);
});

test.run();
