/**
 * Test runner: runs every `test/**\/*.test.ts` file in its own process (a crashed or hung file cannot take
 * the others down), two at a time, and prints one closing line "N passed, N failed".
 *
 *   npm test                 all files
 *   npm test -- framing      only files whose path contains "framing"
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * A file that runs longer than this is killed and counted as failed. The heaviest file, fault-sim (40 seeded
 * simulated runs, every frame sealed and opened since the encrypted transport), takes about a minute alone
 * on 2 cores and went past 150 s with another file beside it on a loaded machine.
 */
const fileTimeoutMs = 240_000;
const root = fileURLToPath(new URL('..', import.meta.url));
const concurrency = Math.max(1, Math.min(2, availableParallelism()));

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
  ms: number;
  output: string;
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function count(output: string, label: string): number {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(output);
  return m ? Number(m[1]) : 0;
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, NODE_DISABLE_COLORS: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[run] killed after ${fileTimeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, fileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const total = count(output, 'Total');
      const passed = count(output, 'Passed');
      const skipped = count(output, 'Skipped');
      // A file that exits non-zero without a uvu summary (crash, timeout) counts as one failure.
      const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
      resolve({ file: relative(root, file), passed, failed, skipped, ok: code === 0 && failed === 0, ms: Date.now() - started, output });
    });
  });
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const files = findTests(join(root, 'test')).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
  const queue = [...files];
  const results: FileResult[] = [];
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const r = await runFile(f);
      results.push(r);
      const mark = r.ok ? 'ok  ' : 'FAIL';
      console.log(`${mark} ${r.file}  (${r.passed} passed, ${r.failed} failed, ${(r.ms / 1000).toFixed(1)}s)`);
      if (!r.ok) console.log(r.output.replace(/^/gm, '    | '));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const passed = results.reduce((a, r) => a + r.passed, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  const skipped = results.reduce((a, r) => a + r.skipped, 0);
  if (files.length === 0) console.log('no test files matched');
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 || files.length === 0 ? 1 : 0);
}

await main();
