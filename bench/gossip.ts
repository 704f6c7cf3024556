/**
 * Gossip benchmark: signed broadcasts over a random mesh of real nodes on loopback, one OS process per node,
 * all sharing the machine's cores, relayed along a Plumtree broadcast tree (gossipMode 'tree', the default)
 * or flooded to every peer ('flood', for comparison). Publishers offer a steady rate for a few seconds per
 * phase, then a burst as fast as they can sign. Per phase it reports the delivery ratio (every node, every
 * message), duplicates delivered to the application, frames sent per delivered message (amplification),
 * verifications per delivered message, end-to-end latency p50/p99, CPU, peak resident memory per node and
 * the largest event-loop delay.
 *
 * The node processes run the compiled build (`node dist/bench/gossip/gossip-node.js`), which this script
 * makes first with `npm run build`: under tsx every node would also carry the loader's thread and compile at
 * start.
 *
 * "Highest sustained rate" is the highest delivered rate (not offered) of a steady phase that counts as
 * sustained: every message at every node within the drain window, no duplicate, p99 latency within
 * sustainedP99MsMax and publishers achieving sustainedAchievedMin of the offered rate (run-config.ts says
 * why those bounds). The goal configuration runs `goalRepetitions` times, each on fresh node processes, and
 * every goal is judged on each repetition: met only if met in all of them, with the median and the worst
 * printed.
 *
 *   npm run bench -- gossip [--quick]
 *   node --import tsx bench/gossip.ts --nodes 16 --rates 500,1000 [--burst 2000] [--duration 3000]
 *     [--mode tree|flood] [--verifier main|pool] [--degree 6] [--publishers 4]   (an ad-hoc run: prints, writes nothing)
 *     [--warmup 8000]   (ms of unmeasured traffic first, at 500 msg/s; 250 at 32 nodes or more; default 15000)
 *     [--repetitions 3]   (the configuration that many times, each on fresh processes; the burst in the first only)
 *     [--columns graftFrames,pruneFrames,...]   (more fields of the results rows to print)
 *     [--every-phase]   (run every steady phase even after one is not sustained: --rates 500,500,500 is a time series)
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import { preferredBackend, verifySignature } from '../src/crypto/ed25519.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { DEFAULT_NETWORK_ID } from '../src/core/node-options.ts';
import { buildDist, opsPerSecond, runBenchmark, textTable, type BenchOptions, type BenchReport, type ResultRow } from './lib.ts';
import { payloadBytes, benchTopic, readingMs, stallTickMs } from './gossip/gossip-node.ts';
import { runConfig, sustainedP99MsMax, sustainedRule, warmupNote, warmups, type ConfigSpec, type PhaseRow, type PhaseSpec } from './gossip/run-config.ts';

/** The issue's goal workload and targets; the goals are judged on the broadcast tree with the main-thread verifier. */
const goal = { nodes: 16, degree: 6, publishers: 4, mode: 'tree', verifier: 'main', fullPerSec: 1000, p99AtPerSec: 500, p99Ms: 50, rssMb: 100, loopDelayMs: 100 } as const;
/**
 * Runs of the goal configuration. The stall and latency figures move with the load of a shared machine from
 * one run to the next; three samples give a median and a worst, where one gave a verdict that another run
 * could reverse. Only the goal configuration repeats (its burst, beyond the goals, only in the first): the
 * others are comparisons, and three times everything would more than double the benchmark's time.
 */
const goalRepetitions = 3;
const seed = 20240601;

const columns = [
  'nodes',
  'mode',
  'verifier',
  'repetition',
  'phase',
  'offeredPerSec',
  'achievedPublishPerSec',
  'deliveredMsgsPerSec',
  'sustained',
  'deliveryRatio',
  'missingDeliveries',
  'duplicatesDelivered',
  'framesPerDelivered',
  'ihaveFramesPerDelivered',
  'verificationsPerDelivered',
  'latencyP50Ms',
  'latencyP99Ms',
  'cpuCoresUsedTotal',
  'cpuUsPerDelivered',
  'peakRssMbPerNode',
  'maxLoopDelayMs',
  'maxLoopDelayCpuMs',
];

const steady = (ratePerSec: number, durationMs: number, required = false): PhaseSpec => ({ kind: 'steady', ratePerSec, durationMs, required });
const burst = (messages: number): PhaseSpec => ({ kind: 'burst', messages });

/**
 * The configurations of a run: the broadcast tree at N = 8, 16, 32 (degree 6), flooding at N = 16 for
 * comparison, and the verification pool at one rate; fewer phases where they cost most. The gossip
 * benchmark must stay within about 5 minutes on 2 cores, which is what bounds the ladders.
 */
function plan(quick: boolean): ConfigSpec[] {
  const base = { degree: goal.degree, publishers: goal.publishers, seed, warmup: warmups.full };
  if (quick) {
    return [
      { ...base, warmup: warmups.quick, nodes: 8, mode: 'tree', verifier: 'main', phases: [steady(500, 1500), burst(500)] },
      ...repeated({ ...base, warmup: warmups.quick, nodes: 16, mode: 'tree', verifier: 'main', phases: [steady(500, 1500), burst(500)] }, 2),
      { ...base, warmup: warmups.quick, nodes: 16, mode: 'flood', verifier: 'main', phases: [steady(500, 1500)] },
    ];
  }
  const d = 3000;
  // The goals' rates on 16 nodes (500 and 1000 msg/s) are always measured, and flooding at 500 to compare
  // at the same rate; elsewhere a ladder stops at its first unsustained rate. The goal configuration offers
  // 1100 msg/s too: the delivered rate of a phase that keeps up reads a little under its offered rate (the
  // last message's latency is in the span), so 1000 delivered can only be shown by offering more.
  const goalRuns = repeated(
    {
      ...base,
      nodes: 16,
      mode: 'tree',
      verifier: 'main',
      phases: [steady(250, d), steady(500, d, true), steady(750, d), steady(1000, d, true), steady(1100, d), steady(1250, d), burst(2000)],
    },
    goalRepetitions,
  );
  // The repetitions are spread over the run, so that one spell of other work on the machine does not fall
  // on all of them.
  return [
    // 8 nodes at 1000 msg/s carry the deliveries of 16 at 500 on half the processes: always measured, to compare.
    { ...base, warmup: warmups.full8, nodes: 8, mode: 'tree', verifier: 'main', phases: [steady(500, d), steady(1000, d, true), steady(1500, d), burst(2000)] },
    goalRuns[0] as ConfigSpec,
    { ...base, nodes: 16, mode: 'flood', verifier: 'main', phases: [steady(250, d), steady(500, d, true), burst(2000)] },
    ...goalRuns.slice(1, -1),
    { ...base, nodes: 16, mode: 'tree', verifier: 'pool', phases: [steady(500, d, true)] },
    // 32 nodes: 500 msg/s would already be the verification ceiling of 2 cores (n verifications per message).
    { ...base, warmup: warmups.full32, nodes: 32, mode: 'tree', verifier: 'main', phases: [steady(100, d), steady(250, d), burst(1000)] },
    ...goalRuns.slice(-1),
  ];
}

/** `times` runs of a configuration, numbered from 1; bursts (overload beyond any goal) in the first only. */
function repeated(spec: ConfigSpec, times: number): ConfigSpec[] {
  return Array.from({ length: times }, (_, i) => ({
    ...spec,
    repetition: i + 1,
    phases: i === 0 ? spec.phases : spec.phases.filter((p) => p.kind === 'steady'),
  }));
}

/** Single-thread verifications per second of a benchmark message under the network rule, measured now. */
function verifyRate(durationMs: number): number {
  const id = generateIdentity();
  const signed = gossipSignedBytes(DEFAULT_NETWORK_ID, { origin: id.publicKey, seq: 1, topic: benchTopic, data: new Uint8Array(payloadBytes) });
  const sig = id.sign(signed);
  return opsPerSecond(() => verifySignature(preferredBackend(), id.publicKey, signed, sig), durationMs).perSec;
}

/**
 * Resident memory of idle processes, MB: bare Node, Node with the tsx loader, strongcast loaded under tsx,
 * and strongcast loaded from the build (what a benchmark node starts from).
 */
interface RssBaselines {
  bareNodeMb: number;
  tsxLoaderMb: number;
  strongcastTsxMb: number;
  strongcastBuiltMb: number;
}

function rssBaselines(): RssBaselines {
  const print = 'process.stdout.write(String(process.memoryUsage.rss() / 1048576))';
  const loadThenPrint = (url: URL): string => `await import(${JSON.stringify(url.href)}); ${print}`;
  const run = (args: string[]): number =>
    Number(execFileSync(process.execPath, args, { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 20_000, encoding: 'utf8' }));
  return {
    bareNodeMb: run(['-e', print]),
    tsxLoaderMb: run(['--import', 'tsx', '-e', print]),
    strongcastTsxMb: run(['--import', 'tsx', '--input-type=module', '-e', loadThenPrint(new URL('../src/index.ts', import.meta.url))]),
    strongcastBuiltMb: run(['--input-type=module', '-e', loadThenPrint(new URL('../dist/src/index.js', import.meta.url))]),
  };
}

/** What identifies a configuration among the rows. */
type ConfigKey = Pick<ConfigSpec, 'nodes' | 'mode' | 'verifier'>;

const goalConfig: ConfigKey = { nodes: goal.nodes, mode: goal.mode, verifier: goal.verifier };
const floodConfig: ConfigKey = { ...goalConfig, mode: 'flood' };
const poolConfig: ConfigKey = { ...goalConfig, verifier: 'pool' };

const ofConfig = (r: PhaseRow, c: ConfigKey): boolean => r['nodes'] === c.nodes && r['mode'] === c.mode && r['verifier'] === c.verifier;
const configLabel = (c: ConfigKey): string => `${c.nodes} nodes, ${c.mode}, ${c.verifier} verifier`;
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** The steady rows of one repetition of a configuration. */
const steadyRows = (rows: PhaseRow[], c: ConfigKey, rep: number): PhaseRow[] =>
  rows.filter((r) => ofConfig(r, c) && r['repetition'] === rep && typeof r['offeredPerSec'] === 'number');

/** The repetitions a configuration ran, in order. */
const repetitionsOf = (rows: PhaseRow[], c: ConfigKey): number[] =>
  [...new Set(rows.filter((r) => ofConfig(r, c) && typeof r['repetition'] === 'number').map((r) => r['repetition'] as number))].sort((a, b) => a - b);

/** The sustained phase with the highest delivered rate in one repetition of a configuration, if any. */
function highestSustained(rows: PhaseRow[], c: ConfigKey, rep: number): PhaseRow | null {
  const ok = steadyRows(rows, c, rep).filter((r) => r['sustained'] === true);
  return ok.length === 0 ? null : ok.reduce((a, b) => (num(b['deliveredMsgsPerSec']) > num(a['deliveredMsgsPerSec']) ? b : a));
}

/** "1,162 msg/s delivered (offered 1250)", or "none". */
const sustainedText = (r: PhaseRow | null): string => (r === null ? 'none' : `${r['deliveredMsgsPerSec']} msg/s delivered (offered ${r['offeredPerSec']})`);

/** A steady phase of a configuration at an offered rate; repetition 1 unless told (the comparisons use it). */
const find = (rows: PhaseRow[], c: ConfigKey, rate: number, rep = 1): PhaseRow | undefined =>
  rows.find((r) => ofConfig(r, c) && r['repetition'] === rep && r['offeredPerSec'] === rate);
const findBurst = (rows: PhaseRow[], c: ConfigKey): PhaseRow | undefined => rows.find((r) => ofConfig(r, c) && r['offeredPerSec'] === null);

/** a / b of one field of two rows, as "0.42x (a vs b unit)". */
function versus(a: PhaseRow, b: PhaseRow, field: string, unit = ''): string {
  return `${(num(a[field]) / num(b[field])).toFixed(2)}x (${a[field] ?? '-'} vs ${b[field] ?? '-'}${unit})`;
}

/** Tree (repetition 1) against flood on 16 nodes: per rate both measured, the burst, and the highest sustained rates. */
function treeVersusFlood(rows: PhaseRow[]): string[] {
  const out: string[] = [];
  const rates = rows.filter((r) => ofConfig(r, floodConfig) && typeof r['offeredPerSec'] === 'number').map((r) => r['offeredPerSec'] as number);
  for (const rate of rates) {
    const t = find(rows, goalConfig, rate);
    const f = find(rows, floodConfig, rate);
    if (!t || !f) continue;
    out.push(
      `tree (repetition 1) / flood at ${goal.nodes} nodes, ${rate} msg/s: CPU per delivery ${versus(t, f, 'cpuUsPerDelivered', ' us')}, ` +
        `frames per delivery ${versus(t, f, 'framesPerDelivered')}, of which IHAVE on the tree ${t['ihaveFramesPerDelivered'] ?? '-'}, p99 ${versus(t, f, 'latencyP99Ms', ' ms')}`,
    );
  }
  const tb = findBurst(rows, goalConfig);
  const fb = findBurst(rows, floodConfig);
  if (tb && fb && tb['phase'] === fb['phase']) {
    out.push(`tree / flood at ${goal.nodes} nodes, ${tb['phase']}: delivered rate ${versus(tb, fb, 'deliveredMsgsPerSec', ' msg/s')}, CPU per delivery ${versus(tb, fb, 'cpuUsPerDelivered', ' us')}`);
  }
  if (rows.some((r) => ofConfig(r, floodConfig)) && rows.some((r) => ofConfig(r, goalConfig))) {
    const floodRates = steadyRows(rows, floodConfig, 1).map((r) => r['offeredPerSec']);
    out.push(
      `highest sustained rate at ${goal.nodes} nodes, tree (repetition 1) vs flood: ${sustainedText(highestSustained(rows, goalConfig, 1))} vs ` +
        `${sustainedText(highestSustained(rows, floodConfig, 1))} (flood offered only ${floodRates.join(' and ')} msg/s: a floor, not its ceiling)`,
    );
  }
  return out;
}

/**
 * The largest stall of some (non-empty) phases split into the node's own CPU time (at most) and the wait for a
 * core (at least), and the most CPU any node used between two readings of its CPU time.
 */
function stallMakeup(rows: PhaseRow[]): string {
  const worst = rows.reduce((a, b) => (num(b['maxLoopDelayMs']) > num(a['maxLoopDelayMs']) ? b : a));
  const stallMs = num(worst['maxLoopDelayMs']);
  // The interval between the two firings of the stall timer: the lateness plus the interval itself. The CPU
  // figure covers the readings around it (stall-meter.ts): an upper bound of the process's work within it.
  const intervalMs = stallMs + stallTickMs;
  const spanMs = num(worst['maxLoopDelaySpanMs']);
  const cpuMs = Math.min(spanMs, num(worst['maxLoopDelayCpuMs']));
  const busiest = Math.max(...rows.map((r) => num(r['busiestSpanCpuMs'])));
  return (
    `largest ${stallMs.toFixed(1)} ms late; over the ${spanMs.toFixed(1)} ms of CPU readings around those ${intervalMs.toFixed(1)} ms the node's process ran ${cpuMs.toFixed(1)} ms, ` +
    `so it waited for a core at least ${Math.max(0, intervalMs - cpuMs).toFixed(1)} ms of them; most CPU between two readings (${readingMs} ms apart) ${busiest.toFixed(1)} ms (GC and other threads included)`
  );
}

/** The middle of values sorted from best to worst (for an even count, the worse of the two middle ones). */
function median<T>(sortedBestFirst: T[]): T | undefined {
  return sortedBestFirst[Math.floor(sortedBestFirst.length / 2)];
}

/**
 * One goal over the repetitions: each repetition's figure, the median and the worst, and the verdict, which
 * is "met" only if every repetition met it (a goal met in one run of several is not met).
 */
function overRepetitions(figures: { value: number | null; ok: boolean }[], higherIsWorse: boolean, show: (v: number | null) => string, mark: (ok: boolean) => string): string {
  // None (nothing sustained, not measured) is the worst figure of all.
  const betterFirst = (a: number | null, b: number | null): number =>
    a === null || b === null ? (a === null ? 1 : 0) - (b === null ? 1 : 0) : higherIsWorse ? a - b : b - a;
  const bestFirst = figures.map((f) => f.value).sort(betterFirst);
  const metIn = figures.filter((f) => f.ok).length;
  const n = figures.length;
  return (
    `per repetition ${figures.map((f) => show(f.value)).join(', ')}; median ${show(median(bestFirst) ?? null)}, worst ${show(bestFirst[n - 1] ?? null)}; ` +
    `${mark(metIn === n)}${metIn === n ? ` in all ${n} repetitions` : ` (met in ${metIn} of ${n} repetitions)`}`
  );
}

/**
 * The issue's goals, judged on each repetition of the goal configuration (none when the run did not measure
 * it). Memory and stalls are judged on the goal workload, steady rates up to the goal rate; beyond it (higher
 * rates, a burst published as fast as the publishers sign) the nodes are overloaded on purpose, and those
 * figures are printed beside the verdict, never hidden.
 */
function goalLines(rows: PhaseRow[], mark: (ok: boolean) => string): string[] {
  const reps = repetitionsOf(rows, goalConfig);
  if (reps.length === 0) return [];
  const inWorkload = (r: PhaseRow): boolean => num(r['offeredPerSec']) <= goal.fullPerSec;
  const workload = reps.map((rep) => steadyRows(rows, goalConfig, rep).filter(inWorkload));
  const beyond = rows.filter((r) => ofConfig(r, goalConfig) && !inWorkload(r));
  const rateFigures = reps.map((rep) => {
    const top = highestSustained(rows, goalConfig, rep);
    const value = top === null ? null : num(top['deliveredMsgsPerSec']);
    return { value, ok: value !== null && value >= goal.fullPerSec };
  });
  const p99Figures = reps.map((rep) => {
    const at = find(rows, goalConfig, goal.p99AtPerSec, rep);
    const value = at ? num(at['latencyP99Ms']) : null;
    return { value, ok: at !== undefined && value !== null && value < goal.p99Ms && at['missingDeliveries'] === 0 };
  });
  const peak = (rs: PhaseRow[], field: string): number => Math.max(...rs.map((r) => num(r[field])));
  const rssFigures = workload.map((rs) => ({ value: peak(rs, 'peakRssMbPerNode'), ok: peak(rs, 'peakRssMbPerNode') < goal.rssMb }));
  const stallFigures = workload.map((rs) => ({ value: peak(rs, 'maxLoopDelayMs'), ok: peak(rs, 'maxLoopDelayMs') <= goal.loopDelayMs }));
  const beyondNote = (field: string, unit: string): string =>
    beyond.length === 0 ? '' : `; beyond the goal workload (${[...new Set(beyond.map((r) => r['offeredPerSec'] ?? r['phase']))].join(', ')}): up to ${peak(beyond, field).toFixed(1)} ${unit}`;
  const label = `goal, ${goal.nodes} nodes (${goal.mode}, ${goal.verifier} verifier), ${reps.length} repetition(s)`;
  const rates = `steady rates up to ${goal.fullPerSec} msg/s`;
  const ms = (v: number | null): string => (v === null ? 'not measured' : `${v.toFixed(1)} ms`);
  const mb = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} MB`);
  const msgs = (v: number | null): string => (v === null ? 'none' : `${v} msg/s`);
  const allWorkload = workload.flat();
  return [
    `${label}: >= ${goal.fullPerSec} msg/s delivered in a sustained phase: highest sustained delivered rate ${overRepetitions(rateFigures, false, msgs, mark)}`,
    `${label}: p99 < ${goal.p99Ms} ms at ${goal.p99AtPerSec} msg/s with every message delivered: ${overRepetitions(p99Figures, true, ms, mark)}`,
    `${label}: < ${goal.rssMb} MB per node at ${rates}: peak ${overRepetitions(rssFigures, true, mb, mark)} (compiled nodes, no loader)${beyondNote('peakRssMbPerNode', 'MB')}`,
    `${label}: no event-loop stall over ${goal.loopDelayMs} ms at ${rates}: largest ${overRepetitions(stallFigures, true, ms, mark)}${beyondNote('maxLoopDelayMs', 'ms')}`,
    ...(allWorkload.length === 0 ? [] : [`${label}: what the stalls were made of at ${rates}, all repetitions: ${stallMakeup(allWorkload)}${beyond.length === 0 ? '' : `; beyond it: ${stallMakeup(beyond)}`}`]),
  ];
}

/**
 * What the rate goal asks of the machine, from this run's own figures: the CPU that verification alone needs
 * at the goal rate, and the CPU the goal configuration would need at its cheapest measured cost per delivery.
 */
function rateGoalBudget(rows: PhaseRow[], verifiesPerSec: number, cores: number): string[] {
  const g = rows.filter((r) => ofConfig(r, goalConfig) && r['missingDeliveries'] === 0 && typeof r['cpuUsPerDelivered'] === 'number');
  if (g.length === 0) return [];
  const cheapest = g.reduce((a, b) => (num(a['cpuUsPerDelivered']) <= num(b['cpuUsPerDelivered']) ? a : b));
  const deliveriesPerSec = goal.nodes * goal.fullPerSec;
  const verifyCores = (deliveriesPerSec / verifiesPerSec);
  const perDeliveryUs = num(cheapest['cpuUsPerDelivered']);
  const neededCores = (deliveriesPerSec * perDeliveryUs) / 1e6;
  const leftUs = ((cores - verifyCores) * 1e6) / deliveriesPerSec;
  return [
    `rate goal budget: ${goal.fullPerSec} msg/s on ${goal.nodes} nodes is ${deliveriesPerSec} deliveries/s; verification alone needs ${verifyCores.toFixed(2)} of ${cores} cores ` +
      `(${((100 * verifyCores) / cores).toFixed(0)}% at ${Math.round(verifiesPerSec)} verifies/s per core), leaving ${leftUs.toFixed(0)} us per delivery for receiving, decoding and relaying; ` +
      `the cheapest cost per delivery measured here (${perDeliveryUs} us, ${cheapest['phase']}${cheapest['offeredPerSec'] ? ` at ${cheapest['offeredPerSec']} msg/s` : ''}) would need ${neededCores.toFixed(2)} cores`,
  ];
}

/**
 * What the latency goal runs into, from this run's own figures: the share of the CPU the nodes got that
 * verification alone takes at the goal rate, and the same delivery rate carried by half as many processes
 * (8 nodes at twice the rate: the same verifications and deliveries per second on the same cores).
 */
function latencyGoalContext(rows: PhaseRow[], verifiesPerSec: number): string[] {
  const g = find(rows, goalConfig, goal.p99AtPerSec);
  if (!g || typeof g['cpuCoresUsedTotal'] !== 'number') return [];
  const deliveriesPerSec = goal.nodes * goal.p99AtPerSec;
  const verifyCores = deliveriesPerSec / verifiesPerSec;
  const out = [
    `latency goal context (repetition 1): at ${goal.p99AtPerSec} msg/s on ${goal.nodes} nodes (${deliveriesPerSec} deliveries/s) verification alone takes ${verifyCores.toFixed(2)} ` +
      `of the ${g['cpuCoresUsedTotal']} cores the nodes used (${((100 * verifyCores) / num(g['cpuCoresUsedTotal'])).toFixed(0)}%)`,
  ];
  const halfNodes = goal.nodes / 2;
  const half = find(rows, { nodes: halfNodes, mode: goal.mode, verifier: goal.verifier }, (goal.nodes * goal.p99AtPerSec) / halfNodes);
  if (half && half['missingDeliveries'] === 0) {
    out.push(
      `same ${deliveriesPerSec} deliveries/s on ${halfNodes} processes instead of ${goal.nodes} (${half['offeredPerSec']} msg/s on ${halfNodes} nodes): ` +
        `p99 ${half['latencyP99Ms']} vs ${g['latencyP99Ms']} ms, largest event-loop stall ${half['maxLoopDelayMs']} vs ${g['maxLoopDelayMs']} ms, ` +
        `CPU ${half['cpuCoresUsedTotal']} vs ${g['cpuCoresUsedTotal']} cores`,
    );
  }
  return out;
}

function summarize(rows: PhaseRow[], specs: ConfigSpec[], verifiesPerSec: number, rss: RssBaselines): { ratios: string[]; notes: string[] } {
  const cores = availableParallelism();
  const goalRuns = specs.filter((c) => c.nodes === goalConfig.nodes && c.mode === goalConfig.mode && c.verifier === goalConfig.verifier).length;
  const ratios: string[] = [sustainedRule()];
  // The runs of one configuration together, in the order the configurations first ran.
  const firstRun = (c: ConfigSpec): number => specs.findIndex((o) => o.nodes === c.nodes && o.mode === c.mode && o.verifier === c.verifier);
  for (const s of [...specs].sort((a, b) => firstRun(a) - firstRun(b))) {
    const ceiling = (cores * verifiesPerSec) / s.nodes;
    const best = highestSustained(rows, s, s.repetition ?? 1);
    const delivered = best === null ? null : num(best['deliveredMsgsPerSec']);
    ratios.push(
      `${configLabel(s)}${s.repetition ? `, repetition ${s.repetition}` : ''}: highest sustained rate ${sustainedText(best)} ` +
        `(verification ceiling ${Math.round(ceiling)} msg/s = ${cores} cores x ${Math.round(verifiesPerSec)} verifies/s / ${s.nodes} nodes; ${delivered === null ? '-' : (delivered / ceiling).toFixed(2)} of it)`,
    );
  }
  const mark = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  ratios.push(...goalLines(rows, mark), ...rateGoalBudget(rows, verifiesPerSec, cores), ...latencyGoalContext(rows, verifiesPerSec));
  const dups = rows.reduce((a, r) => a + num(r['duplicatesDelivered']), 0);
  ratios.push(`duplicates delivered to the application, all phases: ${dups} (must be 0), ${mark(dups === 0)}`, ...treeVersusFlood(rows));
  const verifyUs = 1e6 / verifiesPerSec;
  for (const c of [goalConfig, floodConfig]) {
    const r = find(rows, c, 250);
    if (!r || typeof r['cpuUsPerDelivered'] !== 'number') continue;
    ratios.push(
      `${configLabel(c)}${c === goalConfig ? ' (repetition 1)' : ''} at 250 msg/s: ${r['cpuUsPerDelivered']} us of CPU per delivered message, of which one verification is ${verifyUs.toFixed(0)} us ` +
        `(${((100 * verifyUs) / r['cpuUsPerDelivered']).toFixed(0)}%); the rest is receiving ${r['duplicateCopiesPerDelivered']} duplicate copies` +
        `${c.mode === 'tree' ? ` and ${r['ihaveFramesPerDelivered'] ?? '-'} IHAVE frames` : ''}, framing, hashing ids and relaying`,
    );
  }
  for (const rate of [250, 500]) {
    const m = find(rows, goalConfig, rate);
    const p = find(rows, poolConfig, rate);
    if (!m || !p) continue;
    ratios.push(
      `verifier at ${goal.nodes} nodes (${goal.mode}), ${rate} msg/s, pool(1 thread) / main thread (repetition 1): CPU per delivery ${(num(p['cpuUsPerDelivered']) / num(m['cpuUsPerDelivered'])).toFixed(2)}x, ` +
        `p99 ${(num(p['latencyP99Ms']) / num(m['latencyP99Ms'])).toFixed(2)}x, peak RSS ${(num(p['peakRssMbPerNode']) / num(m['peakRssMbPerNode'])).toFixed(2)}x, ` +
        `frames per delivery ${(num(p['framesPerDelivered']) / num(m['framesPerDelivered'])).toFixed(2)}x`,
    );
  }
  const notes = [
    `Each node is its own OS process running the compiled build (\`node dist/bench/gossip/gossip-node.js\`, made by \`npm run build\` at the start of the run; no tsx loader), ` +
      `all ${cores} cores shared; random connected ${goal.degree}-regular mesh (seed ${seed}), peer exchange off; ` +
      `${goal.publishers} publishers spread over the nodes, ${payloadBytes}-byte signed messages; steady phases of a few seconds, then a burst published as fast as the publishers sign. ` +
      `${sustainedRule()}: p99 <= ${sustainedP99MsMax} ms bounds what can queue up to about 3% of a 3 s phase and is the stall goal's bound; ` +
      `the publishers run inside the nodes, so falling behind the offered rate is the nodes failing to take it. ` +
      'After the first unsustained steady rate, higher steady rates of that configuration are skipped, except the rates a goal or a comparison is stated at. Latency is publish-to-delivery on the one machine clock. ' +
      `The ${goal.nodes}-node tree configuration with the main-thread verifier runs ${goalRuns} time(s), spread over the run, each on fresh node processes with its own warm-up ` +
      '(on the same processes, memory grown in one repetition\'s overload phases stays in the next); its burst runs in repetition 1 only. ' +
      'Every goal is judged on each repetition and is met only if met in all, with the median and the worst printed. ' +
      'The comparisons with flooding, the pool and 8 nodes use repetition 1. ' +
      'framesPerDelivered counts every frame written (full copies, IHAVE, GRAFT and PRUNE, keepalive pings) over application deliveries; ' +
      'ihaveFramesPerDelivered is the IHAVE frames (batched id announcements on lazy links) among them, and the results file also has the GRAFT and PRUNE frames sent per phase; verificationsPerDelivered is signatures run by the verifier over deliveries (1.0: no copy verified twice). ' +
      `deliveredMsgsPerSec is messages / (last delivery anywhere - first publish), shown when every delivery happened. Peak RSS is sampled every ${readingMs} ms in each node process, and the kernel's peak (getrusage) counts when it rose during the phase. ` +
      `maxLoopDelayMs is how late a timer due every ${stallTickMs} ms fired, at worst, in any node (the loop was blocked at least that long, at most ${stallTickMs} ms more): Node's native event-loop delay monitor, less its interval ` +
      `(a JavaScript timer every 10 ms with a CPU reading at each tick measured this until 2026-12-06; its wake-ups cost idle nodes seven times their own work); ` +
      `maxLoopDelayCpuMs is the CPU time that node's process used (all its threads, GC included) over maxLoopDelaySpanMs, the span between its CPU readings (every ${readingMs} ms) around that stall, so at most that much of the stall was its own work and the rest it was waiting for a core; ` +
      `busiestSpanCpuMs is the most CPU any node's process used between two readings (up to ${readingMs} ms while the loop is busy; more only if other threads of the process ran too). ` +
      `Before its first phase each configuration runs an unmeasured warm-up (${[...new Set(specs.map((c) => `${c.nodes} nodes ${warmupNote(c.warmup)}`))].join(', ')}): ` +
      'every node process compiles its hot code on its own, and a phase measured before that is a cold start (the warm-up lengths were chosen from earlier profiling, not measured in this run).',
    "mode: tree = the node's default gossipMode, a Plumtree broadcast tree per origin (full copies along eager links, up to treeRedundancy = 2 peers feeding each node each origin's messages in full, ids announced in IHAVE frames on lazy links, GRAFT for a missing message); " +
      'flood = every message to every peer, measured at fewer rates for comparison. The goals are judged on the 16-node tree rows with the main-thread verifier.',
    'Nodes verify on the main thread (createMainThreadVerifier), one verification per message per node: with 16 or 32 processes on the same cores a worker thread per node ' +
      'brings no spare CPU, costs an extra V8 isolate of memory and a thread hop per batch; the 16-node pool row (createVerifyPool with 1 thread per node) measures the alternative.',
    `Idle process resident memory measured in this run: bare Node ${rss.bareNodeMb.toFixed(1)} MB, with the tsx loader ${rss.tsxLoaderMb.toFixed(1)} MB ` +
      `(its module-loader thread), strongcast loaded under tsx ${rss.strongcastTsxMb.toFixed(1)} MB, strongcast loaded from the build ${rss.strongcastBuiltMb.toFixed(1)} MB ` +
      `(how the benchmark nodes run). 1-minute load average at the end of the run ${(loadavg()[0] ?? 0).toFixed(2)} ` +
      '(other work on the machine takes CPU from the nodes; cpuCoresUsedTotal shows what the nodes got).',
  ];
  return { ratios, notes };
}

async function measure(opts: BenchOptions, specs: ConfigSpec[]): Promise<BenchReport> {
  buildDist();
  const verifiesPerSec = verifyRate(opts.quick ? 300 : 1000);
  const rss = rssBaselines();
  console.log(
    `single-thread verify (${preferredBackend()}): ${Math.round(verifiesPerSec)} /s; idle RSS: node ${rss.bareNodeMb.toFixed(1)} MB, tsx ${rss.tsxLoaderMb.toFixed(1)} MB, ` +
      `strongcast under tsx ${rss.strongcastTsxMb.toFixed(1)} MB, strongcast built ${rss.strongcastBuiltMb.toFixed(1)} MB`,
  );
  const rows: PhaseRow[] = [];
  for (const spec of specs) rows.push(...(await runConfig(spec, (l) => console.log(l))));
  for (const r of rows) r['verifiesPerSecSingleThread'] = Math.round(verifiesPerSec);
  const { ratios, notes } = summarize(rows, specs, verifiesPerSec, rss);
  return { rows: rows as ResultRow[], columns, ratios, notes };
}

/** Flags of an ad-hoc run (any of them makes the run ad hoc: printed, nothing written). */
function adHocSpecs(argv: readonly string[]): ConfigSpec[] | null {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (!['nodes', 'rates', 'burst', 'verifier', 'mode'].some((f) => get(f) !== undefined)) return null;
  const duration = Number(get('duration') ?? 3000);
  const nodes = Number(get('nodes') ?? goal.nodes);
  const warmupMs = Number(get('warmup') ?? warmups.full.durationMs);
  const warmupRate = nodes >= 32 ? warmups.full32.ratePerSec : warmups.full.ratePerSec;
  // --every-phase runs each steady phase even after one was not sustained: with one rate repeated, a time
  // series of one network (how CPU and latency settle as the nodes warm up).
  const everyPhase = argv.includes('--every-phase');
  const phases: PhaseSpec[] = (get('rates') ?? '').split(',').filter(Boolean).map((r) => steady(Number(r), duration, everyPhase));
  if (get('burst')) phases.push(burst(Number(get('burst'))));
  const verifier = get('verifier') ?? goal.verifier;
  if (verifier !== 'main' && verifier !== 'pool') throw new Error('--verifier must be main or pool');
  const mode = get('mode') ?? goal.mode;
  if (mode !== 'tree' && mode !== 'flood') throw new Error('--mode must be tree or flood');
  const spec: ConfigSpec = {
    nodes,
    degree: Number(get('degree') ?? goal.degree),
    publishers: Number(get('publishers') ?? goal.publishers),
    mode,
    verifier,
    phases,
    warmup: { ratePerSec: warmupRate, durationMs: warmupMs },
    seed,
  };
  const times = Number(get('repetitions') ?? 1);
  return times > 1 ? repeated(spec, times) : [spec];
}

const adHoc = adHocSpecs(process.argv.slice(2));
if (adHoc) {
  const report = await measure({ quick: false }, adHoc);
  const extra = process.argv.includes('--columns') ? (process.argv[process.argv.indexOf('--columns') + 1] ?? '').split(',').filter(Boolean) : [];
  console.log(textTable(report.rows, [...columns, ...extra]));
  for (const l of report.ratios ?? []) console.log(l);
} else {
  await runBenchmark('gossip', (opts) => measure(opts, plan(opts.quick)));
}
