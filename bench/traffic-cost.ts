/**
 * What counting frames by message type (src/core/traffic.ts) adds per frame, beside the work a frame costs
 * anyway. Ad hoc: prints its table, writes nothing.
 *
 *   node --import tsx bench/traffic-cost.ts
 *
 * Rows: the count of a received frame (`received(t)`, a key check and an increment) over a mix of types, the
 * count of a sent gossip frame (one increment), and for scale the cheapest step every received broadcast takes
 * before any signature check: decoding its 128-byte body on the fast path.
 */
import { TrafficCounters } from '../src/core/traffic.ts';
import { encodeGossipFrame, decodeGossipBody } from '../src/wire/gossip-codec.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { environment, opsPerSecond } from './lib.ts';
import type { Message } from '../src/wire/schema.ts';

const durationMs = 2000;
const traffic = new TrafficCounters();
const types: Message['t'][] = ['gossip', 'gossip', 'gossip', 'ihave', 'gossip', 'graft', 'ds', 'gossip'];
const id = generateIdentity();
const frame = encodeGossipFrame({ t: 'gossip', origin: id.publicKey, seq: 1, topic: 'chat', data: new Uint8Array(128), hops: 0, sig: new Uint8Array(64) }, 0, 1 << 20);
const body = frame.subarray(4);
let sink = 0;

const rows = [
  ['received(type, bytes), mixed types', opsPerSecond((i) => traffic.received(types[i & 7]!, frame.byteLength), durationMs)],
  ["sent('gossip', 1, bytes)", opsPerSecond(() => traffic.sent('gossip', 1, frame.byteLength), durationMs)],
  ['decode a 128-byte broadcast (fast path)', opsPerSecond(() => void (sink += decodeGossipBody(body)!.seq), durationMs)],
] as const;
const env = environment();
console.log(`traffic-cost: ${env.date}, ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, ${durationMs} ms per row`);
for (const [what, r] of rows) console.log(`${what.padEnd(42)} ${(1e9 / r.perCpuSec).toFixed(1).padStart(8)} ns/op`);
const [recv, , decode] = rows.map(([, r]) => 1e9 / r.perCpuSec) as [number, number, number];
console.log(`counting a received frame costs ${((100 * recv) / decode).toFixed(2)}% of decoding it (and a signature check, ~50 us with sodium, dwarfs both)`);
if (sink === 0 || traffic.in.gossip === 0) throw new Error('nothing measured');
