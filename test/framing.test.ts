import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from 'msgpackr';
import { decodeBody, encodeBody, encodeFrame, FrameDecoder, framingDefaults, nestingDepthMax, sealFrame } from '../src/wire/framing.ts';
import { CipherState } from '../src/net/transport-cipher.ts';
import { isStrongcastError, type ErrorCode } from '../src/errors.ts';
import { PROTOCOL_VERSION, type Message } from '../src/wire/schema.ts';
import { countWork } from './helpers/work.ts';

const bytes = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill);

/** One well-formed message of every type, with field values that exercise every msgpack width we emit. */
const everyType: Message[] = [
  { t: 'graft', ids: bytes(64, 1) },
  { t: 'getchain', from: 65535 },
  { t: 'reject', code: 'ERR_BANNED', reason: 'banned until later, ünïcödé' },
  { t: 'ping', n: 0 },
  { t: 'pong', n: 2 ** 32 + 5 },
  { t: 'getpeers' },
  { t: 'peers', addrs: [{ id: bytes(32, 4), host: 'example.org', port: 1 }, { id: bytes(32, 5), host: '::1', port: 7001 }] },
  { t: 'gossip', origin: bytes(32, 6), seq: Number.MAX_SAFE_INTEGER, topic: 'chat', data: bytes(70_000), hops: 255, sig: bytes(64, 8) },
  { t: 'ds', block: { miner: 3, t0: 1234, ts: 1_700_000_000_000, payload: bytes(300) }, mask: new Uint8Array([9]), signers: [3, 0], sigs: bytes(128), hops: 1 },
];

function frameOfBody(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function expectCode(fn: () => unknown, code: ErrorCode, fragment = ''): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isStrongcastError(e, code), `expected ${code}, got ${String(e)}`);
    assert.ok((e as Error).message.includes(fragment), `message '${(e as Error).message}' lacks '${fragment}'`);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('every message type round-trips through a frame, bin fields as plain Uint8Array', () => {
  for (const m of everyType) {
    const { messages, error } = new FrameDecoder().push(encodeFrame(m));
    assert.is(error, undefined, m.t);
    assert.equal(messages, [m], m.t);
  }
  const [gossip] = new FrameDecoder().push(encodeFrame(everyType[7]!)).messages;
  assert.is((gossip as { data: Uint8Array }).data.constructor, Uint8Array);
});

test('decoded bin fields own their memory, so reusing the input buffer cannot change them', () => {
  const frame = new Uint8Array(encodeFrame({ t: 'graft', ids: bytes(64, 3) }));
  const [m] = new FrameDecoder().push(frame).messages;
  frame.fill(0xee);
  assert.equal((m as { ids: Uint8Array }).ids, bytes(64, 3));
});

test('a frame split into 1-byte chunks, header included, decodes once at its last byte', () => {
  const frame = encodeFrame(everyType[6]!);
  const d = new FrameDecoder();
  for (let i = 0; i < frame.byteLength - 1; i++) {
    const r = d.push(frame.subarray(i, i + 1));
    assert.equal(r, { messages: [], frameBytes: [] });
    assert.is(d.bufferedBytes, i + 1);
  }
  assert.equal(d.push(frame.subarray(frame.byteLength - 1)).messages, [everyType[6]]);
  assert.is(d.bufferedBytes, 0);
});

test('a large frame in many small chunks costs linear time (no quadratic re-concatenation)', () => {
  const m: Message = { t: 'gossip', origin: bytes(32), seq: 1, topic: 't', data: bytes(256 * 1024), hops: 0, sig: bytes(64) };
  const frame = encodeFrame(m);
  const d = new FrameDecoder();
  const out: Message[] = [];
  const { work } = countWork(() => {
    for (let i = 0; i < frame.byteLength; i += 16) out.push(...d.push(frame.subarray(i, i + 16)).messages);
  });
  assert.equal(out, [m]);
  // Bytes copied, not milliseconds (speed is the benchmarks'): each chunk once into the body buffer, which
  // doubles as it grows, so under 3 copies of the frame; re-concatenating on each of the 16k pushes would copy
  // about 2 GB here.
  assert.ok(work <= 4 * frame.byteLength, `copied ${work} bytes for a frame of ${frame.byteLength}`);
});

test('a large frame in small chunks grows its buffer fourfold: the copies on the way cost a third of the frame, not about a whole one more', () => {
  const m: Message = { t: 'gossip', origin: bytes(32), seq: 1, topic: 't', data: bytes(256 * 1024), hops: 0, sig: bytes(64) };
  const frame = encodeFrame(m);
  const d = new FrameDecoder();
  const out: Message[] = [];
  const { work } = countWork(() => {
    for (let i = 0; i < frame.byteLength; i += 64 * 1024) out.push(...d.push(frame.subarray(i, i + 64 * 1024)).messages);
  });
  assert.equal(out, [m]);
  // Each chunk once into the body buffer and the data once out of it (the decoded message's own copy), and
  // the first buffer (64 KiB) once more as it grows to the frame's length; doubling copied 64 and 128 KiB.
  assert.ok(work <= 2 * frame.byteLength, `copied ${work} bytes for a frame of ${frame.byteLength}`);
});

test('a sealed frame is opened in place: the plaintext takes the place of the ciphertext in the bytes read, no buffer of its size is made for it', () => {
  const key = new Uint8Array(32).fill(9);
  const m: Message = { t: 'gossip', origin: bytes(32), seq: 1, topic: 't', data: bytes(64 * 1024, 3), hops: 0, sig: bytes(64) };
  const plain = encodeFrame(m);
  const sealed = sealFrame(plain, new CipherState(key));
  const d = new FrameDecoder({ rx: new CipherState(key) });
  const { messages, error } = d.push(sealed);
  assert.is(error, undefined);
  assert.equal(messages, [m]);
  assert.ok(Buffer.from(sealed.subarray(4, plain.byteLength)).equals(plain.subarray(4)), 'the body read now holds the plaintext');
  // The message keeps none of those bytes: its fields are copies.
  sealed.fill(0);
  assert.equal(messages, [m]);
});

test('chunk boundaries anywhere in a stream of frames give the same messages, each with its size on the wire', () => {
  const frames = everyType.map((m) => encodeFrame(m));
  const stream = concat(...frames);
  for (const cut of [1, 2, 3, 5, 4 + 1, 97, 4096]) {
    const d = new FrameDecoder();
    const out: Message[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < stream.byteLength; i += cut) {
      const r = d.push(stream.subarray(i, i + cut));
      assert.is(r.error, undefined);
      assert.is(r.frameBytes.length, r.messages.length);
      out.push(...r.messages);
      sizes.push(...r.frameBytes);
    }
    assert.equal(out, everyType, `cut ${cut}`);
    assert.equal(sizes, frames.map((f) => f.byteLength), `cut ${cut}: header and body counted`);
  }
});

test('many frames in one chunk all come out, in order', () => {
  const pings = Array.from({ length: 1000 }, (_, n): Message => ({ t: 'ping', n }));
  const { messages, error } = new FrameDecoder().push(concat(...pings.map((m) => encodeFrame(m))));
  assert.is(error, undefined);
  assert.equal(messages, pings);
});

test('a zero-length frame is ERR_FRAME_EMPTY', () => {
  const r = new FrameDecoder().push(new Uint8Array(4));
  assert.equal(r.messages, []);
  assert.ok(isStrongcastError(r.error, 'ERR_FRAME_EMPTY'));
});

test('a body of exactly frameBytesMax is accepted and one byte more is refused from the header alone', () => {
  const m: Message = { t: 'graft', ids: bytes(64) };
  const size = encodeBody(m).byteLength;
  assert.equal(new FrameDecoder({ frameBytesMax: size }).push(encodeFrame(m, size)).messages, [m]);
  const d = new FrameDecoder({ frameBytesMax: size - 1 });
  // the header alone is enough to refuse: no body byte is ever buffered
  const r = d.push(encodeFrame(m).subarray(0, 4));
  assert.ok(isStrongcastError(r.error, 'ERR_FRAME_TOO_LARGE'), String(r.error));
  assert.is(d.bufferedBytes, 0);
});

test('the default limit is 1 MiB: a header of 1 MiB waits for its body, 1 MiB + 1 is refused', () => {
  assert.is(framingDefaults.frameBytesMax, 1024 * 1024);
  const header = (n: number): Uint8Array => {
    const h = new Uint8Array(4);
    new DataView(h.buffer).setUint32(0, n);
    return h;
  };
  const ok = new FrameDecoder();
  assert.equal(ok.push(header(1024 * 1024)), { messages: [], frameBytes: [] });
  ok.push(new Uint8Array(1024 * 1024 - 1));
  assert.is(ok.bufferedBytes, 4 + 1024 * 1024 - 1);
  assert.ok(isStrongcastError(new FrameDecoder().push(header(1024 * 1024 + 1)).error, 'ERR_FRAME_TOO_LARGE'));
  assert.ok(isStrongcastError(new FrameDecoder().push(header(0xffffffff)).error, 'ERR_FRAME_TOO_LARGE'));
});

test('encodeFrame refuses a message above the limit with a typed error naming it', () => {
  const m: Message = { t: 'gossip', origin: bytes(32), seq: 1, topic: 't', data: bytes(200), hops: 0, sig: bytes(64) };
  expectCode(() => encodeFrame(m, 100), 'ERR_FRAME_TOO_LARGE', "'gossip'");
  const size = encodeBody(m).byteLength;
  assert.is(encodeFrame(m, size).byteLength, size + 4);
  expectCode(() => encodeFrame(m, size - 1), 'ERR_FRAME_TOO_LARGE');
});

test('bodies that are not exactly one msgpack value are ERR_BAD_MSGPACK', () => {
  const ping = encodeBody({ t: 'ping', n: 1 });
  expectCode(() => decodeBody(ping.subarray(0, ping.byteLength - 1)), 'ERR_BAD_MSGPACK', 'truncated');
  expectCode(() => decodeBody(concat(ping, new Uint8Array([0]))), 'ERR_BAD_MSGPACK', '1 trailing bytes');
  expectCode(() => decodeBody(concat(ping, ping)), 'ERR_BAD_MSGPACK', 'trailing');
  expectCode(() => decodeBody(new Uint8Array([0xc1])), 'ERR_BAD_MSGPACK', '0xc1');
  expectCode(() => decodeBody(new Uint8Array([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])), 'ERR_BAD_MSGPACK', 'truncated');
  expectCode(() => decodeBody(new Uint8Array([0xc6, 0x7f, 0xff, 0xff, 0xff])), 'ERR_BAD_MSGPACK', 'truncated');
  expectCode(() => decodeBody(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0])), 'ERR_BAD_MSGPACK', 'truncated');
  expectCode(() => decodeBody(new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff])), 'ERR_BAD_MSGPACK', 'truncated');
});

test('valid msgpack that is not a known message is ERR_BAD_MESSAGE', () => {
  expectCode(() => decodeBody(pack([1, 2, 3])), 'ERR_BAD_MESSAGE', 'must be a map');
  expectCode(() => decodeBody(pack({ t: 'nope' })), 'ERR_BAD_MESSAGE', 'unknown message type');
  expectCode(() => decodeBody(pack({ t: 'ping', n: -1 })), 'ERR_BAD_MESSAGE', 'ping.n');
  expectCode(() => decodeBody(pack({ t: 'graft', ids: 'x'.repeat(64) })), 'ERR_BAD_MESSAGE', 'graft.ids must be bytes');
  // a type tag whose String() conversion throws must still come out as a typed error, not a TypeError
  expectCode(() => decodeBody(pack({ t: { toString: 0 } })), 'ERR_BAD_MESSAGE');
  // a uint64 above 2^53 never passes as a safe integer
  expectCode(() => decodeBody(new Uint8Array([0x82, 0xa1, 0x74, 0xa4, ...Buffer.from('ping'), 0xa1, 0x6e, 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 1])), 'ERR_BAD_MESSAGE', 'ping.n');
});

test('msgpack outside our subset is refused before msgpackr builds anything from it', () => {
  // extension types: timestamp (Date), Set, Error, RegExp, typed array, structured-clone id and pointer, records
  for (const ext of [[0xd6, 0xff, 0, 0, 0, 1], [0xd4, 0x73, 0x90], [0xc7, 1, 0x65, 0x93], [0xd4, 0x78, 0], [0xc7, 2, 0x74, 1, 0],
    [0xd6, 0x69, 0, 0, 0, 1], [0xd6, 0x70, 0, 0, 0, 1], [0xd4, 0x72, 0x40], [0xd4, 0, 0]]) {
    expectCode(() => decodeBody(new Uint8Array(ext)), 'ERR_BAD_MESSAGE', 'extension');
    expectCode(() => decodeBody(new Uint8Array([0x82, 0xa1, 0x74, 0xa4, ...Buffer.from('ping'), 0xa1, 0x6e, ...ext])), 'ERR_BAD_MESSAGE', 'extension');
  }
  expectCode(() => decodeBody(new Uint8Array([0x81, 0x01, 0xc0])), 'ERR_BAD_MESSAGE', 'map keys must be strings');
  expectCode(() => decodeBody(new Uint8Array([0x82, 0xa1, 0x74, 0xa4, ...Buffer.from('ping'), 0xa1, 0x74, 0xa4, ...Buffer.from('pong')])), 'ERR_BAD_MESSAGE', 'duplicate map key');
  const deep = new Uint8Array(nestingDepthMax + 1).fill(0x91);
  expectCode(() => decodeBody(concat(deep, new Uint8Array([0xc0]))), 'ERR_BAD_MESSAGE', 'nest deeper');
  // the deepest nesting allowed is still plain msgpack, refused only by the schema
  expectCode(() => decodeBody(concat(deep.subarray(1), new Uint8Array([0xc0]))), 'ERR_BAD_MESSAGE', 'must be a map');
  // a megabyte of nested array headers neither recurses nor allocates
  expectCode(() => decodeBody(new Uint8Array(1024 * 1024).fill(0x91)), 'ERR_BAD_MESSAGE', 'nest deeper');
});

test('__proto__ and constructor keys cannot pollute prototypes or slip through', () => {
  const body = new Uint8Array([0x83, 0xa1, 0x74, 0xa4, ...Buffer.from('ping'), 0xa1, 0x6e, 0x01, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa8, ...Buffer.from('polluted'), 0xc3]);
  expectCode(() => decodeBody(body), 'ERR_BAD_MESSAGE', 'unexpected field');
  expectCode(() => decodeBody(pack({ t: 'ping', n: 1, constructor: { prototype: { polluted: true } } })), 'ERR_BAD_MESSAGE', "unexpected field 'constructor'");
  assert.is(({} as Record<string, unknown>)['polluted'], undefined);
  assert.is((Object.prototype as Record<string, unknown>)['polluted'], undefined);
});

test('a bad frame after good ones in one chunk: the good ones come out first, then the error', () => {
  const chunk = concat(encodeFrame({ t: 'ping', n: 1 }), encodeFrame({ t: 'ping', n: 2 }), frameOfBody(new Uint8Array([0xc1])), encodeFrame({ t: 'ping', n: 3 }));
  const r = new FrameDecoder().push(chunk);
  assert.equal(r.messages, [{ t: 'ping', n: 1 }, { t: 'ping', n: 2 }]);
  assert.ok(isStrongcastError(r.error, 'ERR_BAD_MSGPACK'));
});

test('a dead decoder returns the same error and no messages forever, and holds no bytes', () => {
  const d = new FrameDecoder();
  const first = d.push(concat(frameOfBody(pack({ t: 'nope' })), encodeFrame({ t: 'ping', n: 1 }).subarray(0, 3)));
  assert.ok(isStrongcastError(first.error, 'ERR_BAD_MESSAGE'));
  assert.is(d.error, first.error);
  assert.is(d.bufferedBytes, 0);
  for (let i = 0; i < 3; i++) {
    const later = d.push(encodeFrame({ t: 'ping', n: 1 }));
    assert.equal(later.messages, []);
    assert.is(later.error, first.error);
  }
});

test('frameBytesMax is validated', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
    expectCode(() => new FrameDecoder({ frameBytesMax: bad as number }), 'ERR_INVALID_OPTION', 'options.frameBytesMax must be a positive integer');
  }
});

test.run();
