/** The address book (addrman-style new and tried tables) and network groups: one source cannot fill it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AddressBook, addressAttemptsMax, addressBucketSlots, addressRetryMs, newBucketsPerSourceGroup } from '../src/peers/address-book.ts';
import { netGroup } from '../src/peers/net-group.ts';
import { prng as seededRandom } from '../src/sim/prng.ts';

const addr = (i: number, host = `10.${i % 250}.${(i >> 8) % 250}.1`) => ({ id: new Uint8Array(32).fill(i & 0xff), host, port: 7000 + (i % 50_000) });
const secret = new Uint8Array(16).fill(7);

test('network groups: /16 for IPv4 (loopback too), /32 for IPv6, the name otherwise', () => {
  assert.is(netGroup('10.1.2.3'), '10.1');
  assert.is(netGroup('::ffff:10.1.2.3'), '10.1');
  assert.is(netGroup('127.0.0.1'), '127.0');
  assert.is(netGroup('127.5.0.1'), '127.5');
  assert.is(netGroup('2001:db8::1'), '2001:db8::/32');
  assert.is(netGroup('2001:0db8:1:2::1'), '2001:db8::/32');
  assert.is(netGroup('::1'), '0:0::/32');
  assert.is(netGroup('Seed.Example'), 'seed.example');
});

test('one source, however many addresses from however many groups it sends, holds at most its buckets', () => {
  const book = new AddressBook(1000, { secret, random: seededRandom(1) });
  let kept = 0;
  for (let i = 0; i < 20_000; i++) if (book.add(addr(i), '66.6.0.1', 0)) kept++;
  const cap = newBucketsPerSourceGroup * addressBucketSlots;
  assert.ok(book.size <= cap, `one source holds ${book.size} entries, at most ${cap}`);
  assert.is(kept, book.size);
  // Another source's addresses still find room: the attacker's buckets are few of many.
  let honest = 0;
  for (let i = 0; i < 20; i++) if (book.add(addr(100_000 + i, `192.168.${i}.1`), `172.${16 + i}.0.1`, 0)) honest++;
  assert.ok(honest >= 18, `honest sources kept ${honest} of 20`);
  // Sybils in many groups fill at most the book's bound.
  for (let s = 0; s < 300; s++) for (let i = 0; i < 64; i++) book.add(addr(s * 64 + i + 200_000), `45.${s % 250}.${s}.1`, 0);
  assert.ok(book.size <= 1000, `bounded: ${book.size}`);
});

test('a reached address moves to tried and survives a flood; dials alternate tried and new', () => {
  const book = new AddressBook(1000, { secret, random: seededRandom(2) });
  const good = { id: new Uint8Array(32).fill(1), host: '127.0.0.1', port: 7001 };
  book.add(good, '127.0.0.2', 0);
  book.markGood(good, 1);
  assert.is(book.triedCount, 1);
  for (let s = 0; s < 250; s++) for (let i = 0; i < 64; i++) book.add(addr(s * 64 + i), `45.${s}.0.1`, 2);
  assert.ok(book.all().some((a) => a.port === 7001), 'still known after the flood');
  const first = book.candidates(addressRetryMs)[0]!;
  assert.is(first.port, 7001, 'the first dial goes to the tried table');
  book.add({ ...good, id: new Uint8Array(32).fill(9) }, '45.0.0.1', 3);
  assert.equal(book.all().find((a) => a.port === 7001)!.id, good.id, 'hearsay does not rewrite the id a handshake proved');
});

test('a full bucket keeps its entries, unless one failed addressAttemptsMax dials', () => {
  const book = new AddressBook(1000, { secret });
  // One source, one address group: one bucket.
  for (let i = 0; i < addressBucketSlots; i++) assert.ok(book.add(addr(i, '10.0.0.1'), '10.9.0.1', 0));
  assert.is(book.size, addressBucketSlots);
  assert.not.ok(book.add(addr(99, '10.0.0.1'), '10.9.0.1', 0), 'no room, nothing pushed out');
  const victim = book.all()[0]!;
  for (let k = 0; k < addressAttemptsMax; k++) book.attempted(victim, k * addressRetryMs);
  assert.ok(book.add(addr(99, '10.0.0.1'), '10.9.0.1', 0), 'the failed entry made room');
  assert.not.ok(book.all().some((a) => a.port === victim.port));
});

test.run();
