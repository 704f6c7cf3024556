/**
 * The gossip codec against the general path: whatever the fast reader accepts, the full gates accept with the
 * same result; what it declines is left to them; and every frame we write, the full gates read back exactly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBodyInFull, decodeBody, encodeBody, FRAME_HEADER_BYTES } from '../src/wire/framing.ts';
import { decodeGossipBody, encodeGossipFrame } from '../src/wire/gossip-codec.ts';
import { schemaLimits, type GossipMessage, type Message } from '../src/wire/schema.ts';
import { StrongcastError } from '../src/errors.ts';
import { Prng } from '../src/sim/prng.ts';

const frameMax = 1024 * 1024;

/** Uniform integer in [0, n). */
const below = (rng: Prng, n: number): number => rng.int(0, n - 1);

function bytes(rng: Prng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = below(rng, 256);
  return b;
}

/** Sequence numbers across every integer width, and the edges of each. */
const seqs = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 1.7e15, Number.MAX_SAFE_INTEGER];
const dataSizes = [0, 1, 128, 255, 256, 65535, 65536, 70_000];

function message(rng: Prng, i: number): GossipMessage {
  const topicLen = i % (schemaLimits.topicBytesMax + 1);
  let topic = '';
  for (let c = 0; c < topicLen; c++) topic += String.fromCharCode(0x20 + below(rng, 0x5f));
  return {
    t: 'gossip',
    origin: bytes(rng, 32),
    seq: seqs[i % seqs.length]!,
    topic,
    data: bytes(rng, dataSizes[i % dataSizes.length]!),
    hops: i % 256,
    sig: bytes(rng, 64),
  };
}

const bodyOf = (frame: Buffer): Buffer => frame.subarray(FRAME_HEADER_BYTES);

/** The general path's verdict: the message, or the error code. */
function full(body: Uint8Array): Message | string {
  try {
    return decodeBodyInFull(body);
  } catch (e) {
    if (e instanceof StrongcastError) return e.code;
    throw e;
  }
}

test('every frame we write is read back exactly by the general path and by the fast reader, at every field width', () => {
  const rng = new Prng(7);
  for (let i = 0; i < 400; i++) {
    const m = message(rng, i);
    const frame = encodeGossipFrame(m, m.hops, frameMax);
    assert.is(frame.readUInt32BE(0), frame.byteLength - FRAME_HEADER_BYTES, 'the header states the body length');
    assert.equal(full(bodyOf(frame)), m, `general path, message ${i}`);
    assert.equal(decodeGossipBody(bodyOf(frame)), m, `fast reader, message ${i}`);
  }
});

test('a relay frame differs only in its hop count', () => {
  const m = message(new Prng(3), 5);
  for (const hops of [0, 1, 127, 128, 255]) {
    assert.equal(decodeBody(bodyOf(encodeGossipFrame(m, hops, frameMax))), { ...m, hops });
  }
});

test('the fast reader gives the general path result for what msgpackr writes, or declines it', () => {
  const rng = new Prng(11);
  let fast = 0;
  for (let i = 0; i < 200; i++) {
    const m = message(rng, i);
    const body = encodeBody(m);
    const got = decodeGossipBody(body);
    if (got === null) continue;
    fast++;
    assert.equal(got, full(body));
  }
  assert.ok(fast > 100, `most msgpackr encodings take the fast path (${fast} of 200)`);
});

test('mutated bodies: whatever the fast reader accepts, the general path accepts with the same message', () => {
  const rng = new Prng(13);
  let accepted = 0;
  let declined = 0;
  for (let i = 0; i < 10_000; i++) {
    // small payloads: the headers and keys are where a mutation changes the shape
    const m = { ...message(rng, i % 64), data: bytes(rng, below(rng, 300)) };
    const body = Uint8Array.from(bodyOf(encodeGossipFrame(m, m.hops, frameMax)));
    let mutated: Uint8Array;
    const kind = below(rng, 4);
    if (kind === 0) {
      mutated = body.slice();
      for (let f = 0, n = 1 + below(rng, 3); f < n; f++) mutated[below(rng, mutated.byteLength)] = below(rng, 256);
    } else if (kind === 1) mutated = body.slice(0, below(rng, body.byteLength));
    else if (kind === 2) mutated = Uint8Array.from([...body, below(rng, 256)]);
    else {
      // small integers rewritten at a header byte: the typical way a field changes its type or length
      mutated = body.slice();
      const at = below(rng, Math.min(mutated.byteLength, 80));
      mutated[at] = [0x86, 0x88, 0xa1, 0xbf, 0xc4, 0xc5, 0xcb, 0xcc, 0xcf, 0xd0, 0xd9, 0xc1][below(rng, 12)]!;
    }
    const got = decodeGossipBody(mutated);
    if (got === null) {
      declined++;
      continue;
    }
    accepted++;
    assert.equal(full(mutated), got, `mutation ${i} (kind ${kind})`);
  }
  assert.ok(accepted > 1000 && declined > 1000, `both outcomes exercised: ${accepted} accepted, ${declined} declined`);
  console.log(`  mutated gossip bodies: ${accepted} read by the fast path (each confirmed), ${declined} left to the general path`);
});

test('shapes the fast reader declines, and the general path refuses, each for its own reason', () => {
  const m = message(new Prng(5), 3);
  const body = (o: Record<string, unknown>): Uint8Array => encodeBody(o as unknown as Message);
  const cases: [string, Uint8Array, string][] = [
    ['an eighth field', body({ ...m, extra: 1 }), 'ERR_BAD_MESSAGE'],
    ['a missing field', body({ t: 'gossip', origin: m.origin, seq: m.seq, topic: m.topic, data: m.data, hops: m.hops }), 'ERR_BAD_MESSAGE'],
    ['an origin of 31 bytes', body({ ...m, origin: m.origin.subarray(0, 31) }), 'ERR_BAD_MESSAGE'],
    ['a topic one byte over its limit', body({ ...m, topic: 'x'.repeat(schemaLimits.topicBytesMax + 1) }), 'ERR_BAD_MESSAGE'],
    ['hops of 256', body({ ...m, hops: 256 }), 'ERR_BAD_MESSAGE'],
    ['data one byte over its limit', body({ ...m, data: new Uint8Array(schemaLimits.gossipDataBytesMax + 1) }), 'ERR_BAD_MESSAGE'],
    ['a trailing byte', Uint8Array.from([...bodyOf(encodeGossipFrame(m, 0, frameMax)), 0]), 'ERR_BAD_MSGPACK'],
  ];
  for (const [what, b, code] of cases) {
    assert.is(decodeGossipBody(b), null, `fast reader declines ${what}`);
    assert.is(full(b), code, `general path refuses ${what}`);
  }
  // A key given twice (and so another missing): written by hand, since an encoder cannot produce it. The
  // two values are both valid hop counts, so only the duplicate check can refuse it.
  const plain = bodyOf(encodeGossipFrame({ ...m, seq: 5 }, 9, frameMax));
  const seqEntry = Buffer.from([0xa3, ...Buffer.from('seq'), 0x05]);
  const at = plain.indexOf(seqEntry);
  assert.ok(at > 0, 'the seq entry is where the encoder put it');
  const twice = Buffer.concat([plain.subarray(0, at), Buffer.from([0xa4, ...Buffer.from('hops'), 0x05]), plain.subarray(at + seqEntry.byteLength)]);
  assert.is(decodeGossipBody(twice), null, 'fast reader declines a key given twice');
  assert.is(full(twice), 'ERR_BAD_MESSAGE', 'general path refuses a key given twice');
});

test('topics outside ASCII are left to the general path, which reads them as UTF-8', () => {
  const m = { ...message(new Prng(9), 2), topic: 'chat-\u00e9\u4e16' };
  const body = bodyOf(encodeGossipFrame(m, 0, frameMax));
  assert.is(decodeGossipBody(body), null);
  assert.equal(decodeBody(body), { ...m, hops: 0 });
});

test('bin fields come back as plain Uint8Array copies, not views into the network chunk', () => {
  const m = message(new Prng(17), 4);
  const frame = encodeGossipFrame(m, 0, frameMax);
  const got = decodeGossipBody(bodyOf(frame))!;
  for (const k of ['origin', 'data', 'sig'] as const) {
    assert.is(Object.getPrototypeOf(got[k]), Uint8Array.prototype, `${k} is a plain Uint8Array`);
    assert.is.not(got[k].buffer, frame.buffer, `${k} has its own memory`);
  }
});

test('encodeGossipFrame enforces frameBytesMax at its edge, with the same error as encodeFrame', () => {
  const m = message(new Prng(19), 1);
  const size = encodeGossipFrame(m, 0, frameMax).byteLength - FRAME_HEADER_BYTES;
  assert.is(encodeGossipFrame(m, 0, size).byteLength, size + FRAME_HEADER_BYTES, 'a body exactly at the limit');
  try {
    encodeGossipFrame(m, 0, size - 1);
    assert.unreachable('one byte over must throw');
  } catch (e) {
    assert.instance(e, StrongcastError);
    assert.is((e as StrongcastError).code, 'ERR_FRAME_TOO_LARGE');
  }
});

test.run();
