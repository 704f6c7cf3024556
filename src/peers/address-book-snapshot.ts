/**
 * The address book as data, to carry its tables across a restart (Bitcoin Core's peers.dat): the bucket key
 * and, per address, its table, the network group that told us of it, its failed dials and its last success.
 * Buckets are not stored: the same key places every entry in the same bucket again, so a file cannot put an
 * address where the hash would not. Pure: the checks here return what is wrong, and the caller (the data
 * directory, the node's options) turns it into its own error.
 */
import { PUBLIC_KEY_BYTES, schemaLimits, type PeerAddress } from '../wire/schema.ts';

/** Length of the bucket key, in bytes (Bitcoin Core's nKey is 32; 16 keep a keyed SHA-256 unguessable). */
export const addressBookKeyBytes = 16;

/** One address of the book and what the book knows of it. */
export interface AddressBookEntry extends PeerAddress {
  /** 'tried': our own dial reached it; 'new': a peer told us of it. */
  table: 'new' | 'tried';
  /** Network group of the peer that told us of it (peers/net-group.ts); it picks the entry's new bucket. */
  source: string;
  /** Dials since it last completed a handshake (a new entry at addressAttemptsMax may be replaced). */
  attempts: number;
  /** When our dial last completed a handshake with it, in ms on the node's clock; 0: never. */
  lastSuccessMs: number;
}

/** The whole book: its key and its entries, tried table first, bucket by bucket. */
export interface AddressBookSnapshot {
  /** Key of the hash that places addresses in buckets: secret to peers. */
  key: Uint8Array;
  entries: AddressBookEntry[];
}

/** What is wrong with an address (`id` already as bytes), naming the field; null when nothing is. */
export function addressProblem(o: Record<string, unknown>): string | null {
  const id = o['id'];
  if (!(id instanceof Uint8Array) || id.byteLength !== PUBLIC_KEY_BYTES) return `id must be a ${PUBLIC_KEY_BYTES}-byte key`;
  const host = o['host'];
  if (typeof host !== 'string' || host.length === 0 || host.length > schemaLimits.hostCharsMax) {
    return `host must be a string of 1..${schemaLimits.hostCharsMax} characters`;
  }
  const port = o['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return 'port must be an integer in 1..65535';
  return null;
}

/** What is wrong with an entry (`id` already as bytes), naming the field; null when nothing is. */
export function entryProblem(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'must be an object';
  const o = x as Record<string, unknown>;
  const bad = addressProblem(o);
  if (bad !== null) return bad;
  if (o['table'] !== 'new' && o['table'] !== 'tried') return 'table must be "new" or "tried"';
  const source = o['source'];
  // A group is an address's prefix or a host name, so it is never longer than a host.
  if (typeof source !== 'string' || source.length === 0 || source.length > schemaLimits.hostCharsMax) {
    return `source must be a network group of 1..${schemaLimits.hostCharsMax} characters`;
  }
  const attempts = o['attempts'];
  if (typeof attempts !== 'number' || !Number.isSafeInteger(attempts) || attempts < 0) return 'attempts must be a non-negative integer';
  const last = o['lastSuccessMs'];
  if (typeof last !== 'number' || !Number.isFinite(last) || last < 0) return 'lastSuccessMs must be a finite number >= 0';
  return null;
}

/** What is wrong with a whole snapshot, naming the field (`key`, `entries[3].port`); null when nothing is. */
export function snapshotProblem(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'must be an object';
  const o = x as Record<string, unknown>;
  const key = o['key'];
  if (!(key instanceof Uint8Array) || key.byteLength !== addressBookKeyBytes) return `key must be ${addressBookKeyBytes} bytes`;
  const entries = o['entries'];
  if (!Array.isArray(entries)) return 'entries must be an array';
  for (let i = 0; i < entries.length; i++) {
    const bad = entryProblem(entries[i]);
    if (bad !== null) return `entries[${i}]${bad.startsWith('must') ? ' ' : '.'}${bad}`;
  }
  return null;
}

