/**
 * The node core reaches the machine only through the seams it is given (io/: Transport, Clock, Random; the
 * Verifier; the Store): no file under the core folders reads the wall clock, sets a real timer, draws from
 * Math.random or opens a socket, so the simulator, which hands in virtual ones, runs exactly the code that
 * ships. The adapters (io/system-*, io/tcp-transport.ts), the worker pool, the disk store and the CLI are the
 * only places that may.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src', import.meta.url));
const coreFolders = ['core', 'gossip', 'peers', 'net', 'wire', 'consensus'];
const forbidden: Array<[RegExp, string]> = [
  [/\bDate\.now\b/, 'Date.now'],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bprocess\.nextTick\b/, 'a real timer'],
  [/\bMath\.random\b/, 'Math.random'],
  [/['"]node:(net|dgram|fs|fs\/promises|worker_threads|child_process)['"]/, 'an I/O module'],
  [/\brandomBytes\b|\brandomInt\b|\brandomUUID\b/, 'system randomness'],
  [/\bperformance\.now\b|\bprocess\.hrtime\b/, 'a real clock'],
];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

/** The code of a file without its comments (a comment may well say what the code does not do). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

test('no wall clock, real timer, Math.random, socket or disk under the core folders', () => {
  const files = coreFolders.flatMap((f) => tsFiles(join(src, f)));
  assert.ok(files.length > 30, `found the core files (${files.length})`);
  const hits: string[] = [];
  for (const f of files) {
    const body = code(readFileSync(f, 'utf8'));
    for (const [re, what] of forbidden) if (re.test(body)) hits.push(`${relative(src, f)}: ${what}`);
  }
  assert.equal(hits, []);
});

test('the scan sees what it forbids (it would catch a use, and skips comments)', () => {
  assert.ok(/\bDate\.now\b/.test(code('const t = Date.now();')));
  assert.not.ok(/\bDate\.now\b/.test(code('// Date.now on a machine\n/** or Date.now */ const t = clock.now();')));
  assert.ok(forbidden.some(([re]) => re.test(code("import { connect } from 'node:net';"))));
});

test.run();
