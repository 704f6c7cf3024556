/**
 * Listening addresses learned through peer exchange, in the spirit of Bitcoin Core's addrman
 * (src/addrman.cpp): a bounded "new" table of addresses we were told about and a "tried" table of addresses
 * we reached ourselves, each split in buckets by a keyed hash. An address told by a peer goes to a bucket
 * chosen by the sender's network group and the address's group, so one sender (or one group of senders)
 * reaches only a few buckets and cannot push out what others told us; a full bucket keeps what it holds.
 * A dial that completes the handshake moves the address to tried, where only its own group decides the
 * bucket. Dials pick a random bucket of either table, so an attacker who filled the new table still meets
 * the tried one half the time. The tables outlive a restart through snapshot() and restore()
 * (address-book-snapshot.ts). Pure: time, the hash key and randomness are passed in.
 */
import { createHash } from 'node:crypto';
import { assert } from '../errors.ts';
import type { PeerAddress } from '../wire/schema.ts';
import type { AddressBookEntry, AddressBookSnapshot } from './address-book-snapshot.ts';
import { netGroup, normalizeHost } from './net-group.ts';

export { normalizeHost } from './net-group.ts';

/** An address is not redialed sooner than this after an attempt, in ms. */
export const addressRetryMs = 10_000;
/** Addresses per bucket (Bitcoin Core: 64, for tables 100 times larger). */
export const addressBucketSlots = 8;
/** New-table buckets one sender's network group can reach (Bitcoin Core: 64 of 1,024). */
export const newBucketsPerSourceGroup = 4;
/** Tried-table buckets one address group can reach (Bitcoin Core: 8 of 256). */
export const triedBucketsPerGroup = 4;
/** A new address dialed this often since it last completed a handshake may be replaced in its bucket. */
export const addressAttemptsMax = 3;
/** Share of knownAddressesMax that holds tried addresses (Bitcoin Core: 16,384 of 81,920). */
export const triedShare = 1 / 4;

interface Entry {
  addr: PeerAddress;
  /** HOST:PORT, the entry's key. */
  key: string;
  sourceGroup: string;
  table: 'new' | 'tried';
  bucket: number;
  lastAttemptMs: number;
  attempts: number;
  lastSuccessMs: number;
}

/** Options of {@link AddressBook}. */
export interface AddressBookOptions {
  /** Key of the bucket hash, secret to peers so they cannot aim at a bucket. @default 16 zero bytes */
  secret?: Uint8Array;
  /** A number in [0, 1), for the choice of buckets to dial and addresses to share. @default 0.5 (tests) */
  random?: () => number;
}

/** The key of an address: where a dial goes. */
export function addressKey(a: { host: string; port: number }): string {
  return `${normalizeHost(a.host)}:${a.port}`;
}

/** One table's buckets, each a set of entry keys with at most `slots` members. */
class Table {
  readonly buckets: Set<string>[];

  constructor(
    capacity: number,
    readonly slots = Math.min(addressBucketSlots, Math.max(1, capacity)),
  ) {
    this.buckets = Array.from({ length: capacity > 0 ? Math.max(1, Math.floor(capacity / slots)) : 0 }, () => new Set<string>());
  }
}

/** A bounded book of known peer addresses: at most knownAddressesMax entries. */
export class AddressBook {
  readonly #entries = new Map<string, Entry>();
  readonly #new: Table;
  readonly #tried: Table;
  readonly #secret: Uint8Array;
  readonly #random: () => number;

  constructor(
    readonly knownAddressesMax: number,
    options: AddressBookOptions = {},
  ) {
    const triedMax = Math.floor(knownAddressesMax * triedShare);
    this.#new = new Table(knownAddressesMax - triedMax);
    this.#tried = new Table(triedMax);
    this.#secret = options.secret ?? new Uint8Array(16);
    this.#random = options.random ?? (() => 0.5);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Entries in the tried table. */
  get triedCount(): number {
    return this.#tried.buckets.reduce((n, b) => n + b.size, 0);
  }

  /**
   * An address `source` told us about (a peer's IP; the address itself for one we found on our own). Returns
   * whether the book holds it now: a full bucket keeps its entries unless one failed addressAttemptsMax dials.
   */
  add(addr: PeerAddress, source: string, _nowMs: number): boolean {
    const key = addressKey(addr);
    const old = this.#entries.get(key);
    if (old) {
      // A tried entry's id was proven by a handshake; a new one's is hearsay, and the latest word wins.
      if (old.table === 'new') old.addr = { ...addr, host: normalizeHost(addr.host) };
      return true;
    }
    const e: Entry = { addr: { ...addr, host: normalizeHost(addr.host) }, key, sourceGroup: netGroup(source), table: 'new', bucket: 0, lastAttemptMs: Number.NEGATIVE_INFINITY, attempts: 0, lastSuccessMs: 0 };
    return this.#placeNew(e);
  }

  /** A dial of this address is starting: it rests for addressRetryMs. */
  attempted(addr: { host: string; port: number }, nowMs: number): void {
    const e = this.#entries.get(addressKey(addr));
    if (!e) return;
    e.lastAttemptMs = nowMs;
    e.attempts++;
  }

  /** Our dial to this address completed a handshake with `addr.id` (Bitcoin Core's Good): it moves to tried. */
  markGood(addr: PeerAddress, nowMs: number): void {
    const key = addressKey(addr);
    let e = this.#entries.get(key);
    if (e) this.#unlink(e);
    e ??= { addr, key, sourceGroup: netGroup(addr.host), table: 'new', bucket: 0, lastAttemptMs: nowMs, attempts: 0, lastSuccessMs: 0 };
    e.addr = { ...addr, host: normalizeHost(addr.host) };
    e.attempts = 0;
    e.lastSuccessMs = nowMs;
    if (this.#tried.buckets.length === 0) return void this.#placeNew(e);
    const b = this.#tried.buckets[this.#triedBucket(e)]!;
    if (b.size >= this.#tried.slots) this.#demoteOldest(b);
    const placed = this.#placeTried(e);
    assert(placed, 'a tried bucket has room after its oldest left');
  }

  /**
   * Every address worth dialing now (not attempted within addressRetryMs), in dialing order: alternately
   * from tried and new while both have some, each a random address of a random bucket (Bitcoin Core's Select).
   */
  candidates(nowMs: number): PeerAddress[] {
    const pools = [this.#eligible(this.#tried, nowMs), this.#eligible(this.#new, nowMs)];
    const out: PeerAddress[] = [];
    for (let turn = 0; pools.some((p) => p.length > 0); turn++) {
      const pool = pools[turn % 2]!.length > 0 ? pools[turn % 2]! : pools[(turn + 1) % 2]!;
      out.push(this.#takeRandom(pool).addr);
    }
    return out;
  }

  /**
   * The book as data: its key and every entry, tried table first, bucket by bucket in the order each
   * bucket holds them, so restore() into a book of the same size rebuilds the same buckets.
   */
  snapshot(): AddressBookSnapshot {
    const entries: AddressBookEntry[] = [];
    for (const t of [this.#tried, this.#new]) {
      for (const b of t.buckets) {
        for (const k of b) {
          const e = this.#entries.get(k)!;
          entries.push({ ...e.addr, id: new Uint8Array(e.addr.id), table: e.table, source: e.sourceGroup, attempts: e.attempts, lastSuccessMs: e.lastSuccessMs });
        }
      }
    }
    return { key: new Uint8Array(this.#secret), entries };
  }

  /**
   * Puts back entries of a snapshot (checked by the caller) into their buckets under this book's key. A
   * tried entry whose bucket is full goes to new, and a new one whose bucket is full is dropped (a smaller
   * knownAddressesMax, or a file holding more than a book can): the tables' bounds hold whatever comes in.
   * An address already in the book is skipped. Returns how many entries each table took and how many were
   * dropped.
   */
  restore(entries: readonly AddressBookEntry[]): { tried: number; new: number; dropped: number } {
    const counts = { tried: 0, new: 0, dropped: 0 };
    for (const x of [...entries.filter((e) => e.table === 'tried'), ...entries.filter((e) => e.table === 'new')]) {
      const key = addressKey(x);
      if (this.#entries.has(key)) {
        counts.dropped++;
        continue;
      }
      // The last try is not kept: it only rests an address for addressRetryMs, and after a restart a node
      // should dial what it knows at once.
      const addr = { id: new Uint8Array(x.id), host: normalizeHost(x.host), port: x.port };
      const e: Entry = { addr, key, sourceGroup: x.source, table: 'new', bucket: 0, lastAttemptMs: Number.NEGATIVE_INFINITY, attempts: x.attempts, lastSuccessMs: x.lastSuccessMs };
      if (x.table === 'tried' && this.#placeTried(e)) counts.tried++;
      else if (this.#placeNew(e, false)) counts.new++;
      else counts.dropped++;
    }
    return counts;
  }

  /** Which table and bucket hold an address, or undefined when the book does not. */
  where(addr: { host: string; port: number }): { table: 'new' | 'tried'; bucket: number } | undefined {
    const e = this.#entries.get(addressKey(addr));
    return e && { table: e.table, bucket: e.bucket };
  }

  /** Every address, tried ones first (for saving). */
  all(): PeerAddress[] {
    const tried = [...this.#entries.values()].filter((e) => e.table === 'tried');
    const fresh = [...this.#entries.values()].filter((e) => e.table === 'new');
    return [...tried, ...fresh].map((e) => e.addr);
  }

  /** Up to `n` addresses chosen at random from both tables, to share with a peer. */
  sample(n: number, _nowMs: number): PeerAddress[] {
    const all = [...this.#entries.values()];
    const out: PeerAddress[] = [];
    while (out.length < n && all.length > 0) out.push(this.#takeRandomEntry(all).addr);
    return out;
  }

  /**
   * Puts a new-table entry in its bucket, replacing a failed one there if the bucket is full and `replace`
   * (a restore replaces nothing: it rebuilds, it does not compete).
   */
  #placeNew(e: Entry, replace = true): boolean {
    if (this.#new.buckets.length === 0) return false;
    const bucket = this.#newBucket(e);
    const b = this.#new.buckets[bucket]!;
    if (b.size >= this.#new.slots) {
      if (!replace) return false;
      const terrible = [...b].find((k) => this.#entries.get(k)!.attempts >= addressAttemptsMax);
      if (terrible === undefined) return false;
      b.delete(terrible);
      this.#entries.delete(terrible);
    }
    e.table = 'new';
    e.bucket = bucket;
    b.add(e.key);
    this.#entries.set(e.key, e);
    return true;
  }

  /** Puts an entry in its tried bucket if it has room; false when it has none (or there is no tried table). */
  #placeTried(e: Entry): boolean {
    if (this.#tried.buckets.length === 0) return false;
    const bucket = this.#triedBucket(e);
    const b = this.#tried.buckets[bucket]!;
    if (b.size >= this.#tried.slots) return false;
    e.table = 'tried';
    e.bucket = bucket;
    b.add(e.key);
    this.#entries.set(e.key, e);
    return true;
  }

  /** A full tried bucket sends its least recently reached entry back to new (Bitcoin Core: to its new bucket). */
  #demoteOldest(b: Set<string>): void {
    let oldest: Entry | undefined;
    for (const k of b) {
      const x = this.#entries.get(k)!;
      if (!oldest || x.lastSuccessMs < oldest.lastSuccessMs) oldest = x;
    }
    assert(oldest, 'a full tried bucket has an entry');
    b.delete(oldest.key);
    this.#entries.delete(oldest.key);
    this.#placeNew(oldest);
  }

  #unlink(e: Entry): void {
    (e.table === 'new' ? this.#new : this.#tried).buckets[e.bucket]!.delete(e.key);
    this.#entries.delete(e.key);
  }

  /** Bucket of a told address: the sender's group picks newBucketsPerSourceGroup buckets, the address's group one of them. */
  #newBucket(e: Entry): number {
    const within = this.#hash('n1', e.sourceGroup, netGroup(e.addr.host)) % newBucketsPerSourceGroup;
    return this.#hash('n2', e.sourceGroup, String(within)) % this.#new.buckets.length;
  }

  /** Bucket of a reached address: its group picks triedBucketsPerGroup buckets, the address one of them. */
  #triedBucket(e: Entry): number {
    const within = this.#hash('t1', e.key) % triedBucketsPerGroup;
    return this.#hash('t2', netGroup(e.addr.host), String(within)) % this.#tried.buckets.length;
  }

  /** A keyed hash to 32 bits (Bitcoin Core uses SipHash with the book's key the same way). */
  #hash(...parts: string[]): number {
    const h = createHash('sha256').update(this.#secret);
    for (const p of parts) h.update(`${p.length}:${p}`);
    return h.digest().readUInt32BE(0);
  }

  /** A table's entries that may be dialed now, by bucket (empty buckets left out). */
  #eligible(t: Table, nowMs: number): Entry[][] {
    const out: Entry[][] = [];
    for (const b of t.buckets) {
      const ok = [...b].map((k) => this.#entries.get(k)!).filter((e) => nowMs - e.lastAttemptMs >= addressRetryMs);
      if (ok.length > 0) out.push(ok);
    }
    return out;
  }

  /** Removes and returns a random entry of a random bucket. */
  #takeRandom(pool: Entry[][]): Entry {
    const i = Math.floor(this.#random() * pool.length);
    const bucket = pool[i]!;
    const e = this.#takeRandomEntry(bucket);
    if (bucket.length === 0) pool.splice(i, 1);
    return e;
  }

  /** Removes and returns a random element (swap with the last, then pop). */
  #takeRandomEntry<T>(list: T[]): T {
    const i = Math.floor(this.#random() * list.length);
    const x = list[i]!;
    list[i] = list[list.length - 1]!;
    list.pop();
    return x;
  }
}
