/**
 * Decode benchmark: the CPU time and the memory allocated per frame body on the general decoding path
 * (`decodeBodyInFull`: the strict msgpack walk, msgpackr, the schema check), which every frame that is not a
 * plain broadcast takes: consensus chains, outcomes, ihave, graft, pings. Allocation matters beside time:
 * V8 grows its young generation with the allocation rate, and a node's peak memory under a burst of small
 * frames grew with it.
 *
 * Time: a warmed-up loop over one body, on this thread. Allocation: the same loop in a child process with a
 * 1 MiB young generation and `--trace-gc-nvp`, summing the bytes allocated between scavenges, less the same
 * child running an empty loop, per frame.
 *
 *   npm run bench -- decode [--quick]
 *   node --import tsx bench/decode.ts --child KIND N   (one allocation run; prints its scavenges' bytes)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeBodyInFull, encodeFrame, FRAME_HEADER_BYTES } from '../src/wire/framing.ts';
import { schemaLimits, type Message } from '../src/wire/schema.ts';
import { runBenchmark, type BenchReport, type ResultRow } from './lib.ts';

const b = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

/** A consensus chain of n validators signed by the first `signatures` of them, with a payload of `payloadBytes`. */
function dsChain(n: number, signatures: number, payloadBytes: number): Message {
  const mask = new Uint8Array(Math.ceil(n / 8));
  for (let i = 0; i < signatures; i++) mask[i >> 3]! |= 1 << (i & 7);
  const signers = Array.from({ length: signatures }, (_, i) => i);
  return { t: 'ds', block: { miner: 0, t0: 4242, ts: 1_700_000_000_000, payload: b(payloadBytes, 7) }, mask, signers, sigs: b(64 * signatures, 9), hops: 2 };
}

/** Frames decoded per kind: `n`, fewer for a large body (at most about 256 MiB of bodies), at least 200. */
const framesFor = (body: Uint8Array, n: number): number => Math.max(200, Math.min(n, Math.floor(2 ** 28 / body.byteLength)));

/** One body of each kind that takes the general path. */
const kinds: Record<string, Message> = {
  ping: { t: 'ping', n: 123456 },
  ihave: { t: 'ihave', ids: b(32 * 16, 5) },
  'ds n=16': { t: 'ds', block: { miner: 3, t0: 4242, ts: 1_700_000_000_000, payload: b(256, 7) }, mask: b(2, 0xff), signers: Array.from({ length: 16 }, (_, i) => i), sigs: b(64 * 16, 9), hops: 2 },
  // A chain at n = 128, f = 42 in its last round (k = f + 1 = 43 signatures), with a small and the largest payload.
  'ds n=128 k=43': dsChain(128, 43, 256),
  'ds n=128 k=43 max payload': dsChain(128, 43, schemaLimits.blockPayloadBytesMax),
  'outcome 4 blocks': { t: 'outcome', signer: 5, t0: 4242, height: 99, blocks: Array.from({ length: 4 }, (_, i) => ({ miner: i, hash: b(32, i) })), sig: b(64, 1) },
};

function bodyOf(kind: string): Uint8Array {
  const msg = kinds[kind];
  if (!msg) throw new Error(`no kind ${kind}`);
  return encodeFrame(msg).subarray(FRAME_HEADER_BYTES);
}

/** Decodes `body` `n` times (none when `kind` is 'empty'). */
function loop(body: Uint8Array | null, n: number): void {
  if (body === null) return;
  for (let i = 0; i < n; i++) decodeBodyInFull(body);
}

/** Microseconds per decode of `body`, after a warm-up. */
function usPerFrame(body: Uint8Array, n: number): number {
  loop(body, Math.min(n, 5000));
  const t0 = process.hrtime.bigint();
  loop(body, n);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

/** Bytes the child allocated in `n` decodes of `kind` (or its empty loop), from its scavenges. */
function allocatedBytes(kind: string, n: number): number {
  const script = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--max-semi-space-size=1', '--trace-gc-nvp', script, '--child', kind, String(n)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`allocation child for ${kind} failed: ${r.stderr.slice(0, 500)}`);
  let sum = 0;
  for (const m of r.stdout.matchAll(/gc=s .*?allocated=(\d+)/g)) sum += Number(m[1]);
  return sum;
}

async function measure(opts: { quick: boolean }): Promise<BenchReport> {
  const n = opts.quick ? 5_000 : 50_000;
  const base = allocatedBytes('empty', n);
  const rows: ResultRow[] = Object.keys(kinds).map((kind) => {
    const body = bodyOf(kind);
    const frames = framesFor(body, n);
    const emptyLoop = frames === n ? base : allocatedBytes('empty', frames);
    return {
      kind,
      bodyBytes: body.byteLength,
      usPerFrame: Number(usPerFrame(body, frames).toFixed(2)),
      allocatedBytesPerFrame: Math.round(Math.max(0, allocatedBytes(kind, frames) - emptyLoop) / frames),
      frames,
    };
  });
  return {
    rows,
    notes: [
      'allocatedBytesPerFrame: bytes V8 allocated per decode, from the scavenges of a child with a 1 MiB young generation (--trace-gc-nvp), less the same child running no decodes; accurate to about 1 MiB over all its frames.',
    ],
  };
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const kind = process.argv[childAt + 1]!;
  const n = Number(process.argv[childAt + 2]);
  loop(kind === 'empty' ? null : bodyOf(kind), n);
  // one more scavenge, so the last of the loop's allocation is counted
  const keep: unknown[] = [];
  for (let i = 0; i < 40_000; i++) keep.push({ i });
} else {
  await runBenchmark('decode', measure);
}
