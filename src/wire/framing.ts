/**
 * Framing: each frame is a 4-byte big-endian body length followed by one msgpack body holding one Message.
 * After the handshake every body travels sealed (net/transport-cipher.ts): the length then counts the
 * ciphertext, the body's bytes plus the 16-byte tag. Frames are encoded once in plaintext (a relay shares one
 * encoding among many peers) and sealed per connection as they are sent, by {@link sealFrame}.
 *
 * Peer bytes pass four gates before any other code sees them: the length header against frameBytesMax plus
 * the tag (before the body is buffered), authentication of the sealed body, a strict msgpack walk (structure,
 * trailing bytes, the subset we speak, and the number of values: every container's declared size counts
 * against bodyValuesMax at its header, before any of its items is read), and `decodeMessage` (every field).
 * msgpackr only ever runs on bodies the walk accepted, so neither the walk nor the decoder touches more than
 * bodyValuesMax values of any body, whatever its size (issue 16, item 5).
 */
import { Packr, Unpackr } from 'msgpackr';
import { StrongcastError } from '../errors.ts';
import { TAG_BYTES, type CipherState } from '../net/transport-cipher.ts';
import { optionsObject, positiveInt } from '../options.ts';
import { decodeGossipBody } from './gossip-codec.ts';
import { decodeMessage, type Message } from './schema.ts';

/** Defaults of {@link FrameDecoderOptions}. */
export const framingDefaults = { frameBytesMax: 1024 * 1024 } as const;

/** Bytes of the length header in front of every body. */
export const FRAME_HEADER_BYTES = 4;

/**
 * Deepest nesting of maps and arrays a body may have. The deepest message is a map holding an array of maps
 * (peers) or a map (ds.block), depth 3; the limit stops a body of 1 MiB of nested array headers from
 * costing a deep recursion in the decoder.
 */
export const nestingDepthMax = 8;

/**
 * Most entries a map may declare. The largest map of the schema has 8 fields (a chain statement; gossip has 7);
 * a map header declaring more is refused before any of its entries is read, so a 1 MiB map of 200,000
 * keys costs one header, not 200,000 key checks and a 200,000-property object.
 */
export const mapEntriesMax = 16;

/**
 * Most msgpack values one body may hold, each key, value, array item and container counted once. The
 * largest legal message, an outcome of validatorsMax (1,024) entries of 5 values each, holds about 5,130.
 * Each container's declared size is added at its header and checked before its items are read, so the walk
 * and msgpackr never touch more than this many values, whatever a body of up to frameBytesMax holds.
 */
export const bodyValuesMax = 8192;

/**
 * Work the decoder did, counted in values rather than time (for tests, and status): `valuesWalked` are the
 * msgpack values the strict walk read, `bodiesUnpacked` the bodies handed to msgpackr after the walk.
 */
export interface DecodeMeter {
  valuesWalked: number;
  bodiesUnpacked: number;
}

/**
 * Encoder for our own messages: plain maps, Uint8Array as msgpack bin, no records, no extensions
 * (`moreTypes` off, so typed arrays never become extension 0x74).
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false });

/**
 * Decoder for peer bytes. Extension types cannot reach it (the strict walk rejects them: msgpackr's
 * extension table is global, so it cannot be switched off per instance). `copyBuffers` gives every bin field
 * its own memory, so a 32-byte signature kept in a cache never pins a whole network chunk. `int64AsType:
 * 'number'` reads a (u)int64-encoded integer, as other msgpack encoders send them, as a number; one beyond
 * 2^53 comes out as an unsafe integer or is rounded up to 2^53, and decodeMessage refuses both.
 */
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: 'number' });

/**
 * A plaintext frame (header and body, as encodeFrame gives it) sealed for one connection: a new header
 * counting the ciphertext, then the body encrypted under `tx`'s next nonce with its tag. One allocation, and
 * the body is read once, by the cipher.
 */
export function sealFrame(frame: Uint8Array, tx: CipherState): Buffer {
  const bodyBytes = frame.byteLength - FRAME_HEADER_BYTES;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes + TAG_BYTES);
  out.writeUInt32BE(bodyBytes + TAG_BYTES, 0);
  tx.sealInto(out.subarray(FRAME_HEADER_BYTES), frame.subarray(FRAME_HEADER_BYTES));
  return out;
}

/** Bytes a plaintext frame of `plainFrameBytes` takes on the wire once sealed. */
export function sealedFrameBytes(plainFrameBytes: number): number {
  return plainFrameBytes + TAG_BYTES;
}

/**
 * The msgpack body of `msg` alone, without the length header. The result may be a view into an encoder
 * buffer of a few KiB shared with later encodings (never overwritten); copy it if it is kept for long.
 */
export function encodeBody(msg: Message): Uint8Array {
  return packr.pack(msg);
}

/**
 * One whole frame: length header and body, ready for `socket.write`.
 * @throws StrongcastError ERR_FRAME_TOO_LARGE when the body exceeds `frameBytesMax`; the peer would refuse
 *   it, so sending it is our bug or an oversized application payload.
 */
export function encodeFrame(msg: Message, frameBytesMax: number = framingDefaults.frameBytesMax): Buffer {
  const body = encodeBody(msg);
  if (body.byteLength > frameBytesMax) {
    throw new StrongcastError('ERR_FRAME_TOO_LARGE', `a '${msg.t}' message encodes to ${body.byteLength} bytes, above frameBytesMax ${frameBytesMax}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
  frame.writeUInt32BE(body.byteLength, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * The Message in one frame body.
 * @throws StrongcastError ERR_BAD_MSGPACK when `body` is not exactly one msgpack value (truncated, trailing
 *   bytes, the never-used byte 0xc1); ERR_BAD_MESSAGE when it is msgpack outside the subset we speak
 *   (extension types, non-string or duplicate map keys, nesting deeper than nestingDepthMax) or not a
 *   well-formed Message.
 */
export function decodeBody(body: Uint8Array, meter?: DecodeMeter): Message {
  // Broadcasts are most of the traffic: read the usual shape directly, and leave the rest to the full gates.
  return decodeGossipBody(body) ?? decodeBodyInFull(body, meter);
}

/**
 * The general path of {@link decodeBody}, through every gate, for any message type. Exported so tests can
 * hold the gossip fast path to it.
 * @throws StrongcastError as decodeBody.
 */
export function decodeBodyInFull(body: Uint8Array, meter?: DecodeMeter): Message {
  checkMsgpack(body, meter);
  if (meter) meter.bodiesUnpacked++;
  let value: unknown;
  try {
    // a plain Uint8Array view, so decoded bin fields are plain Uint8Arrays rather than Buffers
    value = unpackr.unpack(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  } catch (e) {
    // the walk accepted the structure, so this is unexpected, but it is still a peer's bytes: refuse them
    throw new StrongcastError('ERR_BAD_MSGPACK', `msgpack decoder: ${String(e).slice(0, 200)}`, { cause: e });
  }
  try {
    return decodeMessage(value);
  } catch (e) {
    if (e instanceof StrongcastError) throw e;
    // decodeMessage should only throw typed errors; if a crafted value ever trips it another way, that is a
    // bug in the checks, but it must still not let a peer's bytes throw past the socket boundary
    throw new StrongcastError('ERR_BAD_MESSAGE', `message check failed: ${String(e).slice(0, 200)}`, { cause: e });
  }
}

function badMsgpack(what: string): never {
  throw new StrongcastError('ERR_BAD_MSGPACK', what);
}

function badSubset(what: string): never {
  throw new StrongcastError('ERR_BAD_MESSAGE', what);
}

/** One open map or array during the walk. */
interface Level {
  /** Items (keys and values count separately in a map) still to read. */
  left: number;
  /**
   * When this level is a map: where each key seen so far lies in the body (offset, length, in pairs); a
   * duplicate key would give a message two readings. At most mapEntriesMax keys, so comparing is cheap.
   */
  keys: number[] | undefined;
}

/**
 * What the header of one msgpack value says, written in place by {@link readHeader}: one object for every
 * walk, so the walk allocates nothing per value (it runs on every frame that is not a plain broadcast).
 */
const header = {
  /** Where the value's payload (or first item) starts. */
  pos: 0,
  /** A str or bin payload length, or -1. */
  payloadBytes: -1,
  isStr: false,
  /** A map's entries or an array's items, or -1 when the value is not a container. */
  items: -1,
  isMap: false,
};

/** Refuses a length field or payload of `n` bytes at `pos` that the body does not hold. */
function needBytes(view: DataView, pos: number, n: number): void {
  if (n > view.byteLength - pos) badMsgpack(`truncated at byte ${pos}: ${n} more bytes declared, ${view.byteLength - pos} left`);
}

/** Reads a big-endian length field of `bytes` bytes at header.pos and moves past it. */
function readLength(view: DataView, bytes: 1 | 2 | 4): number {
  needBytes(view, header.pos, bytes);
  const at = header.pos;
  header.pos += bytes;
  return bytes === 1 ? view.getUint8(at) : bytes === 2 ? view.getUint16(at) : view.getUint32(at);
}

/** Moves past a fixed-size number of `bytes` bytes. */
function skipFixed(view: DataView, bytes: number): void {
  needBytes(view, header.pos, bytes);
  header.pos += bytes;
}

/**
 * Reads the header of one msgpack value whose first byte `token` was just read (`pos` is after it) into
 * {@link header}; every length field is checked against the bytes left before it is read.
 */
function readHeader(token: number, view: DataView, pos: number): void {
  const h = header;
  h.pos = pos;
  h.payloadBytes = -1;
  h.isStr = false;
  h.items = -1;
  h.isMap = false;
  if (token <= 0x7f || token >= 0xe0) return; // positive or negative fixint
  if (token <= 0x8f) return void ((h.items = token - 0x80), (h.isMap = true));
  if (token <= 0x9f) return void (h.items = token - 0x90);
  if (token <= 0xbf) return void ((h.payloadBytes = token - 0xa0), (h.isStr = true));
  switch (token) {
    case 0xc0: case 0xc2: case 0xc3: return; // nil, false, true
    case 0xc1: return badMsgpack(`byte 0xc1 (never used) at ${pos - 1}`);
    case 0xc4: h.payloadBytes = readLength(view, 1); return; // bin 8
    case 0xc5: h.payloadBytes = readLength(view, 2); return; // bin 16
    case 0xc6: h.payloadBytes = readLength(view, 4); return; // bin 32
    case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
      return badSubset(`msgpack extension types are not allowed (byte 0x${token.toString(16)} at ${pos - 1})`);
    case 0xca: return skipFixed(view, 4); // float 32
    case 0xcb: return skipFixed(view, 8); // float 64
    case 0xcc: case 0xd0: return skipFixed(view, 1); // (u)int 8
    case 0xcd: case 0xd1: return skipFixed(view, 2); // (u)int 16
    case 0xce: case 0xd2: return skipFixed(view, 4); // (u)int 32
    case 0xcf: case 0xd3: return skipFixed(view, 8); // (u)int 64
    case 0xd9: h.payloadBytes = readLength(view, 1); h.isStr = true; return; // str 8
    case 0xda: h.payloadBytes = readLength(view, 2); h.isStr = true; return; // str 16
    case 0xdb: h.payloadBytes = readLength(view, 4); h.isStr = true; return; // str 32
    case 0xdc: h.items = readLength(view, 2); return; // array 16
    case 0xdd: h.items = readLength(view, 4); return; // array 32
    case 0xde: h.items = readLength(view, 2); h.isMap = true; return; // map 16
    case 0xdf: h.items = readLength(view, 4); h.isMap = true; return; // map 32
    default: return badMsgpack(`unknown byte 0x${token.toString(16)} at ${pos - 1}`); // unreachable: all covered
  }
}

/** Whether the key at [at, at + bytes) equals one already in `keys` (offset, length pairs) of the map. */
function seenKey(b: Uint8Array, keys: readonly number[], at: number, bytes: number): boolean {
  for (let k = 0; k < keys.length; k += 2) {
    if (keys[k + 1] !== bytes) continue;
    const other = keys[k]!;
    let i = 0;
    while (i < bytes && b[other + i] === b[at + i]) i++;
    if (i === bytes) return true;
  }
  return false;
}

/**
 * Walks `b` iteratively, without building values, and throws unless it is exactly one msgpack value of the
 * subset strongcast speaks: nil, bool, int, float, str, bin, array, and map with string keys, at most
 * mapEntriesMax entries a map and bodyValuesMax values in all. Declared lengths are checked against the bytes
 * left, and declared sizes against those caps, before anything is read, so no length allocates and no
 * container is walked that the caps would refuse.
 */
function checkMsgpack(b: Uint8Array, meter: DecodeMeter | undefined): void {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const end = b.byteLength;
  let pos = 0;
  const stack: Level[] = [{ left: 1, keys: undefined }];
  // values declared so far: the top-level one, then each container's items as its header is read
  let declared = 1;
  while (stack.length > 0) {
    const level = stack[stack.length - 1]!;
    if (level.left === 0) {
      stack.pop();
      continue;
    }
    // in a map, keys come at even counts from the end: left = 2n, 2n-2, ... are keys
    const isKey = level.keys !== undefined && level.left % 2 === 0;
    level.left--;
    if (meter) meter.valuesWalked++;
    needBytes(view, pos, 1);
    const token = b[pos++]!;
    readHeader(token, view, pos);
    pos = header.pos;
    const { payloadBytes, isStr, items: entries, isMap } = header;
    if (isKey) {
      if (!isStr) badSubset(`map keys must be strings (byte 0x${token.toString(16)} before ${pos})`);
      needBytes(view, pos, payloadBytes);
      // equal keys are exactly equal byte strings
      if (seenKey(b, level.keys!, pos, payloadBytes)) badSubset(`duplicate map key at byte ${pos}`);
      level.keys!.push(pos, payloadBytes);
    }
    if (payloadBytes >= 0) {
      needBytes(view, pos, payloadBytes);
      pos += payloadBytes;
    }
    if (entries >= 0) {
      const items = isMap ? entries * 2 : entries;
      // every item takes at least one byte, so a count above the bytes left is a lie: refuse it now
      needBytes(view, pos, items);
      if (isMap && entries > mapEntriesMax) badSubset(`a map declares ${entries} entries, above ${mapEntriesMax} (byte ${pos})`);
      declared += items;
      if (declared > bodyValuesMax) badSubset(`the body declares more than ${bodyValuesMax} msgpack values (byte ${pos})`);
      if (items > 0) {
        // stack[0] is the top-level slot, not a container, so stack.length is the depth after this push
        if (stack.length > nestingDepthMax) badSubset(`maps and arrays nest deeper than ${nestingDepthMax}`);
        stack.push({ left: items, keys: isMap ? [] : undefined });
      }
    }
  }
  if (pos !== end) badMsgpack(`${end - pos} trailing bytes after the msgpack value`);
}

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Largest frame body accepted, in bytes (the 4-byte header not included). A header announcing more is
   * refused before any of the body is buffered.
   * @default 1_048_576 (1 MiB)
   */
  frameBytesMax?: number;
  /**
   * Opens sealed bodies with this cipher before decoding them (the connection's receiving direction after
   * the handshake); a header may then announce frameBytesMax plus the 16-byte tag. A body that does not
   * authenticate is ERR_BAD_CIPHERTEXT. Without it bodies are plaintext (tests of the framing alone).
   */
  rx?: CipherState;
}

/** First capacity of a body buffer that arrives in pieces; it grows from here up to the frame's length. */
const bodyBufferBytesInitial = 16 * 1024;

/**
 * How much a body buffer grows when it is full: a frame in n pieces still costs O(n) copying, and the buffers
 * given up on the way to a large frame are a third of it (16 KiB, 64 KiB, 256 KiB to 1 MiB: 336 KiB, where
 * doubling gave up 1008 KiB), garbage that a burst of large frames piles up until a collection.
 */
const bodyBufferGrowth = 4;

/**
 * Turns a byte stream into Messages. Push chunks as they arrive; complete messages come out in order.
 *
 * A body that arrives in one chunk is decoded in place, without a copy. One that arrives in pieces is copied
 * into a buffer that grows fourfold as it fills (capped at the announced length), so a frame in n pieces costs
 * O(n) copying in total and memory is at most four times the bytes actually received: a peer must send bytes
 * to make us hold bytes. A sealed body is opened in place too (#decode).
 */
export class FrameDecoder {
  readonly #frameBytesMax: number;
  readonly #rx: CipherState | undefined;
  /** Largest length a header may announce: frameBytesMax, plus the tag when bodies are sealed. */
  readonly #lengthMax: number;
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  /** Announced body length once the header is complete, else -1. */
  #bodyBytes = -1;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #error: StrongcastError | undefined;
  /** Values walked and bodies unpacked by the general decoding path, since this decoder was made. */
  readonly work: DecodeMeter = { valuesWalked: 0, bodiesUnpacked: 0 };

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(options: FrameDecoderOptions = {}) {
    optionsObject(options);
    this.#frameBytesMax = positiveInt(options.frameBytesMax ?? framingDefaults.frameBytesMax, 'frameBytesMax');
    this.#rx = options.rx;
    this.#lengthMax = this.#frameBytesMax + (this.#rx ? TAG_BYTES : 0);
  }

  /** Bytes held for the frame in progress (header and body so far); never more than 4 + frameBytesMax (+ 16 sealed). */
  get bufferedBytes(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /** The error that killed the decoder, if any. */
  get error(): StrongcastError | undefined {
    return this.#error;
  }

  /**
   * Feeds one chunk. Returns every complete message in order; on the first bad frame returns the messages
   * before it plus `error`, and the decoder is dead from then on (every later push returns the same error and
   * no messages). Never throws for bad input: errors are ERR_FRAME_EMPTY, ERR_FRAME_TOO_LARGE,
   * ERR_BAD_MSGPACK and ERR_BAD_MESSAGE. `frameBytes[i]` is the size on the wire of `messages[i]`'s frame,
   * header included (for traffic counted by message type).
   */
  push(chunk: Uint8Array): { messages: Message[]; frameBytes: number[]; error?: StrongcastError } {
    const messages: Message[] = [];
    const frameBytes: number[] = [];
    if (this.#error !== undefined) return { messages, frameBytes, error: this.#error };
    try {
      this.#consume(chunk, messages, frameBytes);
    } catch (e) {
      // only a peer's bad bytes are caught; anything else is our bug and must be loud
      if (!(e instanceof StrongcastError)) throw e;
      this.#error = e;
      this.#header.fill(0);
      this.#headerFill = 0;
      this.#body = undefined;
      this.#bodyFill = 0;
      return { messages, frameBytes, error: e };
    }
    return { messages, frameBytes };
  }

  #consume(chunk: Uint8Array, out: Message[], sizes: number[]): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#bodyBytes < 0) {
        const n = Math.min(FRAME_HEADER_BYTES - this.#headerFill, chunk.byteLength - at);
        this.#header.set(chunk.subarray(at, at + n), this.#headerFill);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill < FRAME_HEADER_BYTES) return;
        this.#startBody();
        continue;
      }
      const wanted = this.#bodyBytes - this.#bodyFill;
      if (this.#bodyFill === 0 && chunk.byteLength - at >= wanted) {
        // the whole body is in this chunk: decode it where it lies
        out.push(this.#decode(chunk.subarray(at, at + wanted)));
        sizes.push(FRAME_HEADER_BYTES + wanted);
        at += wanted;
        this.#finishFrame();
        continue;
      }
      const n = Math.min(wanted, chunk.byteLength - at);
      this.#append(chunk.subarray(at, at + n));
      at += n;
      if (this.#bodyFill === this.#bodyBytes) {
        const body = this.#body!.subarray(0, this.#bodyFill);
        this.#finishFrame();
        out.push(this.#decode(body));
        sizes.push(FRAME_HEADER_BYTES + body.byteLength);
      }
    }
  }

  /**
   * The Message of one whole body, opened first when bodies are sealed: in place, the plaintext over the
   * ciphertext's first bytes (ChaCha20 is a XOR, and libsodium opens in place when the two start at the same
   * address), so a frame costs no second buffer of its size. The body is this decoder's: its own buffer, or a
   * chunk the link handed over (a socket read, or the simulator's copy), which nothing reads after it; and the
   * decoded message keeps none of it (its byte fields are copies: `copyBuffers`, decodeGossipBody).
   */
  #decode(body: Uint8Array): Message {
    if (this.#rx === undefined) return decodeBody(body, this.work);
    const plain = body.subarray(0, body.byteLength - TAG_BYTES);
    if (!this.#rx.openInto(plain, body)) {
      throw new StrongcastError('ERR_BAD_CIPHERTEXT', `frame ${this.#rx.counter} does not authenticate (altered, replayed, reordered or cut)`);
    }
    return decodeBody(plain, this.work);
  }

  /** Checks the complete header; refuses a bad length before any of its body is buffered. */
  #startBody(): void {
    const length = new DataView(this.#header.buffer).getUint32(0);
    if (length === 0) throw new StrongcastError('ERR_FRAME_EMPTY', 'a frame announced a body of 0 bytes');
    if (length > this.#lengthMax) {
      const what = this.#rx ? `frameBytesMax ${this.#frameBytesMax} plus the ${TAG_BYTES}-byte tag` : `frameBytesMax ${this.#frameBytesMax}`;
      throw new StrongcastError('ERR_FRAME_TOO_LARGE', `a frame announced ${length} bytes, above ${what}`);
    }
    // A sealed body holds at least one byte of message and the tag: anything shorter cannot authenticate.
    if (this.#rx && length <= TAG_BYTES) {
      throw new StrongcastError('ERR_BAD_CIPHERTEXT', `a sealed frame announced ${length} bytes, at most its ${TAG_BYTES}-byte tag`);
    }
    this.#bodyBytes = length;
  }

  #append(part: Uint8Array): void {
    const needed = this.#bodyFill + part.byteLength;
    if (this.#body === undefined || this.#body.byteLength < needed) {
      const capacity = Math.min(this.#bodyBytes, Math.max(needed, bodyBufferBytesInitial, bodyBufferGrowth * (this.#body?.byteLength ?? 0)));
      const grown = new Uint8Array(capacity);
      if (this.#body !== undefined) grown.set(this.#body.subarray(0, this.#bodyFill));
      this.#body = grown;
    }
    this.#body.set(part, this.#bodyFill);
    this.#bodyFill = needed;
  }

  #finishFrame(): void {
    this.#headerFill = 0;
    this.#bodyBytes = -1;
    // keep no buffer between frames: an idle connection should hold nothing
    this.#body = undefined;
    this.#bodyFill = 0;
  }
}
