/**
 * The attacker's crafted frames, built once and sent many times: the largest legal frames, msgpack maps with
 * as many entries as a frame holds, nesting, junk handshake frames, and signed broadcasts made in advance.
 * Pure apart from the randomness it is handed.
 */
import { createRequire } from 'node:module';
import { fromHex } from '../../src/bytes.ts';
import type { Identity } from '../../src/crypto/keys.ts';
import { gossipId, gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { encodeFrame, FRAME_HEADER_BYTES, framingDefaults } from '../../src/wire/framing.ts';
import { handshakeFrameBytesMax, HandshakeFrameKind } from '../../src/wire/handshake-frames.ts';
import { schemaLimits, type GossipMessage, type WireChainBlock } from '../../src/wire/schema.ts';

/** The largest frame body a node accepts by default (1 MiB). */
export const bodyBytesMax = framingDefaults.frameBytesMax;

/** Characters of the map keys: 62 of them, so three-character keys give 238,328 distinct ones. */
const keyAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A frame: the 4-byte big-endian length, then `body`. */
function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
  out.writeUInt32BE(body.byteLength, 0);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/**
 * A plaintext frame of at most `bodyBytes` whose body is one msgpack map: `t: 'getpeers'`, then as many
 * distinct three-character keys with nil values as fit (five bytes each: 209,712 in 1 MiB). It is msgpack
 * of the subset a node speaks (string keys, none twice), so it passes the structural walk and is decoded
 * whole, and only then refused as a message (getpeers has no other field).
 */
export function manyKeysFrame(bodyBytes: number = bodyBytesMax): { frame: Buffer; entries: number } {
  const head = [0xa1, 0x74, 0xa8, ...Buffer.from('getpeers')];
  const entries = Math.min(keyAlphabet.length ** 3, Math.floor((bodyBytes - 5 - head.length) / 5));
  const body = Buffer.allocUnsafe(5 + head.length + entries * 5);
  body[0] = 0xdf; // map 32
  body.writeUInt32BE(entries + 1, 1);
  body.set(head, 5);
  let at = 5 + head.length;
  const n = keyAlphabet.length;
  for (let i = 0; i < entries; i++) {
    body[at++] = 0xa3; // fixstr of 3
    body[at++] = keyAlphabet.charCodeAt(Math.floor(i / (n * n)) % n);
    body[at++] = keyAlphabet.charCodeAt(Math.floor(i / n) % n);
    body[at++] = keyAlphabet.charCodeAt(i % n);
    body[at++] = 0xc0; // nil
  }
  return { frame: frame(body), entries };
}

/** A plaintext frame of `bodyBytes`: arrays of one element nested all the way down, then nil. */
export function deepNestingFrame(bodyBytes: number = bodyBytesMax): Buffer {
  const body = Buffer.alloc(bodyBytes, 0x91); // fixarray of 1
  body[bodyBytes - 1] = 0xc0;
  return frame(body);
}

/**
 * A legal frame of nearly `bodyBytes`: a catch-up reply (`chain`) of 4 blocks whose payloads fill it, each
 * under the block payload limit. A plain node reads it whole and has no use for it.
 */
export function bigChainFrame(bodyBytes: number = bodyBytesMax): Buffer {
  const payloadBytes = Math.min(schemaLimits.blockPayloadBytesMax, Math.floor((bodyBytes - 1024) / 4));
  const blocks: WireChainBlock[] = Array.from({ length: 4 }, (_, i) => ({
    miner: 0,
    t0: i,
    ts: 1_700_000_000_000 + i,
    payload: new Uint8Array(payloadBytes).fill(i + 1),
    height: i + 1,
    parent: new Uint8Array(32).fill(i),
  }));
  return encodeFrame({ t: 'chain', statement: null, blocks }, bodyBytes);
}

/** A handshake frame of the largest legal size (1 KiB body): a Noise message of random bytes. */
export function junkHandshakeFrame(randomBytes: (n: number) => Uint8Array): Buffer {
  const body = Buffer.allocUnsafe(handshakeFrameBytesMax);
  body[0] = HandshakeFrameKind.noise;
  body.set(randomBytes(handshakeFrameBytesMax - 1), 1);
  return frame(body);
}

/** A handshake frame of the largest legal size whose body is a msgpack map of as many entries as fit (t: 'hello' first). */
export function mapHandshakeFrame(): { frame: Buffer; entries: number } {
  const head = [0xa1, 0x74, 0xa5, ...Buffer.from('hello')];
  const entries = Math.floor((handshakeFrameBytesMax - 3 - head.length) / 5);
  const body = Buffer.alloc(handshakeFrameBytesMax, 0xc0);
  body[0] = 0xde; // map 16
  body.writeUInt16BE(entries + 1, 1);
  body.set(head, 3);
  let at = 3 + head.length;
  for (let i = 0; i < entries; i++) {
    body.set([0xa3, 0x6b, keyAlphabet.charCodeAt(Math.floor(i / keyAlphabet.length)), keyAlphabet.charCodeAt(i % keyAlphabet.length), 0xc0], at);
    at += 5;
  }
  return { frame: frame(body), entries };
}

/** The part of sodium-native the attacker's signer uses. */
interface SodiumSign {
  crypto_sign_seed_keypair(pk: Buffer, sk: Buffer, seed: Buffer): void;
  crypto_sign_detached(sig: Buffer, message: Buffer, sk: Buffer): void;
}

/**
 * A signer of the seed's key through libsodium, about twice as fast as node:crypto here: an attacker that
 * signs in advance uses the fastest signer it has. Its signatures are the same (Ed25519 is deterministic).
 */
export function fastSigner(seed: Uint8Array): Pick<Identity, 'publicKey' | 'sign'> {
  const sodium = createRequire(import.meta.url)('sodium-native') as SodiumSign;
  const pk = Buffer.alloc(32);
  const sk = Buffer.alloc(64);
  sodium.crypto_sign_seed_keypair(pk, sk, Buffer.from(seed));
  return {
    publicKey: new Uint8Array(pk),
    sign: (m) => {
      const sig = Buffer.alloc(64);
      sodium.crypto_sign_detached(sig, Buffer.from(m.buffer, m.byteOffset, m.byteLength), sk);
      return new Uint8Array(sig.buffer, sig.byteOffset, 64);
    },
  };
}

/** A signed broadcast from `origin` and its id (hex), as a plaintext frame. */
export function signedGossipFrame(networkId: string, origin: Pick<Identity, 'publicKey' | 'sign'>, seq: number, data: Uint8Array, topic = 'chat'): { frame: Buffer; id: string } {
  const unsigned = { origin: origin.publicKey, seq, topic, data };
  const signed = gossipSignedBytes(networkId, unsigned);
  const msg: GossipMessage = { t: 'gossip', ...unsigned, hops: 0, sig: origin.sign(signed) };
  return { frame: encodeFrame(msg), id: gossipId(signed) };
}

/** A broadcast from a made-up origin with a signature of random bytes, as a plaintext frame. */
export function forgedGossipFrame(randomBytes: (n: number) => Uint8Array, seq: number): Buffer {
  return encodeFrame({ t: 'gossip', origin: randomBytes(32), seq, topic: 'chat', data: randomBytes(64), hops: 0, sig: randomBytes(64) });
}

/** A GRAFT frame naming `ids` (hex). */
export function graftFrame(ids: readonly string[]): Buffer {
  return encodeFrame({ t: 'graft', ids: Buffer.concat(ids.map((id) => fromHex(id))) });
}
