/** ChainMargins (core/chain-margins.ts): the time left in a chain's round when its check ended. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChainMargins, chainMarginsKept } from '../src/core/chain-margins.ts';

test('counts chains and the late ones (a check that ended after its round); 0 ms left is in time', () => {
  const m = new ChainMargins();
  assert.equal(m.status(), { chainsChecked: 0, chainsCheckedLate: 0, chainMarginMsRecentMin: null });
  m.record(120);
  m.record(0);
  m.record(-3);
  assert.equal(m.status(), { chainsChecked: 3, chainsCheckedLate: 1, chainMarginMsRecentMin: -3 });
});

test(`the recent minimum covers the last ${chainMarginsKept} chains exactly`, () => {
  const m = new ChainMargins();
  m.record(-50);
  for (let i = 0; i < chainMarginsKept - 1; i++) m.record(100);
  assert.is(m.status().chainMarginMsRecentMin, -50, `still among the last ${chainMarginsKept}`);
  m.record(100);
  assert.is(m.status().chainMarginMsRecentMin, 100, 'one more, and it is gone');
  assert.is(m.status().chainsCheckedLate, 1, 'the count of late ones stays');
});

test.run();
