/**
 * One configuration of the ingest benchmark: spawn the node under test (ingest-node.ts) with its verifier,
 * connect the generator's peers, warm up, then search for the highest sustained rate (search.ts) and run the
 * fixed-rate steps the report needs (80% of the maximum; a rate shared by every configuration). Each step
 * turns the node's and the generator's reports into one flat row.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isCompiled } from '../../src/module-path.ts';
import { ChildRpc } from '../child-rpc.ts';
import { benchNodeFlags } from '../node-flags.ts';
import { machineBusyCpuSeconds } from '../lib.ts';
import { networkId, type IngestNodeRequest, type IngestNodeStarted, type IngestProgress, type IngestStepReport, type VerifierConfig } from './ingest-node.ts';
import type { GeneratorRequest, Prepared, SendResult } from './generator.ts';
export { networkId };
import { judgeStep, latenciesMs, percentile, RateSearch, type SearchSettings } from './search.ts';

/** The node and generator scripts: always the build, run by plain Node (bench/ingest.ts builds first). */
const distDir = isCompiled(import.meta.url) ? new URL('./', import.meta.url) : new URL('../../dist/bench/ingest/', import.meta.url);
export const nodeScript = fileURLToPath(new URL('ingest-node.js', distDir));
export const generatorScript = fileURLToPath(new URL('generator.js', distDir));
export const repoRoot = fileURLToPath(new URL(isCompiled(import.meta.url) ? '../../..' : '../..', import.meta.url));

/** Node flags of the node under test: the CLI's, then STRONGCAST_BENCH_NODE_FLAGS (bench/node-flags.ts). */
const extraNodeFlags = benchNodeFlags();

/** Progress is polled this often while a step drains, in ms. */
const progressPollMs = 50;
/** After a step that left messages undelivered, the next waits at most this long for them, in ms. */
const recoverMsMax = 8000;
/** Time for the generator's peers to connect and be counted by the node, in ms. */
const connectTimeoutMs = 15_000;
/** Time the node gets to apply the PRUNEs before measuring, in ms. */
const pruneSettleMs = 300;

/** A verifier configuration with its label. */
export interface IngestConfig {
  label: string;
  verifier: VerifierConfig;
}

/** How a configuration is run. */
export interface RunSettings {
  peers: number;
  origins: number;
  warmup: { ratePerSec: number; durationMs: number };
  stepMs: number;
  /** How long deliveries may trail the last send before a step is judged, in ms. */
  drainMs: number;
  /** The search; null for an ad-hoc run at fixed rates. */
  search: SearchSettings | null;
  /** Rates run after the search (or instead of it): each a label and a rate, or a share of the maximum found. */
  fixed: FixedStep[];
}

/** A step at a fixed rate after the search: `share` of the maximum found, or an absolute rate. */
export type FixedStep = { label: string; share: number } | { label: string; ratePerSec: number };

/** One measured step, flat. */
export type StepRow = Record<string, string | number | boolean | null>;

/** What a configuration gave: its steps and the highest sustained one. */
export interface ConfigResult {
  config: IngestConfig;
  steps: StepRow[];
  best: StepRow | null;
  fixed: Map<string, StepRow>;
  peakRssMb: number;
  rssAtStartMb: number;
  cli: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The generator process (one for the whole run: it signs once, and every configuration replays its frames). */
export function spawnGenerator(): ChildRpc<GeneratorRequest> {
  if (!existsSync(generatorScript)) throw new Error(`${generatorScript} is missing: run npm run build first`);
  return new ChildRpc<GeneratorRequest>({ name: 'generator', argv: [generatorScript], cwd: repoRoot, requestTimeoutMs: 120_000 });
}

/** A running configuration: the node process, the generator, and the next message index. */
class Run {
  cursor = 0;
  constructor(
    readonly node: ChildRpc<IngestNodeRequest>,
    readonly gen: ChildRpc<GeneratorRequest>,
    readonly settings: RunSettings,
  ) {}

  async waitForPeers(peers: number): Promise<void> {
    const deadline = performance.now() + connectTimeoutMs;
    for (;;) {
      const p = await this.node.request<IngestProgress>({ cmd: 'progress' });
      if (p.peers >= peers) return;
      if (performance.now() > deadline) throw new Error(`the node counts ${p.peers} peers of ${peers}`);
      await sleep(progressPollMs);
    }
  }

  /** Runs one step of `durationMs` at `ratePerSec` and returns its row. */
  async step(ratePerSec: number, durationMs: number): Promise<StepRow> {
    const s = this.settings;
    const count = Math.max(1, Math.round((ratePerSec * durationMs) / 1000));
    const from = this.cursor;
    this.cursor += count;
    await this.gen.request<Prepared>({ cmd: 'prepare', networkId, origins: s.origins, count: this.cursor }, 300_000);
    const machine0 = machineBusyCpuSeconds();
    const own0 = process.cpuUsage();
    const wall0 = performance.now();
    await this.node.request({ cmd: 'step', from, count });
    const sent = await this.gen.request<SendResult>({ cmd: 'send', from, count, ratePerSec }, durationMs + 30_000);
    const drainUntil = performance.now() + s.drainMs;
    while (performance.now() < drainUntil) {
      const p = await this.node.request<IngestProgress>({ cmd: 'progress' });
      if (p.delivered >= sent.sent) break;
      await sleep(progressPollMs);
    }
    const report = await this.node.request<IngestStepReport>({ cmd: 'report' });
    const machine1 = machineBusyCpuSeconds();
    const own = process.cpuUsage(own0);
    const wallMs = performance.now() - wall0;
    if (report.delivered < sent.sent) await this.recover(sent.sent);
    const row = stepRow(ratePerSec, count, sent, report);
    // What the rest of the machine used meanwhile: its busy time less the node's, the generator's and ours.
    const othersMs = machine0 === null || machine1 === null ? null : (machine1 - machine0) * 1000 - report.cpuMs - sent.cpuMs - (own.user + own.system) / 1000;
    row['otherProcessesCpus'] = othersMs === null ? null : round(Math.max(0, othersMs) / wallMs, 2);
    return row;
  }

  /** Waits (bounded) for the rest of a step that fell behind, so its backlog does not weigh on the next. */
  private async recover(expected: number): Promise<void> {
    const until = performance.now() + recoverMsMax;
    while (performance.now() < until) {
      const p = await this.node.request<IngestProgress>({ cmd: 'progress' });
      if (p.delivered >= expected) return;
      await sleep(progressPollMs * 4);
    }
  }
}

/** The row of one step, from what the generator sent and what the node reported. */
export function stepRow(offered: number, count: number, sent: SendResult, r: IngestStepReport): StepRow {
  const lat = latenciesMs(r.deliveredAtMs, sent.tickAtMs, sent.tickEnd);
  let lastDelivery = 0;
  for (const t of r.deliveredAtMs) if (t > lastDelivery) lastDelivery = t;
  const spanMs = sent.lastAtMs - sent.firstAtMs + 1000 / offered;
  const achieved = (sent.sent * 1000) / Math.max(1, spanMs);
  const all = r.delivered >= sent.sent && sent.sent === count;
  const delivered = r.delivered + r.outside;
  const per = (x: number | null): number | null => (x === null || delivered === 0 ? null : x / delivered);
  const drops = r.overloaded + r.refusedFull + r.verifyFailed + r.disconnects;
  const p99 = percentile(lat, 99);
  const verdict = judgeStep({
    offeredPerSec: offered,
    sent: count,
    achievedPerSec: achieved,
    delivered: r.delivered,
    duplicates: r.duplicates,
    drops,
    rateHolds: r.rateHolds,
    latencyP99Ms: p99,
  });
  const us = (ms: number | null): number | null => (ms === null ? null : round((per(ms) as number) * 1000, 1));
  return {
    offeredPerSec: offered,
    sent: sent.sent,
    achievedPerSec: round(achieved, 0),
    delivered: r.delivered,
    deliveredPerSec: all && lastDelivery > sent.firstAtMs ? round((r.delivered * 1000) / (lastDelivery - sent.firstAtMs), 0) : null,
    sustained: verdict.sustained,
    why: verdict.reasons.join('; '),
    latencyP50Ms: lat.length ? round(percentile(lat, 50) as number, 1) : null,
    latencyP99Ms: p99 === null ? null : round(p99, 1),
    cpuUsPerDelivery: us(r.cpuMs),
    mainThreadUsPerDelivery: us(r.mainThreadCpuMs),
    poolThreadsUsPerDelivery: us(r.poolThreadsCpuMs),
    otherThreadsUsPerDelivery: us(r.otherThreadsCpuMs),
    nodeCores: round(r.cpuMs / Math.max(1, r.wallMs), 2),
    cpuSystemShare: round(r.cpuSystemMs / Math.max(1, r.cpuMs), 2),
    verificationsPerDelivery: delivered === 0 ? null : round(r.signaturesVerified / delivered, 3),
    sigsPerBatch: r.batches === 0 ? null : round(r.signaturesVerified / r.batches, 1),
    loopP99Ms: round(r.loopP99Ms, 2),
    loopMaxMs: round(r.loopMaxMs, 1),
    relayedFramesPerDelivery: delivered === 0 ? null : round(r.relayedFrames / delivered, 2),
    ihaveFramesPerDelivery: delivered === 0 ? null : round(r.ihaveFrames / delivered, 4),
    overloaded: r.overloaded,
    refusedFull: r.refusedFull,
    verifyFailed: r.verifyFailed,
    disconnects: r.disconnects,
    rateHolds: r.rateHolds,
    turnsCut: r.turnsCut,
    duplicates: r.duplicates,
    outside: r.outside,
    peakRssMb: round(r.peakRssMb, 1),
    generatorCpuUsPerMessage: sent.sent === 0 ? null : round((sent.cpuMs * 1000) / sent.sent, 1),
    generatorCores: round(sent.cpuMs / Math.max(1, sent.wallMs), 2),
    generatorBacklogTicks: sent.backlogTicks,
  };
}

/** One line of the log for a step. */
export function stepLine(label: string, row: StepRow): string {
  return (
    `  ${label} @ ${row['offeredPerSec']}/s: delivered ${row['deliveredPerSec'] ?? '-'}/s, p99 ${row['latencyP99Ms'] ?? '-'} ms, ` +
    `cpu ${row['cpuUsPerDelivery']} us/delivery (main ${row['mainThreadUsPerDelivery'] ?? '-'}, pool ${row['poolThreadsUsPerDelivery'] ?? '-'}, other ${row['otherThreadsUsPerDelivery'] ?? '-'}, batch ${row['sigsPerBatch'] ?? '-'}), node ${row['nodeCores']} cores, generator ${row['generatorCores']} cores, ` +
    `loop p99 ${row['loopP99Ms']} ms, other processes ${row['otherProcessesCpus'] ?? '-'} cores${row['sustained'] ? '' : ` (not sustained: ${row['why']})`}`
  );
}

/** Runs one configuration against the generator (already prepared and idle); the node process is its own. */
export async function runConfig(config: IngestConfig, settings: RunSettings, gen: ChildRpc<GeneratorRequest>, log: (line: string) => void): Promise<ConfigResult> {
  if (!existsSync(nodeScript)) throw new Error(`${nodeScript} is missing: run npm run build first`);
  const node = new ChildRpc<IngestNodeRequest>({ name: `node (${config.label})`, argv: [...extraNodeFlags, nodeScript], cwd: repoRoot, requestTimeoutMs: 60_000 });
  const steps: StepRow[] = [];
  const fixed = new Map<string, StepRow>();
  try {
    const started = await node.request<IngestNodeStarted>({ cmd: 'start', verifier: config.verifier });
    await gen.request({ cmd: 'connect', port: started.port, peers: settings.peers });
    const run = new Run(node, gen, settings);
    await run.waitForPeers(settings.peers);
    const w = settings.warmup;
    const warm = await run.step(w.ratePerSec, w.durationMs);
    log(stepLine(`${config.label} warm-up ${w.durationMs / 1000} s`, warm));
    await gen.request({ cmd: 'prune' });
    await sleep(pruneSettleMs);
    let best: StepRow | null = null;
    if (settings.search) {
      const search = new RateSearch(settings.search);
      for (let rate = search.next(); rate !== null; rate = search.next()) {
        const row = await run.step(rate, settings.stepMs);
        row['step'] = 'search';
        steps.push(row);
        log(stepLine(config.label, row));
        search.record(rate, row['sustained'] === true);
        if (row['sustained'] === true && (best === null || (row['deliveredPerSec'] as number) > (best['deliveredPerSec'] as number))) best = row;
      }
    }
    for (const f of settings.fixed) {
      const rate = 'share' in f ? (best ? Math.round(((best['deliveredPerSec'] as number) * f.share) / 10) * 10 : null) : f.ratePerSec;
      if (rate === null || rate <= 0) continue;
      const row = await run.step(rate, settings.stepMs);
      row['step'] = f.label;
      steps.push(row);
      fixed.set(f.label, row);
      log(stepLine(`${config.label} ${f.label}`, row));
    }
    const last = await node.request<IngestStepReport>({ cmd: 'report' });
    return { config, steps, best, fixed, peakRssMb: round(last.peakRssMbSinceStart, 1), rssAtStartMb: round(started.rssMb, 1), cli: started.cli };
  } finally {
    await gen.request({ cmd: 'disconnect' }).catch(() => undefined);
    await node.close(5000, { cmd: 'stop' });
  }
}
