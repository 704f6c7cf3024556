/**
 * Ed25519 under the network validation rule: RFC 8032 known answers, and edge cases where the raw libraries
 * disagree, each derived here from the curve rather than pasted, with the answer the rule requires.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as ed from '@noble/ed25519';
import { concatBytes, fromHex, toHex } from '../src/bytes.ts';
import {
  ED25519_BACKENDS,
  isCanonicalPointEncoding,
  isSmallOrderEncoding,
  preferredBackend,
  publicKeyFromSeed,
  signMessage,
  signerForSeed,
  verifySignature,
} from '../src/crypto/ed25519.ts';

interface Vector {
  name: string;
  seed: string;
  publicKey: string;
  message: string;
  signature: string;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/ed25519-rfc8032.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const B = ed.Point.BASE;

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}
function fromLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.byteLength - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
}
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
const sha512 = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(createHash('sha512').update(concatBytes(...parts)).digest());

/** The secret scalar a of a seed (RFC 8032 section 5.1.5: clamped low half of SHA-512(seed)). */
function scalarOf(seed: Uint8Array): bigint {
  const h = sha512(seed).slice(0, 32);
  h[0] = (h[0] ?? 0) & 248;
  h[31] = ((h[31] ?? 0) & 127) | 64;
  return fromLE(h);
}

/** A signature with chosen key bytes and R bytes: S = r + k a for the scalar a the key bytes are taken to hide. */
function forge(keyBytes: Uint8Array, a: bigint, rBytes: Uint8Array, r: bigint, message: Uint8Array): Uint8Array {
  const k = mod(fromLE(sha512(rBytes, keyBytes, message)), L);
  return concatBytes(rBytes, le(mod(r + k * a, L)));
}

/** [L]P: the torsion component of P, times L (L is odd, and noble refuses scalars >= L, hence the split). */
function timesL(p: ed.Point): ed.Point {
  return p.multiply(L / 2n, false).double().add(p);
}

/** The 8 points of small order, from a torsion point of order exactly 8 found by multiplying hashes by L. */
function smallOrderPoints(): ed.Point[] {
  for (let i = 0; ; i++) {
    let p: ed.Point;
    try {
      p = ed.Point.fromBytes(sha512(new Uint8Array([i])).slice(0, 32), false);
    } catch {
      continue;
    }
    const t = timesL(p);
    if (t.multiply(4n, false).is0()) continue;
    return Array.from({ length: 8 }, (_, j) => (j === 0 ? ed.Point.ZERO : t.multiply(BigInt(j), false)));
  }
}

const torsion = smallOrderPoints();
const order8 = torsion[1] as ed.Point;

const seed = fromHex(fixture.vectors[0]?.seed ?? '');
const a = scalarOf(seed);
const keyA = publicKeyFromSeed(seed);
const message = new TextEncoder().encode('strongcast edge case');
const r = mod(fromLE(sha512(new TextEncoder().encode('nonce'))), L);
const goodSig = signMessage(seed, message);

/** Raw library answers, outside our rule, to show which cases the rule is there to settle. */
function rawNative(key: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean | 'throws' {
  try {
    const k = createPublicKey({ key: Buffer.concat([fromHex('302a300506032b6570032100'), key]), format: 'der', type: 'spki' });
    return nodeVerify(null, msg, k, sig);
  } catch {
    return 'throws';
  }
}
const sodium = createRequire(import.meta.url)('sodium-native') as { crypto_sign_verify_detached(s: Uint8Array, m: Uint8Array, k: Uint8Array): boolean };
function rawSodium(key: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean | 'throws' {
  try {
    return sodium.crypto_sign_verify_detached(sig, msg, key);
  } catch {
    return 'throws';
  }
}
function rawNoble(key: Uint8Array, msg: Uint8Array, sig: Uint8Array, zip215: boolean): boolean | 'throws' {
  try {
    return ed.verify(sig, msg, key, { zip215 });
  } catch {
    return 'throws';
  }
}

test('RFC 8032 section 7.1 vectors: every backend verifies and signing reproduces key and signature', () => {
  assert.ok(fixture.vectors.length >= 5);
  for (const v of fixture.vectors) {
    const msg = fromHex(v.message);
    assert.is(toHex(publicKeyFromSeed(fromHex(v.seed))), v.publicKey, `${v.name} public key`);
    assert.is(toHex(signMessage(fromHex(v.seed), msg)), v.signature, `${v.name} signature`);
    for (const backend of ED25519_BACKENDS) {
      assert.ok(verifySignature(backend, fromHex(v.publicKey), msg, fromHex(v.signature)), `${v.name} ${backend}`);
    }
  }
});

test('both signers (libsodium and OpenSSL) reproduce the RFC 8032 signatures and agree on random seeds', () => {
  for (const v of fixture.vectors) {
    for (const backend of ['sodium', 'native'] as const) {
      assert.is(toHex(signerForSeed(fromHex(v.seed), backend)(fromHex(v.message))), v.signature, `${v.name} ${backend}`);
    }
  }
  for (let i = 0; i < 32; i++) {
    const seed = new Uint8Array(randomBytes(32));
    const message = new Uint8Array(randomBytes(i * 7));
    const bySodium = signerForSeed(seed, 'sodium')(message);
    assert.is(toHex(bySodium), toHex(signerForSeed(seed, 'native')(message)), `seed ${toHex(seed)}`);
    assert.ok(verifySignature('noble', publicKeyFromSeed(seed), message, bySodium));
  }
  assert.throws(() => signerForSeed(new Uint8Array(31), 'sodium'), /32 bytes/);
});

test('the small-order blocklist is exactly the 8 torsion points, and each is a canonical encoding', () => {
  const derived = new Set(torsion.map((t) => toHex(t.toBytes())));
  assert.is(derived.size, 8);
  for (const hex of derived) {
    assert.ok(isSmallOrderEncoding(fromHex(hex)), hex);
    assert.ok(isCanonicalPointEncoding(fromHex(hex)), hex);
  }
  assert.not.ok(isSmallOrderEncoding(keyA));
});

test('canonical encoding: y >= p and a sign bit on x = 0 are rejected, y = p - 1 is kept', () => {
  for (let y = P; y < 2n ** 255n; y++) assert.not.ok(isCanonicalPointEncoding(le(y)), `y = p + ${y - P}`);
  assert.ok(isCanonicalPointEncoding(le(P - 1n)));
  assert.not.ok(isCanonicalPointEncoding(le(P - 1n + (1n << 255n))), 'y = p - 1 with sign bit');
  assert.not.ok(isCanonicalPointEncoding(le(1n + (1n << 255n))), 'y = 1 with sign bit');
  assert.ok(isCanonicalPointEncoding(le(2n + (1n << 255n))));
});

interface EdgeCase {
  name: string;
  key: Uint8Array;
  msg: Uint8Array;
  sig: Uint8Array;
  expected: boolean;
}

function flip(b: Uint8Array, byte: number, bit = 0): Uint8Array {
  const out = b.slice();
  out[byte] = (out[byte] ?? 0) ^ (1 << bit);
  return out;
}

/** A message whose challenge k = H(R || A || M) is (or is not) a multiple of 8, for the mixed-order key cases. */
function messageWithChallenge(key: Uint8Array, rBytes: Uint8Array, multipleOf8: boolean): Uint8Array {
  for (let i = 0; ; i++) {
    const m = new TextEncoder().encode(`mixed ${i}`);
    const k = mod(fromLE(sha512(rBytes, key, m)), L);
    if ((k % 8n === 0n) === multipleOf8) return m;
  }
}

function edgeCases(): EdgeCase[] {
  const rPoint = B.multiply(r);
  const rBytes = rPoint.toBytes();
  const sPlusL = concatBytes(goodSig.subarray(0, 32), le(fromLE(goodSig.subarray(32)) + L));
  const identityNonCanonical = le(P + 1n);
  const identity = torsion[0]?.toBytes() ?? new Uint8Array(32);
  const mixedKey = B.multiply(mod(a, L)).add(order8).toBytes();
  const mixedR = rPoint.add(order8).toBytes();
  const mixedOk = messageWithChallenge(mixedKey, rBytes, true);
  const mixedBad = messageWithChallenge(mixedKey, rBytes, false);
  let offCurve: Uint8Array = new Uint8Array(32);
  for (let y = 2n; ; y++) {
    offCurve = le(y);
    try {
      ed.Point.fromBytes(offCurve, false);
    } catch {
      break;
    }
  }
  const cases: EdgeCase[] = [
    { name: 'valid signature', key: keyA, msg: message, sig: goodSig, expected: true },
    { name: 'S replaced by S + L', key: keyA, msg: message, sig: sPlusL, expected: false },
    { name: 'S = L', key: keyA, msg: message, sig: concatBytes(goodSig.subarray(0, 32), le(L)), expected: false },
    // The identity encoded with y = p + 1: [k]A vanishes, so R = [S]B "signs" every message.
    { name: 'non-canonical identity key (y = p + 1)', key: identityNonCanonical, msg: message, sig: concatBytes(rBytes, le(r)), expected: false },
    { name: 'identity key with sign bit', key: le(1n + (1n << 255n)), msg: message, sig: concatBytes(rBytes, le(r)), expected: false },
    { name: 'non-canonical R (identity as y = p + 1)', key: keyA, msg: message, sig: forge(keyA, a, identityNonCanonical, 0n, message), expected: false },
    // Canonical small-order R: the cofactorless equation holds, so only rule 4 rejects it.
    { name: 'small-order R (identity), equation holds', key: keyA, msg: message, sig: forge(keyA, a, identity, 0n, message), expected: false },
    { name: 'mixed-order R = [r]B + T8', key: keyA, msg: message, sig: forge(keyA, a, mixedR, r, message), expected: false },
    // Mixed-order key: cofactorless holds exactly when [k]T8 vanishes, i.e. k is a multiple of 8.
    { name: 'mixed-order key, k not a multiple of 8', key: mixedKey, msg: mixedBad, sig: forge(mixedKey, a, rBytes, r, mixedBad), expected: false },
    { name: 'mixed-order key, k a multiple of 8', key: mixedKey, msg: mixedOk, sig: forge(mixedKey, a, rBytes, r, mixedOk), expected: true },
    { name: 'key not on the curve', key: offCurve, msg: message, sig: goodSig, expected: false },
    { name: 'signature 63 bytes', key: keyA, msg: message, sig: goodSig.subarray(0, 63), expected: false },
    { name: 'signature 65 bytes', key: keyA, msg: message, sig: concatBytes(goodSig, new Uint8Array(1)), expected: false },
    { name: 'key 31 bytes', key: keyA.subarray(0, 31), msg: message, sig: goodSig, expected: false },
    { name: 'key 33 bytes', key: concatBytes(keyA, new Uint8Array(1)), msg: message, sig: goodSig, expected: false },
    { name: 'empty signature', key: keyA, msg: message, sig: new Uint8Array(0), expected: false },
    { name: 'flipped message bit', key: keyA, msg: flip(message, 3), sig: goodSig, expected: false },
    { name: 'flipped R bit', key: keyA, msg: message, sig: flip(goodSig, 5), expected: false },
    { name: 'flipped S bit', key: keyA, msg: message, sig: flip(goodSig, 40), expected: false },
    { name: 'flipped key bit', key: flip(keyA, 7), msg: message, sig: goodSig, expected: false },
  ];
  // Every small-order key, with R = [S]B: valid for any message wherever [k]T happens to vanish.
  torsion.forEach((t, i) => {
    cases.push({ name: `small-order key #${i}`, key: t.toBytes(), msg: message, sig: concatBytes(rBytes, le(r)), expected: false });
  });
  return cases;
}

test('edge cases: every backend gives the answer the rule requires', () => {
  for (const c of edgeCases()) {
    for (const backend of ED25519_BACKENDS) {
      assert.is(verifySignature(backend, c.key, c.msg, c.sig), c.expected, `${c.name} (${backend})`);
    }
  }
});

test('the raw libraries do disagree on the cases the rule settles', () => {
  const byName = new Map(edgeCases().map((c) => [c.name, c]));
  const mixed = byName.get('mixed-order key, k not a multiple of 8');
  const smallR = byName.get('small-order R (identity), equation holds');
  const identityKey = byName.get('non-canonical identity key (y = p + 1)');
  assert.ok(mixed && smallR && identityKey);
  // OpenSSL is cofactorless, noble's strict branch is cofactored: a mixed-order key splits them.
  assert.is(rawNative(mixed.key, mixed.msg, mixed.sig), false);
  assert.is(rawNoble(mixed.key, mixed.msg, mixed.sig, false), true);
  // Both raw libraries accept a small-order R; the rule does not.
  assert.is(rawNative(smallR.key, smallR.msg, smallR.sig), true);
  assert.is(rawNoble(smallR.key, smallR.msg, smallR.sig, false), true);
  // ZIP-215 semantics would accept a non-canonical identity key that signs everything.
  assert.is(rawNoble(identityKey.key, identityKey.msg, identityKey.sig, true), true);
  // libsodium applies rules 2 to 4 itself and is cofactorless like OpenSSL: a mixed-order key with k not a
  // multiple of 8 fails, and so does the small-order R that both other libraries let through.
  assert.is(rawSodium(mixed.key, mixed.msg, mixed.sig), false);
  assert.is(rawSodium(smallR.key, smallR.msg, smallR.sig), false);
  assert.is(rawSodium(identityKey.key, identityKey.msg, identityKey.sig), false);
});

test('random signatures and single-bit corruptions: every backend gives the same answer', () => {
  let valid = 0;
  for (let i = 0; i < 120; i++) {
    const seedI = sha512(new Uint8Array([i, 7])).slice(0, 32);
    const key = publicKeyFromSeed(seedI);
    const msg = sha512(new Uint8Array([i, 8])).slice(0, i % 64);
    const sig = signMessage(seedI, msg);
    // The untouched signature, then one bit flipped in R, S, the key or the message (bit chosen by i).
    const variants: [Uint8Array, Uint8Array, Uint8Array][] = [
      [key, msg, sig],
      [key, msg, flip(sig, i % 32, i % 8)],
      [key, msg, flip(sig, 32 + (i % 32), i % 8)],
      [flip(key, i % 32, (i + 3) % 8), msg, sig],
      [key, msg.byteLength > 0 ? flip(msg, i % msg.byteLength, i % 8) : new Uint8Array([1]), sig],
    ];
    variants.forEach(([k, m, sg], v) => {
      const answers = ED25519_BACKENDS.map((b) => verifySignature(b, k, m, sg));
      assert.ok(answers.every((x) => x === answers[0]), `case ${i}: ${ED25519_BACKENDS.join('/')} answered ${answers.join('/')}`);
      // Exactly the untouched signature is valid: any flipped bit breaks the equation or an encoding rule.
      assert.is(answers[0], v === 0, `case ${i}, variant ${v}`);
      if (answers[0]) valid++;
    });
  }
  assert.is(valid, 120);
});

test('the default backend is the fastest one this machine can load', () => {
  assert.is(preferredBackend(), 'sodium');
});

test('verifySignature never throws on garbage', () => {
  for (const backend of ED25519_BACKENDS) {
    for (let i = 0; i < 20; i++) {
      const key = sha512(new Uint8Array([i, 1])).slice(0, 32);
      assert.is(verifySignature(backend, key, message, sha512(new Uint8Array([i, 2]))), false);
    }
  }
});

test.run();
