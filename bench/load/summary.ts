/**
 * The verdict of a load run: the checks of checks.ts, and through run-facts.ts those of fault-bound.ts,
 * validity.ts and attack-evidence.ts, applied to what the driver recorded; one summary table
 * (printed, in bench/results/load.json and, for full runs, in the `load` section of bench/RESULTS.md).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { environment, markdownTable, updateResultsMarkdown, type ResultRow } from '../lib.ts';
import { baselineMs, graceMs, type AttackEvidence } from './attack-evidence.ts';
import { checkChains, type ChainResult, type DeliveryResult } from './checks.ts';
import { recoveredPeers, type LoadRun, type RunOutage } from './driver.ts';
import type { WorstInstance } from './fault-bound.ts';
import { forkLine, judgeForks, type ForkResult } from './forks.ts';
import type { Crash, HonestNode } from './honest-node.ts';
import { defaultConfig, describePlan, reconnectAllowanceMs, restartAllowanceMs, resumeAllowanceMs, type LoadConfig } from './plan.ts';
import { attacksOf, noticeRounds, observedSpans, observedWorstInstance, suiteOf, validityOf } from './run-facts.ts';
import { suiteGraceMs, type SuiteEvidence } from './suite-evidence.ts';
import type { ValidityResult } from './validity.ts';

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
  /** Whether honest chains split, and whether the split validators raised `diverged` (forks.ts). */
  forks: ForkResult;
  crashes: Crash[];
  /** Lines naming what failed, printed under the summary. */
  details: string[];
  /** One line per attack of the suite (--attack-suite): reached or not, what the attacker and the target did. */
  suite: string[];
  /** What the bound, validity and attack checks were computed from, for load.json. */
  evidence: Record<string, unknown>;
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
  forks: ForkResult;
  crashes: Crash[];
  unclean: number;
  /** Events nodes dropped because the harness read their output too slowly. */
  eventsLost: number;
  peaks: number[];
  peakMax: number;
  /** Which honest validator peaked highest, and by when (a phrase, or empty). */
  peakWhere: string;
  equivocations: Array<{ text: string; agree: boolean }>;
  notBack: RunOutage[];
  worst: WorstInstance;
  validity: ValidityResult;
  attacks: AttackEvidence[];
  /** The attack suite's attacks on one validator (--attack-suite), else empty. */
  suite: SuiteEvidence[];
}

function gather(run: LoadRun): Facts {
  const p = run.plan;
  const honest = p.roles.honest;
  const rec = run.recorder;
  // Cuts made to break validity on purpose still excuse missed gossip: only the validity check is to see them.
  const delivery = rec.ledger.check(honest, [...run.outages, ...run.hiddenOutages], settleMs, run.drainEndMs);
  const caughtUp = new Map(honest.map((i) => [i, run.honest.get(i)?.caughtUpAtMs !== null]));
  const chains = checkChains(honest, rec.chains, caughtUp);
  const nodes = [...run.honest.values()];
  const peaks = nodes.map((n) => n.peakMb);
  const inChain = new Set(chains.reference);
  const attacks = attacksOf(run);
  const equivocations = run.equivocations.map((e) => {
    const o = rec.outcome(p.roles.equivocator, e.t0);
    const seen = Object.keys(o).length === 0 ? 'no honest validator took it in time' : fmtCounts(o);
    const chained = e.hashes.some((h) => inChain.has(h)) ? ' (in chain)' : '';
    // An outcome counts only for an attack that took place (attack-evidence.ts).
    const done = attacks.some((a) => a.t0 === e.t0 && a.happened) ? '' : ' (attack not seen by honest validators)';
    return { text: `${e.kind}@${e.t0}: ${seen}${chained}${done}`, agree: Object.keys(o).length <= 1 };
  });
  return {
    run,
    delivery,
    chains,
    forks: judgeForks(honest, rec.chains, rec.divergedBy()),
    crashes: nodes.flatMap((n) => n.crashes),
    unclean: nodes.reduce((s, n) => s + n.uncleanStops, 0),
    eventsLost: nodes.reduce((s, n) => s + n.eventsLost, 0),
    peaks,
    peakMax: Math.max(0, ...peaks, ...Object.values(run.byzantine ?? {}).map((b) => b.peakMb)),
    peakWhere: peakWhere(nodes, run.loadStartMs),
    equivocations,
    notBack: run.outages.filter((o) => o.kind !== 'pause' && (o.endMs === null || (o.kind === 'kill' && o.caughtUpMs === null))),
    worst: observedWorstInstance(run),
    validity: validityOf(run, chains.reference),
    attacks,
    suite: suiteOf(run),
  };
}

/** The checks that must hold. */
function mustLines(f: Facts): CheckLine[] {
  const { delivery: d, chains, run } = f;
  const c = run.plan.config;
  const cutoffs = run.outages.filter((o) => o.kind !== 'pause').length;
  const divergent = chains.reference.length === 0 && chains.divergent.length > 0 ? noReference(f) : `NO: ${JSON.stringify(chains.divergent)}${chains.unanswered.length ? ` unanswered ${chains.unanswered.join(',')}` : ''}`;
  return [
    {
      check: 'honest messages delivered to all honest live nodes',
      value: `${d.delivered}/${d.required} (${d.messages} messages, ${d.excused} pairs excused by outages, ${d.excusedInFlight} of them cut off while the broadcast was in flight)`,
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
    forkLine(f.forks),
    { check: 'blocks decided (height of the honest chain)', value: String(chains.height), must: '>0', ok: chains.height > 0 },
    {
      check: 'equivocating miner, outcome at honest nodes',
      value: f.equivocations.map((e) => e.text).join('; ') || 'none',
      must: 'same everywhere',
      ok: f.equivocations.every((e) => e.agree),
    },
    ...boundLines(f),
    {
      check: 'node crashes (honest, not killed by the test)',
      value: `${f.crashes.length}${f.unclean ? ` (+${f.unclean} unclean stops)` : ''}${f.eventsLost ? ` (+${f.eventsLost} events lost: the harness read too slowly)` : ''}`,
      must: '0',
      ok: f.crashes.length === 0 && f.unclean === 0 && f.eventsLost === 0,
    },
    {
      check: 'peak memory per validator process (VmHWM)',
      value: `max ${f.peakMax.toFixed(0)} MB, median honest ${median(f.peaks).toFixed(0)} MB${f.peakWhere}`,
      must: `<= ${c.memoryBoundMb} MB`,
      ok: f.peakMax <= c.memoryBoundMb,
    },
    ...honestTrafficLines(f),
    ...suiteLines(f),
    {
      check: 'faulted validators back (reconnected; restarted ones caught up)',
      value: `${cutoffs - f.notBack.length}/${cutoffs}${f.notBack.length ? ` (not back: ${f.notBack.map((o) => `${o.node} after ${o.kind}`).join(', ')})` : ''}`,
      must: 'all',
      ok: f.notBack.length === 0,
    },
  ];
}

/**
 * The chain check's value when no validator that answered is caught up, so there is no reference chain: every
 * chain then counts against the rule, and whether they at least agree (each a prefix of the longest) tells a
 * network that stopped from one that forked.
 */
function noReference(f: Facts): string {
  const chains = [...f.run.recorder.chains.entries()].filter(([i]) => f.run.plan.roles.honest.includes(i));
  const longest = chains.reduce<string[]>((a, [, c]) => (c.length > a.length ? c : a), []);
  const forked = chains.filter(([, c]) => c.some((h, k) => h !== longest[k])).map(([i]) => i);
  const heights = chains.map(([i, c]) => `${i}:${c.length}`).join(' ');
  return `NO: no validator is caught up, so there is no reference chain (validator:height ${heights}); ${forked.length === 0 ? `every chain is a prefix of the longest (${longest.length} blocks): stopped, not forked` : `validators ${forked.join(',')} differ from the longest chain`}${f.chains.unanswered.length ? `; unanswered ${f.chains.unanswered.join(',')}` : ''}`;
}

/**
 * Honest traffic is never held against honest nodes: a chain that reaches a node a round late may cost its
 * forwarder a point (ERR_TOO_FEW_SIGNATURES, ERR_INSTANCE_OVER), nothing else may be charged and no honest
 * node banned, whatever the flooder does meanwhile. And observers follow the honest chain exactly.
 */
function honestTrafficLines(f: Facts): CheckLine[] {
  const { run } = f;
  const rec = run.recorder;
  const late = new Set(['ERR_TOO_FEW_SIGNATURES', 'ERR_INSTANCE_OVER']);
  const other = Object.entries(rec.honestOffenceCounts).filter(([code]) => !late.has(code));
  const bans = rec.bans['honest'] ?? 0;
  const lines: CheckLine[] = [
    {
      check: 'honest nodes charged for anything but a late chain, or banned, by honest nodes',
      value: other.length === 0 && bans === 0 ? `none (late chains: ${fmtCounts(rec.honestOffenceCounts)})` : `${fmtCounts(Object.fromEntries(other))}; bans ${bans}`,
      must: '0',
      ok: other.length === 0 && bans === 0,
    },
  ];
  if (run.observers.size === 0) return lines;
  const reference = f.chains.reference.join(',');
  const off = [...run.observers.keys()].filter((i) => (run.observerChains.get(i) ?? ['(no answer)']).join(',') !== reference);
  lines.push({
    check: 'observers hold the honest chain (followed by validators\' signed outcomes)',
    value: `${run.observers.size - off.length}/${run.observers.size}${off.length ? ` (differ: ${off.map((i) => `${i}: ${(run.observerChains.get(i) ?? []).length} blocks`).join(', ')})` : ''}`,
    must: 'all',
    ok: off.length === 0 && f.chains.reference.length > 0,
  });
  return lines;
}

/** With --attack-suite: every attack of the suite reached its target validator (suite-evidence.ts). */
function suiteLines(f: Facts): CheckLine[] {
  const s = f.run.plan.suite;
  if (!s) return [];
  const reached = f.suite.filter((a) => a.happened).length;
  const missed = f.suite.filter((a) => !a.happened).map((a) => a.name);
  const early = f.run.suite?.exitedEarly ? `; attacker exited early (${f.run.suite.exitedEarly})` : '';
  return [
    {
      check: `attack-suite attacks that reached their target, validator ${s.target} (attacker's report and the target's own account)`,
      value: `${reached}/${f.suite.length}${missed.length ? ` (not reached: ${missed.join(', ')})` : ''}${early}${f.run.plan.config.suiteSkip.length ? `; left out by --suite-skip: ${f.run.plan.config.suiteSkip.join(', ')}` : ''}`,
      must: 'all',
      ok: reached === f.suite.length && f.suite.length > 0,
    },
  ];
}

/** The fault bound, validity, and whether the attacks took place. */
function boundLines(f: Facts): CheckLine[] {
  const { run, worst, validity: v } = f;
  const c = run.plan.config;
  const m = run.mines;
  const at = worst.startMs === null ? '' : ` (instance from ${signedS(run, worst.startMs)}: 3 Byzantine + ${worst.nodes.join(',')})`;
  const byKind = new Map<string, [number, number]>();
  for (const a of f.attacks) {
    const [seen, all] = byKind.get(a.kind) ?? [0, 0];
    byKind.set(a.kind, [seen + (a.happened ? 1 : 0), all + 1]);
  }
  const seen = f.attacks.filter((a) => a.happened).length;
  return [
    {
      check: 'validators faulty in one instance (Byzantine + honest out during its k + 1 rounds), worst',
      value: `observed ${worst.faulty}${at}, planned ${run.plan.faultyPeak}`,
      must: `<= f = ${c.faults}`,
      ok: worst.faulty <= c.faults && run.plan.faultyPeak <= c.faults,
    },
    {
      check: 'honest proposals within the bound decided by every honest validator up during them',
      value: `${v.held}/${v.judged} (${v.outside.length} outside the bound; mines planned ${m.planned}, issued ${m.issued}, proposed ${run.mineLog.filter((x) => x.proposal).length}, moved ${m.moved}, skipped ${m.skipped}, retried ${m.retried})`,
      must: 'all, at least 1',
      ok: v.failures.length === 0 && v.judged > 0,
    },
    {
      check: 'scheduled attacks that took place, as honest validators saw them',
      value: `${seen}/${f.attacks.length} (${[...byKind].map(([k, [s, n]]) => `${k} ${s}/${n}`).join(', ')})`,
      must: 'all',
      ok: seen === f.attacks.length && f.attacks.length > 0,
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
  const spans = observedSpans(run);
  const outFor = run.outages.map((o, i) => `${o.kind} ${o.node} ${((spans[i]!.toMs - o.startMs) / 1000).toFixed(1)}s${o.endMs === null ? ' (never back)' : ''}`);
  const releases = (run.byzantineReports['withholder'] as { releases?: unknown[] } | undefined)?.releases?.length ?? 0;
  const bans = Object.fromEntries(Object.entries(rec.bans).map(([k, v]) => [k === 'other' ? 'sybil/flooder keys' : k, v]));
  const info = (check: string, value: string): CheckLine => ({ check, value, must: '-', ok: null });
  const lines = [
    info('delivery time, send to delivery (as the run read both)', `p50 ${d.latencyP50Ms} ms, p99 ${d.latencyP99Ms} ms, max ${d.latencyMaxMs} ms; ${((d.messages / c.loadMs) * 1000).toFixed(1)} msg/s confirmed`),
    info('faults executed', `${count('kill')} SIGKILL+restart, ${count('pause')} SIGSTOP/SIGCONT, ${count('isolate')} isolate; out (from the fault until back, see validity.ts) ${outFor.join(', ')}`),
    info('bans by honest nodes', fmtCounts(bans)),
    info('offences charged', fmtCounts(rec.offences)),
    info('offences charged to honest validators', `${rec.offencesAgainst['honest'] ?? 0}${rec.honestOffences.length ? `: ${rec.honestOffences.join('; ')}` : ''}`),
    info('late releases by the withholder', String(releases)),
    info('chains refused by honest nodes', fmtCounts(rec.rejected)),
    info('blocks learned by catch-up (restarts and resyncs)', `${rec.synced} (caught-up events ${rec.caughtUp})`),
    info('validators that began catching up again before round 0', run.earlyResyncs.size ? [...run.earlyResyncs].join(', ') : 'none'),
    info('resyncs (a running validator caught up again)', `${rec.resyncs.length}${rec.resyncs.length ? `: ${rec.resyncs.slice(0, 6).join('; ')}` : ''}`),
    info('stalls validators reported (out of synchrony by their own account, counted as out)', `${rec.stalls.length}${rec.stalls.length ? `: ${rec.stalls.slice(0, 6).map((x) => `validator ${x.node} ${x.lateMs} ms${x.catchingUp ? '' : ' (could not catch up)'}`).join('; ')}` : ''}`),
    info('diverged alarms (f+1 validators contradicted the chain), per validator', divergedValue(f.forks)),
    info('messages re-delivered after a restart', String(d.redeliveredAfterRestart)),
    info('seed', `${c.seed} (replay: ${replayCommand(c)})`),
  ];
  if (run.attackErrors.length > 0) lines.push(info('attack steps that failed', run.attackErrors.slice(0, 5).join('; ')));
  if (run.sabotage) lines.push(info('validity broken on purpose (--break-validity, a test of the checks)', run.sabotage));
  return lines;
}

/** Every validator's count of `diverged` alarms, and the total. */
function divergedValue(f: ForkResult): string {
  return f.alarmsTotal === 0 ? 'none' : `${f.alarmsTotal}: ${f.alarms.map((a) => `validator ${a.node} ${a.alarms}`).join(', ')}`;
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
    fork: f.forks.kind,
    divergedAlarms: f.forks.alarmsTotal,
    blocksDecided: f.chains.height,
    honestProposals: run.recorder.proposals.length,
    honestProposalsJudged: f.validity.judged,
    honestProposalsValid: f.validity.held,
    honestProposalsOutsideBound: f.validity.outside.length,
    crashes: f.crashes.length + f.unclean,
    peakRssMbMax: Math.round(f.peakMax),
    memoryBoundMb: c.memoryBoundMb,
    faultyPerInstanceObserved: f.worst.faulty,
    faultyPerInstancePlanned: run.plan.faultyPeak,
    attacksScheduled: f.attacks.length,
    attacksSeen: f.attacks.filter((a) => a.happened).length,
    suiteTarget: run.plan.suite?.target ?? null,
    suiteAttacks: f.suite.length,
    suiteAttacksReached: f.suite.filter((a) => a.happened).length,
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
  if (c.breakValidity) flags.push('--break-validity');
  if (c.hosts) flags.push('--hosts');
  if (c.observers !== (c.hosts ? 2 : 0)) flags.push(`--observers ${c.observers}`);
  if (c.attackSuite && c.suiteSkip.length === 0) flags.push('--attack-suite');
  if (c.suiteSkip.length > 0) flags.push(`--suite-skip ${c.suiteSkip.join(',')}`);
  return `npm run load -- ${flags.filter(Boolean).join(' ')}`;
}

/** Applies every check to a finished run. */
export function judge(run: LoadRun, wallMs: number): Verdict {
  const f = gather(run);
  const musts = mustLines(f);
  const passed = musts.every((l) => l.ok === true);
  return {
    lines: [...musts, ...infoLines(f)],
    passed,
    delivery: f.delivery,
    chains: f.chains,
    forks: f.forks,
    crashes: f.crashes,
    details: detailLines(f),
    suite: f.suite.map(suiteLine),
    evidence: {
      outagesObserved: observedSpans(run).map((o) => ({ node: o.node, fromS: relS(run, o.fromMs), backS: relS(run, o.toMs) })),
      resyncs: run.recorder.catchUps.map((x) => ({ node: x.node, life: x.life, atS: relS(run, x.fromMs), caughtUpS: x.toMs === null ? null : relS(run, x.toMs), reason: x.reason })),
      worstInstance: f.worst,
      validity: f.validity,
      mines: run.mineLog,
      attacks: f.attacks,
      forks: f.forks,
      divergences: run.recorder.divergences,
      suite: f.suite,
      suiteReports: run.suite?.records ?? [],
    },
    row: resultRow(f, passed, wallMs),
  };
}

/** What the last line of the summary says of a fork: a silent one is named apart from one that was alarmed. */
function forkVerdict(f: ForkResult): string {
  if (f.kind === 'silent') return `; SILENT FORK: validators ${f.split.join(',')} split and raised no diverged alarm`;
  if (f.kind === 'alarmed') return `; chains split, alarmed by diverged on validators ${f.alarmed.map((a) => a.node).join(',')}`;
  return '';
}

/** One attack of the suite as printed under the summary. */
function suiteLine(a: SuiteEvidence): string {
  return `${a.happened ? 'reached' : 'NOT REACHED'} ${a.label}: attacker: ${a.attacker}; target: ${a.target}`;
}

/** A time of the run as printed, in seconds from the start of the load phase: "+12.3s", "-0.5s". */
function signedS(run: LoadRun, ms: number): string {
  const s = relS(run, ms);
  return `${s < 0 ? '-' : '+'}${Math.abs(s).toFixed(1)}s`;
}

/** A time of the run in seconds from the start of the load phase. */
function relS(run: LoadRun, ms: number): number {
  return Math.round((ms - run.loadStartMs) / 100) / 10;
}

/** Lines under the summary that name what failed: proposals not decided, attacks not seen, proposals not judged. */
function detailLines(f: Facts): string[] {
  return [
    ...f.validity.failures.map((x) => `  not valid: ${x}`),
    ...f.attacks.filter((a) => !a.happened).map((a) => `  attack not seen: ${a.label}: ${a.evidence}`),
    ...f.validity.outside.map((x) => `  outside the fault bound (not judged): ${x}`),
  ];
}

/** Prints the summary and writes bench/results/load.json (and RESULTS.md for full runs). */
export async function report(run: LoadRun, v: Verdict): Promise<void> {
  const c = run.plan.config;
  const table = v.lines.map((l) => ({ check: l.check, value: l.value, must: l.must, ok: l.ok === null ? '' : l.ok ? 'ok' : 'FAIL' }));
  console.log('');
  console.log(`# load summary (seed ${c.seed}${c.quick ? ', quick' : ''})`);
  for (const l of table) console.log(`${l.ok.padEnd(4)} ${l.check}: ${l.value}${l.must !== '-' ? `  [must: ${l.must}]` : ''}`);
  for (const m of v.delivery.missingExamples) {
    const last = m.lastDeliveredAtMs === null ? '' : `, the last ${((m.lastDeliveredAtMs - m.sentAtMs) / 1000).toFixed(1)} s after the send`;
    console.log(`  missing: ${m.id.slice(0, 16)} from ${m.origin} at +${((m.sentAtMs - run.loadStartMs) / 1000).toFixed(1)}s not delivered by ${m.node} (delivered by ${m.deliveredBy} others${last})`);
  }
  for (const l of v.details) console.log(l);
  if (v.suite.length > 0) console.log(`attack suite, per attack:\n${v.suite.map((l) => `  ${l}`).join('\n')}`);
  for (const x of v.crashes) console.log(`  crash: validator ${x.node} life ${x.life} exited (code ${x.code}, signal ${x.signal}):\n${x.logTail}`);
  console.log(v.passed ? 'load: every must held' : `load: FAILED (see FAIL lines above)${forkVerdict(v.forks)}`);
  const env = environment();
  await mkdir(`${benchDir}results`, { recursive: true });
  const validators = [...run.honest.values()].map((n) => ({
    index: n.index,
    lives: n.life,
    peakRssMb: Math.round(n.peakMb),
    chainHeight: run.recorder.chains.get(n.index)?.length ?? null,
    // Block hashes of its final chain (12 characters each), so that a divergence can be traced to its blocks.
    chain: run.recorder.chains.get(n.index)?.map((h) => h.slice(0, 12)) ?? null,
    lastLifeStats: run.recorder.stats.get(n.index) ?? null,
    diverged: run.recorder.divergedBy().get(n.index) ?? 0,
  }));
  const json = {
    benchmark: 'load',
    ...v.row,
    date: env.date,
    cpus: env.cpus,
    node: env.node,
    loadAverageAtStart: run.loadAverageAtStart,
    loadAverageAtEnd: env.loadAverage1m,
    checks: v.lines,
    details: v.details,
    evidence: v.evidence,
    plan: describePlan(run.plan),
    log: run.log,
    outages: run.outages,
    validators,
    byzantine: run.byzantineReports,
  };
  // A multi-host run is recorded beside the loopback one, never over it; a run with the attack suite beside both.
  const name = `load${c.hosts ? '-hosts' : ''}${c.attackSuite ? '-attack-suite' : ''}`;
  await writeFile(`${benchDir}results/${name}.json`, JSON.stringify(json, null, 2) + '\n');
  if (c.quick) {
    console.log(`wrote bench/results/${name}.json (quick run: RESULTS.md left unchanged)`);
    return;
  }
  const section = [
    `Command: \`${replayCommand(c)}\`  `,
    `Date: ${env.date}, ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, 1-minute load average at start ${run.loadAverageAtStart}, at the end ${env.loadAverage1m}`,
    '',
    markdownTable(table.map((t) => ({ ...t })), ['check', 'value', 'must', 'ok']),
    '',
    ...(v.suite.length > 0 ? [`Attack suite against validator ${c.attackSuite ? run.plan.suite?.target : ''}, per attack (planned start):`, '', ...v.suite.map((l) => `- ${l}`), ''] : []),
    'Faults of this seed (times from the start of the load phase):',
    '',
    ...describePlan(run.plan).filter((l) => l.startsWith('  +')).map((l) => `- ${l.trim()}`),
    '',
    ...(run.hosting ? run.hosting.describe().map((l) => `- ${l}`) : []),
    '',
    notes(run).join('\n\n'),
  ].join('\n');
  await updateResultsMarkdown(name, section);
  console.log(`wrote bench/results/${name}.json and the "${name}" section of bench/RESULTS.md`);
}

/** The rules behind the figures, written under the table. */
export function notes(run: LoadRun): string[] {
  const c = run.plan.config;
  return [
    `${c.validators} validators on 127.0.0.1, one OS process each: ${run.plan.roles.honest.length} honest CLI validators (\`--data\`, \`--threads 1\`) and 3 Byzantine ones (a flooder, an equivocating miner, a withholder); f = ${c.faults}, k = ${run.plan.k} rounds of ${c.roundMs} ms; ${c.msgsPerSec} broadcasts/s of ${128} characters from rotating honest origins, a block every ${c.mineEveryRounds} rounds from a rotating honest miner. The seeded schedule (printed at start, in load.json) kills and restarts, pauses and isolates honest validators while keeping at most f validators faulty in any instance.`,
    `Fault bound: an instance runs for k + 1 rounds from the start of its round 1 (its k rounds and the round in which its decision falls due). A validator is faulty for an instance when it is Byzantine or out at any moment of it; an honest validator is out from the fault the run injects (SIGKILL, SIGSTOP, isolate) until it is back: one round after the later of the fault's end (restarted with ${recoveredPeers} honest peers, resumed, reconnected to ${recoveredPeers} honest peers) and the \`resync\` it made because of the fault (within ${noticeRounds} rounds of its end), because from the round after that it takes part in every instance and reports their decisions once caught up. An instance is within the bound when at most f validators are faulty for it. The plan is checked to keep every instance, whatever its start, within the bound with its own allowances (restart ${restartAllowanceMs / 1000} s, reconnect ${reconnectAllowanceMs / 1000} s, resume ${resumeAllowanceMs / 1000} s; a plan that breaks it is refused, and a unit test runs the generator over many seeds); the run checks it again on the outages it observed and fails when the worst instance had more than f.`,
    'Validity: every block the run asked an honest validator to mine must become a proposal (its `proposed` event), and every proposal whose instance was within the bound, its miner not out during it, must be decided with the proposed hash by every honest validator not out during it (its `decided` event, in any life) and be in the final chain. Proposals outside the bound are listed and not judged (the bound itself must hold). A `resync` with no injected fault near it excuses nothing. `--break-validity` tests this check: the run cuts an honest validator off as a block is proposed and leaves the cut out of its fault accounting, and must then fail.',
    `Attacks took place: an outcome counts only for an attack that happened, as honest validators saw it. Equivocation: honest validators relayed both conflicting blocks of the instance. Withholding: the withholder reports a late release and an honest validator relayed, decided or refused a chain of that instance. Flood steps, at every target: dups and replay raised the target's duplicate counter (\`stats\`, read every second and after each step) by at least half the frames written to it beyond its own rate of duplicates in the ${baselineMs / 1000} s before; garbage, badsig and burst made the target charge the flooder (its key or a key no validator holds) an offence of that kind (bad msgpack, oversized frame, bad message, bad handshake; bad signature; rate limited) within ${graceMs / 1000} s of the step's last frame.`,
    `Delivered: a confirmed broadcast must reach every honest validator other than its origin unless the validator (or the origin) was cut off within ${settleMs / 1000} s of the send, or while the broadcast was still reaching the others (before the last of their deliveries of it): killed, or isolated, until it had 3 honest peers again. Gossip is not replayed, so a validator misses what was sent while it was down. A paused validator is not excused: its connections stay open and it must deliver everything once resumed. Duplicates: one process delivering one id twice; a restarted process does not remember what its previous life delivered (counted apart). Chains: after the drain every honest validator that is not catching up holds the same chain, hash for hash; one still catching up must hold a prefix of it. Forks: validators whose final chain conflicts with another honest validator's (neither a prefix of the other) are split; a split is alarmed when at least one of them raised \`diverged\` (in any life), and silent otherwise, which fails the run apart from the chain check; every validator's count of \`diverged\` alarms is printed. Crashes: an honest process exiting without the test killing it, or not exiting cleanly on SIGTERM. Memory: peak resident set (VmHWM) of every validator process, honest and Byzantine, sampled every second and at every kill and stop; the bound is ${c.memoryBoundMb} MB per process (a validator, the compiled CLI with its verification worker, starts near 70 MB; what it keeps grows only up to bounded caches: seen ids, verified signatures, in-memory chain).`,
    ...(c.attackSuite ? [suiteNote(run)] : []),
    c.quietWindows
      ? 'Quiet windows (--quiet-windows): no block instance runs while a validator is paused or isolated, for nodes that do not catch up again after such an outage.'
      : 'Paused and isolated validators miss the rounds of the instances running meanwhile; they must notice it (`resync`), catch up from their peers and end with the same chain.',
  ];
}

/** How the attack suite ran in the load test (--attack-suite), written under the table. */
function suiteNote(run: LoadRun): string {
  const s = run.plan.suite;
  const n = s?.attacks.length ?? 0;
  const durS = (s?.attacks[0]?.durMs ?? 0) / 1000;
  return `Attack suite (--attack-suite): the attack suite's attacker (bench/attack/attacker.ts, the same process \`npm run attack\` drives) runs in a process of its own${run.plan.config.hosts ? ' and network namespace' : ''} and plays ${n} attacks, every kind of the suite${run.plan.config.quick ? '\'s quick set' : ''} once in a seeded order, ${durS} s each and one at a time, evenly spaced over the load phase, against validator ${s?.target}, an honest validator with no planned fault that no flood step aims at. That validator runs with \`--ip-limits-on-loopback\` and every process of the run has a /16 of its own (on loopback 127.128+i.0.1, with --hosts 10.64+i.0.1); the attacker sends from 32 addresses, two per /16, in groups no process of the run has (127.16 to 127.31 on loopback, the groups after the processes' own with --hosts), fresh addresses in the same groups for each attack (as an attacker that rotates them: an IP ban earned in one attack would otherwise stop the next), so the target's per-IP and per-group limits and IP bans apply to the attacker as they would on the internet. An attack reached its target when the attacker's report shows it connected and sent (sybils: at least one handshake the target accepted) and the target acted on it: charged an offence to a peer that is no validator within ${suiteGraceMs / 1000} s of the attack's end, its offence, ban, rate-hold or cut-turn counters rose, it ended attacker connections, or it accepted a sybil. Every other check is the same as without the suite.`;
}

/** Which honest validator peaked highest, and when its sampled peak rose last (the second before that sample). */
function peakWhere(nodes: readonly HonestNode[], loadStartMs: number): string {
  const top = [...nodes].sort((a, b) => b.peakMb - a.peakMb)[0];
  if (!top || top.peakSeenAtMs === 0) return '';
  return ` (honest highest: validator ${top.index}, ${top.peakMb.toFixed(0)} MB, reached by +${((top.peakSeenAtMs - loadStartMs) / 1000).toFixed(1)}s)`;
}
