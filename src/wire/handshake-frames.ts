/**
 * Frames of the handshake phase, before any key exists: the same 4-byte big-endian length header as every
 * frame, then a one-byte kind and its content, read by a tiny parser (no msgpack before the peer is known).
 *
 *   kind 1  noise   a Noise handshake message (peers/handshake.ts)
 *   kind 2  reject  u8 code length, the code (ASCII), then the reason (UTF-8): why the sender refuses
 *
 * A body that starts as the msgpack map { t: 'hello', ... } is the plaintext hello of protocol versions 1 to
 * 3, told apart so that such a peer is refused as another version rather than as a broken one.
 */
import { StrongcastError } from '../errors.ts';
import { schemaLimits } from './schema.ts';

/** Largest handshake frame body, in bytes: the largest Noise message strongcast sends is about 460. */
export const handshakeFrameBytesMax = 1024;

/** Bytes of the length header. */
const HEADER_BYTES = 4;

/** Kind bytes of handshake frames. */
export const HandshakeFrameKind = { noise: 1, reject: 2 } as const;

/** A handshake frame as read. */
export type HandshakeFrame =
  | { t: 'noise'; message: Uint8Array }
  | { t: 'reject'; code: string; reason: string };

/** A whole handshake frame carrying one Noise message. */
export function encodeNoiseFrame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + 1 + message.byteLength);
  out.writeUInt32BE(1 + message.byteLength, 0);
  out[HEADER_BYTES] = HandshakeFrameKind.noise;
  out.set(message, HEADER_BYTES + 1);
  return out;
}

/** A whole handshake frame refusing the peer with `code`; the reason is cut to reasonCharsMax bytes. */
export function encodeRejectFrame(code: string, reason: string): Buffer {
  const codeBytes = Buffer.from(code.slice(0, 64), 'latin1');
  const reasonBytes = Buffer.from(reason, 'utf8').subarray(0, schemaLimits.reasonCharsMax);
  const bodyBytes = 2 + codeBytes.byteLength + reasonBytes.byteLength;
  const out = Buffer.allocUnsafe(HEADER_BYTES + bodyBytes);
  out.writeUInt32BE(bodyBytes, 0);
  out[HEADER_BYTES] = HandshakeFrameKind.reject;
  out[HEADER_BYTES + 1] = codeBytes.byteLength;
  out.set(codeBytes, HEADER_BYTES + 2);
  out.set(reasonBytes, HEADER_BYTES + 2 + codeBytes.byteLength);
  return out;
}

function refuse(code: 'ERR_BAD_HANDSHAKE' | 'ERR_WRONG_VERSION', what: string): never {
  throw new StrongcastError(code, what);
}

/** A msgpack fixmap whose first entry is t: 'hello', as versions 1 to 3 encoded their hello. */
const legacyHelloStart = Buffer.from([0xa1, 0x74, 0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);

/** True when `body` is the plaintext msgpack hello that protocol versions 1 to 3 sent unasked, first. */
function isLegacyHello(body: Uint8Array): boolean {
  return body[0]! >= 0x80 && body[0]! <= 0x8f && Buffer.from(body.buffer, body.byteOffset + 1, Math.min(body.byteLength - 1, 8)).equals(legacyHelloStart);
}

/** Reads one handshake frame body. @throws StrongcastError ERR_BAD_HANDSHAKE, ERR_WRONG_VERSION. */
export function decodeHandshakeBody(body: Uint8Array): HandshakeFrame {
  const kind = body[0]!;
  if (isLegacyHello(body)) refuse('ERR_WRONG_VERSION', 'peer speaks a protocol version without the encrypted handshake (1 to 3)');
  if (kind === HandshakeFrameKind.noise) return { t: 'noise', message: body.subarray(1) };
  if (kind !== HandshakeFrameKind.reject) refuse('ERR_BAD_HANDSHAKE', `unknown handshake frame kind ${kind}`);
  const codeBytes = body[1];
  if (codeBytes === undefined || 2 + codeBytes > body.byteLength) refuse('ERR_BAD_HANDSHAKE', 'reject frame cut short');
  const code = Buffer.from(body.buffer, body.byteOffset + 2, codeBytes).toString('latin1');
  const reason = Buffer.from(body.buffer, body.byteOffset + 2 + codeBytes, body.byteLength - 2 - codeBytes).toString('utf8');
  return { t: 'reject', code, reason: reason.slice(0, schemaLimits.reasonCharsMax) };
}

/**
 * Cuts handshake frames out of the byte stream one at a time, holding at most one partial frame
 * (4 + handshakeFrameBytesMax bytes). It reads no further than the end of the frame it returns, so the
 * bytes after the handshake's last frame are left for the transport decoder.
 */
export class HandshakeFrameReader {
  readonly #header = new Uint8Array(HEADER_BYTES);
  #headerFill = 0;
  #body: Uint8Array | null = null;
  #bodyFill = 0;

  /** Bytes held for the frame in progress. */
  get bufferedBytes(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /**
   * Reads from `chunk` at `at` up to the end of the next whole frame. Returns the frame (or null when the
   * chunk ended first) and where reading stopped.
   * @throws StrongcastError ERR_FRAME_EMPTY, ERR_FRAME_TOO_LARGE (before any of the body is held),
   *   ERR_BAD_HANDSHAKE, ERR_WRONG_VERSION.
   */
  read(chunk: Uint8Array, at: number): { frame: HandshakeFrame | null; at: number } {
    if (this.#body === null) {
      const n = Math.min(HEADER_BYTES - this.#headerFill, chunk.byteLength - at);
      this.#header.set(chunk.subarray(at, at + n), this.#headerFill);
      this.#headerFill += n;
      at += n;
      if (this.#headerFill < HEADER_BYTES) return { frame: null, at };
      const length = new DataView(this.#header.buffer).getUint32(0);
      if (length === 0) throw new StrongcastError('ERR_FRAME_EMPTY', 'a handshake frame announced a body of 0 bytes');
      if (length > handshakeFrameBytesMax) {
        throw new StrongcastError('ERR_FRAME_TOO_LARGE', `a handshake frame announced ${length} bytes, above ${handshakeFrameBytesMax}`);
      }
      this.#body = new Uint8Array(length);
    }
    const n = Math.min(this.#body.byteLength - this.#bodyFill, chunk.byteLength - at);
    this.#body.set(chunk.subarray(at, at + n), this.#bodyFill);
    this.#bodyFill += n;
    at += n;
    if (this.#bodyFill < this.#body.byteLength) return { frame: null, at };
    const body = this.#body;
    this.#body = null;
    this.#bodyFill = 0;
    this.#headerFill = 0;
    return { frame: decodeHandshakeBody(body), at };
  }
}
