/**
 * The transport cipher of one direction of a connection after the Noise handshake: a Noise CipherState
 * (Noise spec rev 34, section 5.1) over ChaCha20-Poly1305 (section 12.3), taken from libsodium. Frames are
 * sealed with an implicit counter nonce, so a frame that is altered, replayed, reordered, dropped or cut
 * short fails authentication at the receiver: the receiver's counter no longer matches the sender's.
 *
 * Each side rekeys (section 11.3, REKEY of section 4.2) after every `rekeyIntervalMessages` frames in a
 * direction; the counter runs on across rekeys, so no (key, nonce) pair repeats either way.
 */
import { createRequire } from 'node:module';
import { assert } from '../errors.ts';

/** Bytes of the Poly1305 tag on every sealed frame (Noise section 5.1 ENCRYPT). */
export const TAG_BYTES = 16;

/** Bytes of a ChaCha20-Poly1305 key. */
export const CIPHER_KEY_BYTES = 32;

/**
 * Frames sealed (or opened) in one direction between two rekeys, by default: 2^16. Part of the protocol, not
 * a node option, since both ends of a connection must rekey at the same frame. A rekey costs one ChaCha20
 * block, so the interval is short enough that a key protects a bounded amount of traffic (at most 2^16
 * frames of frameBytesMax) and long enough to cost nothing measurable.
 */
export const REKEY_INTERVAL_MESSAGES = 65_536;

/** The part of sodium-native this module uses. */
interface SodiumAead {
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
}

const sodium = createRequire(import.meta.url)('sodium-native') as SodiumAead;

/** Nonce of REKEY: the counter's reserved maximum 2^64 - 1 (Noise section 4.2). */
const rekeyNonce = Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const zeroKey = new Uint8Array(CIPHER_KEY_BYTES);

/** One direction's key and counter. Not shared: each connection has two of its own. */
export class CipherState {
  #key: Uint8Array;
  /** Frames sealed or opened so far: the next frame's nonce. */
  #counter = 0;
  /** The 12-byte ChaChaPoly nonce: 32 zero bits, then the counter in 64 bits little-endian (section 12.3). */
  readonly #nonce = Buffer.alloc(12);
  readonly #rekeyIntervalMessages: number;

  /**
   * @param key the 32-byte key from the handshake's Split (section 5.2)
   * @param rekeyIntervalMessages frames between rekeys; the default is the protocol's, tests may lower it
   */
  constructor(key: Uint8Array, rekeyIntervalMessages: number = REKEY_INTERVAL_MESSAGES) {
    assert(key.byteLength === CIPHER_KEY_BYTES, 'a transport key is 32 bytes');
    assert(Number.isSafeInteger(rekeyIntervalMessages) && rekeyIntervalMessages > 0, 'rekeyIntervalMessages is a positive integer');
    this.#key = Uint8Array.from(key);
    this.#rekeyIntervalMessages = rekeyIntervalMessages;
  }

  /** Frames sealed or opened so far in this direction. */
  get counter(): number {
    return this.#counter;
  }

  /** Seals `plaintext` into `out`, which is exactly TAG_BYTES longer (ENCRYPT with empty associated data). */
  sealInto(out: Uint8Array, plaintext: Uint8Array): void {
    this.#next();
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, null, null, this.#nonce, this.#key);
  }

  /**
   * Opens `ciphertext` into `out` (TAG_BYTES shorter); false when it does not authenticate under this
   * direction's next nonce. The counter advances either way: after a failure the connection is closed.
   */
  openInto(out: Uint8Array, ciphertext: Uint8Array): boolean {
    this.#next();
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, ciphertext, null, this.#nonce, this.#key);
      return true;
    } catch {
      return false;
    }
  }

  /** Rekeys when the interval is reached, then sets the nonce of the next frame and counts it. */
  #next(): void {
    const n = this.#counter;
    // 2^53 frames cannot be reached (that is 2^53 frames on one connection); the assert keeps the nonce exact.
    assert(n < Number.MAX_SAFE_INTEGER, 'transport counter below 2^53');
    if (n > 0 && n % this.#rekeyIntervalMessages === 0) this.#rekey();
    this.#nonce.writeUInt32LE(n >>> 0, 4);
    this.#nonce.writeUInt32LE(Math.floor(n / 0x1_0000_0000), 8);
    this.#counter = n + 1;
  }

  /** REKEY(k) = the first 32 bytes of ENCRYPT(k, 2^64 - 1, empty, 32 zero bytes) (Noise section 4.2). */
  #rekey(): void {
    const out = new Uint8Array(CIPHER_KEY_BYTES + TAG_BYTES);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, zeroKey, null, null, rekeyNonce, this.#key);
    this.#key = out.subarray(0, CIPHER_KEY_BYTES);
  }
}

/** The two directions of a connection after the handshake. */
export interface TransportCiphers {
  /** Seals what we send. */
  tx: CipherState;
  /** Opens what we receive. */
  rx: CipherState;
}
