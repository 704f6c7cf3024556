/**
 * DIR/peers.json, the address book across restarts (Bitcoin Core's peers.dat), ids and the key in hex:
 *
 *   { format: 2, key, peers: [{ id, host, port, table, source, attempts, lastSuccessMs }] }
 *
 * the bucket key and every entry with its table (peers/address-book-snapshot.ts), tried table first. A file
 * of format 1, `{ format: 1, peers: [{ id, host, port }] }` (written before the tables were kept), still
 * loads: as addresses only, which the node takes as new. Every entry is checked both when read and before it
 * is written, so a bad entry is refused with the field it breaks, never dialled.
 */
import { join } from 'node:path';
import { fromHex, toHex } from '../bytes.ts';
import { addressBookKeyBytes, addressProblem, entryProblem, snapshotProblem, type AddressBookEntry, type AddressBookSnapshot } from '../peers/address-book-snapshot.ts';
import { schemaLimits, type PeerAddress } from '../wire/schema.ts';
import { writeFileDurably } from './store-fs.ts';
import { DATA_DIR_FILES, DATA_DIR_FORMAT, readJson } from './dir-files.ts';
import { errnoOf, storeError } from './store-error.ts';

/** Format of peers.json as written now: the address book's tables. Format 1 (addresses only) is still read. */
export const PEERS_FILE_FORMAT = 2;

/**
 * Largest peers.json entry, in bytes: a 64 hex id, a host and a source group of hostCharsMax characters
 * each at 6 bytes a character (JSON writes a control character as \uXXXX; any other takes at most 4 bytes
 * of UTF-8), and the port, table, attempts, lastSuccessMs with their JSON names. Hosts come from peers: a
 * bound below what we write would let them make our own file unreadable.
 */
export const peerEntryBytesMax = 64 + 2 * 6 * schemaLimits.hostCharsMax + 192;

/** Largest peers.json outside its entries, in bytes: the format, the key, the names. */
const peersFileHeadBytesMax = 256;

/** What peers.json holds: the address book (format 2) or only addresses (format 1, or no file yet). */
export interface StoredPeers {
  /** The book's key and tables; null for a format 1 file or none. */
  book: AddressBookSnapshot | null;
  /** Every address, tried ones first (the book's entries, or the format 1 list). */
  peers: PeerAddress[];
}

/** The id of a JSON entry as bytes when it is 64 lower-case hex characters; left as it is otherwise (refused later). */
function idBytes(o: Record<string, unknown>): Record<string, unknown> {
  const id = o['id'];
  return typeof id === 'string' && /^[0-9a-f]{64}$/.test(id) ? { ...o, id: fromHex(id) } : o;
}

/**
 * Checks one peer address (the id as bytes or 64 hex characters) and returns a copy; `where` names it in
 * the message.
 * @throws StrongcastError ERR_STORE naming `dir`, `where` and the bad field.
 */
export function checkPeer(x: unknown, where: string, dir: string): PeerAddress {
  if (typeof x !== 'object' || x === null) throw storeError(`${dir}: ${where}: must be an object`);
  const o = idBytes(x as Record<string, unknown>);
  const bad = addressProblem(o);
  if (bad !== null) throw storeError(`${dir}: ${where}: ${bad}`);
  return { id: new Uint8Array(o['id'] as Uint8Array), host: o['host'] as string, port: o['port'] as number };
}

/**
 * Checks one address book entry (the id as bytes or 64 hex characters) and returns a copy.
 * @throws StrongcastError ERR_STORE naming `dir`, `where` and the bad field.
 */
export function checkEntry(x: unknown, where: string, dir: string): AddressBookEntry {
  const o = typeof x === 'object' && x !== null ? idBytes(x as Record<string, unknown>) : x;
  const bad = entryProblem(o);
  if (bad !== null) throw storeError(`${dir}: ${where}: ${bad}`);
  const e = o as AddressBookEntry;
  return { ...checkPeer(e, where, dir), table: e.table, source: e.source, attempts: e.attempts, lastSuccessMs: e.lastSuccessMs };
}

/**
 * Reads the peers file at `path`, keeping its first `peersMax` entries; no book and no peers when there is
 * none.
 * @throws StrongcastError ERR_STORE when the file is too large, corrupt, of an unknown format, or holds a
 *   malformed key or entry.
 */
export async function readPeers(path: string, peersMax: number): Promise<StoredPeers> {
  const o = await readJson(path, peersFileHeadBytesMax + peersMax * peerEntryBytesMax, [DATA_DIR_FORMAT, PEERS_FILE_FORMAT]);
  if (o === null) return { book: null, peers: [] };
  const peers = o['peers'];
  if (!Array.isArray(peers)) throw storeError(`${path}: "peers" must be an array`);
  if (o['format'] === DATA_DIR_FORMAT) return { book: null, peers: peers.slice(0, peersMax).map((p, i) => checkPeer(p, `peers[${i}]`, path)) };
  const key = o['key'];
  if (typeof key !== 'string' || !new RegExp(`^[0-9a-f]{${2 * addressBookKeyBytes}}$`).test(key)) {
    throw storeError(`${path}: "key" must be ${2 * addressBookKeyBytes} lower-case hex characters`);
  }
  const entries = peers.slice(0, peersMax).map((p, i) => checkEntry(p, `peers[${i}]`, path));
  return { book: { key: fromHex(key), entries }, peers: entries.map((e) => ({ id: new Uint8Array(e.id), host: e.host, port: e.port })) };
}

/**
 * Replaces DIR/peers.json atomically (write, fsync, rename) with the book's key and the first `peersMax` of
 * its entries (a snapshot lists the tried table first), and returns what was written (checked copies).
 * Callers serialise it: it writes a fixed temporary name.
 * @throws StrongcastError ERR_STORE when the key or an entry is malformed or the file cannot be written.
 */
export async function writePeers(dir: string, book: AddressBookSnapshot, peersMax: number): Promise<StoredPeers> {
  const bad = snapshotProblem({ key: book.key, entries: [] });
  if (bad !== null) throw storeError(`${dir}: saveAddressBook: ${bad}`);
  const entries = book.entries.slice(0, peersMax).map((e, i) => checkEntry(e, `saveAddressBook: entry ${i}`, dir));
  const path = join(dir, DATA_DIR_FILES.peers);
  const json = {
    format: PEERS_FILE_FORMAT,
    key: toHex(book.key),
    peers: entries.map((e) => ({ id: toHex(e.id), host: e.host, port: e.port, table: e.table, source: e.source, attempts: e.attempts, lastSuccessMs: e.lastSuccessMs })),
  };
  try {
    await writeFileDurably(path, JSON.stringify(json) + '\n');
  } catch (e) {
    throw storeError(`${path}: cannot be written (${errnoOf(e)})`, e);
  }
  return { book: { key: new Uint8Array(book.key), entries }, peers: entries.map((e) => ({ id: new Uint8Array(e.id), host: e.host, port: e.port })) };
}
