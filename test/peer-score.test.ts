import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PeerScores, peerScoreDefaults, penalties } from '../src/peers/peer-score.ts';
import { penaltyFor } from '../src/peers/offences.ts';
import { countWork } from './helpers/work.ts';

test('penalties add up; an unknown key scores 0 and is not banned', () => {
  const s = new PeerScores();
  assert.is(s.score('a', 0), 0);
  assert.not.ok(s.isBanned('a', 0));
  assert.equal(s.penalize('a', 30, 0), { score: 30, banned: false });
  assert.equal(s.penalize('a', 30, 0), { score: 60, banned: false });
  assert.is(s.score('a', 0), 60);
  assert.is(s.bannedUntil('a'), undefined);
});

test('scores decay by scoreDecayPerSec, never below zero', () => {
  const s = new PeerScores({ scoreDecayPerSec: 2 });
  s.penalize('a', 10, 0);
  assert.is(s.score('a', 1000), 8);
  assert.is(s.score('a', 2500), 5);
  assert.is(s.score('a', 60_000), 0);
  assert.equal(s.penalize('a', 1, 60_000), { score: 1, banned: false });
});

test('banScore - epsilon stays free; reaching banScore exactly bans for banMs, exclusive at the end', () => {
  const s = new PeerScores({ banScore: 100, banMs: 1000, scoreDecayPerSec: 0 });
  assert.equal(s.penalize('a', 99.9, 0), { score: 99.9, banned: false });
  assert.equal(s.penalize('b', 100, 50), { score: 0, banned: true });
  assert.is(s.bannedUntil('b'), 1050);
  assert.ok(s.isBanned('b', 1049));
  assert.not.ok(s.isBanned('b', 1050));
  // the ban was the punishment: the key comes back with a clean score
  assert.is(s.score('b', 1050), 0);
  assert.equal(s.penalize('b', 1, 1050), { score: 1, banned: false });
});

test('two bad frames in quick succession ban with the defaults; one a minute apart does not', () => {
  const s = new PeerScores();
  s.penalize('a', penalties.badFrame, 0);
  assert.ok(s.penalize('a', penalties.badFrame, 1000).banned === false, '99 points after 1 s of decay');
  assert.ok(s.penalize('a', penalties.badFrame, 1000).banned);
  assert.is(s.bannedUntil('a'), 1000 + peerScoreDefaults.banMs);
  const t = new PeerScores();
  t.penalize('b', penalties.badFrame, 0);
  assert.not.ok(t.penalize('b', penalties.badFrame, 60_000).banned);
});

test('penalties during a ban do not extend it', () => {
  const s = new PeerScores({ banMs: 1000 });
  s.penalize('a', 100, 0);
  assert.equal(s.penalize('a', 500, 500), { score: 0, banned: true });
  assert.is(s.bannedUntil('a'), 1000);
});

test('duplicates alone, at 10 a second, never reach a ban', () => {
  const s = new PeerScores();
  for (let ms = 0; ms < 600_000; ms += 100) assert.not.ok(s.penalize('a', penalties.duplicate, ms).banned);
});

test('exactly scoredPeersMax keys are kept; one more evicts the lowest score', () => {
  const s = new PeerScores({ scoredPeersMax: 4, scoreDecayPerSec: 0 });
  s.penalize('a', 40, 0);
  s.penalize('b', 10, 0);
  s.penalize('c', 30, 0);
  s.penalize('d', 20, 0);
  assert.is(s.size, 4);
  s.penalize('e', 5, 1);
  assert.is(s.size, 4);
  assert.is(s.score('b', 1), 0, 'lowest score was forgotten');
  for (const [k, v] of [['a', 40], ['c', 30], ['d', 20], ['e', 5]] as const) assert.is(s.score(k, 1), v);
});

test('equal scores: the least recently penalized key goes first', () => {
  const s = new PeerScores({ scoredPeersMax: 2, scoreDecayPerSec: 0 });
  s.penalize('old', 10, 0);
  s.penalize('new', 10, 5);
  s.penalize('x', 1, 6);
  assert.is(s.score('old', 6), 0);
  assert.is(s.score('new', 6), 10);
});

test('live bans are evicted only after every unbanned key, then the soonest-ending first', () => {
  const s = new PeerScores({ scoredPeersMax: 4, banMs: 1000, scoreDecayPerSec: 0 });
  s.penalize('ban1', 100, 0);
  s.penalize('ban2', 100, 10);
  s.penalize('ban3', 100, 20);
  s.penalize('high', 99, 30);
  s.penalize('new', 1, 40); // evicts 'high' even though 99 > 1, not a ban
  assert.ok(s.isBanned('ban1', 40) && s.isBanned('ban2', 40) && s.isBanned('ban3', 40));
  assert.is(s.score('high', 40), 0);
  s.penalize('new2', 1, 50); // only bans and 'new' are left: 'new' goes
  assert.ok(s.isBanned('ban1', 50));
  assert.is(s.score('new', 50), 0);
  const allBans = new PeerScores({ scoredPeersMax: 2, banMs: 1000 });
  allBans.penalize('b1', 100, 0);
  allBans.penalize('b2', 100, 10);
  allBans.penalize('x', 1, 20);
  assert.not.ok(allBans.isBanned('b1', 20), 'the ban ending soonest made room');
  assert.ok(allBans.isBanned('b2', 20));
});

test('an expired ban no longer protects its key from eviction', () => {
  const s = new PeerScores({ scoredPeersMax: 2, banMs: 100, scoreDecayPerSec: 0 });
  s.penalize('b', 100, 0);
  s.penalize('a', 5, 0);
  s.penalize('c', 1, 200); // 'b' served its ban and scores 0
  assert.is(s.bannedUntil('b'), undefined);
  assert.is(s.score('a', 200), 5);
});

test('many distinct keys stay within scoredPeersMax and cost little (batch eviction)', () => {
  const s = new PeerScores();
  const keys = 50_000;
  const { work } = countWork(() => {
    for (let i = 0; i < keys; i++) s.penalize(`10.0.${i >> 8}.${i & 255}`, 1 + (i % 7), i);
  });
  assert.ok(s.size <= peerScoreDefaults.scoredPeersMax);
  // Elements touched, not milliseconds (speed is the benchmarks'): an eviction pass ranks every key and sorts
  // them (2 elements a key) and frees a quarter of scoredPeersMax, so 8 a new key amortised; a pass on every
  // new key past the limit would touch about 8 * 10^8 here.
  assert.ok(work <= 8 * keys, `touched ${work} elements for ${keys} keys`);
});

test('negative or non-finite points are a caller bug', () => {
  const s = new PeerScores();
  assert.throws(() => s.penalize('a', -1, 0), /invariant/);
  assert.throws(() => s.penalize('a', Number.NaN, 0), /invariant/);
});

test('what an honest peer can send under delay or clock skew costs 1 point; what it never sends costs 50', () => {
  for (const code of ['ERR_TOO_EARLY', 'ERR_INSTANCE_OVER', 'ERR_TOO_FEW_SIGNATURES'] as const) assert.is(penaltyFor(code), 1, code);
  for (const code of ['ERR_BAD_CHAIN', 'ERR_BAD_SIGNATURE', 'ERR_BAD_MESSAGE'] as const) assert.is(penaltyFor(code), 50, code);
});

test.run();
