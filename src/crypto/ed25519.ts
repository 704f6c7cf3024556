/**
 * Ed25519 signing and verification under one network validation rule, with three interchangeable verifying
 * backends: libsodium through the sodium-native addon (the fastest: about twice OpenSSL's verifications per
 * second), Node's built-in crypto (OpenSSL) and @noble/ed25519 (pure JavaScript, an independent second
 * opinion). Consensus is only safe when every node accepts exactly the same signatures, so the rule below is
 * checked in this module before any backend runs, and the equation is the same in all three. Nodes on
 * different backends therefore interoperate; test/ed25519.test.ts holds all three to the same answers.
 *
 * ## Network validation rule (strongcast-ed25519-v1)
 *
 * A signature `sig` by public key `A` over message `M` is valid if and only if all of the following hold
 * (RFC 8032 section 5.1.7 with every encoding required canonical, and the libsodium small-order policy):
 *
 * 1. `A` is exactly 32 bytes and `sig` exactly 64 bytes; write `sig = R (32 bytes) || S (32 bytes)`.
 * 2. `S`, read as a little-endian integer, is below the group order
 *    L = 2^252 + 27742317777372353535851937790883648493 (no S+L malleability).
 * 3. `A` and `R` are canonical point encodings: the 255-bit y coordinate is below p = 2^255 - 19, and the
 *    sign bit is clear when x = 0 (that is, when y is 1 or p - 1). A string that does not decode to a
 *    curve point at all is invalid.
 * 4. Neither `A` nor `R` is one of the 8 points of small order (the torsion subgroup E[8]). A small-order
 *    key lets one signature verify for many messages; a small-order R is never produced by honest signing.
 * 5. The cofactorless equation holds: with k = SHA-512(R || A || M) read little-endian mod L, the point
 *    [S]B - [k]A encodes to exactly the 32 bytes of R.
 *
 * Keys and R points of mixed order (a prime-order point plus a nonzero torsion point) are not screened out
 * by rule 4; rule 5 decides them, and it is the same in every backend. This matters because the cofactored
 * check ([8][S]B = [8]R + [8][k]A) accepts some such signatures that the cofactorless one rejects:
 * OpenSSL and libsodium are cofactorless, noble's `verify` is cofactored, so the noble backend confirms rule 5
 * itself. libsodium's own checks (S < L, canonical A, A and R not of small order) are rules 2 to 4, which this
 * module has already applied; rule 3 for R it gets from comparing encodings, as OpenSSL does.
 */
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import * as ed from '@noble/ed25519';
import { bytesEqual, fromHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../wire/schema.ts';

/** Which library runs the curve arithmetic. All apply the same network validation rule. */
export type Ed25519Backend = 'sodium' | 'native' | 'noble';

/** Every backend, for option validation and tests. */
export const ED25519_BACKENDS: readonly Ed25519Backend[] = ['sodium', 'native', 'noble'];

/** The part of sodium-native this module uses. */
interface SodiumBinding {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
}

/** The addon once loaded, or why it could not be (a platform without a prebuilt binary). */
let sodium: { binding: SodiumBinding } | { error: Error } | null = null;

function loadSodium(): { binding: SodiumBinding } | { error: Error } {
  if (sodium === null) {
    try {
      sodium = { binding: createRequire(import.meta.url)('sodium-native') as SodiumBinding };
    } catch (e) {
      sodium = { error: e instanceof Error ? e : new Error(String(e)) };
    }
  }
  return sodium;
}

/** Why the sodium backend cannot run on this machine, or null when it can. */
export function sodiumUnavailableReason(): string | null {
  const s = loadSodium();
  return 'error' in s ? s.error.message : null;
}

/**
 * The backend a verifier uses when none is named: libsodium, the fastest, where its addon loads; OpenSSL
 * otherwise. Every backend accepts the same signatures, so the choice changes speed only.
 */
export function preferredBackend(): Ed25519Backend {
  return sodiumUnavailableReason() === null ? 'sodium' : 'native';
}

/** Bytes of an Ed25519 private seed. */
export const SEED_BYTES = 32;

/** Native KeyObjects kept for recurring public keys; beyond this the least recently used is dropped. */
export const keyObjectsMax = 4096;

/** Group order L, little-endian bytes, for the S < L check. */
const GROUP_ORDER_LE = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');

/**
 * Canonical encodings of the 8 points of small order (E[8]): the identity, the point of order 2, two of
 * order 4 and four of order 8. test/ed25519.test.ts derives this set from the curve and checks it.
 */
const SMALL_ORDER_ENCODINGS: readonly Uint8Array[] = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
].map(fromHex);

/** DER prefixes that wrap a raw 32-byte key into the SPKI and PKCS#8 structures OpenSSL reads (RFC 8410). */
const SPKI_PREFIX = fromHex('302a300506032b6570032100');
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420');

// noble needs a synchronous SHA-512; Node's is native and much faster than a JavaScript one.
ed.hashes.sha512 = (message) => {
  const digest = createHash('sha512').update(message).digest();
  const out = new Uint8Array(new ArrayBuffer(digest.byteLength));
  out.set(digest);
  return out;
};

/** True when little-endian `a` is below little-endian `b` (same length). */
function lessThanLE(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = a.byteLength - 1; i >= 0; i--) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** Rule 3: y < p and no sign bit on x = 0 (y = 1 or y = p - 1). */
export function isCanonicalPointEncoding(p: Uint8Array): boolean {
  if (p.byteLength !== 32) return false;
  const top = (p[31] ?? 0) & 0x7f;
  let middleAllOnes = true;
  let middleAllZero = true;
  for (let i = 1; i < 31; i++) {
    if (p[i] !== 0xff) middleAllOnes = false;
    if (p[i] !== 0) middleAllZero = false;
  }
  const low = p[0] ?? 0;
  // y >= p = 2^255 - 19 exactly when the top 247 bits of y are all ones and the low byte is >= 0xed.
  if (top === 0x7f && middleAllOnes && low >= 0xed) return false;
  const signBit = ((p[31] ?? 0) & 0x80) !== 0;
  const yIsOne = top === 0 && middleAllZero && low === 1;
  const yIsMinusOne = top === 0x7f && middleAllOnes && low === 0xec;
  return !(signBit && (yIsOne || yIsMinusOne));
}

/** Rule 4, for a canonical encoding: true when it names a point of small order. */
export function isSmallOrderEncoding(p: Uint8Array): boolean {
  return SMALL_ORDER_ENCODINGS.some((s) => bytesEqual(s, p));
}

/**
 * Rules 1 to 4: everything about the encodings that can be decided without curve arithmetic. Both backends
 * run only on inputs that pass it, so the libraries' differing tolerance of odd encodings never matters.
 */
export function passesEncodingRules(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.byteLength !== PUBLIC_KEY_BYTES || signature.byteLength !== SIGNATURE_BYTES) return false;
  const r = signature.subarray(0, 32);
  const s = signature.subarray(32, 64);
  if (!lessThanLE(s, GROUP_ORDER_LE)) return false;
  if (!isCanonicalPointEncoding(publicKey) || isSmallOrderEncoding(publicKey)) return false;
  if (!isCanonicalPointEncoding(r) || isSmallOrderEncoding(r)) return false;
  return true;
}

const keyObjects = new Map<string, KeyObject>();

/** The native KeyObject of a raw key, from a small LRU map because the same validators sign every block. */
function nativePublicKey(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  const hit = keyObjects.get(id);
  if (hit) {
    keyObjects.delete(id);
    keyObjects.set(id, hit);
    return hit;
  }
  const der = Buffer.concat([SPKI_PREFIX, publicKey]);
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (keyObjects.size >= keyObjectsMax) {
    const oldest = keyObjects.keys().next();
    if (!oldest.done) keyObjects.delete(oldest.value);
  }
  keyObjects.set(id, key);
  return key;
}

/** OpenSSL's Ed25519 verify is cofactorless (it compares the encoding of [S]B - [k]A with R), as rule 5 asks. */
function verifyNative(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return nodeVerify(null, message, nativePublicKey(publicKey), signature);
}

/**
 * The loaded addon. Verifier options are checked with {@link sodiumUnavailableReason} first, so reaching
 * here without it is a bug in the caller, never a peer's doing.
 * @throws StrongcastError ERR_INVALID_OPTION when the addon cannot load on this machine.
 */
function sodiumBinding(): SodiumBinding {
  const s = loadSodium();
  if ('error' in s) throw new StrongcastError('ERR_INVALID_OPTION', `the sodium backend is not available here: ${s.error.message}`, { cause: s.error });
  return s.binding;
}

function bigintLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.byteLength - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
}

const GROUP_ORDER = bigintLE(GROUP_ORDER_LE);

/** Rule 5 with noble's point arithmetic: [S]B - [k]A must encode to exactly R. */
function cofactorlessHolds(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const r = signature.subarray(0, 32);
  const a = ed.Point.fromBytes(publicKey, false);
  const s = bigintLE(signature.subarray(32, 64));
  const k = bigintLE(createHash('sha512').update(r).update(publicKey).update(message).digest()) % GROUP_ORDER;
  const check = ed.Point.BASE.multiply(s, false).subtract(a.multiply(k, false));
  return bytesEqual(check.toBytes(), r);
}

/**
 * noble's strict branch (`zip215: false`: canonical A and R, small-order A rejected) then rule 5, because
 * noble's own equation is cofactored and would accept mixed-order signatures OpenSSL rejects.
 */
function verifyNoble(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const ok = ed.verify(signature, message, publicKey, { zip215: false });
  return ok && cofactorlessHolds(publicKey, message, signature);
}

/**
 * Verifies an Ed25519 signature under the network validation rule (module comment). Never throws for bad
 * input: a wrong length, a bad encoding or a point off the curve is simply `false`.
 */
export function verifySignature(backend: Ed25519Backend, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!passesEncodingRules(publicKey, signature)) return false;
  // libsodium's verify is cofactorless too (it compares the encoding of [S]B - [k]A with R), and with the
  // lengths checked above it cannot throw.
  if (backend === 'sodium') return sodiumBinding().crypto_sign_verify_detached(signature, message, publicKey);
  try {
    return backend === 'native' ? verifyNative(publicKey, message, signature) : verifyNoble(publicKey, message, signature);
  } catch {
    // A key OpenSSL or noble cannot decode is a peer's bad input, not our bug.
    return false;
  }
}

/** The native private KeyObject of a 32-byte seed. */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.byteLength !== SEED_BYTES) throw new TypeError(`an Ed25519 seed is ${SEED_BYTES} bytes`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The raw 32-byte public key of a private KeyObject (the last 32 bytes of its SPKI encoding). */
export function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.byteLength));
}

/** The public key of a 32-byte seed (RFC 8032 section 5.1.5). */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return rawPublicKey(privateKeyFromSeed(seed));
}

/**
 * Signs `message` with the key of a 32-byte seed (RFC 8032 deterministic signing). Signatures are the same
 * whichever backend verifies them, so signing always uses native crypto.
 */
export function signMessage(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return signWithKey(privateKeyFromSeed(seed), message);
}

/** Signs with an already-built private KeyObject (an Identity keeps one so it is not rebuilt per signature). */
export function signWithKey(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, privateKey));
}

/** Bytes of libsodium's Ed25519 secret key: the seed, then the public key. */
const SODIUM_SECRET_KEY_BYTES = 64;

/**
 * A signer for one 32-byte seed, its key expanded once. libsodium signs where its addon loads (1.85x OpenSSL's
 * rate in `npm run bench -- sig`: a publisher signs every broadcast and a validator every chain it relays),
 * OpenSSL otherwise. RFC 8032 signing is deterministic, so both give the same 64 bytes for the same seed and
 * message (test/ed25519.test.ts holds both to RFC 8032's vectors).
 */
export function signerForSeed(seed: Uint8Array, backend: 'sodium' | 'native' = preferredBackend() === 'sodium' ? 'sodium' : 'native'): (message: Uint8Array) => Uint8Array {
  if (seed.byteLength !== SEED_BYTES) throw new TypeError(`an Ed25519 seed is ${SEED_BYTES} bytes`);
  if (backend === 'native') {
    const privateKey = privateKeyFromSeed(seed);
    return (message) => signWithKey(privateKey, message);
  }
  const sodiumLib = sodiumBinding();
  const secretKey = new Uint8Array(SODIUM_SECRET_KEY_BYTES);
  sodiumLib.crypto_sign_seed_keypair(new Uint8Array(PUBLIC_KEY_BYTES), secretKey, seed);
  return (message) => {
    const signature = new Uint8Array(SIGNATURE_BYTES);
    sodiumLib.crypto_sign_detached(signature, message, secretKey);
    return signature;
  };
}
