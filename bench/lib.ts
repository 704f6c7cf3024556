/**
 * Helpers shared by the benchmarks: the command line, timing, a text table, `bench/results/NAME.json`
 * and the benchmark's own section of `bench/RESULTS.md`. A benchmark is a script `bench/NAME.ts` that ends
 * with `await runBenchmark('NAME', measure)`; see bench/run.ts for how they are found and run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

/** What every benchmark is given. */
export interface BenchOptions {
  /** Short runs (the whole benchmark in well under a minute), for a smoke check rather than figures to keep. */
  quick: boolean;
}

/** One measured configuration, as written to results/NAME.json: flat, self-explaining fields. */
export type ResultRow = Record<string, string | number | boolean | null>;

/** What a benchmark reports: its rows, plus the derived ratios and notes for RESULTS.md. */
export interface BenchReport {
  rows: ResultRow[];
  /** Columns of the printed table, in order (default: every key of the first row). */
  columns?: string[];
  /** Lines like "pool / main thread: 1.83x", printed and written under the table. */
  ratios?: string[];
  /** Free-form remarks (goals met or not, and why). */
  notes?: string[];
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Compiles src/, workers/ and bench/ to dist/ (`npm run build`), for a benchmark whose node processes run
 * the compiled JavaScript with plain Node: no tsx loader thread in each, no compiling at each start.
 * @throws Error when the build fails (a benchmark must not measure a stale or partial build).
 */
export function buildDist(): void {
  const started = performance.now();
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (r.error) throw new Error(`npm run build could not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`npm run build failed (exit code ${r.status ?? r.signal})`);
  console.log(`built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** The machine and moment a run happened on, stated with every result. */
export function environment(): { date: string; cpus: number; cpuModel: string; node: string; loadAverage1m: number } {
  return {
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** A rate by the wall clock and by the CPU time the process spent meanwhile. */
export interface Rate {
  perSec: number;
  /** Operations per CPU-second of the whole process: unaffected by other processes taking the CPUs. */
  perCpuSec: number;
}

/**
 * Calls `op` in a tight loop for about `durationMs` and returns its rate. The clock is read every
 * `checkEvery` calls so reading it does not weigh on fast operations.
 */
export function opsPerSecond(op: (i: number) => void, durationMs: number, checkEvery = 16): Rate {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let n = 0;
  let now = start;
  while (now - start < durationMs) {
    for (let j = 0; j < checkEvery; j++) op(n++);
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return { perSec: n / ((now - start) / 1000), perCpuSec: n / ((cpu.user + cpu.system) / 1e6) };
}

/** Linux reports thread CPU time in clock ticks of 1/100 s (USER_HZ). */
const ticksPerSecond = 100;

/**
 * CPU seconds used so far by the main thread alone (Linux /proc; null elsewhere). Node 20 has no
 * per-thread CPU clock, and event-loop utilization counts time the thread was runnable but descheduled.
 */
export function mainThreadCpuSeconds(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}

/**
 * CPU seconds the whole machine has spent busy since boot (Linux /proc/stat; null elsewhere). Minus this
 * process's own CPU time over a run, it tells how much of the machine other processes took meanwhile.
 */
export function machineBusyCpuSeconds(): number | null {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = first.trim().split(/\s+/).slice(1).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** A number as a table shows it: integers grouped, small values with 2 or 3 significant decimals. */
export function formatValue(v: ResultRow[string]): string {
  if (typeof v !== 'number') return v === null ? '-' : String(v);
  if (Number.isInteger(v) || Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3);
}

/** A plain-text table (for the terminal). */
export function textTable(rows: ResultRow[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => formatValue(r[c] ?? null)));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (values: string[]): string => values.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** The same table in Markdown (for RESULTS.md). */
export function markdownTable(rows: ResultRow[], columns: string[]): string {
  const head = `| ${columns.join(' | ')} |`;
  const rule = `| ${columns.map(() => '---:').join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map((c) => formatValue(r[c] ?? null)).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

/** Writes `bench/results/NAME.json`: the array of rows, one per measured configuration. */
export async function writeResults(name: string, rows: ResultRow[]): Promise<void> {
  await mkdir(`${benchDir}results`, { recursive: true });
  await writeFile(`${benchDir}results/${name}.json`, JSON.stringify(rows, null, 2) + '\n');
}

/**
 * Replaces the `## NAME` section of bench/RESULTS.md (or appends it) with the latest run, keeping the other
 * benchmarks' sections as they are.
 */
export async function updateResultsMarkdown(name: string, section: string): Promise<void> {
  const path = `${benchDir}RESULTS.md`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    text = '# Benchmark results\n\nEach section is replaced by the latest run of its benchmark (`npm run bench -- NAME`).\n';
  }
  const heading = `## ${name}\n`;
  const start = text.indexOf(heading);
  const body = `${heading}\n${section.trim()}\n`;
  if (start === -1) text = `${text.trimEnd()}\n\n${body}`;
  else {
    const next = text.indexOf('\n## ', start + heading.length);
    text = text.slice(0, start) + body + (next === -1 ? '' : `\n${text.slice(next + 1)}`);
  }
  await writeFile(path, text.trimEnd() + '\n');
}

/** Parses the benchmark flags (`--quick`). */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  return { quick: argv.includes('--quick') };
}

/**
 * Runs a benchmark: measures, prints the table and ratios, writes results/NAME.json and, for full runs,
 * the RESULTS.md section (a quick run is a smoke check and does not replace kept figures).
 */
export async function runBenchmark(name: string, measure: (opts: BenchOptions) => Promise<BenchReport>): Promise<void> {
  const opts = parseBenchArgs(process.argv.slice(2));
  const env = environment();
  console.log(`# ${name}${opts.quick ? ' (quick)' : ''}: ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, load ${env.loadAverage1m}`);
  const started = performance.now();
  const report = await measure(opts);
  // Recorded so that what the README says of the benchmarks' running time is a figure from a run too.
  const tookS = Math.round((performance.now() - started) / 1000);
  console.log(`${name} measured in ${tookS} s; 1-minute load average now ${(loadavg()[0] ?? 0).toFixed(2)}`);
  const columns = report.columns ?? Object.keys(report.rows[0] ?? {});
  console.log(textTable(report.rows, columns));
  for (const line of [...(report.ratios ?? []), ...(report.notes ?? [])]) console.log(line);
  if (opts.quick) {
    console.log('(quick run: results/RESULTS.md left unchanged)');
    return;
  }
  await writeResults(name, report.rows.map((r) => ({ benchmark: name, ...r, date: env.date, cpus: env.cpus, node: env.node })));
  const section = [
    `Command: \`npm run bench -- ${name}\`  `,
    `Date: ${env.date}, ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, 1-minute load average at start ${env.loadAverage1m}, measuring took ${tookS} s`,
    '',
    markdownTable(report.rows, columns),
    '',
    ...(report.ratios ?? []).map((r) => `- ${r}`),
    ...(report.notes?.length ? ['', ...report.notes] : []),
  ].join('\n');
  await updateResultsMarkdown(name, section);
  console.log(`wrote bench/results/${name}.json and the "${name}" section of bench/RESULTS.md`);
}
