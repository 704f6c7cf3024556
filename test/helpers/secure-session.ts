/**
 * A scripted peer's side of the encrypted handshake and sealed channel, as pure code over bytes: raw test
 * peers (TCP, the simulator's Byzantine hosts, the load flooder) speak the real protocol through it and then
 * send whatever they like, sealed or not. It drives the connection's own SecureChannel (net/secure-channel.ts:
 * the handshake, the handshake frame reader, the transport cipher, the sealed-frame decoder), so it cannot
 * drift from what a node speaks; only the protocol steps are written here, with signatures verified inline.
 */
import { toHex } from '../../src/bytes.ts';
import { verifyEd25519 } from '../sim/keys.ts';
import { StrongcastError, isStrongcastError } from '../../src/errors.ts';
import type { Random } from '../../src/io/random.ts';
import { systemRandom } from '../../src/io/system-random.ts';
import { makeNoiseIdentity, type Handshake, type LocalHello, type PeerHello, type SignatureCheck } from '../../src/peers/handshake.ts';
import { SecureChannel } from '../../src/net/secure-channel.ts';
import { encodeFrame } from '../../src/wire/framing.ts';
import { encodeNoiseFrame } from '../../src/wire/handshake-frames.ts';
import type { Message } from '../../src/wire/schema.ts';

/** A key the session proves: an id and its signer. */
export interface SessionKey {
  publicKey: Uint8Array;
  sign(bytes: Uint8Array): Uint8Array;
}

/** Options of a {@link SecureSession}. */
export interface SecureSessionOptions {
  key: SessionKey;
  networkId: string;
  /** True when this side dialed. */
  initiator: boolean;
  host?: string;
  port?: number;
  random?: Random;
  frameBytesMax?: number;
  rekeyIntervalMessages?: number;
  /** Overrides of what this side claims (a wrong id for identity tests); the Noise key stays its own. */
  local?: Partial<LocalHello>;
}

/** What one push of peer bytes gave. */
export interface SessionOutput {
  /** Bytes to write back to the peer, in order. */
  out: Uint8Array[];
  /** Messages opened from sealed frames. */
  messages: Message[];
  /** Why the session ended, if it did (its own error or the peer's reject). */
  error?: StrongcastError;
}

/** One side of one connection, speaking the node's handshake and framing. */
export class SecureSession {
  readonly local: LocalHello;
  readonly channel: SecureChannel;
  /** The peer's identity once shown (and verified). */
  peer: PeerHello | null = null;
  /** The signature the peer showed binding its id to its Noise static key, once verified. */
  peerProof: SignatureCheck | null = null;
  /** The peer's reject, if it sent one. */
  rejected: { code: string; reason: string } | null = null;
  readonly #options: SecureSessionOptions;

  constructor(options: SecureSessionOptions) {
    this.#options = options;
    const random = options.random ?? systemRandom;
    this.local = {
      networkId: options.networkId,
      publicKey: options.key.publicKey,
      host: options.host ?? '',
      port: options.port ?? 0,
      ...makeNoiseIdentity((m) => options.key.sign(m), random),
      ...options.local,
    };
    const rekey = options.rekeyIntervalMessages === undefined ? {} : { rekeyIntervalMessages: options.rekeyIntervalMessages };
    this.channel = new SecureChannel(options.initiator, this.local, random, { frameBytesMax: options.frameBytesMax ?? 1 << 20, ...rekey });
  }

  /** This side's handshake state machine. */
  get handshake(): Handshake {
    return this.channel.handshake;
  }

  /** The peer's id in hex, once known. */
  get peerId(): string {
    return this.peer ? toHex(this.peer.key) : '';
  }

  /** True once the keys exist (this side may send sealed frames). */
  get sealed(): boolean {
    return this.channel.sealed;
  }

  /** The bytes this side sends first: the initiator's first message, or nothing. */
  start(): Uint8Array[] {
    return this.#options.initiator ? [this.channel.firstFrame()] : [];
  }

  /** `msg` sealed for the wire. */
  seal(msg: Message): Uint8Array {
    return this.sealFrame(encodeFrame(msg, this.#options.frameBytesMax ?? 1 << 20));
  }

  /** A plaintext frame sealed for the wire. */
  sealFrame(frame: Uint8Array): Uint8Array {
    if (!this.channel.sealed) throw new Error('secure session: no keys yet');
    return this.channel.seal(frame);
  }

  /** A reject: sealed once the keys exist, a handshake frame before. */
  reject(code: string, reason: string): Uint8Array {
    return this.channel.rejectFrame(code, reason);
  }

  /** Feeds bytes from the peer. */
  push(chunk: Uint8Array): SessionOutput {
    const result: SessionOutput = { out: [], messages: [] };
    try {
      let at = 0;
      while (this.channel.readingHandshake && at < chunk.byteLength) at = this.#readOne(chunk, at, result);
      if (this.channel.sealed && at < chunk.byteLength) {
        const r = this.channel.readSealed(chunk.subarray(at));
        result.messages.push(...r.messages);
        if (r.error) result.error = r.error;
      }
    } catch (e) {
      if (!isStrongcastError(e)) throw e;
      result.error = e;
    }
    const reject = result.messages.find((m) => m.t === 'reject');
    if (reject?.t === 'reject') this.rejected = { code: reject.code, reason: reject.reason };
    return result;
  }

  #readOne(chunk: Uint8Array, at: number, result: SessionOutput): number {
    const r = this.channel.readHandshakeFrame(chunk, at);
    if (!r.frame) return r.at;
    if (r.frame.t === 'reject') {
      this.rejected = { code: r.frame.code, reason: r.frame.reason };
      throw new StrongcastError('ERR_CONNECTION_CLOSED', `peer refused: ${r.frame.code} ${r.frame.reason}`);
    }
    const step = this.handshake.receive(r.frame.message);
    if (step.t === 'refuse') throw new StrongcastError(step.code, step.reason);
    if (step.t === 'reply') {
      result.out.push(encodeNoiseFrame(step.message));
      return r.at;
    }
    if (!verifyEd25519(step.proof.publicKey, step.proof.message, step.proof.signature)) {
      throw new StrongcastError('ERR_BAD_PROOF', 'peer identity signature does not verify');
    }
    this.peer = step.peer;
    this.peerProof = step.proof;
    const { message, keys } = this.handshake.complete();
    if (message) result.out.push(encodeNoiseFrame(message));
    this.channel.startTransport(keys);
    // A listener confirms to the dialer with a first sealed frame, as a node does.
    if (!this.#options.initiator) result.out.push(this.seal({ t: 'ping', n: 1 }));
    return r.at;
  }
}
