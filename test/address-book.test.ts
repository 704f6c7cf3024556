/**
 * The address book (addrman-style new and tried tables) and network groups: one source cannot fill it; its
 * snapshot restores the same tables under the same key, within the book's bounds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AddressBook, addressAttemptsMax, addressBucketSlots, addressRetryMs, newBucketsPerSourceGroup } from '../src/peers/address-book.ts';
import { snapshotProblem, type AddressBookEntry } from '../src/peers/address-book-snapshot.ts';
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

/** A book of 1000 with addresses from many sources, some reached (tried), some dialed and failed. */
function busyBook(): AddressBook {
  const book = new AddressBook(1000, { secret, random: seededRandom(3) });
  for (let s = 0; s < 60; s++) for (let i = 0; i < 20; i++) book.add(addr(s * 20 + i), `45.${s}.0.1`, 1);
  for (let i = 0; i < 300; i += 3) book.markGood(addr(i), 10 + i);
  for (let i = 1; i < 300; i += 7) book.attempted(addr(i), 20);
  return book;
}

/** Every address of a book with its table and bucket, in a stable order. */
function placement(book: AddressBook): string[] {
  return book.snapshot().entries.map((e) => `${e.host}:${e.port} ${JSON.stringify(book.where(e))}`).sort();
}

test('a snapshot restored under its key rebuilds the same buckets: tried stay tried, attempts and successes kept', () => {
  const book = busyBook();
  const snap = book.snapshot();
  assert.ok(book.triedCount > 50 && book.size - book.triedCount > 300, `tried ${book.triedCount} of ${book.size}`);
  const again = new AddressBook(1000, { secret: snap.key, random: seededRandom(3) });
  assert.equal(again.restore(snap.entries), { tried: book.triedCount, new: book.size - book.triedCount, dropped: 0 });
  assert.equal(placement(again), placement(book));
  assert.equal(again.snapshot(), snap, 'entries, order, attempts, sources and last successes round-trip');
  // (once the last tries have rested: the time of a try is not kept)
  const later = 1000 + addressRetryMs;
  assert.equal(again.candidates(later), book.candidates(later), 'the same dials, in the same order');
  // Under another key the same entries land elsewhere: the key, not the file, decides the buckets.
  const other = new AddressBook(1000, { secret: new Uint8Array(16).fill(8) });
  other.restore(snap.entries);
  assert.not.equal(placement(other), placement(book));
});

test('restore keeps the bounds: a full tried bucket sends the rest to new, a full new bucket drops them, the size stays within knownAddressesMax', () => {
  // 32 addresses: a tried table of 8 (one bucket of addressBucketSlots) and a new table of 24 (three buckets).
  const book = new AddressBook(32, { secret });
  const entry = (i: number, table: 'new' | 'tried'): AddressBookEntry => ({ ...addr(i), table, source: '45.1', attempts: 0, lastSuccessMs: 0 });
  const tried = Array.from({ length: addressBucketSlots }, (_, i) => entry(i, 'tried'));
  assert.equal(book.restore(tried), { tried: addressBucketSlots, new: 0, dropped: 0 }, 'exactly a bucket of tried entries all stay tried');
  assert.equal(book.restore([entry(100, 'tried')]), { tried: 0, new: 1, dropped: 0 }, 'one more goes to new');
  assert.is(book.where(addr(100))?.table, 'new');
  // One source group reaches newBucketsPerSourceGroup buckets at most, here all three: 24 new entries fit, no more.
  const many = Array.from({ length: 200 }, (_, i) => ({ ...entry(200 + i, 'new'), source: `45.${i % 40}` }));
  const counts = book.restore(many);
  assert.is(book.size, 32, 'the book is full and no fuller');
  assert.is(counts.new + counts.dropped, 200);
  assert.is(book.triedCount, addressBucketSlots, 'new entries never push tried ones out');
  assert.equal(book.restore([entry(0, 'new')]), { tried: 0, new: 0, dropped: 1 }, 'an address already held is not taken twice');
  // A smaller book takes what fits from a larger one's snapshot.
  const small = new AddressBook(100, { secret });
  small.restore(busyBook().snapshot().entries);
  assert.ok(small.size <= 100 && small.triedCount <= 25, `${small.size} entries, ${small.triedCount} tried`);
});

test('snapshot checks name the bad field', () => {
  const good = { key: new Uint8Array(16), entries: [{ ...addr(1), table: 'tried', source: '10.1', attempts: 0, lastSuccessMs: 5 }] };
  assert.is(snapshotProblem(good), null);
  const cases: [unknown, string][] = [
    [null, 'must be an object'],
    [{ ...good, key: new Uint8Array(15) }, 'key must be 16 bytes'],
    [{ ...good, entries: {} }, 'entries must be an array'],
    [{ ...good, entries: [7] }, 'entries[0] must be an object'],
    [{ ...good, entries: [{ ...good.entries[0], id: new Uint8Array(31) }] }, 'entries[0].id must be a 32-byte key'],
    [{ ...good, entries: [{ ...good.entries[0], host: '' }] }, 'entries[0].host must be a string of 1..255 characters'],
    [{ ...good, entries: [{ ...good.entries[0], port: 0 }] }, 'entries[0].port must be an integer in 1..65535'],
    [{ ...good, entries: [{ ...good.entries[0], table: 'old' }] }, 'entries[0].table must be "new" or "tried"'],
    [{ ...good, entries: [{ ...good.entries[0], source: 'x'.repeat(256) }] }, 'entries[0].source must be a network group of 1..255 characters'],
    [{ ...good, entries: [{ ...good.entries[0], attempts: 1.5 }] }, 'entries[0].attempts must be a non-negative integer'],
    [{ ...good, entries: [{ ...good.entries[0], lastSuccessMs: Number.NaN }] }, 'entries[0].lastSuccessMs must be a finite number >= 0'],
  ];
  for (const [x, message] of cases) assert.is(snapshotProblem(x), message);
});

test.run();
