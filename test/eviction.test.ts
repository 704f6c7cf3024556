/** Eviction selection (Bitcoin Core's SelectNodeToEvict, scaled): who is protected, who goes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectEvictionVictim, type EvictionCandidate } from '../src/peers/eviction.ts';
import { SourceChurn, arrivalSource } from '../src/peers/source-churn.ts';

const peer = (id: string, over: Partial<EvictionCandidate> = {}): EvictionCandidate => ({
  id,
  netGroup: '10.0',
  netGroupRank: 0,
  minRttMs: 50,
  lastUsefulMs: 0,
  openedAtMs: 1000,
  sourceChurn: 0,
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

test('among groups of one size, the peer whose address keeps coming back goes, even if another group\'s newest came later', () => {
  // Sybils one to a group, each address back again and again; the honest node arrived once, and last.
  const sybils = Array.from({ length: 6 }, (_, i) => peer(`s${i}`, { netGroup: `66.${i}`, openedAtMs: 100 + i, sourceChurn: 3 + (i % 2) }));
  const newcomer = peer('newcomer', { netGroup: '9.9', openedAtMs: 500, sourceChurn: 0 });
  const victim = selectEvictionVictim([...sybils, newcomer]);
  assert.ok(victim !== null && victim.startsWith('s'), `a churning sybil goes, not the newcomer: ${victim}`);
});

test('within the group chosen, the churning member goes before a younger one that is not', () => {
  // 6 peers: 1 protected by ping, then half the other 5 (2) by age: o1, o2; left a1, a2 (group a), b1.
  const peers = [peer('o1', { netGroup: 'o', openedAtMs: 1 }), peer('o2', { netGroup: 'p', openedAtMs: 2 }), peer('x', { netGroup: 'x', openedAtMs: 3, minRttMs: 1 }), peer('a1', { netGroup: 'a', openedAtMs: 10, sourceChurn: 2 }), peer('a2', { netGroup: 'a', openedAtMs: 20 }), peer('b1', { netGroup: 'b', openedAtMs: 30 })];
  assert.is(selectEvictionVictim(peers), 'a1', 'group a is the largest; its churning member goes, not its youngest');
});

test('source churn: arrivals halve every half-life, the first arrivalsFree are free, a clock stepping back decays nothing', () => {
  const a = new SourceChurn(1000, 10, 2);
  for (let i = 0; i < 2; i++) a.note('1.2.3.4', 0);
  assert.is(a.count('1.2.3.4', 0), 2);
  assert.is(a.churn('1.2.3.4', 0), 0, 'two arrivals (a reconnect) cost nothing');
  a.note('1.2.3.4', 0);
  assert.is(a.churn('1.2.3.4', 0), 1, 'the third does');
  assert.is(a.count('1.2.3.4', 1000), 1.5);
  assert.is(a.churn('1.2.3.4', 1000), 0, 'half-life later: 1.5 rounds to 2, free');
  assert.is(a.count('1.2.3.4', -500), 3, 'stepped back: no growth');
  assert.is(a.count('other', 0), 0);
});

test('source churn: at most arrivalsSourcesMax sources, the least recently arrived forgotten first; IPv6 counts by /64', () => {
  const a = new SourceChurn(60_000, 3, 2);
  for (const g of ['a', 'b', 'c']) a.note(g, 0);
  a.note('a', 1);
  a.note('d', 2);
  assert.is(a.size, 3);
  assert.is(a.count('b', 2), 0, 'b arrived least recently and went');
  assert.ok(a.count('a', 2) > 1.9 && a.count('c', 2) > 0.9 && a.count('d', 2) === 1);
  assert.is(arrivalSource('2001:db8:1:2:aaaa::1'), arrivalSource('2001:db8:1:2:bbbb::9'), 'one /64, one source');
  assert.is.not(arrivalSource('2001:db8:1:2::1'), arrivalSource('2001:db8:1:3::1'));
  assert.is(arrivalSource('::ffff:10.1.2.3'), '10.1.2.3');
  assert.throws(() => new SourceChurn(0, 3, 2), /arrivalsHalfLifeMs/);
  assert.throws(() => new SourceChurn(1000, 0, 2), /arrivalsSourcesMax/);
  assert.throws(() => new SourceChurn(1000, 3, 0), /arrivalsFree/);
});

test.run();
