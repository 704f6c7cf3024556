/**
 * The verdict of a load run: the checks of checks.ts applied to what the driver recorded, one summary table
 * (printed, in bench/results/load.json and, for full runs, in the `load` section of bench/RESULTS.md).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { environment, markdownTable, updateResultsMarkdown, type ResultRow } from '../lib.ts';
import { checkChains, type ChainResult, type DeliveryResult } from './checks.ts';
import type { LoadRun } from './driver.ts';
import type { Crash } from './honest-node.ts';
import { describePlan } from './plan.ts';

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

/** Applies every check to a finished run. */
export function judge(run: LoadRun, wallMs: number): Verdict {
  const p = run.plan;
  const c = p.config;
  const honest = p.roles.honest;
  const rec = run.recorder;
  const delivery = rec.ledger.check(honest, run.outages, settleMs, run.drainEndMs);
  const caughtUp = new Map(honest.map((i) => [i, run.honest.get(i)?.caughtUpAtMs !== null]));
  const chains = checkChains(honest, rec.chains, caughtUp);
  const crashes = [...run.honest.values()].flatMap((n) => n.crashes);
  const unclean = [...run.honest.values()].reduce((s, n) => s + n.uncleanStops, 0);
  const peaks = [...run.honest.values()].map((n) => n.peakMb);
  const byzPeaks = Object.values(run.byzantine ?? {}).map((b) => b.peakMb);
  const peakMax = Math.max(0, ...peaks, ...byzPeaks);
  const refSet = new Set(chains.reference);
  const honestProposed = rec.proposals;
  const honestDecided = honestProposed.filter((x) => refSet.has(x.hash)).length;
  let equivAgree = true;
  const equivOutcomes = run.equivocations.map((e) => {
    const o = rec.outcome(p.roles.equivocator, e.t0);
    if (Object.keys(o).length > 1) equivAgree = false;
    const inChain = e.hashes.filter((h) => refSet.has(h)).length;
    const seen = Object.keys(o).length === 0 ? 'no honest validator took it in time' : fmtCounts(o);
    return `${e.kind}@${e.t0}: ${seen}${inChain ? ' (in chain)' : ''}`;
  });
  const kills = run.outages.filter((o) => o.kind === 'kill').length;
  const pauses = run.outages.filter((o) => o.kind === 'pause').length;
  const isolations = run.outages.filter((o) => o.kind === 'isolate').length;
  const outMs = run.outages.filter((o) => o.kind !== 'pause').map((o) => (o.endMs === null ? null : o.endMs - o.startMs));
  const flood = (run.byzantineReports['flooder'] as { flood?: Record<string, unknown> } | undefined)?.flood;
  const releases = (run.byzantineReports['withholder'] as { releases?: unknown[] } | undefined)?.releases?.length ?? 0;

  const lines: CheckLine[] = [
    {
      check: 'honest messages delivered to all honest live nodes',
      value: `${delivery.delivered}/${delivery.required} (${delivery.messages} messages, ${delivery.excused} pairs excused by outages)`,
      must: 'all',
      ok: delivery.missing === 0 && delivery.required > 0,
    },
    { check: 'duplicates delivered (same process)', value: String(delivery.duplicates), must: '0', ok: delivery.duplicates === 0 },
    { check: 'honest chains identical', value: chains.identical ? `yes (${honest.length - chains.catchingUp.length} identical, ${chains.catchingUp.length} catching up with a prefix)` : `NO: ${JSON.stringify(chains.divergent)}${chains.unanswered.length ? ` unanswered ${chains.unanswered.join(',')}` : ''}`, must: 'yes', ok: chains.identical },
    { check: 'blocks decided (height of the honest chain)', value: String(chains.height), must: '>0', ok: chains.height > 0 },
    { check: 'honest proposals in the chain', value: `${honestDecided}/${honestProposed.length} (mines planned ${run.mines.planned}, issued ${run.mines.issued}, skipped ${run.mines.skipped}, retried ${run.mines.retried})`, must: '-', ok: null },
    { check: 'equivocating miner, outcome at honest nodes', value: equivOutcomes.join('; ') || 'none', must: 'same everywhere', ok: equivAgree },
    { check: 'node crashes (honest, not killed by the test)', value: `${crashes.length}${unclean ? ` (+${unclean} unclean stops)` : ''}`, must: '0', ok: crashes.length === 0 && unclean === 0 },
    { check: 'peak memory per validator process (VmHWM)', value: `max ${peakMax.toFixed(0)} MB, median honest ${median(peaks).toFixed(0)} MB`, must: `<= ${c.memoryBoundMb} MB`, ok: peakMax <= c.memoryBoundMb },
    { check: 'faults executed', value: `${kills} SIGKILL+restart, ${pauses} SIGSTOP/SIGCONT, ${isolations} isolate; out for ${outMs.map((m) => (m === null ? 'never back' : `${(m / 1000).toFixed(1)}s`)).join(', ')}`, must: '-', ok: null },
    { check: 'bans by honest nodes', value: fmtCounts(Object.fromEntries(Object.entries(rec.bans).map(([k, v]) => [k === 'other' ? 'sybil/flooder keys' : k, v]))), must: '-', ok: null },
    { check: 'offences charged', value: fmtCounts(rec.offences), must: '-', ok: null },
    { check: 'offences charged to honest validators', value: String(rec.offencesAgainst['honest'] ?? 0), must: '-', ok: null },
    { check: 'late releases by the withholder', value: String(releases), must: '-', ok: null },
    { check: 'chains refused by honest nodes', value: fmtCounts(rec.rejected), must: '-', ok: null },
    { check: 'blocks learned by catch-up after restarts', value: `${rec.synced} (caught-up events ${rec.caughtUp})`, must: '-', ok: null },
    { check: 'messages re-delivered after a restart', value: String(delivery.redeliveredAfterRestart), must: '-', ok: null },
    { check: 'seed', value: `${c.seed} (replay: npm run load --${c.quick ? ' --quick' : ''} --seed ${c.seed})`, must: '-', ok: null },
  ];
  if (run.attackErrors.length > 0) lines.push({ check: 'attack steps that failed', value: run.attackErrors.slice(0, 5).join('; '), must: '-', ok: null });
  const passed = lines.every((l) => l.ok !== false);
  const row: ResultRow = {
    seed: c.seed,
    quick: c.quick,
    validators: c.validators,
    faults: c.faults,
    roundMs: c.roundMs,
    loadSeconds: c.loadMs / 1000,
    offeredMsgsPerSec: c.msgsPerSec,
    messages: delivery.messages,
    requiredDeliveries: delivery.required,
    missingDeliveries: delivery.missing,
    duplicatesDelivered: delivery.duplicates,
    chainsIdentical: chains.identical,
    blocksDecided: chains.height,
    honestProposals: honestProposed.length,
    honestProposalsDecided: honestDecided,
    crashes: crashes.length + unclean,
    peakRssMbMax: Math.round(peakMax),
    memoryBoundMb: c.memoryBoundMb,
    kills,
    pauses,
    isolations,
    bans: Object.values(rec.bans).reduce((a, b) => a + b, 0),
    floodFramesSent: Number(flood?.['framesSent'] ?? 0),
    wallSeconds: Math.round(wallMs / 1000),
    passed,
  };
  return { lines, passed, delivery, chains, crashes, row };
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
  const json = { benchmark: 'load', ...v.row, date: env.date, cpus: env.cpus, node: env.node, checks: v.lines, plan: describePlan(run.plan), log: run.log, byzantine: run.byzantineReports };
  await writeFile(`${benchDir}results/load.json`, JSON.stringify(json, null, 2) + '\n');
  if (c.quick) {
    console.log('wrote bench/results/load.json (quick run: RESULTS.md left unchanged)');
    return;
  }
  const section = [
    `Command: \`npm run load -- --seed ${c.seed}\`  `,
    `Date: ${env.date}, ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, 1-minute load average at start ${env.loadAverage1m}`,
    '',
    markdownTable(table.map((t) => ({ ...t })), ['check', 'value', 'must', 'ok']),
    '',
    ...notes(run),
  ].join('\n');
  await updateResultsMarkdown('load', section);
  console.log('wrote bench/results/load.json and the "load" section of bench/RESULTS.md');
}

/** The rules behind the figures, written under the table. */
export function notes(run: LoadRun): string[] {
  const c = run.plan.config;
  return [
    `${c.validators} validators on 127.0.0.1, one OS process each: ${run.plan.roles.honest.length} honest CLI validators (\`--data\`, \`--threads 1\`) and 3 Byzantine ones (a flooder, an equivocating miner, a withholder); f = ${c.faults}, k = ${run.plan.k} rounds of ${c.roundMs} ms; ${c.msgsPerSec} broadcasts/s of ${128} characters from rotating honest origins, a block every ${c.mineEveryRounds} rounds from a rotating honest miner. The seeded schedule (printed at start, in load.json) kills and restarts, pauses and isolates honest validators while keeping at most f validators faulty at once (Byzantine ones included; an honest one counts from its fault until k rounds after it is back).`,
    `Delivered: a confirmed broadcast must reach every honest validator other than its origin unless the validator (or the origin) was cut off within ${settleMs / 1000} s of the send: killed, or isolated, until it had 3 honest peers again. Gossip is not replayed, so a validator misses what was sent while it was down. A paused validator is not excused: its connections stay open and it must deliver everything once resumed. Duplicates: one process delivering one id twice; a restarted process does not remember what its previous life delivered (counted apart). Chains: after the drain every honest validator that is not catching up holds the same chain, hash for hash; one still catching up must hold a prefix of it. Crashes: an honest process exiting without the test killing it, or not exiting cleanly on SIGTERM. Memory: peak resident set (VmHWM) of every validator process, bound ${c.memoryBoundMb} MB (a tsx process with a verification worker idles near 100 MB).`,
    'Quiet windows: a validator that was paused or isolated is not re-synced once it is back (only a restarted validator catches up), so if a block were decided while it was out its chain would stay behind for good; the schedule keeps block instances away from those outages (`--no-quiet-windows` shows the effect).',
  ];
}
