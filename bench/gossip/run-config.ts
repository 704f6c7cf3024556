/**
 * Runs one measured configuration of the gossip benchmark: spawn the node processes, wire the random mesh,
 * warm up, then run each phase (a steady rate for a fixed time, or a burst as fast as possible) and turn the
 * nodes' reports into one flat row per phase.
 */
import { performance } from 'node:perf_hooks';
import { Cluster } from './cluster.ts';
import { randomRegularMesh } from './mesh.ts';
import type { GossipMode } from '../../src/gossip/plumtree.ts';
import type { PhaseReport, ProgressResult, PublishResult, StartResult, VerifierKind } from './gossip-node.ts';

/**
 * A steady offered rate (all publishers together) for a fixed time, or a burst of messages at once.
 * `required` keeps a steady phase even after a lower rate was not sustained (a goal is stated at its rate).
 */
export type PhaseSpec = { kind: 'steady'; ratePerSec: number; durationMs: number; required?: boolean } | { kind: 'burst'; messages: number };

/** One configuration: a mesh, its publishers, the verifier, how nodes relay, and the phases run on it in order. */
export interface ConfigSpec {
  nodes: number;
  degree: number;
  publishers: number;
  verifier: VerifierKind;
  /** The nodes' gossipMode: 'tree' (Plumtree eager/lazy push) or 'flood' (every message to every peer). */
  mode: GossipMode;
  phases: PhaseSpec[];
  /**
   * Which run of this configuration this is, from 1 (default 1), when a configuration is run more than once
   * (a goal judged on one run is judged on a sample of one). Each run is fresh node processes with their own
   * warm-up: on the same processes, memory grown in one repetition's overload phases stays in the next.
   */
  repetition?: number;
  /** The unmeasured steady traffic before the first phase. */
  warmup: WarmupSpec;
  seed: number;
}

/**
 * Unmeasured traffic before the first phase, for key caches, socket buffers, each origin's broadcast tree to
 * settle, and above all the JIT: every node process compiles its hot code on its own, and with 16 processes
 * on 2 cores that takes 10 to 15 s of traffic. Profiled with perf, TurboFan was 18% of all CPU at 250 msg/s
 * 10 s in, and 11-19% of the nodes' samples in the seconds after an 8 s warm-up at 500 msg/s (5-8% from 12 s
 * on). Measured as a time series of one 16-node network at 500 msg/s (4 s phases back to back, RESULTS
 * `gossip-warmup-series-2026-12-06`): CPU per delivery 267 and 256 µs in the first two phases, 205-233 µs
 * from about 13 s on, and p99 46-313 ms then 8-17 ms. A phase measured before that is a cold start, not the
 * steady rate a running node serves, so the 16- and 32-node warm-ups run 15 s.
 */
export interface WarmupSpec {
  ratePerSec: number;
  durationMs: number;
}

/** The warm-up of the full run (32 nodes: at a rate they sustain), and of a quick smoke run. */
export const warmups = {
  full: { ratePerSec: 500, durationMs: 15_000 },
  /** 8 processes compile in about half the CPU time of 16. */
  full8: { ratePerSec: 500, durationMs: 8000 },
  full32: { ratePerSec: 250, durationMs: 15_000 },
  quick: { ratePerSec: 250, durationMs: 3000 },
} as const satisfies Record<string, WarmupSpec>;

/** A warm-up in words, for the report. */
export function warmupNote(w: WarmupSpec): string {
  return `${w.durationMs / 1000} s at ${w.ratePerSec} msg/s`;
}

/** One measured phase, flat and self-explaining (a row of results/gossip.json). */
export type PhaseRow = Record<string, string | number | boolean | null>;

/** How long deliveries may trail the last publish of a steady phase before it is judged, in ms. */
export const drainMs = 2_000;
/** The same for a burst, which builds a backlog by design; the phase ends as soon as all is delivered. */
export const burstDrainMs = 20_000;
/**
 * A steady phase counts as sustained only if its p99 latency is at most this. A network that falls behind
 * builds a backlog that grows through the phase, and the latest messages wait longest: a p99 of at most
 * 100 ms over a 3 s phase bounds that backlog to about 3% of the phase. It is the same bound as the stall
 * goal (no event loop blocked over 100 ms), and twice the latency goal (p99 < 50 ms at 500 msg/s). The
 * earlier bound, 1 s, let a third of a 3 s phase queue up and still count.
 */
export const sustainedP99MsMax = 100;
/**
 * ... and only if the publishers achieved at least this share of the offered rate: the publishers run inside
 * the nodes, so a publisher falling behind means the nodes could not take the offered load. 98% over a 3 s
 * phase lets the last publish be at most about 60 ms late (less than one stall the goal allows); the earlier
 * 95% let it be about 160 ms late.
 */
export const sustainedAchievedMin = 0.98;

/** What "sustained" allows, in words, for the report. */
export function sustainedRule(): string {
  return (
    `sustained = a steady phase with every message at every node within ${drainMs / 1000} s of the last publish, no duplicate delivered, ` +
    `p99 latency <= ${sustainedP99MsMax} ms and the publishers at >= ${Math.round(sustainedAchievedMin * 100)}% of the offered rate; ` +
    'the rate that counts is the delivered rate (messages / (last delivery anywhere - first publish)), never the offered one'
  );
}
/** Progress is polled this often while a phase drains, in ms. */
const progressPollMs = 100;
/** Time for the mesh to form, in ms. */
const meshTimeoutMs = 20_000;
/** Pause after a phase that did not fully deliver, so its backlog does not leak into the next, in ms. */
const recoverMs = 1_500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Publisher nodes, spread over the indices (the mesh is random, so any spread is as good). */
function publisherIndices(nodes: number, publishers: number): number[] {
  return Array.from({ length: publishers }, (_, k) => Math.floor((k * nodes) / publishers));
}

async function formMesh(cluster: Cluster, spec: ConfigSpec): Promise<StartResult[]> {
  const started = await cluster.all<StartResult>((i) => ({ cmd: 'start', index: i, verifier: spec.verifier, mode: spec.mode, networkId: 'strongcast-bench' }));
  const edges = randomRegularMesh(spec.nodes, spec.degree, spec.seed);
  // Edge (a, b) with a < b: b dials a.
  const dials = started.map(() => [] as number[]);
  for (const [a, b] of edges) dials[b]?.push((started[a] as StartResult).port);
  await cluster.all((i) => ({ cmd: 'connect', ports: dials[i] ?? [] }));
  const deadline = performance.now() + meshTimeoutMs;
  for (;;) {
    const progress = await cluster.all<ProgressResult>(() => ({ cmd: 'progress', phase: 0 }));
    if (progress.every((p) => p.peers === spec.degree)) return started;
    if (performance.now() > deadline) throw new Error(`mesh not formed: peer counts ${progress.map((p) => p.peers).join(',')}, want ${spec.degree}`);
    await sleep(progressPollMs);
  }
}

interface PhaseRaw {
  published: number;
  failed: number;
  firstPublishAtMs: number;
  publishSpanMs: number;
  /** Messages each node published itself (an origin does not deliver its own messages). */
  ownByNode: Map<number, number>;
  reports: PhaseReport[];
}

async function runPhase(cluster: Cluster, spec: ConfigSpec, phaseId: number, phase: PhaseSpec): Promise<PhaseRaw> {
  const pubs = publisherIndices(spec.nodes, spec.publishers);
  await cluster.all(() => ({ cmd: 'phase', phase: phaseId }));
  const total = phase.kind === 'steady' ? Math.round((phase.ratePerSec * phase.durationMs) / 1000) : phase.messages;
  const count = Math.max(1, Math.round(total / pubs.length));
  const ratePerSec = phase.kind === 'steady' ? phase.ratePerSec / pubs.length : 0;
  const nominalMs = phase.kind === 'steady' ? phase.durationMs : 0;
  const results = await Promise.all(
    pubs.map((p, k) => cluster.request<PublishResult>(p, { cmd: 'publish', phase: phaseId, publisher: k, count, ratePerSec }, nominalMs + 30_000)),
  );
  const published = results.reduce((a, r) => a + r.published, 0);
  const expected = published * (spec.nodes - 1);
  const deadline = performance.now() + (phase.kind === 'burst' ? burstDrainMs : drainMs);
  for (;;) {
    const progress = await cluster.all<ProgressResult>(() => ({ cmd: 'progress', phase: phaseId }));
    if (progress.reduce((a, p) => a + p.delivered, 0) >= expected || performance.now() > deadline) break;
    await sleep(progressPollMs);
  }
  const reports = await cluster.all<PhaseReport>(() => ({ cmd: 'report', phase: phaseId }));
  const firstPublishAtMs = Math.min(...results.map((r) => r.firstAtMs));
  const publishSpanMs = Math.max(...results.map((r) => r.lastAtMs)) - firstPublishAtMs;
  const ownByNode = new Map(pubs.map((p, k) => [p, results[k]?.published ?? 0]));
  return { published, failed: results.reduce((a, r) => a + r.failed, 0), firstPublishAtMs, publishSpanMs, ownByNode, reports };
}

/** The flat row of one phase. */
function phaseRow(spec: ConfigSpec, phase: PhaseSpec, raw: PhaseRaw, rssAtStartMb: number): PhaseRow {
  const { reports, published } = raw;
  const sum = (f: (r: PhaseReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
  const max = (f: (r: PhaseReport) => number): number => Math.max(...reports.map(f));
  const expected = published * (spec.nodes - 1);
  const delivered = sum((r) => r.delivered);
  const latencies = new Float64Array(delivered);
  let at = 0;
  for (const r of reports) latencies.set(r.latenciesMs, at), (at += r.latenciesMs.length);
  latencies.sort();
  const lastDeliveryAtMs = max((r) => r.lastDeliveryAtMs);
  const deliverySpanMs = lastDeliveryAtMs - raw.firstPublishAtMs;
  // A steady publisher sends message k at k / rate: the span covers count - 1 intervals.
  const perPublisherRate = phase.kind === 'steady' ? phase.ratePerSec / spec.publishers : 0;
  const offeredSpanMs = raw.publishSpanMs + (perPublisherRate > 0 ? 1000 / perPublisherRate : 0);
  const wallMs = max((r) => r.wallMs);
  const stalled = reports.reduce((a, b) => (b.stalls.largestStallMs > a.stalls.largestStallMs ? b : a));
  return {
    nodes: spec.nodes,
    degree: spec.degree,
    publishers: spec.publishers,
    verifier: spec.verifier,
    mode: spec.mode,
    phase: phase.kind === 'steady' ? `steady ${phase.durationMs / 1000}s` : `burst ${phase.messages}`,
    offeredPerSec: phase.kind === 'steady' ? phase.ratePerSec : null,
    achievedPublishPerSec: round((published * 1000) / Math.max(1, offeredSpanMs), 0),
    messages: published,
    publishFailures: raw.failed,
    expectedDeliveries: expected,
    deliveredDeliveries: delivered,
    missingDeliveries: expected - delivered,
    deliveryRatio: expected === 0 ? 0 : Math.floor((delivered / expected) * 1e4) / 1e4,
    nodesFullyDelivered: reports.filter((r, i) => r.delivered >= published - (raw.ownByNode.get(i) ?? 0)).length,
    deliveredMsgsPerSec: delivered === expected && deliverySpanMs > 0 ? round((published * 1000) / deliverySpanMs, 0) : null,
    duplicatesDelivered: sum((r) => r.duplicatesDelivered),
    framesSent: sum((r) => r.framesSent),
    framesPerDelivered: delivered === 0 ? null : round(sum((r) => r.framesSent) / delivered, 2),
    duplicateCopiesPerDelivered: delivered === 0 ? null : round(sum((r) => r.duplicateCopiesDropped) / delivered, 2),
    ihaveFramesPerDelivered: delivered === 0 ? null : round(sum((r) => r.ihaveFrames) / delivered, 3),
    graftFrames: sum((r) => r.graftFrames),
    pruneFrames: sum((r) => r.pruneFrames),
    verificationsPerDelivered: delivered === 0 ? null : round(sum((r) => r.signaturesVerified) / delivered, 3),
    latencyP50Ms: round(percentile(latencies, 50) ?? NaN, 1),
    latencyP99Ms: round(percentile(latencies, 99) ?? NaN, 1),
    latencyMaxMs: round(latencies[latencies.length - 1] ?? NaN, 1),
    cpuPctPerNode: round((sum((r) => r.cpuMs) / reports.length / Math.max(1, wallMs)) * 100, 1),
    cpuUsPerDelivered: delivered === 0 ? null : round((sum((r) => r.cpuMs) * 1000) / delivered, 0),
    cpuSystemShare: round(sum((r) => r.cpuSystemMs) / Math.max(1, sum((r) => r.cpuMs)), 2),
    cpuCoresUsedTotal: round(sum((r) => r.cpuMs) / Math.max(1, wallMs), 2),
    peakRssMbPerNode: round(max((r) => r.peakRssMb), 1),
    rssMbPerNodeAtStart: round(rssAtStartMb, 1),
    peakRssMbPerNodeSinceStart: round(max((r) => r.peakRssMbSinceStart), 1),
    maxLoopDelayMs: round(stalled.stalls.largestStallMs, 1),
    maxLoopDelayCpuMs: round(stalled.stalls.largestStallCpuMs, 1),
    maxLoopDelaySpanMs: round(stalled.stalls.largestStallSpanMs, 1),
    busiestSpanCpuMs: round(max((r) => r.stalls.busiestSpanCpuMs), 1),
    lateFromEarlierPhases: sum((r) => r.lateFromEarlierPhases),
    minPeers: Math.min(...reports.map((r) => r.peers)),
    disconnects: sum((r) => r.disconnects),
    offences: sum((r) => r.offences),
  };
}

/** Whether a steady phase counts as sustained with full delivery (see the constants above). */
export function isSustained(row: PhaseRow): boolean {
  const offered = row['offeredPerSec'];
  if (typeof offered !== 'number') return false;
  return (
    row['missingDeliveries'] === 0 &&
    row['duplicatesDelivered'] === 0 &&
    typeof row['latencyP99Ms'] === 'number' &&
    row['latencyP99Ms'] <= sustainedP99MsMax &&
    typeof row['achievedPublishPerSec'] === 'number' &&
    row['achievedPublishPerSec'] >= sustainedAchievedMin * offered
  );
}

/**
 * Runs a configuration and returns one row per phase, with its repetition and whether it was sustained.
 * Steady phases run in order; once one is not sustained, the higher steady rates after it are skipped (they
 * would only fail longer) unless required; bursts still run.
 */
export async function runConfig(spec: ConfigSpec, log: (line: string) => void): Promise<PhaseRow[]> {
  const cluster = Cluster.spawn(spec.nodes);
  const rows: PhaseRow[] = [];
  try {
    const t0 = performance.now();
    const started = await formMesh(cluster, spec);
    const rssAtStartMb = Math.max(...started.map((s) => s.rssMb));
    log(`  ${spec.nodes} nodes, degree ${spec.degree}, ${spec.mode}, ${spec.verifier} verifier${spec.repetition ? `, repetition ${spec.repetition}` : ''}: mesh formed in ${Math.round(performance.now() - t0)} ms`);
    let phaseId = 1;
    await runPhase(cluster, spec, phaseId++, { kind: 'steady', ...spec.warmup });
    let saturated = false;
    for (const phase of spec.phases) {
      if (phase.kind === 'steady' && saturated && !phase.required) continue;
      const row = phaseRow(spec, phase, await runPhase(cluster, spec, phaseId++, phase), rssAtStartMb);
      row['repetition'] = spec.repetition ?? 1;
      row['sustained'] = phase.kind === 'steady' ? isSustained(row) : null;
      rows.push(row);
      log(
        `  ${row['phase']} @ ${row['offeredPerSec'] ?? '-'}/s: ratio ${row['deliveryRatio']}, ` +
          `delivered ${row['deliveredMsgsPerSec'] ?? '-'}/s, p99 ${row['latencyP99Ms']} ms, stall ${row['maxLoopDelayMs']} ms, cpu ${row['cpuCoresUsedTotal']} cores` +
          `${row['sustained'] === false ? ' (not sustained)' : ''}`,
      );
      if (row['sustained'] === false) saturated = true;
      if (row['missingDeliveries'] !== 0) await sleep(recoverMs);
    }
  } finally {
    await cluster.close();
  }
  return rows;
}
