/**
 * Types of the parts of noise-handshake (holepunchto, Apache-2.0) that strongcast uses: the Noise handshake
 * state (`noise.js`) and its X25519 curve (`dh.js`). The package ships no types of its own.
 */
declare module 'noise-handshake' {
  /** An X25519 key pair (32-byte public and secret keys). */
  export interface NoiseKeyPair {
    publicKey: Uint8Array;
    secretKey: Uint8Array;
  }

  /** A Noise HandshakeState for one pattern and role (Noise spec rev 34, section 5.3). */
  export default class NoiseState {
    constructor(pattern: 'XX', initiator: boolean, staticKeypair: NoiseKeyPair, opts?: Record<string, unknown>);
    /** Our ephemeral key pair: generated on first use when null, so a caller may set it beforehand. */
    e: NoiseKeyPair | null;
    /** The peer's static public key, once received. */
    rs: Uint8Array | null;
    /** Set once the last handshake message was written or read: then tx, rx and hash are ready. */
    complete: boolean;
    /** Key for what we send after the handshake (from Split, section 5.2). */
    tx: Uint8Array | null;
    /** Key for what we receive after the handshake. */
    rx: Uint8Array | null;
    /** The handshake hash h (64 bytes with BLAKE2b), for channel binding (section 11.2). */
    hash: Uint8Array | null;
    /** InitializeSymmetric and MixHash(prologue) (section 5.3 Initialize). */
    initialise(prologue: Uint8Array, remoteStatic?: Uint8Array): void;
    /** WriteMessage: the next handshake message carrying `payload`. */
    send(payload?: Uint8Array): Uint8Array;
    /** ReadMessage: the payload of the peer's next handshake message. @throws on any failure. */
    recv(message: Uint8Array): Uint8Array;
  }
}

declare module 'noise-handshake/dh.js' {
  import type { NoiseKeyPair } from 'noise-handshake';
  /** X25519 (libsodium crypto_scalarmult) as noise-handshake's default curve. */
  const dh: {
    PKLEN: number;
    SKLEN: number;
    /** The key pair of `secretKey`, or a random one. */
    generateKeyPair(secretKey?: Uint8Array): NoiseKeyPair;
    dh(publicKey: Uint8Array, keyPair: { secretKey: Uint8Array }): Uint8Array;
  };
  export default dh;
}
