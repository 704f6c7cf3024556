/**
 * Benchmark runner.
 *
 *   npm run bench                  every benchmark
 *   npm run bench -- sig           only bench/sig.ts (several names may be given)
 *   npm run bench -- --quick       short runs, for a smoke check; RESULTS.md is left unchanged
 *   npm run bench -- ingest --cores=8   other flags (written --name=value) go to every benchmark run
 *
 * A benchmark is any `bench/NAME.ts` other than lib.ts, run.ts, load.ts and attack.ts (the load test and the
 * attack suite are runs that pass or fail, with scripts of their own). Each runs as its own child
 * process (`node --import tsx bench/NAME.ts [--quick]`), one after the other, so worker threads, sockets and
 * timers of one can never skew the next, and each is also runnable alone. A benchmark script ends with
 * `await runBenchmark('NAME', measure)` from lib.ts, which prints its table and writes
 * bench/results/NAME.json and the `## NAME` section of bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const notBenchmarks = new Set(['lib.ts', 'run.ts', 'load.ts', 'attack.ts']);
const benchDir = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

function runOne(name: string, flags: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${benchDir}${name}.ts`, ...flags], {
      cwd: root,
      stdio: 'inherit',
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // Flags go to the benchmarks as given (each reads those it knows); the other arguments name benchmarks.
  const flags = args.filter((a) => a.startsWith('--'));
  const wanted = args.filter((a) => !a.startsWith('--'));
  const all = readdirSync(benchDir)
    .filter((f) => f.endsWith('.ts') && !notBenchmarks.has(f))
    .map((f) => f.slice(0, -3))
    .sort();
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length > 0) {
    console.error(`no benchmark named ${unknown.join(', ')}; there are: ${all.join(', ')}`);
    process.exit(2);
  }
  const chosen = wanted.length > 0 ? wanted : all;
  let failed = 0;
  for (const name of chosen) {
    const code = await runOne(name, flags);
    if (code !== 0) {
      console.error(`benchmark ${name} exited with code ${code}`);
      failed++;
    }
  }
  process.exit(failed > 0 ? 1 : 0);
}

await main();
