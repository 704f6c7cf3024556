/**
 * DIR/peers.json, the known peer addresses: `{ format, peers: [{ id, host, port }] }`, ids in hex. Every
 * address is checked both when read and before it is written, so a bad entry is refused, never dialled.
 */
import { join } from 'node:path';
import { fromHex, toHex } from '../bytes.ts';
import { PUBLIC_KEY_BYTES, schemaLimits, type PeerAddress } from '../wire/schema.ts';
import { writeFileDurably } from './store-fs.ts';
import { DATA_DIR_FILES, DATA_DIR_FORMAT, readJson } from './dir-files.ts';
import { errnoOf, storeError } from './store-error.ts';

/** Largest peers.json entry, in bytes: 64 hex id, a host of hostCharsMax UTF-8 characters, a port, JSON. */
export const peerEntryBytesMax = 64 + 4 * schemaLimits.hostCharsMax + 64;

/**
 * Checks one peer address (the id as bytes or 64 hex characters) and returns a copy; `where` names it in
 * the message.
 * @throws StrongcastError ERR_STORE naming `dir`, `where` and the bad field.
 */
export function checkPeer(x: unknown, where: string, dir: string): PeerAddress {
  const bad = (what: string): never => {
    throw storeError(`${dir}: ${where}: ${what}`);
  };
  if (typeof x !== 'object' || x === null) bad('must be an object');
  const o = x as Record<string, unknown>;
  let id = o['id'];
  if (typeof id === 'string' && /^[0-9a-f]{64}$/.test(id)) id = fromHex(id);
  if (!(id instanceof Uint8Array) || id.byteLength !== PUBLIC_KEY_BYTES) bad(`id must be a ${PUBLIC_KEY_BYTES}-byte key`);
  const host = o['host'];
  if (typeof host !== 'string' || host.length === 0 || host.length > schemaLimits.hostCharsMax) {
    bad(`host must be a string of 1..${schemaLimits.hostCharsMax} characters`);
  }
  const port = o['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) bad('port must be an integer in 1..65535');
  return { id: new Uint8Array(id as Uint8Array), host: host as string, port: port as number };
}

/**
 * Reads the peers file at `path`, keeping its first `peersMax` addresses; [] when there is none.
 * @throws StrongcastError ERR_STORE when the file is too large, corrupt, or holds a malformed address.
 */
export async function readPeers(path: string, peersMax: number): Promise<PeerAddress[]> {
  const o = await readJson(path, 256 + peersMax * peerEntryBytesMax);
  if (o === null) return [];
  const peers = o['peers'];
  if (!Array.isArray(peers)) throw storeError(`${path}: "peers" must be an array`);
  return peers.slice(0, peersMax).map((p, i) => checkPeer(p, `peers[${i}]`, path));
}

/**
 * Replaces DIR/peers.json atomically (write, fsync, rename) with the first `peersMax` of `addrs`, and
 * returns the addresses written (checked copies). Callers serialise it: it writes a fixed temporary name.
 * @throws StrongcastError ERR_STORE when an address is malformed or the file cannot be written.
 */
export async function writePeers(dir: string, addrs: readonly PeerAddress[], peersMax: number): Promise<PeerAddress[]> {
  const kept = addrs.slice(0, peersMax).map((a, i) => checkPeer(a, `savePeers: address ${i}`, dir));
  const path = join(dir, DATA_DIR_FILES.peers);
  const json = { format: DATA_DIR_FORMAT, peers: kept.map((p) => ({ id: toHex(p.id), host: p.host, port: p.port })) };
  try {
    await writeFileDurably(path, JSON.stringify(json) + '\n');
  } catch (e) {
    throw storeError(`${path}: cannot be written (${errnoOf(e)})`, e);
  }
  return kept;
}
