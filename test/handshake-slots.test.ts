/**
 * Admission of inbound connections to their handshake (src/peers/handshake-slots.ts) and the marks on IPs
 * whose handshake timed out (src/peers/handshake-strikes.ts), as pure code: every cap at its edge, who is
 * cut to make room, and the bounds of the marks table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { admitInbound, type InboundEntry, type Newcomer, type SlotLimits } from '../src/peers/handshake-slots.ts';
import { HandshakeRate } from '../src/peers/handshake-rate.ts';
import { HandshakeStrikes } from '../src/peers/handshake-strikes.ts';
import { nodeDefaults } from '../src/core/node-options.ts';
import { isStrongcastError } from '../src/errors.ts';

const limits: SlotLimits = {
  handshakesPendingMax: nodeDefaults.handshakesPendingMax,
  handshakesPendingPerIpMax: nodeDefaults.handshakesPendingPerIpMax,
  handshakesPendingPerNetGroupMax: nodeDefaults.handshakesPendingPerNetGroupMax,
  connectionsPerIpMax: nodeDefaults.connectionsPerIpMax,
  connectionsPerNetGroupMax: nodeDefaults.connectionsPerNetGroupMax,
};

interface Entry extends InboundEntry {
  name: string;
}

/** `n` inbound connections from `ip` (its group: the first two octets), pending or open, named `${tag}${i}`. */
const from = (ip: string, n: number, pending: boolean, tag = ip): Entry[] =>
  Array.from({ length: n }, (_, i) => ({ ip, group: ip.split('.').slice(0, 2).join('.'), pending, name: `${tag}#${i}` }));

const newcomer = (ip: string, extra: Partial<Newcomer> = {}): Newcomer => ({ ip, group: ip.split('.').slice(0, 2).join('.'), capped: true, struck: false, ...extra });

/** The answer in short: 'refused:<limit>', 'admitted', or 'admitted, cut <name>'. */
function verdict(n: Newcomer, inbound: Entry[], l: SlotLimits = limits): string {
  const v = admitInbound(n, inbound, l);
  if (!v.admit) return `refused:${v.limit}`;
  return v.evict ? `admitted, cut ${v.evict.name}` : 'admitted';
}

test('the defaults: 64 pending in all, 4 pending and 8 connections per IP, 16 pending and 16 connections per network group', () => {
  assert.equal(limits, { handshakesPendingMax: 64, handshakesPendingPerIpMax: 4, handshakesPendingPerNetGroupMax: 16, connectionsPerIpMax: 8, connectionsPerNetGroupMax: 16 });
});

test('handshakesPendingPerIpMax at its edge: one below admits, at it the newcomer is refused; other IPs are not affected', () => {
  assert.is(verdict(newcomer('203.0.113.5'), from('203.0.113.5', 3, true)), 'admitted');
  assert.is(verdict(newcomer('203.0.113.5'), from('203.0.113.5', 4, true)), 'refused:handshakesPendingPerIpMax');
  assert.is(verdict(newcomer('203.0.113.6'), from('203.0.113.5', 4, true)), 'admitted');
  // open connections do not count as pending handshakes
  assert.is(verdict(newcomer('203.0.113.5'), [...from('203.0.113.5', 3, false), ...from('203.0.113.5', 3, true)]), 'admitted');
});

test('an IP marked for a handshake timeout holds one handshake at a time', () => {
  assert.is(verdict(newcomer('203.0.113.5', { struck: true }), []), 'admitted');
  assert.is(verdict(newcomer('203.0.113.5', { struck: true }), from('203.0.113.5', 1, true)), 'refused:handshakesPendingPerIpMax');
  assert.is(verdict(newcomer('203.0.113.5', { struck: true }), from('203.0.113.5', 5, false)), 'admitted', 'its open connections are not held against it');
});

test('connectionsPerIpMax at its edge: pending and open connections of the IP together', () => {
  assert.is(verdict(newcomer('198.51.100.1'), [...from('198.51.100.1', 6, false), ...from('198.51.100.1', 1, true)]), 'admitted');
  assert.is(verdict(newcomer('198.51.100.1'), [...from('198.51.100.1', 7, false), ...from('198.51.100.1', 1, true)]), 'refused:connectionsPerIpMax');
  assert.is(verdict(newcomer('198.51.100.1'), from('198.51.100.1', 8, false)), 'refused:connectionsPerIpMax');
});

test('handshakesPendingPerNetGroupMax at its edge: one below admits, at it the newcomer takes the place of the group\'s oldest', () => {
  const group = Array.from({ length: 16 }, (_, i) => from(`10.9.0.${i + 1}`, 1, true)).flat();
  assert.is(verdict(newcomer('10.9.1.1'), group.slice(0, 15)), 'admitted');
  assert.is(verdict(newcomer('10.9.1.1'), group), 'admitted, cut 10.9.0.1#0');
  // another group is not affected
  assert.is(verdict(newcomer('10.8.0.1'), group), 'admitted');
});

test('connectionsPerNetGroupMax at its edge: a pending handshake of the group makes room; when all sixteen are open the newcomer is refused', () => {
  const open = Array.from({ length: 15 }, (_, i) => from(`10.9.0.${i + 1}`, 1, false)).flat();
  assert.is(verdict(newcomer('10.9.1.1'), open), 'admitted');
  assert.is(verdict(newcomer('10.9.1.1'), [...open, ...from('10.9.0.99', 1, true)]), 'admitted, cut 10.9.0.99#0');
  assert.is(verdict(newcomer('10.9.1.1'), [...open, ...from('10.9.0.99', 1, false)]), 'refused:connectionsPerNetGroupMax');
});

test('handshakesPendingMax at its edge: one below admits; a full pool cuts the oldest handshake of the group holding the most, the newcomer counted in its own', () => {
  // 63 pending from 21 groups of 3 (three IPs each, one handshake per IP)
  const pool = Array.from({ length: 63 }, (_, i) => from(`10.${i % 21}.0.${Math.floor(i / 21) + 1}`, 1, true)).flat();
  assert.is(verdict(newcomer('10.200.0.1'), pool), 'admitted');
  const full = [...pool, ...from('10.5.0.9', 1, true)];
  assert.is(verdict(newcomer('10.200.0.1'), full), 'admitted, cut 10.5.0.1#0', 'group 10.5 holds four: its oldest goes');
  // groups of three: the newcomer's own group counts four with it, so its own oldest goes
  const even = [...pool, ...from('10.200.0.1', 1, true)];
  assert.is(verdict(newcomer('10.3.0.9'), even), 'admitted, cut 10.3.0.1#0');
  // all groups equal: the group whose oldest handshake is oldest
  assert.is(verdict(newcomer('10.201.0.1'), even), 'admitted, cut 10.0.0.1#0');
});

test('a newcomer the caps do not apply to (loopback by default) meets only the pool', () => {
  const mine = from('127.0.0.1', 10, true);
  assert.is(verdict(newcomer('127.0.0.1', { capped: false }), mine), 'admitted');
  assert.is(verdict(newcomer('127.0.0.1', { capped: false }), from('127.0.0.1', 64, true)), 'admitted, cut 127.0.0.1#0');
  assert.is(verdict(newcomer('127.0.0.1'), mine), 'refused:connectionsPerIpMax', 'with the caps on, the same connections are too many');
});

test('handshake strikes: a mark lasts handshakeStrikeMs from the latest timeout, renewed by another', () => {
  const s = new HandshakeStrikes(1000, 10);
  assert.not.ok(s.has('a', 0));
  s.note('a', 100);
  assert.ok(s.has('a', 100));
  assert.ok(s.has('a', 1099), 'one ms before its end');
  assert.not.ok(s.has('a', 1100), 'ended');
  assert.is(s.size, 0, 'an ended mark is forgotten when read');
  s.note('a', 2000);
  s.note('a', 2500);
  assert.ok(s.has('a', 3499), 'renewed by the second timeout');
  // a clock stepped back by an hour does not make a mark last an hour longer
  assert.not.ok(s.has('a', 2500 - 3_600_000));
});

test('handshake strikes: the table holds at most handshakeStrikeIpsMax marks, forgetting the least recently marked first', () => {
  const s = new HandshakeStrikes(60_000, 3);
  for (const ip of ['a', 'b', 'c']) s.note(ip, 0);
  s.note('a', 1); // renewed: now the most recent
  s.note('d', 2);
  assert.is(s.size, 3);
  assert.not.ok(s.has('b', 3), 'the least recently marked is forgotten');
  assert.ok(s.has('a', 3) && s.has('c', 3) && s.has('d', 3));
  for (const [ms, max] of [[0, 1], [1, 0], [1.5, 1]] as const) {
    try {
      new HandshakeStrikes(ms, max);
      assert.unreachable('accepted');
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
    }
  }
});

test('handshake rate: a source starts its burst at once, then one per 1/handshakesPerIpPerSec; other sources are not affected', () => {
  const r = new HandshakeRate(2, 3, 10);
  for (let i = 0; i < 3; i++) assert.ok(r.take('a', 0), `start ${i + 1} of the burst`);
  assert.not.ok(r.take('a', 0), 'one more at once is refused');
  assert.ok(r.take('b', 0), 'another source has its own burst');
  assert.not.ok(r.take('a', 499), 'not before 1/2 s');
  assert.ok(r.take('a', 500), 'one more half a second later');
  assert.not.ok(r.take('a', 500));
  r.completed('a', 500);
  assert.ok(r.take('a', 500), 'a handshake that completed gave its start back');
  r.completed('a', 500);
  r.completed('a', 500);
  r.completed('a', 500);
  r.completed('a', 500);
  for (let i = 0; i < 3; i++) assert.ok(r.take('a', 500), 'never more than the burst back');
  assert.not.ok(r.take('a', 500));
  r.completed('unknown', 500);
  assert.is(r.size, 2, 'a completion makes no entry');
});

test('handshake rate: the table holds at most handshakeRateSourcesMax sources, forgetting the one that started a handshake least recently', () => {
  const r = new HandshakeRate(1, 1, 2);
  assert.ok(r.take('a', 0));
  assert.ok(r.take('b', 0));
  assert.not.ok(r.take('a', 0), 'a is out of tokens, and now the most recent');
  assert.ok(r.take('c', 0), 'a third source makes the table forget b');
  assert.is(r.size, 2);
  assert.not.ok(r.take('a', 0), 'a is still remembered');
  assert.ok(r.take('b', 0), 'b was forgotten: a new bucket');
  for (const [perSec, burst, max] of [[0, 1, 1], [1, 0, 1], [1, 1, 0], [1, 1.5, 1]] as const) {
    try {
      new HandshakeRate(perSec, burst, max);
      assert.unreachable('accepted');
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
    }
  }
});

test.run();
