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
import { StrongcastError } from './errors.ts';
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
  return at + b.write(s, at, 'utf8');
}

function writeKey(b: Buffer, at: number, k: Key): number {
  b[at++] = 0xa0 | k.length;
  return at + b.write(k, at, 'latin1');
}

/**
 * One whole frame (length header and body) of a gossip message with `hops` in place of its own, the same
 * bytes for every peer (a relay is encoded once). The caller has checked the message's fields: our own
 * broadcast, or one the decoder accepted.
 * @throws StrongcastError ERR_FRAME_TOO_LARGE when the body exceeds `frameBytesMax`, as encodeFrame does.
 */
export function encodeGossipFrame(msg: GossipMessage, hops: number, frameBytesMax: number): Buffer {
  const topicBytes = Buffer.byteLength(msg.topic, 'utf8');
  let size = 1;
  for (const k of KEYS) size += 1 + k.length;
  size += 1 + TAG.length;
  size += binHeaderBytes(msg.origin.byteLength) + msg.origin.byteLength;
  size += uintBytes(msg.seq);
  size += strHeaderBytes(topicBytes) + topicBytes;
  size += binHeaderBytes(msg.data.byteLength) + msg.data.byteLength;
  size += uintBytes(hops);
  size += binHeaderBytes(msg.sig.byteLength) + msg.sig.byteLength;
  if (size > frameBytesMax) throw new StrongcastError('ERR_FRAME_TOO_LARGE', `a 'gossip' message encodes to ${size} bytes, above frameBytesMax ${frameBytesMax}`);
  const b = Buffer.allocUnsafe(HEADER_BYTES + size);
  b.writeUInt32BE(size, 0);
  let at = HEADER_BYTES;
  b[at++] = FIXMAP_7;
  at = writeKey(b, at, 't');
  at = writeStr(b, at, TAG, TAG.length);
  at = writeKey(b, at, 'origin');
  at = writeBin(b, at, msg.origin);
  at = writeKey(b, at, 'seq');
  at = writeUint(b, at, msg.seq);
  at = writeKey(b, at, 'topic');
  at = writeStr(b, at, msg.topic, topicBytes);
  at = writeKey(b, at, 'data');
  at = writeBin(b, at, msg.data);
  at = writeKey(b, at, 'hops');
  at = writeUint(b, at, hops);
  at = writeKey(b, at, 'sig');
  writeBin(b, at, msg.sig);
  return b;
}

/** The field a key names, or undefined; compares the key's bytes in place, without making a string. */
function keyAt(b: Uint8Array, at: number, n: number): Key | undefined {
  for (const k of KEYS) {
    if (k.length !== n) continue;
    let same = true;
    for (let i = 0; i < n; i++) {
      if (b[at + i] !== k.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (same) return k;
  }
  return undefined;
}

/** A read value and the position after it, or null when it is not in the fast shape. */
interface Read<T> {
  v: T;
  at: number;
}

/** An unsigned integer up to `max` (fixint, uint 8/16/32/64). */
function readUint(b: Uint8Array, at: number, max: number): Read<number> | null {
  const end = b.byteLength;
  if (at >= end) return null;
  const tok = b[at]!;
  let v: number;
  let next: number;
  if (tok < 0x80) {
    v = tok;
    next = at + 1;
  } else if (tok === 0xcc && at + 2 <= end) {
    v = b[at + 1]!;
    next = at + 2;
  } else if (tok === 0xcd && at + 3 <= end) {
    v = (b[at + 1]! << 8) | b[at + 2]!;
    next = at + 3;
  } else if (tok === 0xce && at + 5 <= end) {
    v = ((b[at + 1]! << 24) >>> 0) + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
    next = at + 5;
  } else if (tok === 0xcf && at + 9 <= end) {
    const hi = ((b[at + 1]! << 24) >>> 0) + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
    const lo = ((b[at + 5]! << 24) >>> 0) + ((b[at + 6]! << 16) | (b[at + 7]! << 8) | b[at + 8]!);
    v = hi * 0x100000000 + lo;
    next = at + 9;
  } else return null;
  return v <= max ? { v, at: next } : null;
}

/** A bin of `exact` bytes, or of at most `max`, copied into its own memory. */
function readBin(b: Uint8Array, at: number, exact: number | undefined, max: number): Read<Uint8Array> | null {
  const end = b.byteLength;
  if (at >= end) return null;
  const tok = b[at]!;
  let n: number;
  let start: number;
  if (tok === 0xc4 && at + 2 <= end) {
    n = b[at + 1]!;
    start = at + 2;
  } else if (tok === 0xc5 && at + 3 <= end) {
    n = (b[at + 1]! << 8) | b[at + 2]!;
    start = at + 3;
  } else if (tok === 0xc6 && at + 5 <= end) {
    n = ((b[at + 1]! << 24) >>> 0) + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
    start = at + 5;
  } else return null;
  if ((exact !== undefined && n !== exact) || n > max || start + n > end) return null;
  return { v: b.slice(start, start + n), at: start + n };
}

/** A str of ASCII only (so every decoder reads the same string), at most `max` bytes. */
function readAscii(b: Uint8Array, at: number, max: number): Read<string> | null {
  const end = b.byteLength;
  if (at >= end) return null;
  const tok = b[at]!;
  let n: number;
  let start: number;
  if (tok >= 0xa0 && tok <= 0xbf) {
    n = tok - 0xa0;
    start = at + 1;
  } else if (tok === 0xd9 && at + 2 <= end) {
    n = b[at + 1]!;
    start = at + 2;
  } else if (tok === 0xda && at + 3 <= end) {
    n = (b[at + 1]! << 8) | b[at + 2]!;
    start = at + 3;
  } else return null;
  if (n > max || start + n > end) return null;
  let s = '';
  for (let i = start; i < start + n; i++) {
    const c = b[i]!;
    if (c >= 0x80) return null;
    s += String.fromCharCode(c);
  }
  return { v: s, at: start + n };
}

/** Reads one field's value at `at` into `out`; the position after it, or -1 when not in the fast shape. */
function readField(b: Uint8Array, at: number, k: Key, out: Partial<GossipMessage>): number {
  switch (k) {
    case 't': {
      const r = readAscii(b, at, TAG.length);
      if (!r || r.v !== TAG) return -1;
      out.t = TAG;
      return r.at;
    }
    case 'origin':
    case 'sig': {
      const r = readBin(b, at, k === 'origin' ? PUBLIC_KEY_BYTES : SIGNATURE_BYTES, SIGNATURE_BYTES);
      if (!r) return -1;
      out[k] = r.v;
      return r.at;
    }
    case 'seq':
    case 'hops': {
      const r = readUint(b, at, k === 'seq' ? Number.MAX_SAFE_INTEGER : HOPS_MAX);
      if (!r) return -1;
      out[k] = r.v;
      return r.at;
    }
    case 'topic': {
      const r = readAscii(b, at, schemaLimits.topicBytesMax);
      if (!r) return -1;
      out.topic = r.v;
      return r.at;
    }
    case 'data': {
      const r = readBin(b, at, undefined, schemaLimits.gossipDataBytesMax);
      if (!r) return -1;
      out.data = r.v;
      return r.at;
    }
  }
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

function readGossipMap(body: Uint8Array): GossipMessage | null {
  const out: Partial<GossipMessage> = {};
  let seen = 0;
  let at = 1;
  for (let i = 0; i < KEYS.length; i++) {
    const tok = body[at];
    if (tok === undefined || tok < 0xa0 || tok > 0xbf) return null;
    const n = tok - 0xa0;
    const k = at + 1 + n <= body.byteLength ? keyAt(body, at + 1, n) : undefined;
    if (k === undefined) return null;
    const bit = 1 << KEYS.indexOf(k);
    if (seen & bit) return null;
    seen |= bit;
    at = readField(body, at + 1 + n, k, out);
    if (at < 0) return null;
  }
  if (at !== body.byteLength) return null;
  // Seven distinct known keys were read, so every field is set; the order of the object is the schema's.
  return { t: 'gossip', origin: out.origin!, seq: out.seq!, topic: out.topic!, data: out.data!, hops: out.hops!, sig: out.sig! };
}
