/**
 * The bytes of one connection's encryption, as pure code: handshake frames until the keys exist (cut from
 * the stream by a small reader; their Noise messages go to the Handshake), sealed frames after (each
 * direction a Noise CipherState, Noise spec rev 34 section 5). It touches no socket, timer or verifier: the
 * connection (peer-connection.ts) drives it and decides what each step means, and test peers drive the same
 * code from the other end.
 */
import { assert } from '../errors.ts';
import type { Random } from '../io/random.ts';
import { Handshake, type LocalHello, type SessionKeys } from '../peers/handshake.ts';
import { encodeFrame, FrameDecoder, sealFrame, type DecodeMeter } from '../wire/framing.ts';
import { encodeNoiseFrame, encodeRejectFrame, HandshakeFrameReader, type HandshakeFrame } from '../wire/handshake-frames.ts';
import { schemaLimits, type Message } from '../wire/schema.ts';
import { CipherState, type TransportCiphers } from './transport-cipher.ts';

/** Options of a {@link SecureChannel}. */
export interface SecureChannelOptions {
  /** Largest plaintext frame body, in bytes; a sealed one may be 16 bytes longer. */
  frameBytesMax: number;
  /** Frames per direction between rekeys; only tests lower it (both ends must agree). @default REKEY_INTERVAL_MESSAGES */
  rekeyIntervalMessages?: number;
}

/** One connection's handshake frames, keys and sealed frames. */
export class SecureChannel {
  readonly handshake: Handshake;
  /** Cuts handshake frames from the stream until the keys exist; null from then on. */
  #reader: HandshakeFrameReader | null = new HandshakeFrameReader();
  #ciphers: TransportCiphers | null = null;
  /** Opens and decodes sealed frames once the keys exist. */
  #decoder: FrameDecoder | null = null;
  readonly #options: SecureChannelOptions;

  constructor(initiator: boolean, local: LocalHello, random: Random, options: SecureChannelOptions) {
    this.handshake = new Handshake(initiator, local, random);
    this.#options = options;
  }

  /** True once the keys exist: every frame both ways is sealed from then on. */
  get sealed(): boolean {
    return this.#ciphers !== null;
  }

  /** True while what arrives is handshake frames. */
  get readingHandshake(): boolean {
    return this.#reader !== null;
  }

  /** Values walked and bodies unpacked by the sealed-frame decoder (none before the keys exist). */
  get decodeWork(): DecodeMeter {
    return { ...(this.#decoder?.work ?? { valuesWalked: 0, bodiesUnpacked: 0 }) };
  }

  /** Bytes held for the frame in progress, handshake or sealed. */
  get bufferedBytes(): number {
    return (this.#reader?.bufferedBytes ?? 0) + (this.#decoder?.bufferedBytes ?? 0);
  }

  /** The dialer's first handshake frame (-> e). */
  firstFrame(): Buffer {
    return encodeNoiseFrame(this.handshake.start());
  }

  /**
   * The next handshake frame in `chunk` from `at`, read no further than its end (see HandshakeFrameReader).
   * @throws StrongcastError for a bad frame: ERR_FRAME_EMPTY, ERR_FRAME_TOO_LARGE, ERR_BAD_HANDSHAKE, ERR_WRONG_VERSION.
   */
  readHandshakeFrame(chunk: Uint8Array, at: number): { frame: HandshakeFrame | null; at: number } {
    assert(this.#reader !== null, 'handshake frames are read before the keys exist');
    return this.#reader.read(chunk, at);
  }

  /** Sealed frames in `chunk`, opened and decoded (see FrameDecoder.push: never throws for bad input). */
  readSealed(chunk: Uint8Array): ReturnType<FrameDecoder['push']> {
    assert(this.#decoder !== null, 'sealed frames are read once the keys exist');
    return this.#decoder.push(chunk);
  }

  /** The keys exist: sealed frames from here on, both ways (Noise section 5.2 Split). */
  startTransport(keys: SessionKeys): void {
    const interval = this.#options.rekeyIntervalMessages;
    this.#ciphers = { tx: new CipherState(keys.tx, interval), rx: new CipherState(keys.rx, interval) };
    this.#decoder = new FrameDecoder({ frameBytesMax: this.#options.frameBytesMax, rx: this.#ciphers.rx });
    this.#reader = null;
  }

  /** A plaintext frame (as encodeFrame gives it) sealed for the wire. */
  seal(frame: Uint8Array): Buffer {
    assert(this.#ciphers !== null, 'frames are sealed once the keys exist');
    return sealFrame(frame, this.#ciphers.tx);
  }

  /** Our reject: sealed once the keys exist (the peer reads nothing else from then on), a handshake frame before. */
  rejectFrame(code: string, reason: string): Buffer {
    if (!this.#ciphers) return encodeRejectFrame(code, reason);
    const msg: Message = { t: 'reject', code, reason: reason.slice(0, schemaLimits.reasonCharsMax) };
    return this.seal(encodeFrame(msg, this.#options.frameBytesMax));
  }
}
