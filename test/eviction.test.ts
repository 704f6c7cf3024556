/** Eviction selection (Bitcoin Core's SelectNodeToEvict, scaled): who is protected, who goes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectEvictionVictim, type EvictionCandidate } from '../src/peers/eviction.ts';

const peer = (id: string, over: Partial<EvictionCandidate> = {}): EvictionCandidate => ({
  id,
  netGroup: '10.0',
  netGroupRank: 0,
  minRttMs: 50,
  lastUsefulMs: 0,
  openedAtMs: 1000,
  ...over,
});

test('no inbound peers, no victim; one, and it goes', () => {
  assert.is(selectEvictionVictim([]), null);
  assert.is(selectEvictionVictim([peer('a')]), 'a');
});

test('there is always a victim, whatever the peers look like', () => {
  for (let n = 1; n <= 40; n++) {
    const peers = Array.from({ length: n }, (_, i) => peer(`p${i}`, { netGroup: `10.${i}`, netGroupRank: i, minRttMs: i, lastUsefulMs: i + 1, openedAtMs: i }));
    assert.ok(selectEvictionVictim(peers) !== null, `n = ${n}`);
  }
});

test('sybils from one group lose their youngest; the fastest, the useful and the oldest honest peers are kept', () => {
  const honest = [
    peer('fast', { netGroup: '1.1', minRttMs: 1, openedAtMs: 5000 }),
    peer('useful', { netGroup: '2.2', lastUsefulMs: 9000, openedAtMs: 5000 }),
    peer('old', { netGroup: '3.3', openedAtMs: 1 }),
  ];
  const sybils = Array.from({ length: 13 }, (_, i) => peer(`s${i}`, { netGroup: '66.6', minRttMs: 5, openedAtMs: 2000 + i }));
  const victim = selectEvictionVictim([...honest, ...sybils]);
  assert.is(victim, 's12', 'the youngest of the largest group');
});

test('among groups of one size, the group whose newest member came last loses it', () => {
  const peers = [peer('a1', { netGroup: 'a', openedAtMs: 1 }), peer('a2', { netGroup: 'a', openedAtMs: 9 }), peer('b1', { netGroup: 'b', openedAtMs: 2 }), peer('b2', { netGroup: 'b', openedAtMs: 3 })];
  // 4 peers: 1 protected by lowest ping (all equal: the first), then half of the other 3 by age.
  assert.is(selectEvictionVictim(peers), 'a2');
});

test.run();
