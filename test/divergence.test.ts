/** The divergence watch (consensus/divergence.ts) at its rules and limits. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DivergenceWatch, divergenceDefaults } from '../src/consensus/divergence.ts';
import type { ChainBlock } from '../src/consensus/block.ts';
import type { OutcomeMessage } from '../src/wire/schema.ts';

const hash = (b: number) => new Uint8Array(32).fill(b);

function block(height: number, b: number): ChainBlock {
  return { miner: 0, t0: height, ts: 0, payload: new Uint8Array(), height, parent: hash(0), hash: hash(b) };
}

function outcome(signer: number, t0: number, height: number, blocks: number[]): OutcomeMessage {
  return { t: 'outcome', signer, t0, height, blocks: blocks.map((b) => ({ miner: 1, hash: hash(b) })), sig: new Uint8Array(64) };
}

/** f = 1, this validator is 0. */
const watch = () => new DivergenceWatch(1, 0);

test('f+1 others naming the blocks our chain holds: no divergence', () => {
  const w = watch();
  w.onOutcome(outcome(1, 5, 2, [7]));
  w.onOutcome(outcome(2, 5, 2, [7]));
  assert.equal(w.judge([block(1, 3), block(2, 7)], 100), []);
});

test('f+1 others naming other blocks at heights we hold: reported at once, once', () => {
  const w = watch();
  w.onOutcome(outcome(1, 5, 2, [7]));
  w.onOutcome(outcome(2, 5, 2, [7]));
  const chain = [block(1, 3), block(2, 9)];
  const d = w.judge(chain, -Infinity);
  assert.is(d.length, 1);
  assert.equal(d[0]!.signers, [1, 2]);
  assert.equal(d[0]!.ours, [{ height: 2, hash: '09'.repeat(32) }]);
  assert.equal(d[0]!.theirs, [{ height: 2, miner: 1, hash: '07'.repeat(32) }]);
  w.onOutcome(outcome(3, 5, 2, [7]));
  assert.equal(w.judge(chain, 100), [], 'a t0 is reported once');
});

test('blocks we lack are judged only once our own decisions for that t0 are due', () => {
  const w = watch();
  w.onOutcome(outcome(1, 5, 2, [7]));
  w.onOutcome(outcome(2, 5, 2, [7]));
  const chain = [block(1, 3)];
  assert.equal(w.judge(chain, 4), [], 'not yet due (or catching up): our chain may still grow');
  assert.equal(w.judge([block(1, 3), block(2, 7)], 4), [], 'it grew to match');
  const w2 = watch();
  w2.onOutcome(outcome(1, 5, 2, [7]));
  w2.onOutcome(outcome(2, 5, 2, [7]));
  assert.equal(w2.judge(chain, 4), []);
  const d = w2.judge(chain, 5);
  assert.equal(d.map((x) => x.ours), [[{ height: 2, hash: null }]]);
});

test('f votes are not a quorum; a second vote of a signer and our own outcome do not count', () => {
  const w = watch();
  w.onOutcome(outcome(1, 5, 2, [7]));
  w.onOutcome(outcome(1, 5, 2, [7]));
  w.onOutcome(outcome(0, 5, 2, [7]));
  assert.equal(w.judge([block(1, 3), block(2, 9)], 100), []);
  w.onOutcome(outcome(2, 5, 2, [8]));
  assert.equal(w.judge([block(1, 3), block(2, 9)], 100), [], 'two signers, two different outcomes');
});

test(`votes are held for at most roundsHeldMax = ${divergenceDefaults.roundsHeldMax} start rounds: the oldest goes`, () => {
  const max = divergenceDefaults.roundsHeldMax;
  const w = watch();
  for (let t0 = 1; t0 <= max; t0++) w.onOutcome(outcome(1, t0, t0, [t0 % 250]));
  w.onOutcome(outcome(2, 1, 1, [1]));
  assert.is(w.judge([block(1, 99)], 1e9).length, 1, `at the limit (${max} rounds) the first is still held`);
  const w2 = watch();
  for (let t0 = 1; t0 <= max + 1; t0++) w2.onOutcome(outcome(1, t0, t0, [t0 % 250]));
  w2.onOutcome(outcome(2, 1, 1, [1]));
  assert.is(w2.judge([block(1, 99)], 1e9).length, 0, 'one more, and the vote of t0 = 1 was dropped');
});

test.run();
