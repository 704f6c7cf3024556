/**
 * Ingest benchmark: how many broadcasts one node can take in, verify, relay and deliver per second, with the
 * main-thread verifier and with the verification pool at 1..C worker threads and several batch settings.
 *
 * One node under test runs alone in its own OS process (bench/ingest/ingest-node.ts), configured as the CLI
 * configures a plain node (`strongcast --host 127.0.0.1 --threads N`, through the CLI's own flag parser; the
 * pool's batch settings are those of the row, the CLI's being batchMax 64 and batchWaitMs 0). A generator
 * process (bench/ingest/generator.ts) signs every broadcast before anything is measured, from many origins,
 * and replays them as prepared frames through several real connections (the encrypted transport, after the
 * normal handshake); sealing each frame for its connection is the generator's only per-message work, and
 * its CPU is printed beside the node's. Every peer stays under 90% of the node's per-peer message rate
 * (peerMsgsPerSec, default 5000): enough peers are opened for C x the single-thread verify rate, which no
 * node can exceed. The node relays as it normally does: after the warm-up the peers prune every origin's
 * tree but one link, so each broadcast goes on in full to one peer and as an id (IHAVE) to the others, as in
 * a settled broadcast tree; the peers read and discard all of it.
 *
 * For each configuration: an unmeasured warm-up (the JIT: earlier profiling found 8 s needed for stable
 * figures), then a bounded search for the highest sustained rate (a ramp by 1.3x, then bisection to 5%, at
 * most 8 steps of 2.5 s; search.ts has the sustained rule), then a step at 80% of that maximum (where the
 * event-loop p99 is read) and, for the pools, a step at the rate of the main-thread verifier's 80% step
 * (where CPU per delivery is compared at equal load).
 *
 *   npm run bench -- ingest [--quick] [--cores=N]
 *   node --import tsx bench/ingest.ts [--quick] [--cores N] [--peers N]
 *   node --import tsx bench/ingest.ts --only main,pool:2:64[:waitMs[:inlineMax[:inlineMsPerSec]]] [--rates 6000,9000] [--duration 2500] [--warmup 8000]
 *     (an ad-hoc run: the named configurations, at the given rates or searched; prints, writes nothing.
 *      STRONGCAST_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR" profiles the node under test)
 */
import { availableParallelism, loadavg } from 'node:os';
import { gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import { preferredBackend, verifySignature } from '../src/crypto/ed25519.ts';
import { identityFromSeed } from '../src/crypto/keys.ts';
import { nodeDefaults } from '../src/core/node-options.ts';
import { verifyPoolDefaults } from '../src/crypto/verify-pool.ts';
import { buildDist, opsPerSecond, runBenchmark, textTable, type BenchReport, type ResultRow } from './lib.ts';
import { benchTopic, payloadBytes, type Prepared } from './ingest/generator.ts';
import { loopResolutionMs } from './ingest/ingest-node.ts';
import { networkId, runConfig, spawnGenerator, type ConfigResult, type FixedStep, type IngestConfig, type RunSettings } from './ingest/run-config.ts';
import { sustainedRuleText, type SearchSettings } from './ingest/search.ts';

/** The issue's goals. */
const goal = { poolOverMain: 1.6, shareOfCeiling: 0.75, loopP99Ms: 10, cpuPerDeliveryOverMain: 1.1, goalThreads: 2 } as const;
/** Each peer offers at most this share of the node's per-peer message rate. */
const peerRateShare = 0.9;
/** Origins per peer (each origin reaches the node over one peer). */
const originsPerPeer = 32;
/** Inbound connections a node with default options admits (maxPeers minus the slots kept for its own dials). */
const inboundPeersMax = nodeDefaults.maxPeers - Math.min(nodeDefaults.outboundSlotsMin, Math.floor(nodeDefaults.maxPeers / 4));

interface Args {
  quick: boolean;
  cores: number;
  peers: number | null;
  only: IngestConfig[] | null;
  rates: number[] | null;
  durationMs: number | null;
  warmupMs: number | null;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string): string | undefined => {
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    if (eq) return eq.slice(name.length + 3);
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (name: string, min: number, max: number): number | null => {
    const v = get(name);
    if (v === undefined) return null;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got ${v}`);
    return n;
  };
  const only = get('only');
  const rates = get('rates');
  return {
    quick: argv.includes('--quick'),
    cores: int('cores', 1, 256) ?? availableParallelism(),
    peers: int('peers', 4, inboundPeersMax),
    only: only === undefined ? null : only.split(',').map(parseConfig),
    rates: rates === undefined ? null : rates.split(',').map(Number),
    durationMs: int('duration', 100, 600_000),
    warmupMs: int('warmup', 0, 600_000),
  };
}

const mainConfig: IngestConfig = { label: 'main', verifier: { kind: 'main', threads: 0, batchMax: 0, batchWaitMs: 0 } };

function poolConfig(threads: number, batchMax: number = verifyPoolDefaults.batchMax, batchWaitMs: number = verifyPoolDefaults.batchWaitMs, inline?: number, inlineMs?: number): IngestConfig {
  return {
    label: `pool t${threads} b${batchMax}${batchWaitMs ? ` w${batchWaitMs}` : ''}${inline === undefined ? '' : ` i${inline}`}${inlineMs === undefined ? '' : ` ims${inlineMs}`}`,
    verifier: {
      kind: 'pool',
      threads,
      batchMax,
      batchWaitMs,
      ...(inline === undefined ? {} : { inlineSignaturesMax: inline }),
      ...(inlineMs === undefined ? {} : { inlineMsPerSecMax: inlineMs }),
    },
  };
}

/** `main` or `pool:THREADS:BATCHMAX[:WAITMS[:INLINEMAX[:INLINEMS]]]` (INLINEMS: inlineMsPerSecMax). */
function parseConfig(s: string): IngestConfig {
  if (s === 'main') return mainConfig;
  const m = /^pool:(\d+):(\d+)(?::(\d+))?(?::(\d+))?(?::(\d+))?$/.exec(s);
  if (!m) throw new Error(`--only takes main or pool:THREADS:BATCHMAX[:WAITMS[:INLINEMAX[:INLINEMS]]], got ${s}`);
  const opt = (x: string | undefined): number | undefined => (x === undefined ? undefined : Number(x));
  return poolConfig(Number(m[1]), Number(m[2]), Number(m[3] ?? 0), opt(m[4]), opt(m[5]));
}

/**
 * The configurations: the main-thread verifier first (its maximum sets where the pools start and the rate
 * they are compared at), the pool at 1..C threads with the CLI's batch settings, and other batch settings at
 * the goal's 2 threads and at C. A quick run: the main thread and the pool at C threads only.
 */
function plan(cores: number, quick: boolean): IngestConfig[] {
  if (quick) return [mainConfig, poolConfig(cores)];
  const out = [mainConfig];
  for (let t = 1; t <= cores; t++) out.push(poolConfig(t));
  for (const t of [...new Set([Math.min(goal.goalThreads, cores), cores])]) {
    out.push(poolConfig(t, 16), poolConfig(t, 256), poolConfig(t, verifyPoolDefaults.batchMax, 1));
  }
  return out;
}

/** Single-thread verifications per second of a benchmark message, median of `segments` runs. */
function verifyRate(segmentMs: number, segments: number): number {
  const id = identityFromSeed(new Uint8Array(32).fill(9));
  const signed = gossipSignedBytes(networkId, { origin: id.publicKey, seq: 1, topic: benchTopic, data: new Uint8Array(payloadBytes) });
  const sig = id.sign(signed);
  const rates = Array.from({ length: segments }, () => opsPerSecond(() => verifySignature(preferredBackend(), id.publicKey, signed, sig), segmentMs).perSec);
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)] as number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const fmt = (v: number, digits = 0): string => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
const mark = (ok: boolean): string => (ok ? 'met' : 'NOT met');
const loads = (): string => loadavg().map((l) => l.toFixed(2)).join(', ');

const columns = [
  'config',
  'threads',
  'batchMax',
  'batchWaitMs',
  'maxDeliveriesPerSec',
  'offeredAtMax',
  'cpuUsPerDelivery',
  'mainThreadUsPerDelivery',
  'verificationsPerDelivery',
  'sigsPerBatch',
  'loopP99MsAt80',
  'latencyP99MsAt80',
  'cpuUsPerDeliveryAtCommon',
  'peakRssMb',
  'ratioToCoresXSingle',
  'nodeCoresAtMax',
  'generatorCoresAtMax',
  'otherProcessesCpusAtMax',
];

/** The table row of a configuration. */
function configRow(r: ConfigResult, ceiling: number): ResultRow {
  const v = r.config.verifier;
  const best = r.best;
  const at80 = r.fixed.get('80%');
  const common = r.config.verifier.kind === 'main' ? at80 : r.fixed.get('common');
  const max = best ? num(best['deliveredPerSec']) : NaN;
  return {
    config: r.config.label,
    verifier: v.kind,
    threads: v.kind === 'pool' ? v.threads : 0,
    batchMax: v.kind === 'pool' ? v.batchMax : null,
    batchWaitMs: v.kind === 'pool' ? v.batchWaitMs : null,
    maxDeliveriesPerSec: best ? max : null,
    offeredAtMax: best ? best['offeredPerSec'] ?? null : null,
    cpuUsPerDelivery: best?.['cpuUsPerDelivery'] ?? null,
    mainThreadUsPerDelivery: best?.['mainThreadUsPerDelivery'] ?? null,
    poolThreadsUsPerDelivery: best?.['poolThreadsUsPerDelivery'] ?? null,
    otherThreadsUsPerDelivery: best?.['otherThreadsUsPerDelivery'] ?? null,
    verificationsPerDelivery: best?.['verificationsPerDelivery'] ?? null,
    sigsPerBatch: v.kind === 'pool' ? best?.['sigsPerBatch'] ?? null : null,
    latencyP99MsAtMax: best?.['latencyP99Ms'] ?? null,
    rateAt80: at80?.['offeredPerSec'] ?? null,
    loopP99MsAt80: at80?.['loopP99Ms'] ?? null,
    latencyP99MsAt80: at80?.['latencyP99Ms'] ?? null,
    sustainedAt80: at80?.['sustained'] ?? null,
    commonRate: common?.['offeredPerSec'] ?? null,
    cpuUsPerDeliveryAtCommon: common?.['cpuUsPerDelivery'] ?? null,
    mainThreadUsPerDeliveryAtCommon: common?.['mainThreadUsPerDelivery'] ?? null,
    peakRssMb: r.peakRssMb,
    ratioToCoresXSingle: best ? Math.round((max / ceiling) * 1000) / 1000 : null,
    nodeCoresAtMax: best?.['nodeCores'] ?? null,
    generatorCoresAtMax: best?.['generatorCores'] ?? null,
    generatorCpuUsPerMessageAtMax: best?.['generatorCpuUsPerMessage'] ?? null,
    otherProcessesCpusAtMax: best?.['otherProcessesCpus'] ?? null,
    otherProcessesCpusMax: Math.max(0, ...r.steps.map((s) => num(s['otherProcessesCpus'])).filter(Number.isFinite)),
    relayedFramesPerDelivery: best?.['relayedFramesPerDelivery'] ?? null,
    searchSteps: r.steps.filter((s) => s['step'] === 'search').length,
  };
}

/** The pool row of `threads` with the highest maximum, and the batch settings tried at that width. */
function bestPool(rows: ResultRow[], threads: number): { row: ResultRow | null; tried: string[] } {
  const pools = rows.filter((r) => r['verifier'] === 'pool' && r['threads'] === threads);
  const tried = pools.map((r) => `${r['batchMax']}${r['batchWaitMs'] ? ` (wait ${r['batchWaitMs']} ms)` : ''}`);
  const ok = pools.filter((r) => typeof r['maxDeliveriesPerSec'] === 'number');
  return { row: ok.length ? ok.reduce((a, b) => (num(b['maxDeliveriesPerSec']) > num(a['maxDeliveriesPerSec']) ? b : a)) : null, tried };
}

const batchText = (r: ResultRow): string => `batchMax ${r['batchMax']}${r['batchWaitMs'] ? `, batchWaitMs ${r['batchWaitMs']}` : ''}`;

/** The goal lines, as measured. */
function goalLines(rows: ResultRow[], cores: number, single: number): string[] {
  const main = rows.find((r) => r['verifier'] === 'main');
  const mainMax = main ? num(main['maxDeliveriesPerSec']) : NaN;
  const out: string[] = [];
  const g2 = Math.min(goal.goalThreads, cores);
  const two = bestPool(rows, g2);
  if (two.row && main) {
    const ratio = num(two.row['maxDeliveriesPerSec']) / mainMax;
    out.push(
      `goal: pool with ${g2} threads >= ${goal.poolOverMain}x the main-thread verifier's maximum ingest: ${fmt(num(two.row['maxDeliveriesPerSec']))} vs ${fmt(mainMax)} deliveries/s = ${ratio.toFixed(2)}x ` +
        `(${batchText(two.row)}, the best of the batch settings tried at ${g2} threads: ${two.tried.join(', ')}): ${mark(ratio >= goal.poolOverMain)}` +
        ` (other processes on the machine kept ${fmt(num(main['otherProcessesCpusAtMax']), 2)} CPUs busy during the main-thread maximum step, ${fmt(num(two.row['otherProcessesCpusAtMax']), 2)} during the pool's)`,
    );
  } else out.push(`goal: pool with ${g2} threads >= ${goal.poolOverMain}x the main-thread verifier's maximum ingest: not measured (nothing sustained)`);
  const full = bestPool(rows, cores);
  const ceiling = cores * single;
  if (full.row) {
    const share = num(full.row['maxDeliveriesPerSec']) / ceiling;
    out.push(
      `goal: pool with ${cores} threads >= ${goal.shareOfCeiling} x ${cores} cores x single-thread verify rate (${fmt(ceiling)}/s = ${cores} x ${fmt(single)}/s): ` +
        `${fmt(num(full.row['maxDeliveriesPerSec']))} deliveries/s = ${share.toFixed(3)} (${batchText(full.row)}): ${mark(share >= goal.shareOfCeiling)}`,
    );
    const loop = num(full.row['loopP99MsAt80']);
    out.push(
      `goal: main-thread event-loop p99 < ${goal.loopP99Ms} ms at 80% of the maximum, pool with ${cores} threads (${batchText(full.row)}, ${fmt(num(full.row['rateAt80']))}/s): ` +
        `${Number.isFinite(loop) ? `${loop.toFixed(2)} ms` : 'not measured'}: ${mark(loop < goal.loopP99Ms)}` +
        (main ? ` (main-thread verifier at its 80%, ${fmt(num(main['rateAt80']))}/s: ${fmt(num(main['loopP99MsAt80']), 2)} ms)` : ''),
    );
    const pc = num(full.row['cpuUsPerDeliveryAtCommon']);
    const mc = main ? num(main['cpuUsPerDeliveryAtCommon']) : NaN;
    out.push(
      `goal: pool CPU per delivery <= ${goal.cpuPerDeliveryOverMain}x the main-thread verifier's, both at ${fmt(num(main?.['commonRate']))}/s (80% of the main-thread maximum), pool with ${cores} threads (${batchText(full.row)}): ` +
        `${fmt(pc, 1)} vs ${fmt(mc, 1)} us = ${(pc / mc).toFixed(2)}x: ${mark(pc / mc <= goal.cpuPerDeliveryOverMain)}`,
    );
  } else out.push(`goal: pool with ${cores} threads: not measured (nothing sustained)`);
  return out;
}

/** Each configuration's steps in one line: rate, verdict and why not. */
function stepNotes(results: ConfigResult[]): string[] {
  return results.map(
    (r) =>
      `steps of ${r.config.label}: ` +
      r.steps
        .map((s) => `${s['step'] === 'search' ? '' : `${s['step']} `}${s['offeredPerSec']} ${s['sustained'] ? `ok (${s['deliveredPerSec']}/s, p99 ${s['latencyP99Ms']} ms)` : `no (${s['why']})`}`)
        .join('; '),
  );
}

async function measure(args: Args): Promise<BenchReport> {
  const loadBefore = loads();
  buildDist();
  const { quick, cores } = args;
  const single = verifyRate(quick ? 300 : 1000, 3);
  const ceiling = cores * single;
  const perPeerMax = Math.floor(peerRateShare * nodeDefaults.peerMsgsPerSec);
  // At least 8 (a node's targetPeers), more where C x the single-thread rate needs them, within the inbound slots.
  const peers = args.peers ?? Math.min(inboundPeersMax, Math.max(nodeDefaults.targetPeers, Math.ceil(ceiling / perPeerMax)));
  const capPerSec = peers * perPeerMax;
  const stepMs = args.durationMs ?? (quick ? 1000 : 2500);
  const warmupMs = args.warmupMs ?? (quick ? 2000 : 8000);
  const quantum = 50;
  const q = (r: number): number => Math.max(quantum, Math.round(r / quantum) * quantum);
  const searchFor = (start: number): SearchSettings => ({ startPerSec: Math.min(capPerSec, q(start)), growth: 1.3, capPerSec, stepsMax: quick ? 4 : 8, precision: 0.05, quantumPerSec: quantum });
  const configs = args.only ?? plan(cores, quick);
  console.log(
    `cores C = ${cores} (--cores; this machine has ${availableParallelism()}), single-thread verify (${preferredBackend()}): ${fmt(single)}/s, C x single = ${fmt(ceiling)}/s; ` +
      `${peers} peers at most ${perPeerMax}/s each (node peerMsgsPerSec ${nodeDefaults.peerMsgsPerSec}), ${peers * originsPerPeer} origins, rates up to ${fmt(capPerSec)}/s; load average ${loadBefore}`,
  );
  const gen = spawnGenerator();
  const results: ConfigResult[] = [];
  try {
    const warmRate = q(0.2 * single);
    // A first estimate of what one configuration replays (more is signed between steps if a search needs it).
    const stepsNeed = args.rates ? args.rates.reduce((a, r) => a + r, 0) : 6 * q(0.5 * ceiling);
    const firstNeed = Math.round((warmRate * warmupMs) / 1000) + Math.round((stepsNeed * stepMs) / 1000);
    const prep = await gen.request<Prepared>({ cmd: 'prepare', networkId, origins: peers * originsPerPeer, count: firstNeed }, 600_000);
    console.log(`generator: ${fmt(prep.messages)} broadcasts signed and framed in ${fmt(prep.signMs / 1000, 1)} s before any measurement (${prep.frameBytesMax}-byte frames)`);
    let mainMax: number | null = null;
    let common: number | null = null;
    for (const config of configs) {
      const isMain = config.verifier.kind === 'main';
      const fixed: FixedStep[] = args.rates
        ? args.rates.map((r) => ({ label: `${r}/s`, ratePerSec: r }))
        : [{ label: '80%', share: 0.8 }, ...(!isMain && common !== null ? [{ label: 'common', ratePerSec: common }] : [])];
      const settings: RunSettings = {
        peers,
        origins: peers * originsPerPeer,
        warmup: { ratePerSec: warmRate, durationMs: warmupMs },
        stepMs,
        drainMs: 1000,
        search: args.rates ? null : searchFor(isMain || mainMax === null ? 0.25 * single : 0.8 * mainMax),
        fixed,
      };
      const r = await runConfig(config, settings, gen, (l) => console.log(l));
      results.push(r);
      if (isMain && r.best) {
        mainMax = num(r.best['deliveredPerSec']);
        common = num(r.fixed.get('80%')?.['offeredPerSec']) || null;
      }
    }
  } finally {
    await gen.close(5000, { cmd: 'stop' });
  }
  const rows = results.map((r) => configRow(r, ceiling));
  const loadAfter = loads();
  const gens = rows.filter((r) => typeof r['generatorCoresAtMax'] === 'number');
  const notes = [
    `Command: ${args.quick ? 'quick ' : ''}run on ${cores} cores (C); load average (1, 5, 15 min) before ${loadBefore}, after ${loadAfter} (the machine is shared: other processes take CPU from both the node and the generator).`,
    `Node under test: \`${results[0]?.cli ?? 'strongcast --host 127.0.0.1'}\` as the CLI builds it (the pool rows with \`--threads N\` and the row's batch settings; the CLI's are batchMax ${verifyPoolDefaults.batchMax}, batchWaitMs ${verifyPoolDefaults.batchWaitMs}), each configuration a fresh process of the build (no tsx loader), encrypted transport, default limits.`,
    `Load: ${peers} generator connections (peers), ${peers * originsPerPeer} origins, ${payloadBytes}-byte broadcasts signed before the measurement and replayed as prepared frames, sealed per connection as sent; every peer under ${perPeerMax}/s (${Math.round(peerRateShare * 100)}% of peerMsgsPerSec), rates capped at ${fmt(capPerSec)}/s. ` +
      'After the warm-up each peer prunes every origin but those it is the child of: the node relays each broadcast in full to one peer and announces it (IHAVE) to the rest, as an inner node of a settled tree.',
    `Search: warm-up ${warmupMs / 1000} s at ${fmt(q(0.2 * single))}/s, then from ${fmt(q(0.25 * single))}/s (main thread) or 80% of the main-thread maximum (pools), up by 1.3x until a step is not sustained, then bisection to 5%; at most ${quick ? 4 : 8} steps of ${stepMs / 1000} s, each judged after a 1 s drain. ${sustainedRuleText()}.`,
    'maxDeliveriesPerSec = deliveries / (last delivery - first send) of the highest sustained step (reads a little under its offered rate). cpuUsPerDelivery = node process CPU (all threads) over the step / deliveries; mainThreadUsPerDelivery = the main thread alone (Linux thread clock, 10 ms ticks); at the maximum. ' +
      `loopP99MsAt80 = main-thread event-loop delay p99 (monitorEventLoopDelay, ${loopResolutionMs} ms resolution, the period subtracted) in a step at 80% of the maximum. cpuUsPerDeliveryAtCommon = CPU per delivery at the main-thread verifier's 80% rate, the same load for every row. ` +
      `ratioToCoresXSingle = maximum / (C x single-thread verify rate of this run, ${fmt(ceiling)}/s). peakRssMb = the node process, sampled every 50 ms, over the whole configuration. ` +
      'otherProcessesCpusAtMax = CPUs that other processes on the machine kept busy during the step at the maximum (its busy time from /proc/stat less the node\'s, the generator\'s and this process\'s): well above 0, the node was competing for the cores and its maximum is partly the machine\'s.',
    ...(gens.length
      ? [
          `Generator CPU at each maximum: ${gens.map((r) => `${r['config']} ${r['generatorCoresAtMax']} cores (${r['generatorCpuUsPerMessageAtMax']} us/message)`).join(', ')}, ` +
            `against the node's ${gens.map((r) => `${r['nodeCoresAtMax']}`).join(', ')} cores: it shares the ${availableParallelism()} cores with the node.`,
        ]
      : []),
    ...stepNotes(results),
  ];
  return { rows, columns, ratios: goalLines(rows, cores, single), notes };
}

const args = parseArgs(process.argv.slice(2));
if (args.only || args.rates) {
  const report = await measure(args);
  console.log(textTable(report.rows, [...columns, 'relayedFramesPerDelivery', 'searchSteps']));
  for (const l of [...(report.ratios ?? []), ...(report.notes ?? [])]) console.log(l);
} else {
  await runBenchmark('ingest', () => measure(args));
}
