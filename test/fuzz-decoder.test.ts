/**
 * Fuzzes the frame decoder with random and mutated frames. Every run takes the fixed seeds and one random
 * seed, printed, each for an equal share of the cases; a failure names its seed, and
 * `FUZZ_SEED=<seed> npm test -- fuzz-decoder` replays that one alone (the same cases: each test starts every
 * seed's generator afresh).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Packr } from 'msgpackr';
import { decodeBody, encodeFrame, FrameDecoder } from '../src/wire/framing.ts';
import { StrongcastError, type ErrorCode } from '../src/errors.ts';
import { decodeMessage, PROTOCOL_VERSION, type Message } from '../src/wire/schema.ts';
import { prng } from '../src/sim/prng.ts';

/** Seeds run every time, plus one random seed, printed; FUZZ_SEED=<seed> runs only that one. */
const fixedSeeds = [1, 2];
const replay = process.env['FUZZ_SEED'];
const randomSeed = Math.floor(Math.random() * 2 ** 32);
const seeds = replay === undefined ? [...fixedSeeds, randomSeed] : [Number(replay) >>> 0];
if (replay === undefined) console.log(`  random seed ${randomSeed} (replay with FUZZ_SEED=${randomSeed})`);
/** Each seed's share of a test's cases: the same in a replay as in the run that failed. */
const share = (total: number): number => Math.ceil(total / (fixedSeeds.length + 1));
/** Of a coverage count asked of a whole run, the part the seeds run here must reach. */
const ofRun = (count: number): number => Math.floor((count * seeds.length) / (fixedSeeds.length + 1));

let rand = prng(0);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const randomBytes = (n: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
};

/** Codes a peer's bytes may produce; anything else (or a throw) is a decoder bug. */
const peerCodes = new Set<ErrorCode>(['ERR_FRAME_EMPTY', 'ERR_FRAME_TOO_LARGE', 'ERR_BAD_MSGPACK', 'ERR_BAD_MESSAGE']);
const frameBytesMax = 4096;

function validMessage(): Message {
  const b = (n: number): Uint8Array => randomBytes(n);
  switch (int(9)) {
    case 0: return { t: 'graft', ids: b(32 * (1 + int(4))) };
    case 1: return { t: 'getchain', from: int(2 ** 40) };
    case 2: return { t: 'reject', code: 'ERR_BANNED', reason: 'r'.repeat(int(20)) };
    case 3: return { t: 'ping', n: int(2 ** 40) };
    case 4: return { t: 'pong', n: int(300) };
    case 5: return { t: 'getpeers' };
    case 6: return { t: 'peers', addrs: Array.from({ length: int(3) }, () => ({ id: b(32), host: 'x', port: 1 + int(65535) })) };
    case 7: return { t: 'gossip', origin: b(32), seq: int(1e9), topic: 'chat', data: b(int(200)), hops: int(256), sig: b(64) };
    default: {
      const n = 1 + int(3);
      return { t: 'ds', block: { miner: int(1024), t0: int(1e6), ts: int(2 ** 41), payload: b(int(100)) }, mask: b(int(5)), signers: Array.from({ length: n }, () => int(1024)), sigs: b(64 * n), hops: int(256) };
    }
  }
}

/**
 * The packer an attacker might use: records and every extension type on. It remembers the record shapes it
 * has packed, so each seed starts with new packers (a replayed seed packs the same bytes).
 */
const packers = (): Packr[] => [new Packr({ useRecords: true, moreTypes: true, structuredClone: true, useBigIntExtension: true }), new Packr({ useRecords: false })];
let [hostilePackr, plainPackr] = packers() as [Packr, Packr];
const fieldNames = ['t', 'v', 'net', 'key', 'host', 'port', 'nonce', 'sig', 'n', 'addrs', 'origin', 'seq', 'topic', 'data', 'hops', 'block', 'miner', 'mask', 'signers', 'sigs', '__proto__', 'constructor', 'toString'];

function wrongShapeValue(depth = 0): unknown {
  switch (int(depth > 3 ? 9 : 13)) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return int(2 ** 32) - 2 ** 31;
    case 3: return rand() * 1e20 - 5e19;
    case 4: return pick(['hello', 'auth', 'ping', 'gossip', 'ds', 'peers', '', 'x'.repeat(int(100))]);
    case 5: return randomBytes(pick([0, 31, 32, 33, 64, 65]));
    case 6: return pick([new Date(int(1e12)), new Set([1]), new Map([[1, 2]]), new Error('e'), /re/g, new Float64Array(2), 2n ** 70n]);
    case 7: return Number.MAX_SAFE_INTEGER + int(10);
    case 8: return pick([-1, 1.5, NaN, Infinity]);
    case 9:
    case 10: {
      const o: Record<string, unknown> = {};
      if (rand() < 0.7) o['t'] = pick(['hello', 'auth', 'reject', 'ping', 'pong', 'getpeers', 'peers', 'gossip', 'ds']);
      for (let i = int(8); i > 0; i--) o[pick(fieldNames)] = wrongShapeValue(depth + 1);
      return o;
    }
    case 11: {
      // a valid message with one field replaced
      const m = validMessage() as unknown as Record<string, unknown>;
      m[pick(fieldNames)] = wrongShapeValue(depth + 1);
      return m;
    }
    default: return Array.from({ length: int(5) }, () => wrongShapeValue(depth + 1));
  }
}

/** msgpack of a random wrong-shaped value; msgpackr refuses to pack a few of them (huge BigInts without the
 * extension, odd typed arrays), and then random bytes stand in. */
function wrongShapeBody(): Uint8Array {
  const value = wrongShapeValue();
  try {
    return pick([hostilePackr, plainPackr]).pack(value);
  } catch {
    return randomBytes(int(64));
  }
}

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

function mutate(f: Uint8Array): Uint8Array {
  const out = new Uint8Array(f);
  switch (int(6)) {
    case 0: // bit flips
      for (let i = 1 + int(4); i > 0; i--) out[int(out.length)]! ^= 1 << int(8);
      return out;
    case 1: // truncation
      return out.subarray(0, int(out.length));
    case 2: // length-field corruption
      new DataView(out.buffer).setUint32(0, pick([0, 1, out.length - 5, out.length - 3, frameBytesMax, frameBytesMax + 1, 0xffffffff, int(2 ** 32)]));
      return out;
    case 3: { // splice of two valid frames at random points
      const other = encodeFrame(validMessage());
      return new Uint8Array(Buffer.concat([out.subarray(0, int(out.length)), other.subarray(int(other.length))]));
    }
    case 4: // random byte overwrites in the body
      for (let i = 1 + int(8); i > 0; i--) out[4 + int(Math.max(1, out.length - 4))] = int(256);
      return out;
    default: // insert or delete a byte inside the body, keeping the header
      return int(2) === 0 && out.length > 5
        ? new Uint8Array(Buffer.concat([out.subarray(0, 4 + int(out.length - 4)), out.subarray(5 + int(out.length - 5))]))
        : new Uint8Array(Buffer.concat([out.subarray(0, 4 + int(out.length - 4)), randomBytes(1), out.subarray(4)]));
  }
}

function randomInput(): Uint8Array {
  switch (int(5)) {
    case 0: return frame(randomBytes(int(64)));
    case 1: return randomBytes(int(64));
    case 2: return frame(wrongShapeBody());
    case 3: return mutate(encodeFrame(validMessage()));
    default: return mutate(frame(wrongShapeBody()));
  }
}

/** How often each outcome happened, to check the fuzzer reaches every path rather than one. */
const outcomes = new Map<string, number>();

function checkResult(r: { messages: Message[]; error?: StrongcastError }, d: FrameDecoder): void {
  if (r.error !== undefined) {
    assert.ok(r.error instanceof StrongcastError && peerCodes.has(r.error.code), `unexpected error ${String(r.error)}`);
    outcomes.set(r.error.code, (outcomes.get(r.error.code) ?? 0) + 1);
  }
  if (r.messages.length > 0) outcomes.set('messages', (outcomes.get('messages') ?? 0) + 1);
  // whatever comes out is a well-formed message: decoding it again changes nothing
  for (const m of r.messages) assert.equal(decodeMessage(m), m);
  assert.ok(d.bufferedBytes <= 4 + frameBytesMax, `bufferedBytes ${d.bufferedBytes}`);
}

/** Runs `body` once per seed, with the generator started afresh from that seed; `after` once at the end. */
function withSeeds(name: string, body: () => void, after: () => void = () => undefined): void {
  test(`${name} (seeds ${seeds.join(', ')})`, () => {
    for (const seed of seeds) {
      rand = prng(seed);
      [hostilePackr, plainPackr] = packers() as [Packr, Packr];
      try {
        body();
      } catch (e) {
        console.error(`fuzz failure with seed ${seed}: replay with FUZZ_SEED=${seed}`);
        throw e;
      }
    }
    after();
  });
}

const cases = 100_000;
let heapBefore = 0;

withSeeds(`${cases} random and mutated frames: typed errors only, bounded buffers`, () => {
  heapBefore ||= process.memoryUsage().heapUsed;
  for (let i = 0; i < share(cases); i++) {
    const input = randomInput();
    const d = new FrameDecoder({ frameBytesMax });
    // deliver in one piece or in random pieces; a valid frame appended checks the decoder keeps going
    const stream = int(4) === 0 ? new Uint8Array(Buffer.concat([input, encodeFrame(validMessage())])) : input;
    if (int(2) === 0) {
      checkResult(d.push(stream), d);
    } else {
      for (let at = 0; at < stream.length;) {
        const n = 1 + int(16);
        checkResult(d.push(stream.subarray(at, at + n)), d);
        at += n;
      }
    }
  }
}, () => {
  for (const outcome of [...peerCodes, 'messages']) {
    assert.ok((outcomes.get(outcome) ?? 0) > ofRun(100), `fuzzer rarely reached ${outcome}: ${JSON.stringify([...outcomes])}`);
  }
  // garbage may still be uncollected, but a leak of every input would be far above this
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 256 * 1024 * 1024, 'heap grew by more than 256 MiB');
});

withSeeds('decodeBody on random msgpack values of the wrong shape throws only typed errors', () => {
  for (let i = 0; i < share(20_000); i++) {
    const body = wrongShapeBody();
    try {
      const m = decodeBody(body);
      assert.equal(decodeMessage(m), m);
    } catch (e) {
      assert.ok(e instanceof StrongcastError && peerCodes.has(e.code), `unexpected error ${String(e)}`);
    }
  }
});

withSeeds('one long-lived decoder fed a stream of valid frames split at random points keeps every message', () => {
  const d = new FrameDecoder({ frameBytesMax });
  const sent: Message[] = [];
  const got: Message[] = [];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) {
    const m = validMessage();
    sent.push(m);
    parts.push(encodeFrame(m));
  }
  const stream = Buffer.concat(parts);
  for (let at = 0; at < stream.length;) {
    const n = 1 + int(300);
    const r = d.push(stream.subarray(at, at + n));
    assert.is(r.error, undefined);
    got.push(...r.messages);
    at += n;
  }
  assert.equal(got, sent);
});

// No time budget here: the work is fixed by the case counts above, and speed is the benchmarks' to hold.

test.run();
