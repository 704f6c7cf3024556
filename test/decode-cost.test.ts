/**
 * The work a frame body can cost the decoder is bounded before msgpackr runs (issue 16, item 5): counted in
 * msgpack values walked and bodies unpacked (the decoder's meter), not in time, so a loaded machine cannot
 * change the result. Without the caps, a 1 MiB map of 209,000 keys was walked key by key and then built as a
 * 209,000-property object (about 160 ms of main-thread work per frame) before the schema refused it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bodyValuesMax, decodeBody, encodeFrame, FrameDecoder, framingDefaults, mapEntriesMax, type DecodeMeter } from '../src/wire/framing.ts';
import { isStrongcastError, type ErrorCode } from '../src/errors.ts';
import { schemaLimits, type Message } from '../src/wire/schema.ts';

const meter = (): DecodeMeter => ({ valuesWalked: 0, bodiesUnpacked: 0 });

/** Decodes `body` expecting a typed refusal with `code` and `fragment`; returns the work it took. */
function refusedWork(body: Uint8Array, code: ErrorCode, fragment: string): DecodeMeter {
  const m = meter();
  try {
    decodeBody(body, m);
  } catch (e) {
    assert.ok(isStrongcastError(e, code), `expected ${code}, got ${String(e)}`);
    assert.ok((e as Error).message.includes(fragment), `message '${(e as Error).message}' lacks '${fragment}'`);
    return m;
  }
  throw new Error(`expected ${code}, and the body decoded`);
}

/** A msgpack map32 of `n` distinct 3-byte string keys, each with a nil value: 5 bytes an entry. */
function wideMap(n: number): Uint8Array {
  const out = Buffer.alloc(5 + 5 * n);
  out[0] = 0xdf;
  out.writeUInt32BE(n, 1);
  for (let i = 0, at = 5; i < n; i++, at += 5) {
    out[at] = 0xa3;
    out[at + 1] = (i >> 16) & 0xff;
    out[at + 2] = (i >> 8) & 0xff;
    out[at + 3] = i & 0xff;
    out[at + 4] = 0xc0;
  }
  return out;
}

/** An array32 header for `n` items followed by `fill` (one value per byte when fill is a one-byte value). */
function array32(n: number, fill: Uint8Array): Uint8Array {
  const out = Buffer.alloc(5 + fill.byteLength);
  out[0] = 0xdd;
  out.writeUInt32BE(n, 1);
  out.set(fill, 5);
  return out;
}

test('a 1 MiB map of 209,000 keys is refused at its header: one value walked, msgpackr never runs', () => {
  const body = wideMap(209_000);
  assert.ok(body.byteLength <= framingDefaults.frameBytesMax, 'the body fits in one frame');
  const work = refusedWork(body, 'ERR_BAD_MESSAGE', `above ${mapEntriesMax}`);
  assert.equal(work, { valuesWalked: 1, bodiesUnpacked: 0 });
});

test('mapEntriesMax at its edge: a map of that many entries is walked (the schema refuses its fields), one more is refused at the header', () => {
  const atCap = refusedWork(wideMap(mapEntriesMax), 'ERR_BAD_MESSAGE', 'unknown message type');
  // the walk read the map and its entries and handed it on; the schema refused it (no 't' field)
  assert.equal(atCap, { valuesWalked: 1 + 2 * mapEntriesMax, bodiesUnpacked: 1 });
  assert.equal(refusedWork(wideMap(mapEntriesMax + 1), 'ERR_BAD_MESSAGE', 'entries'), { valuesWalked: 1, bodiesUnpacked: 0 });
});

test('bodyValuesMax at its edge: a body declaring exactly that many values is walked, one more is refused at the header that declares it', () => {
  const nils = (n: number): Uint8Array => new Uint8Array(n).fill(0xc0);
  // the array itself and its items: 1 + (bodyValuesMax - 1) values
  const atCap = refusedWork(array32(bodyValuesMax - 1, nils(bodyValuesMax - 1)), 'ERR_BAD_MESSAGE', 'must be a map');
  assert.equal(atCap, { valuesWalked: bodyValuesMax, bodiesUnpacked: 1 });
  const over = refusedWork(array32(bodyValuesMax, nils(bodyValuesMax)), 'ERR_BAD_MESSAGE', `more than ${bodyValuesMax}`);
  assert.equal(over, { valuesWalked: 1, bodiesUnpacked: 0 });
});

test('no 1 MiB body costs the walk more than bodyValuesMax values, and none that breaks the caps reaches msgpackr', () => {
  const mib = framingDefaults.frameBytesMax;
  const nestedArrays = Buffer.alloc(mib);
  // an array of arrays of 16 nils, declared one level at a time: each inner header adds 16 to the count
  nestedArrays[0] = 0xdd;
  nestedArrays.writeUInt32BE(Math.floor((mib - 5) / 17), 1);
  for (let at = 5; at + 17 <= mib; at += 17) {
    nestedArrays[at] = 0xdc;
    nestedArrays.writeUInt16BE(16, at + 1);
    nestedArrays.fill(0xc0, at + 3, at + 17);
  }
  const smallMaps = Buffer.alloc(mib);
  // an array of one-entry maps {'a': nil}: 4 bytes and 3 values each
  smallMaps[0] = 0xdd;
  smallMaps.writeUInt32BE(Math.floor((mib - 5) / 4), 1);
  for (let at = 5; at + 4 <= mib; at += 4) smallMaps.set([0x81, 0xa1, 0x61, 0xc0], at);
  const bodies: Array<[string, Uint8Array]> = [
    ['a million nils', array32(mib - 5, new Uint8Array(mib - 5).fill(0xc0))],
    ['a million fixints', array32(mib - 5, new Uint8Array(mib - 5).fill(0x01))],
    ['arrays of arrays', nestedArrays.subarray(0, 5 + 17 * Math.floor((mib - 5) / 17))],
    ['small maps', smallMaps.subarray(0, 5 + 4 * Math.floor((mib - 5) / 4))],
    ['a wide map', wideMap(Math.floor((mib - 5) / 5))],
  ];
  for (const [what, body] of bodies) {
    assert.ok(body.byteLength <= mib, `${what} fits in a frame`);
    const m = meter();
    try {
      decodeBody(body, m);
      assert.unreachable(`${what} decoded`);
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_BAD_MESSAGE'), `${what}: ${String(e)}`);
    }
    assert.ok(m.valuesWalked <= bodyValuesMax, `${what}: ${m.valuesWalked} values walked`);
    assert.is(m.bodiesUnpacked, 0, `${what} reached msgpackr`);
  }
});

test('the largest legal message of every kind with lists still decodes under the caps', () => {
  const b = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);
  const v = schemaLimits.validatorsMax;
  const largest: Message[] = [
    { t: 'outcome', signer: v - 1, t0: 2 ** 40, height: 2 ** 40, blocks: Array.from({ length: v }, (_, i) => ({ miner: i, hash: b(32, i & 0xff) })), sig: b(64) },
    { t: 'ds', block: { miner: 0, t0: 1, ts: 2, payload: b(10) }, mask: b(v / 8, 0xff), signers: Array.from({ length: v }, (_, i) => i), sigs: b(64 * v), hops: 255 },
    {
      t: 'chain',
      statement: {
        signer: 1,
        round: 2,
        height: 3,
        tip: b(32),
        digest: b(32, 2),
        syncing: true,
        heldFrom: 4,
        appendsFrom: 5,
        decided: { from: 0, through: 2 ** 40, blocks: Array.from({ length: schemaLimits.decidedBlocksPerStatementMax }, (_, i) => ({ miner: v - 1, t0: i, hash: b(32, i) })) },
        sig: b(64),
      },
      blocks: Array.from({ length: schemaLimits.chainBlocksPerReplyMax }, (_, i) => ({ miner: i, t0: i, ts: i, payload: b(8), height: i, parent: b(32) })),
    },
    { t: 'peers', addrs: Array.from({ length: schemaLimits.peersPerReplyMax }, (_, i) => ({ id: b(32, i), host: 'h'.repeat(255), port: 1 + i })) },
  ];
  for (const msg of largest) {
    const d = new FrameDecoder({ frameBytesMax: framingDefaults.frameBytesMax });
    const { messages, error } = d.push(encodeFrame(msg));
    assert.is(error, undefined, `${msg.t}: ${error?.message}`);
    assert.equal(messages, [msg], msg.t);
    assert.ok(d.work.valuesWalked <= bodyValuesMax, `${msg.t} walked ${d.work.valuesWalked} values`);
  }
});

test.run();
