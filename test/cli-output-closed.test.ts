/**
 * A reader of a node's output that goes away (`strongcast --json | head -1`): the node stops cleanly and exits
 * 0, as a tool stopped by SIGPIPE would, instead of dying on an unhandled EPIPE with a stack trace (what it
 * did before). Real process, loopback.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const mainTs = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

test('the reader of --json output closes its end: the node stops cleanly and exits 0', async () => {
  const startedMs = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs, '--port', '0', '--host', '127.0.0.1', '--json'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const first = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no first line within 15 s; stderr: ${stderr}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        const nl = text.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(text.slice(0, nl));
        }
      });
    });
    const listening = JSON.parse(first) as { event: string; ts: number };
    assert.is(listening.event, 'listening');
    assert.ok(Number.isSafeInteger(listening.ts) && listening.ts >= startedMs && listening.ts <= Date.now(), `every --json line has ts, the node's time in ms: ${first}`);
    // As `head -1` does: our end of the pipe closes, and the node's next write finds no reader.
    child.stdout.destroy();
    for (let i = 0; i < 3; i++) child.stdin.write('stats\n');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
    assert.is(code, 0, `exit status; stderr:\n${stderr}`);
    assert.not.match(stderr, /Unhandled 'error' event|at .*node:internal/, 'no stack trace');
    assert.match(stderr, /"message":"stopped"/, 'the node stopped as it does on a signal');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test.run();
