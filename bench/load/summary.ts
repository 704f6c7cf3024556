/**
 * The verdict of a load run: the checks of checks.ts applied to what the driver recorded, one summary table
 * (printed, in bench/results/load.json and, for full runs, in the `load` section of bench/RESULTS.md).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { environment, markdownTable, updateResultsMarkdown, type ResultRow } from '../lib.ts';
import { checkChains, type ChainResult, type DeliveryResult } from './checks.ts';
import type { LoadRun, RunOutage } from './driver.ts';
import type { Crash } from './honest-node.ts';
import { defaultConfig, describePlan, type LoadConfig } from './plan.ts';

const benchDir = fileURLToPath(new URL('..', import.meta.url));

/** Broadcasts may take this long to reach every validator before a nearby outage stops counting them, in ms. */
export const settleMs = 3000;

/** One line of the summary. */
export interface CheckLine {
  check: string;
  value: string;
  must: string;
  ok: boolean | null;
}

/**
 * Most validators faulty at once as it happened: the 3 Byzantine ones, plus every honest one from its fault
 * until k rounds after it was back (reconnected, and for a restart also caught up).
 */
export function observedFaultyPeak(run: LoadRun): number {
  const kMs = run.plan.k * run.plan.config.roundMs;
  const windows = run.outages.map((o) => {
    const back = Math.max(o.endMs ?? run.drainEndMs, o.kind === 'kill' ? (o.caughtUpMs ?? run.drainEndMs) : 0);
    return { node: o.node, from: o.startMs, to: back + kMs };
  });
  let peak = 3;
  for (const w of windows) {
    const at = new Set(windows.filter((x) => x.from <= w.from && w.from < x.to).map((x) => x.node));
    peak = Math.max(peak, 3 + at.size);
  }
  return peak;
}

/** Everything the run concluded. */
export interface Verdict {
  lines: CheckLine[];
  passed: boolean;
  delivery: DeliveryResult;
  chains: ChainResult;
  crashes: Crash[];
  row: ResultRow;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[(s.length - 1) >> 1] as number);
}

function fmtCounts(c: Record<string, number>): string {
  const e = Object.entries(c).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k} ${v}`).join(', ');
}

/** What the checks are computed from. */
interface Facts {
  run: LoadRun;
  delivery: DeliveryResult;
  chains: ChainResult;
  crashes: Crash[];
  unclean: number;
  peaks: number[];
  peakMax: number;
  honestDecided: number;
  equivocations: Array<{ text: string; agree: boolean }>;
  notBack: RunOutage[];
  faultyPeak: number;
}

function gather(run: LoadRun): Facts {
  const p = run.plan;
  const honest = p.roles.honest;
  const rec = run.recorder;
  const delivery = rec.ledger.check(honest, run.outages, settleMs, run.drainEndMs);
  const caughtUp = new Map(honest.map((i) => [i, run.honest.get(i)?.caughtUpAtMs !== null]));
  const chains = checkChains(honest, rec.chains, caughtUp);
  const nodes = [...run.honest.values()];
  const peaks = nodes.map((n) => n.peakMb);
  const inChain = new Set(chains.reference);
  const equivocations = run.equivocations.map((e) => {
    const o = rec.outcome(p.roles.equivocator, e.t0);
    const seen = Object.keys(o).length === 0 ? 'no honest validator took it in time' : fmtCounts(o);
    const chained = e.hashes.some((h) => inChain.has(h)) ? ' (in chain)' : '';
    return { text: `${e.kind}@${e.t0}: ${seen}${chained}`, agree: Object.keys(o).length <= 1 };
  });
  return {
    run,
    delivery,
    chains,
    crashes: nodes.flatMap((n) => n.crashes),
    unclean: nodes.reduce((s, n) => s + n.uncleanStops, 0),
    peaks,
    peakMax: Math.max(0, ...peaks, ...Object.values(run.byzantine ?? {}).map((b) => b.peakMb)),
    honestDecided: rec.proposals.filter((x) => inChain.has(x.hash)).length,
    equivocations,
    notBack: run.outages.filter((o) => o.kind !== 'pause' && (o.endMs === null || (o.kind === 'kill' && o.caughtUpMs === null))),
    faultyPeak: observedFaultyPeak(run),
  };
}

/** The checks that must hold. */
function mustLines(f: Facts): CheckLine[] {
  const { delivery: d, chains, run } = f;
  const c = run.plan.config;
  const cutoffs = run.outages.filter((o) => o.kind !== 'pause').length;
  const divergent = `NO: ${JSON.stringify(chains.divergent)}${chains.unanswered.length ? ` unanswered ${chains.unanswered.join(',')}` : ''}`;
  return [
    {
      check: 'honest messages delivered to all honest live nodes',
      value: `${d.delivered}/${d.required} (${d.messages} messages, ${d.excused} pairs excused by outages)`,
      must: 'all',
      ok: d.missing === 0 && d.required > 0,
    },
    { check: 'duplicates delivered (same process)', value: String(d.duplicates), must: '0', ok: d.duplicates === 0 },
    {
      check: 'honest chains identical',
      value: chains.identical ? `yes (${run.plan.roles.honest.length - chains.catchingUp.length} identical, ${chains.catchingUp.length} catching up with a prefix)` : divergent,
      must: 'yes',
      ok: chains.identical,
    },
    { check: 'blocks decided (height of the honest chain)', value: String(chains.height), must: '>0', ok: chains.height > 0 },
    {
      check: 'equivocating miner, outcome at honest nodes',
      value: f.equivocations.map((e) => e.text).join('; ') || 'none',
      must: 'same everywhere',
      ok: f.equivocations.every((e) => e.agree),
    },
    {
      check: 'node crashes (honest, not killed by the test)',
      value: `${f.crashes.length}${f.unclean ? ` (+${f.unclean} unclean stops)` : ''}`,
      must: '0',
      ok: f.crashes.length === 0 && f.unclean === 0,
    },
    {
      check: 'peak memory per validator process (VmHWM)',
      value: `max ${f.peakMax.toFixed(0)} MB, median honest ${median(f.peaks).toFixed(0)} MB`,
      must: `<= ${c.memoryBoundMb} MB`,
      ok: f.peakMax <= c.memoryBoundMb,
    },
    {
      check: 'faulted validators back (reconnected; restarted ones caught up)',
      value: `${cutoffs - f.notBack.length}/${cutoffs}${f.notBack.length ? ` (not back: ${f.notBack.map((o) => `${o.node} after ${o.kind}`).join(', ')})` : ''}`,
      must: 'all',
      ok: f.notBack.length === 0,
    },
  ];
}

/** Figures reported without a bound. */
function infoLines(f: Facts): CheckLine[] {
  const { run, delivery: d } = f;
  const p = run.plan;
  const c = p.config;
  const rec = run.recorder;
  const count = (kind: string) => run.outages.filter((o) => o.kind === kind).length;
  const outFor = run.outages.filter((o) => o.kind !== 'pause').map((o) => (o.endMs === null ? 'never back' : `${((o.endMs - o.startMs) / 1000).toFixed(1)}s`));
  const releases = (run.byzantineReports['withholder'] as { releases?: unknown[] } | undefined)?.releases?.length ?? 0;
  const bans = Object.fromEntries(Object.entries(rec.bans).map(([k, v]) => [k === 'other' ? 'sybil/flooder keys' : k, v]));
  const info = (check: string, value: string): CheckLine => ({ check, value, must: '-', ok: null });
  const lines = [
    info('delivery time, send to delivery (as the run read both)', `p50 ${d.latencyP50Ms} ms, p99 ${d.latencyP99Ms} ms, max ${d.latencyMaxMs} ms; ${((d.messages / c.loadMs) * 1000).toFixed(1)} msg/s confirmed`),
    info('honest proposals in the chain', `${f.honestDecided}/${rec.proposals.length} (mines planned ${run.mines.planned}, issued ${run.mines.issued}, moved to another validator ${run.mines.moved}, skipped ${run.mines.skipped}, retried ${run.mines.retried})`),
    info(
      'validators faulty at once (Byzantine + honest from fault to k rounds after back)',
      `planned ${p.faultyPeak}, observed ${f.faultyPeak} of f = ${c.faults}${f.faultyPeak > c.faults ? ' (over f: agreement was not guaranteed by the protocol in this run)' : ''}`,
    ),
    info('faults executed', `${count('kill')} SIGKILL+restart, ${count('pause')} SIGSTOP/SIGCONT, ${count('isolate')} isolate; out for ${outFor.join(', ')}`),
    info('bans by honest nodes', fmtCounts(bans)),
    info('offences charged', fmtCounts(rec.offences)),
    info('offences charged to honest validators', `${rec.offencesAgainst['honest'] ?? 0}${rec.honestOffences.length ? `: ${rec.honestOffences.join('; ')}` : ''}`),
    info('late releases by the withholder', String(releases)),
    info('chains refused by honest nodes', fmtCounts(rec.rejected)),
    info('blocks learned by catch-up (restarts and resyncs)', `${rec.synced} (caught-up events ${rec.caughtUp})`),
    info('validators that began catching up again before round 0', run.earlyResyncs.size ? [...run.earlyResyncs].join(', ') : 'none'),
    info('resyncs (a running validator caught up again)', `${rec.resyncs.length}${rec.resyncs.length ? `: ${rec.resyncs.slice(0, 6).join('; ')}` : ''}`),
    info('messages re-delivered after a restart', String(d.redeliveredAfterRestart)),
    info('seed', `${c.seed} (replay: ${replayCommand(c)})`),
  ];
  if (run.attackErrors.length > 0) lines.push(info('attack steps that failed', run.attackErrors.slice(0, 5).join('; ')));
  return lines;
}

function resultRow(f: Facts, passed: boolean, wallMs: number): ResultRow {
  const { run, delivery: d } = f;
  const c = run.plan.config;
  const flood = (run.byzantineReports['flooder'] as { flood?: Record<string, unknown> } | undefined)?.flood;
  return {
    seed: c.seed,
    quick: c.quick,
    validators: c.validators,
    faults: c.faults,
    roundMs: c.roundMs,
    loadSeconds: c.loadMs / 1000,
    offeredMsgsPerSec: c.msgsPerSec,
    messages: d.messages,
    requiredDeliveries: d.required,
    missingDeliveries: d.missing,
    latencyP50Ms: d.latencyP50Ms,
    latencyP99Ms: d.latencyP99Ms,
    duplicatesDelivered: d.duplicates,
    chainsIdentical: f.chains.identical,
    blocksDecided: f.chains.height,
    honestProposals: run.recorder.proposals.length,
    honestProposalsDecided: f.honestDecided,
    crashes: f.crashes.length + f.unclean,
    peakRssMbMax: Math.round(f.peakMax),
    memoryBoundMb: c.memoryBoundMb,
    faultyPeakObserved: f.faultyPeak,
    kills: run.outages.filter((o) => o.kind === 'kill').length,
    pauses: run.outages.filter((o) => o.kind === 'pause').length,
    isolations: run.outages.filter((o) => o.kind === 'isolate').length,
    bans: Object.values(run.recorder.bans).reduce((a, b) => a + b, 0),
    floodFramesSent: Number(flood?.['framesSent'] ?? 0),
    wallSeconds: Math.round(wallMs / 1000),
    passed,
  };
}

/** The command that replays a run: its seed plus every setting that differs from the defaults. */
export function replayCommand(c: LoadConfig): string {
  const d = defaultConfig(c.quick, c.seed);
  const flags = [c.quick ? '--quick' : '', `--seed ${c.seed}`];
  if (c.roundMs !== d.roundMs) flags.push(`--round-ms ${c.roundMs}`);
  if (c.loadMs !== d.loadMs) flags.push(`--load-s ${c.loadMs / 1000}`);
  if (c.msgsPerSec !== d.msgsPerSec) flags.push(`--rate ${c.msgsPerSec}`);
  if (c.memoryBoundMb !== d.memoryBoundMb) flags.push(`--memory-mb ${c.memoryBoundMb}`);
  if (c.quietWindows) flags.push('--quiet-windows');
  return `npm run load -- ${flags.filter(Boolean).join(' ')}`;
}

/** Applies every check to a finished run. */
export function judge(run: LoadRun, wallMs: number): Verdict {
  const f = gather(run);
  const musts = mustLines(f);
  const passed = musts.every((l) => l.ok === true);
  return { lines: [...musts, ...infoLines(f)], passed, delivery: f.delivery, chains: f.chains, crashes: f.crashes, row: resultRow(f, passed, wallMs) };
}

/** Prints the summary and writes bench/results/load.json (and RESULTS.md for full runs). */
export async function report(run: LoadRun, v: Verdict): Promise<void> {
  const c = run.plan.config;
  const table = v.lines.map((l) => ({ check: l.check, value: l.value, must: l.must, ok: l.ok === null ? '' : l.ok ? 'ok' : 'FAIL' }));
  console.log('');
  console.log(`# load summary (seed ${c.seed}${c.quick ? ', quick' : ''})`);
  for (const l of table) console.log(`${l.ok.padEnd(4)} ${l.check}: ${l.value}${l.must !== '-' ? `  [must: ${l.must}]` : ''}`);
  for (const m of v.delivery.missingExamples) console.log(`  missing: ${m.id.slice(0, 16)} from ${m.origin} at +${((m.sentAtMs - run.loadStartMs) / 1000).toFixed(1)}s not delivered by ${m.node}`);
  for (const x of v.crashes) console.log(`  crash: validator ${x.node} life ${x.life} exited (code ${x.code}, signal ${x.signal}):\n${x.logTail}`);
  console.log(v.passed ? 'load: every must held' : 'load: FAILED (see FAIL lines above)');
  const env = environment();
  await mkdir(`${benchDir}results`, { recursive: true });
  const validators = [...run.honest.values()].map((n) => ({
    index: n.index,
    lives: n.life,
    peakRssMb: Math.round(n.peakMb),
    chainHeight: run.recorder.chains.get(n.index)?.length ?? null,
    lastLifeStats: run.recorder.stats.get(n.index) ?? null,
  }));
  const json = {
    benchmark: 'load',
    ...v.row,
    date: env.date,
    cpus: env.cpus,
    node: env.node,
    checks: v.lines,
    plan: describePlan(run.plan),
    log: run.log,
    outages: run.outages,
    validators,
    byzantine: run.byzantineReports,
  };
  await writeFile(`${benchDir}results/load.json`, JSON.stringify(json, null, 2) + '\n');
  if (c.quick) {
    console.log('wrote bench/results/load.json (quick run: RESULTS.md left unchanged)');
    return;
  }
  const section = [
    `Command: \`${replayCommand(c)}\`  `,
    `Date: ${env.date}, ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, 1-minute load average at start ${env.loadAverage1m}`,
    '',
    markdownTable(table.map((t) => ({ ...t })), ['check', 'value', 'must', 'ok']),
    '',
    'Faults of this seed (times from the start of the load phase):',
    '',
    ...describePlan(run.plan).filter((l) => l.startsWith('  +')).map((l) => `- ${l.trim()}`),
    '',
    notes(run).join('\n\n'),
  ].join('\n');
  await updateResultsMarkdown('load', section);
  console.log('wrote bench/results/load.json and the "load" section of bench/RESULTS.md');
}

/** The rules behind the figures, written under the table. */
export function notes(run: LoadRun): string[] {
  const c = run.plan.config;
  return [
    `${c.validators} validators on 127.0.0.1, one OS process each: ${run.plan.roles.honest.length} honest CLI validators (\`--data\`, \`--threads 1\`) and 3 Byzantine ones (a flooder, an equivocating miner, a withholder); f = ${c.faults}, k = ${run.plan.k} rounds of ${c.roundMs} ms; ${c.msgsPerSec} broadcasts/s of ${128} characters from rotating honest origins, a block every ${c.mineEveryRounds} rounds from a rotating honest miner. The seeded schedule (printed at start, in load.json) kills and restarts, pauses and isolates honest validators while keeping at most f validators faulty at once (Byzantine ones included; an honest one counts from its fault until k rounds after it is back).`,
    `Delivered: a confirmed broadcast must reach every honest validator other than its origin unless the validator (or the origin) was cut off within ${settleMs / 1000} s of the send: killed, or isolated, until it had 3 honest peers again. Gossip is not replayed, so a validator misses what was sent while it was down. A paused validator is not excused: its connections stay open and it must deliver everything once resumed. Duplicates: one process delivering one id twice; a restarted process does not remember what its previous life delivered (counted apart). Chains: after the drain every honest validator that is not catching up holds the same chain, hash for hash; one still catching up must hold a prefix of it. Crashes: an honest process exiting without the test killing it, or not exiting cleanly on SIGTERM. Memory: peak resident set (VmHWM) of every validator process, honest and Byzantine, sampled every second and at every kill and stop; the bound is ${c.memoryBoundMb} MB per process (a validator under tsx with its verification worker starts near 100 MB; what it keeps grows only up to bounded caches: seen ids, verified signatures, in-memory chain).`,
    c.quietWindows
      ? 'Quiet windows (--quiet-windows): no block instance runs while a validator is paused or isolated, for nodes that do not catch up again after such an outage.'
      : 'Paused and isolated validators miss the rounds of the instances running meanwhile; they must notice it (`resync`), catch up from their peers and end with the same chain.',
  ];
}
