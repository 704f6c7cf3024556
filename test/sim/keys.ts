/**
 * Test keys: deterministic Ed25519 key pairs from an index (the seed is the index, repeated), signing and
 * verifying with node:crypto directly, so the protocol tests depend on nothing but the core and Node.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** A test key pair: raw 32-byte public key plus node:crypto key objects. */
export interface TestKey {
  publicKey: Uint8Array;
  privateObj: KeyObject;
  publicObj: KeyObject;
  sign(bytes: Uint8Array): Uint8Array;
}

// DER prefixes of an Ed25519 PKCS#8 private key (RFC 8410) and SPKI public key, before the 32 raw bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const cache = new Map<number, TestKey>();

/** The key pair of test identity `i` (the same on every run; `salt` gives another family of keys). */
export function testKey(i: number, salt = 0): TestKey {
  const id = salt * 1_000_000 + i;
  const hit = cache.get(id);
  if (hit) return hit;
  const seed = Buffer.alloc(32);
  seed.writeUInt32BE(i, 0);
  seed.writeUInt32BE(salt, 4);
  seed.write('strongcast-test', 8);
  const privateObj = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicObj = createPublicKey(privateObj);
  const spki = publicObj.export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  const key: TestKey = { publicKey, privateObj, publicObj, sign: (b) => new Uint8Array(sign(null, b, privateObj)) };
  cache.set(id, key);
  return key;
}

/** The first n test keys. */
export function testKeys(n: number, salt = 0): TestKey[] {
  return Array.from({ length: n }, (_, i) => testKey(i, salt));
}

const publicObjects = new Map<string, KeyObject>();

/** Ed25519 verification of `signature` by the raw `publicKey` over `message`. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const hex = Buffer.from(publicKey).toString('hex');
  let obj = publicObjects.get(hex);
  if (!obj) {
    obj = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    publicObjects.set(hex, obj);
  }
  return signature.byteLength === 64 && verify(null, message, obj, signature);
}
