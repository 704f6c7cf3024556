/**
 * The attack suite (issue 16): cheap attacks an adversary on the internet could make, each against a fresh
 * victim node on loopback, with what the victim kept under each: honest delivery through it, the time a new
 * honest node takes to join it, bans of honest peers, crashes, its peak memory and CPU, and the attacker's CPU.
 *
 *   npm run attack                      every attack (a few minutes)
 *   npm run attack -- --quick           one attack of each kind, short windows (under a minute)
 *   npm run attack -- --only eclipse    one attack (or several, comma-separated)
 *   npm run attack -- --seed N          the same keys, ids and source addresses as run N
 *
 * Prints one table row per attack with a verdict per goal (bench/attack/goals.ts), one line per goal not
 * met, and what each attack did (evidence); a full run of every attack writes bench/results/attack.json and
 * the `attack` section of bench/RESULTS.md. Exits 1 when any goal is not met. Loopback only: every
 * process listens on 127.0.0.1 and the attacker sends from 127.16.0.0 upwards (one address per host of a
 * /16 network group, two per group).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist, updateResultsMarkdown } from './lib.ts';
import { killAllChildren } from './child-rpc.ts';
import { spawnAttacker } from './attack/attacker-process.ts';
import { attackUsage, parseAttackArgs, sourceAddresses, type AttackArgs } from './attack/args.ts';
import { attacksToRun, runTiming, type AttackSpec } from './attack/catalog.ts';
import { formatTable, goalLegend, summarize } from './attack/report.ts';
import { runScenario, type ScenarioContext, type ScenarioResult } from './attack/scenario.ts';
import type { AttackRow } from './attack/goals.ts';
import { Prng } from '../src/sim/prng.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The whole run is abandoned after this, whatever happens, in ms. */
const runHardMs = { quick: 150_000, full: 12 * 60_000 } as const;

/** How the work goal is estimated, printed under the table and in RESULTS.md. */
const workNote =
  'V/att: the victim\'s CPU over the attack window less its baseline (CPU per second with probes only, measured just before, times the window), ' +
  'over the attacker\'s CPU (its process: preparation such as signing in advance, plus the attack); user + system time of whole processes, ' +
  'the victim\'s verification threads included. The attacker is a Node process speaking the real protocol; a leaner one would pay less, so this ' +
  'ratio is a lower bound of what an attacker gets. CPU % is of one core; the victim can pass 100% with its worker threads.';

/** Between attacks: nothing carries over. */
const freshNote = 'each attack runs on fresh processes: a new victim, new H1 and H2, a new joiner (no ban, score, address or memory peak carries over)';

function loadAverage(): string {
  return (loadavg()[0] ?? 0).toFixed(2);
}

/** One attack under its hard bound: a hang becomes a row that was not measured. */
async function runOne(spec: AttackSpec, ctx: ScenarioContext): Promise<ScenarioResult> {
  let timer: NodeJS.Timeout | undefined;
  const hardMs = ctx.timing.attackHardMs + 30_000;
  const timedOut = new Promise<ScenarioResult>((resolve) => {
    timer = setTimeout(() => {
      const row: AttackRow = {
        attack: spec.name, preHandshake: spec.preHandshake, probesSent: 0, probesDelivered: 0, probeP99Ms: null, joinMs: null,
        joinWaitMs: ctx.timing.joinWaitMs, honestBans: 0, crashed: false, peakRssMb: null, victimCpuPct: null, attackerCpuPct: null, workRatio: null,
        setupError: `the measurement did not end within ${hardMs} ms`,
      };
      resolve({ row, evidence: [], keptDir: null });
    }, hardMs);
  });
  try {
    return await Promise.race([runScenario(spec, ctx), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(args: AttackArgs): Promise<number> {
  const started = performance.now();
  const load0 = loadAverage();
  const specs = attacksToRun(args.quick, args.only);
  const timing = runTiming(args.quick);
  const rng = new Prng(args.seed);
  const sourceList = sourceAddresses(args.sources, () => rng.next());
  console.log(`# attack${args.quick ? ' (quick)' : ''}: ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, load average ${load0}, seed ${args.seed}`);
  console.log(`attacks: ${specs.map((s) => s.name).join(', ')}; attacker sources: ${sourceList.length} loopback addresses in ${Math.ceil(sourceList.length / 2)} network groups`);
  console.log(freshNote);
  if (args.build) buildDist();
  const workDir = mkdtempSync(join(tmpdir(), 'strongcast-attack-'));
  const attacker = spawnAttacker({ from: 'dist' });
  const rows: AttackRow[] = [];
  const evidence: string[] = [];
  let kept = false;
  try {
    for (const [i, spec] of specs.entries()) {
      const ctx: ScenarioContext = { timing, attacker, networkId: 'strongcast-attack', seed: (args.seed + i * 0x9e3779b1) >>> 0, sources: sourceList, workDir };
      console.log(`\n== ${spec.name}: ${spec.what}`);
      const result = await runOne(spec, ctx);
      rows.push(result.row);
      evidence.push(...result.evidence);
      for (const line of result.evidence) console.log(line);
      if (result.keptDir) {
        kept = true;
        console.log(`${spec.name}: logs kept in ${result.keptDir}`);
      }
    }
  } finally {
    await attacker.close(5000).catch(() => undefined);
    if (!kept) rmSync(workDir, { recursive: true, force: true });
  }
  const tookS = Math.round((performance.now() - started) / 1000);
  const load1 = loadAverage();
  const table = formatTable(rows);
  const verdict = summarize(rows);
  console.log(`\nattack suite took ${tookS} s; 1-minute load average ${load0} before, ${load1} after\n`);
  console.log(table);
  console.log(goalLegend());
  console.log(workNote);
  console.log('');
  for (const line of verdict.lines) console.log(line);
  await writeOutputs(args, rows, table, verdict.lines, evidence, { tookS, load0, load1 });
  return verdict.passed ? 0 : 1;
}

/** The command as typed: `npm run attack`, with the flags given. */
function commandLine(): string {
  const flags = process.argv.slice(2);
  return flags.length === 0 ? 'npm run attack' : `npm run attack -- ${flags.join(' ')}`;
}

/** bench/results/attack.json and the RESULTS.md section, for a full run of every attack only (a quick run is a smoke check). */
async function writeOutputs(args: AttackArgs, rows: AttackRow[], table: string, verdict: string[], evidence: string[], run: { tookS: number; load0: string; load1: string }): Promise<void> {
  if (args.quick || args.only !== null) {
    console.log('(quick or --only run: bench/results/attack.json and bench/RESULTS.md left unchanged)');
    return;
  }
  const date = new Date().toISOString();
  await mkdir(join(repoRoot, 'bench/results'), { recursive: true });
  await writeFile(join(repoRoot, 'bench/results/attack.json'), JSON.stringify(rows.map((r) => ({ ...r, date, seed: args.seed })), null, 2) + '\n');
  const section = [
    `Command: \`${commandLine()}\` (seed ${args.seed}: \`--seed ${args.seed}\` replays its keys, ids and attacker addresses)  `,
    `Date: ${date}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, took ${run.tookS} s; 1-minute load average ${run.load0} before, ${run.load1} after.`,
    'The machine\'s 2 cores are shared: other people\'s processes (builds, tests, other benchmarks) ran during the run, and the load average counts them; each attack\'s CPU line below says how much of the machine they took during its window.',
    `${freshNote[0]!.toUpperCase()}${freshNote.slice(1)}.`,
    '',
    'The table as printed:',
    '',
    '```',
    table,
    '```',
    '',
    goalLegend(),
    '',
    workNote,
    '',
    ...verdict,
    '',
    'What each attack did, and what the victim and the honest nodes did about it:',
    '',
    ...evidence.map((l) => `- ${l.replace(/\n/g, ' | ')}`),
  ].join('\n');
  await updateResultsMarkdown('attack', section);
  console.log('wrote bench/results/attack.json and the "attack" section of bench/RESULTS.md');
}

let args: AttackArgs;
try {
  args = parseAttackArgs(process.argv.slice(2));
} catch (e) {
  console.error(`attack: ${(e as Error).message}\n${attackUsage}`);
  process.exit(2);
}
if (args.help) {
  console.log(attackUsage);
  process.exit(0);
}
const hard = setTimeout(() => {
  console.error(`attack: the run did not end within ${runHardMs[args.quick ? 'quick' : 'full'] / 1000} s; stopping`);
  killAllChildren();
  process.exit(1);
}, runHardMs[args.quick ? 'quick' : 'full']);
hard.unref();
main(args).then(
  (code) => {
    killAllChildren();
    process.exit(code);
  },
  (e: unknown) => {
    console.error(`attack: ${(e as Error)?.stack ?? String(e)}`);
    killAllChildren();
    process.exit(1);
  },
);
