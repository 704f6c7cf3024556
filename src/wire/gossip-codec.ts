/**
 * The gossip message's own codec: broadcasts are most of what a busy node reads and writes, and a general
 * msgpack encoder or decoder spends more on one than the rest of its handling apart from the signature
 * check. Both directions here speak plain msgpack, so any peer's decoder reads what we write, and a body we
 * cannot read the fast way goes to the general path (framing.ts), which decides it.
 *
 * The fast reader accepts exactly one shape: a map of the seven gossip fields, each once, in any order, with
 * `t` = 'gossip', `origin` and `sig` as bin of 32 and 64 bytes, `seq` and `hops` as unsigned integers,
 * `topic` as an ASCII string and `data` as bin within their limits, and nothing after the map. Everything
 * it returns is what the general path would return for the same bytes (test/gossip-codec.test.ts checks
 * that on generated and mutated bodies); anything else, valid or not, is left to the general path.
 */
import { StrongcastError } from '../errors.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, schemaLimits, type GossipMessage } from './schema.ts';

/** msgpack fixmap header of a 7-entry map. */
const FIXMAP_7 = 0x87;
/** Bytes of the length header in front of every body (framing.ts FRAME_HEADER_BYTES). */
const HEADER_BYTES = 4;
/** Largest hop count (schema: `hops` is 0..255). */
const HOPS_MAX = 255;

/** Key bytes of the seven fields, as fixstr (a header byte 0xa0 + length, then ASCII). */
const KEYS = ['t', 'origin', 'seq', 'topic', 'data', 'hops', 'sig'] as const;
type Key = (typeof KEYS)[number];
const TAG = 'gossip';

/** Bytes a msgpack unsigned integer takes. */
function uintBytes(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x100) return 2;
  if (n < 0x10000) return 3;
  if (n < 0x100000000) return 5;
  return 9;
}

function writeUint(b: Buffer, at: number, n: number): number {
  if (n < 0x80) {
    b[at] = n;
    return at + 1;
  }
  if (n < 0x100) {
    b[at] = 0xcc;
    b[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    b[at] = 0xcd;
    b.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  if (n < 0x100000000) {
    b[at] = 0xce;
    b.writeUInt32BE(n, at + 1);
    return at + 5;
  }
  b[at] = 0xcf;
  b.writeUInt32BE(Math.floor(n / 0x100000000), at + 1);
  b.writeUInt32BE(n >>> 0, at + 5);
  return at + 9;
}

/** Bytes of a bin header for `n` payload bytes. */
function binHeaderBytes(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function writeBin(b: Buffer, at: number, v: Uint8Array): number {
  const n = v.byteLength;
  if (n < 0x100) {
    b[at] = 0xc4;
    b[at + 1] = n;
    at += 2;
  } else if (n < 0x10000) {
    b[at] = 0xc5;
    b.writeUInt16BE(n, at + 1);
    at += 3;
  } else {
    b[at] = 0xc6;
    b.writeUInt32BE(n, at + 1);
    at += 5;
  }
  b.set(v, at);
  return at + n;
}

function strHeaderBytes(n: number): number {
  return n < 32 ? 1 : n < 0x100 ? 2 : 3;
}

/** UTF-8 bytes of `s`: its length when it is ASCII, as topics usually are, without a call into the runtime. */
function utf8Bytes(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function writeStr(b: Buffer, at: number, s: string, n: number): number {
  if (n < 32) b[at++] = 0xa0 | n;
  else if (n < 0x100) {
    b[at] = 0xd9;
    b[at + 1] = n;
    at += 2;
  } else {
    b[at] = 0xda;
    b.writeUInt16BE(n, at + 1);
    at += 3;
  }
  if (n !== s.length) return at + b.write(s, at, 'utf8');
  for (let i = 0; i < n; i++) b[at + i] = s.charCodeAt(i);
  return at + n;
}

/** A key as fixstr bytes (0xa0 + length, then ASCII). */
const keyBytes = (k: Key): number[] => [0xa0 | k.length, ...Array.from(k, (c) => c.charCodeAt(0))];

/** The constant runs of an encoded body: the map header, `t`, the tag and each key before its value. */
const HEAD = Uint8Array.from([FIXMAP_7, ...keyBytes('t'), 0xa0 | TAG.length, ...Array.from(TAG, (c) => c.charCodeAt(0)), ...keyBytes('origin')]);
const KEY_SEQ = Uint8Array.from(keyBytes('seq'));
const KEY_TOPIC = Uint8Array.from(keyBytes('topic'));
const KEY_DATA = Uint8Array.from(keyBytes('data'));
const KEY_HOPS = Uint8Array.from(keyBytes('hops'));
const KEY_SIG = Uint8Array.from(keyBytes('sig'));
const CONSTANT_BYTES = HEAD.byteLength + KEY_SEQ.byteLength + KEY_TOPIC.byteLength + KEY_DATA.byteLength + KEY_HOPS.byteLength + KEY_SIG.byteLength;

function put(b: Buffer, at: number, bytes: Uint8Array): number {
  b.set(bytes, at);
  return at + bytes.byteLength;
}

/**
 * One whole frame (length header and body) of a gossip message with `hops` in place of its own, the same
 * bytes for every peer (a relay is encoded once). The caller has checked the message's fields: our own
 * broadcast, or one the decoder accepted.
 * @throws StrongcastError ERR_FRAME_TOO_LARGE when the body exceeds `frameBytesMax`, as encodeFrame does.
 */
export function encodeGossipFrame(msg: GossipMessage, hops: number, frameBytesMax: number): Buffer {
  const topicBytes = utf8Bytes(msg.topic);
  const size =
    CONSTANT_BYTES +
    binHeaderBytes(msg.origin.byteLength) + msg.origin.byteLength +
    uintBytes(msg.seq) +
    strHeaderBytes(topicBytes) + topicBytes +
    binHeaderBytes(msg.data.byteLength) + msg.data.byteLength +
    uintBytes(hops) +
    binHeaderBytes(msg.sig.byteLength) + msg.sig.byteLength;
  if (size > frameBytesMax) throw new StrongcastError('ERR_FRAME_TOO_LARGE', `a 'gossip' message encodes to ${size} bytes, above frameBytesMax ${frameBytesMax}`);
  const b = Buffer.allocUnsafe(HEADER_BYTES + size);
  b.writeUInt32BE(size, 0);
  let at = put(b, HEADER_BYTES, HEAD);
  at = writeBin(b, at, msg.origin);
  at = writeUint(b, put(b, at, KEY_SEQ), msg.seq);
  at = writeStr(b, put(b, at, KEY_TOPIC), msg.topic, topicBytes);
  at = writeBin(b, put(b, at, KEY_DATA), msg.data);
  at = writeUint(b, put(b, at, KEY_HOPS), hops);
  writeBin(b, put(b, at, KEY_SIG), msg.sig);
  return b;
}

/** The field a key names, or -1; compares the key's bytes in place, without making a string. */
function keyIndexAt(b: Uint8Array, at: number, n: number): number {
  for (let k = 0; k < KEYS.length; k++) {
    const name = KEYS[k]!;
    if (name.length !== n) continue;
    let i = 0;
    while (i < n && b[at + i] === name.charCodeAt(i)) i++;
    if (i === n) return k;
  }
  return -1;
}

/**
 * Where the last read value ended. The readers below return the value (or a miss) and leave the position
 * here, so reading a field allocates nothing but the value itself; JavaScript runs them one at a time.
 */
let end = 0;

/** An unsigned integer up to `max` (fixint, uint 8/16/32/64), or -1 when not in the fast shape. */
function readUint(b: Uint8Array, at: number, max: number): number {
  const len = b.byteLength;
  if (at >= len) return -1;
  const tok = b[at]!;
  let v: number;
  if (tok < 0x80) {
    v = tok;
    end = at + 1;
  } else if (tok === 0xcc && at + 2 <= len) {
    v = b[at + 1]!;
    end = at + 2;
  } else if (tok === 0xcd && at + 3 <= len) {
    v = (b[at + 1]! << 8) | b[at + 2]!;
    end = at + 3;
  } else if (tok === 0xce && at + 5 <= len) {
    v = u32(b, at + 1);
    end = at + 5;
  } else if (tok === 0xcf && at + 9 <= len) {
    v = u32(b, at + 1) * 0x100000000 + u32(b, at + 5);
    end = at + 9;
  } else return -1;
  return v <= max ? v : -1;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** Where the payload behind the last header read by headerLength starts. */
let payloadStart = 0;

/**
 * The payload length behind a str or bin header at `at` in its 8-, 16- or 32-bit length form (tokens `t8`,
 * `t16`, `t32`; -1 for a form not accepted), or -1 when `at` holds none of them. Sets payloadStart.
 */
function headerLength(b: Uint8Array, at: number, t8: number, t16: number, t32: number): number {
  const len = b.byteLength;
  const tok = b[at];
  if (tok === t8 && at + 2 <= len) {
    payloadStart = at + 2;
    return b[at + 1]!;
  }
  if (tok === t16 && at + 3 <= len) {
    payloadStart = at + 3;
    return (b[at + 1]! << 8) | b[at + 2]!;
  }
  if (tok === t32 && at + 5 <= len) {
    payloadStart = at + 5;
    return u32(b, at + 1);
  }
  return -1;
}

/** A bin of `exact` bytes, or of at most `max`, copied into its own memory; null when not in the fast shape. */
function readBin(b: Uint8Array, at: number, exact: number, max: number): Uint8Array | null {
  const n = headerLength(b, at, 0xc4, 0xc5, 0xc6);
  const start = payloadStart;
  if (n < 0 || (exact >= 0 && n !== exact) || n > max || start + n > b.byteLength) return null;
  end = start + n;
  return b.slice(start, end);
}

/** A str of ASCII only (so every decoder reads the same string), at most `max` bytes; null when not. */
function readAscii(b: Uint8Array, at: number, max: number): string | null {
  const tok = b[at];
  let n: number;
  let start: number;
  if (tok !== undefined && tok >= 0xa0 && tok <= 0xbf) {
    n = tok - 0xa0;
    start = at + 1;
  } else {
    // str 8 and str 16 only: a topic is short, and a longer one goes to the general path
    n = headerLength(b, at, 0xd9, 0xda, -1);
    start = payloadStart;
  }
  if (n < 0 || n > max || start + n > b.byteLength) return null;
  for (let i = start; i < start + n; i++) if (b[i]! >= 0x80) return null;
  end = start + n;
  return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
}

/**
 * The gossip message in `body` when it has the fast shape (module comment), else null: the body may still
 * be a valid message, or a bad one, and the general decoder must decide which.
 */
export function decodeGossipBody(body: Uint8Array): GossipMessage | null {
  if (body.byteLength === 0 || body[0] !== FIXMAP_7) return null;
  // A plain view, so slices are plain Uint8Array copies (Buffer's slice would be a view into the chunk).
  const b = body instanceof Buffer ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : body;
  return readGossipMap(b);
}

function readGossipMap(b: Uint8Array): GossipMessage | null {
  let origin: Uint8Array | null = null;
  let sig: Uint8Array | null = null;
  let data: Uint8Array | null = null;
  let topic: string | null = null;
  let seq = -1;
  let hops = -1;
  let seen = 0;
  let at = 1;
  for (let i = 0; i < KEYS.length; i++) {
    const tok = b[at];
    if (tok === undefined || tok < 0xa0 || tok > 0xbf) return null;
    const n = tok - 0xa0;
    const k = at + 1 + n <= b.byteLength ? keyIndexAt(b, at + 1, n) : -1;
    if (k < 0 || seen & (1 << k)) return null;
    seen |= 1 << k;
    at += 1 + n;
    switch (KEYS[k]) {
      case 't':
        if (readAscii(b, at, TAG.length) !== TAG) return null;
        break;
      case 'origin':
        if ((origin = readBin(b, at, PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES)) === null) return null;
        break;
      case 'sig':
        if ((sig = readBin(b, at, SIGNATURE_BYTES, SIGNATURE_BYTES)) === null) return null;
        break;
      case 'data':
        if ((data = readBin(b, at, -1, schemaLimits.gossipDataBytesMax)) === null) return null;
        break;
      case 'topic':
        if ((topic = readAscii(b, at, schemaLimits.topicBytesMax)) === null) return null;
        break;
      case 'seq':
        if ((seq = readUint(b, at, Number.MAX_SAFE_INTEGER)) < 0) return null;
        break;
      case 'hops':
        if ((hops = readUint(b, at, HOPS_MAX)) < 0) return null;
        break;
    }
    at = end;
  }
  if (at !== b.byteLength) return null;
  // Seven distinct known keys were read, so every field is set; the order of the object is the schema's.
  return { t: 'gossip', origin: origin!, seq, topic: topic!, data: data!, hops, sig: sig! };
}
