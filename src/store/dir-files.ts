/**
 * The files of a data directory, and the helpers for its small ones: reading a JSON file (size-limited,
 * format-checked), binding the directory to one genesis in meta.json, and the stat and fsync the key file's
 * atomic replace uses.
 *
 *   DIR/node.key    the key file (crypto/keys.ts), mode 0600
 *   DIR/meta.json   { format, genesisHash }: which network's chain this directory holds
 *   DIR/peers.json  the address book (peers-file.ts): { format: 2, key, peers: [{ id, host, port, table,
 *                   source, attempts, lastSuccessMs }] }, or the older { format: 1, peers: [{ id, host, port }] }
 *   DIR/chain.log   one msgpack ChainBlock per record, height 1 first
 *   DIR/held.json   { format, heldFrom }: the crash mark, at or below every decision a crash could lose (held-mark.ts)
 *   DIR/LOCK        the process id of the node using the directory
 */
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { writeFileDurably } from './store-fs.ts';
import { errnoOf, storeError } from './store-error.ts';

/** Names of the files in a data directory. */
export const DATA_DIR_FILES = {
  key: 'node.key',
  meta: 'meta.json',
  peers: 'peers.json',
  chain: 'chain.log',
  held: 'held.json',
  lock: 'LOCK',
} as const;

/** Format version of meta.json (and of the older peers.json: peers-file.ts has its own); another is refused. */
export const DATA_DIR_FORMAT = 1;

/** Largest meta.json read, in bytes: it holds one hash. */
export const metaFileBytesMax = 4096;

/**
 * True when `path` exists, false when it does not.
 * @throws StrongcastError ERR_STORE when it cannot be looked at (other than ENOENT).
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw storeError(`${path}: cannot be read (${errnoOf(e)})`, e);
  }
}

/** Flushes the file at `path` to disk (fsync); throws the fs error as it is. */
export async function fsyncFile(path: string): Promise<void> {
  const h = await open(path, 'r+');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Reads a small JSON file, or null when it does not exist.
 * @throws StrongcastError ERR_STORE when it is above `bytesMax`, unreadable, not a JSON object, or of
 *   none of `formats` (by default DATA_DIR_FORMAT alone).
 */
export async function readJson(path: string, bytesMax: number, formats: readonly number[] = [DATA_DIR_FORMAT]): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > bytesMax) throw storeError(`${path}: ${info.size} bytes, above the ${bytesMax} such a file may have`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof StrongcastError) throw e;
    if (errnoOf(e) === 'ENOENT') return null;
    throw storeError(`${path}: cannot be read (${errnoOf(e)})`, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw storeError(`${path}: not valid JSON; the file is corrupt`, e);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw storeError(`${path}: must hold a JSON object`);
  const o = parsed as Record<string, unknown>;
  if (!formats.includes(o['format'] as number)) throw storeError(`${path}: "format" must be ${formats.join(' or ')}`);
  return o;
}

/**
 * Checks meta.json against `genesisHash`, recording it on first use.
 * @throws StrongcastError ERR_STORE when meta.json is corrupt or cannot be written, or the directory is
 *   bound to another genesis.
 */
export async function bindGenesis(dir: string, genesisHash: Uint8Array | null): Promise<void> {
  const path = join(dir, DATA_DIR_FILES.meta);
  const meta = await readJson(path, metaFileBytesMax);
  const stored = meta?.['genesisHash'];
  if (stored !== undefined && (typeof stored !== 'string' || !/^[0-9a-f]{64}$/.test(stored))) {
    throw storeError(`${path}: "genesisHash" must be 64 lower-case hex characters`);
  }
  if (genesisHash === null) return;
  if (stored === undefined) {
    try {
      await writeFileDurably(path, JSON.stringify({ ...meta, format: DATA_DIR_FORMAT, genesisHash: toHex(genesisHash) }) + '\n');
    } catch (e) {
      throw storeError(`${path}: cannot be written (${errnoOf(e)})`, e);
    }
    return;
  }
  if (stored !== toHex(genesisHash)) {
    throw storeError(`${dir} holds the chain of genesis ${stored}, not of genesis ${toHex(genesisHash)}; use another data directory for this network`);
  }
}
