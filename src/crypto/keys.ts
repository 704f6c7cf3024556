/**
 * Node identities and the key file. A node's id is its Ed25519 public key; the key file keeps the 32-byte
 * seed it derives from, readable by its owner only. Every way a key file can be wrong is reported as one
 * ERR_KEY_FILE line naming the file and the problem, because a user fixes it by hand.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { bytesEqual, fromHex, toHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { SEED_BYTES, privateKeyFromSeed, rawPublicKey, signerForSeed } from './ed25519.ts';

/** The `type` field of a key file. */
export const KEY_FILE_TYPE = 'strongcast-ed25519';

/** A key file is a few hundred bytes; anything larger is not one, and is refused before it is read. */
export const keyFileBytesMax = 4096;

/** Unix permissions of a written key file: the seed is a secret. */
export const KEY_FILE_MODE = 0o600;

/** A node's signing identity: its public key (the node id), its seed, and a signer. */
export interface Identity {
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** Ed25519 private seed, 32 bytes. */
  seed: Uint8Array;
  /** Signs `message` (RFC 8032 Ed25519, 64-byte signature). */
  sign(message: Uint8Array): Uint8Array;
}

/** The identity of a 32-byte seed. */
export function identityFromSeed(seed: Uint8Array): Identity {
  if (seed.byteLength !== SEED_BYTES) throw new StrongcastError('ERR_INVALID_OPTION', `seed must be ${SEED_BYTES} bytes`);
  const ownSeed = seed.slice();
  // Keys built once: expanding the key for every signature would cost more than the signature.
  const privateKey: KeyObject = privateKeyFromSeed(ownSeed);
  return {
    publicKey: rawPublicKey(privateKey),
    seed: ownSeed,
    sign: signerForSeed(ownSeed),
  };
}

/** A fresh identity from a random seed. */
export function generateIdentity(): Identity {
  return identityFromSeed(new Uint8Array(randomBytes(SEED_BYTES)));
}

function keyFileError(path: string, problem: string, cause?: unknown): StrongcastError {
  return new StrongcastError('ERR_KEY_FILE', `key file ${path}: ${problem}`, cause === undefined ? undefined : { cause });
}

async function readSmallFile(path: string): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw keyFileError(path, 'is not a regular file');
    if (info.size > keyFileBytesMax) throw keyFileError(path, `is ${info.size} bytes, a key file is at most ${keyFileBytesMax}`);
    return await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof StrongcastError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw keyFileError(path, 'does not exist', e);
    throw keyFileError(path, `cannot be read (${code ?? String(e)})`, e);
  }
}

function hexField(path: string, o: Record<string, unknown>, field: string): Uint8Array {
  const v = o[field];
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/i.test(v)) throw keyFileError(path, `"${field}" must be 64 hex characters`);
  return fromHex(v);
}

/**
 * Reads a key file `{ "type": "strongcast-ed25519", "publicKey": "<64 hex>", "seed": "<64 hex>" }`.
 * @throws StrongcastError ERR_KEY_FILE when the file is missing, unreadable, not JSON, of another type, or
 *   its public key does not belong to its seed.
 */
export async function readKeyFile(path: string): Promise<Identity> {
  const text = await readSmallFile(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw keyFileError(path, 'is not valid JSON', e);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw keyFileError(path, 'must hold a JSON object');
  const o = parsed as Record<string, unknown>;
  if (o['type'] !== KEY_FILE_TYPE) throw keyFileError(path, `"type" must be "${KEY_FILE_TYPE}"`);
  const publicKey = hexField(path, o, 'publicKey');
  const identity = identityFromSeed(hexField(path, o, 'seed'));
  if (!bytesEqual(identity.publicKey, publicKey)) throw keyFileError(path, '"publicKey" does not match "seed"');
  return identity;
}

/**
 * Writes `identity` as a key file readable by its owner only (mode 0600, also when the file existed).
 * @throws StrongcastError ERR_KEY_FILE when the file cannot be written.
 */
export async function writeKeyFile(path: string, identity: Identity): Promise<void> {
  const body = { type: KEY_FILE_TYPE, publicKey: toHex(identity.publicKey), seed: toHex(identity.seed) };
  try {
    await writeFile(path, JSON.stringify(body, null, 2) + '\n', { mode: KEY_FILE_MODE });
    // writeFile's mode applies only when it creates the file; an existing file keeps its old mode otherwise.
    await chmod(path, KEY_FILE_MODE);
  } catch (e) {
    throw keyFileError(path, `cannot be written (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
}
