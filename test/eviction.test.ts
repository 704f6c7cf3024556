/** Eviction selection (Bitcoin Core's SelectNodeToEvict, scaled): who is protected, who goes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectEvictionVictim, type EvictionCandidate } from '../src/peers/eviction.ts';
import { GroupArrivals } from '../src/peers/group-arrivals.ts';

const peer = (id: string, over: Partial<EvictionCandidate> = {}): EvictionCandidate => ({
  id,
  netGroup: '10.0',
  netGroupRank: 0,
  minRttMs: 50,
  lastUsefulMs: 0,
  openedAtMs: 1000,
  netGroupArrivals: 1,
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

test('among groups of one size, the group whose peers arrived most often lately loses its youngest, even if another group\'s newest came later', () => {
  // Sybils one to a group, each group back again and again; the honest node arrived once, and last.
  const sybils = Array.from({ length: 6 }, (_, i) => peer(`s${i}`, { netGroup: `66.${i}`, openedAtMs: 100 + i, netGroupArrivals: 5 + i / 10 }));
  const newcomer = peer('newcomer', { netGroup: '9.9', openedAtMs: 500, netGroupArrivals: 1 });
  const victim = selectEvictionVictim([...sybils, newcomer]);
  assert.ok(victim !== null && victim.startsWith('s'), `a churning sybil goes, not the newcomer: ${victim}`);
});

test('arrivals are compared whole: a decayed 0.8 against 1.2 is a tie, broken by the newest member', () => {
  // Three peers: the oldest is protected by age (half the rest), a and b are left.
  const peers = [peer('old', { netGroup: 'o', openedAtMs: 1, netGroupArrivals: 1 }), peer('a', { netGroup: 'a', openedAtMs: 10, netGroupArrivals: 1.2 }), peer('b', { netGroup: 'b', openedAtMs: 20, netGroupArrivals: 0.8 })];
  assert.is(selectEvictionVictim(peers), 'b', 'b came last; its slightly smaller count does not save it');
});

test('group arrivals: each counts 1 and halves every half-life; a clock stepping back decays nothing', () => {
  const a = new GroupArrivals(1000, 10);
  a.note('g', 0);
  a.note('g', 0);
  assert.is(a.count('g', 0), 2);
  assert.is(a.count('g', 1000), 1);
  assert.is(a.count('g', 2000), 0.5);
  assert.is(a.count('g', -500), 2, 'stepped back: no growth');
  a.note('g', 1000);
  assert.is(a.count('g', 1000), 2, '2 halved to 1, plus this one');
  assert.is(a.count('other', 0), 0);
});

test('group arrivals: at most groupArrivalsTrackedMax groups, the least recently arrived forgotten first', () => {
  const a = new GroupArrivals(60_000, 3);
  for (const g of ['a', 'b', 'c']) a.note(g, 0);
  a.note('a', 1);
  a.note('d', 2);
  assert.is(a.size, 3);
  assert.is(a.count('b', 2), 0, 'b arrived least recently and went');
  assert.ok(a.count('a', 2) > 1.9 && a.count('c', 2) > 0.9 && a.count('d', 2) === 1);
  assert.throws(() => new GroupArrivals(0, 3), /groupArrivalsHalfLifeMs/);
  assert.throws(() => new GroupArrivals(1000, 0), /groupArrivalsTrackedMax/);
});

test.run();
