/**
 * A node whose logs (standard error) are read slowly or not at all, as real processes: over a pipe nobody
 * reads, the node keeps answering on standard output and holds no more than its `--log-bytes-max` of log
 * lines for the reader, the rest reported by `log lines dropped` lines in the log's format; in a terminal
 * that stops reading (Node writes to a terminal blocking), the node keeps answering /health.
 *
 * Log lines come from dials that a server of ours closes at once: each is logged at debug level
 * (`connection closed before open`), about 180 bytes of JSON.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliProcess, root } from './helpers/proc.ts';
import { dialMarker, exitWithin, feed, healthWhile, within } from './helpers/slow-reader.ts';
import { logDroppedMessage } from '../src/cli/log-writer.ts';

/** Bytes that can sit between the node and our paused reader outside the node (socket buffer, read-ahead). */
const outsideBytesMax = 1024 * 1024;
const logBytesMax = 65_536;

/** Waits until `p` has written nothing on stderr for `quietMs`, failing after `timeoutMs`. */
async function stderrQuiet(p: CliProcess, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let seen = -1; seen !== p.stderr.length; ) {
    if (Date.now() > deadline) throw new Error(`logs still coming after ${timeoutMs} ms`);
    seen = p.stderr.length;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
}

test('a node whose stderr is never read keeps answering on stdout, and holds at most --log-bytes-max of log lines for it', async () => {
  const p = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--log-level', 'debug', '--log-format', 'json', '--log-bytes-max', String(logBytesMax)]);
  const closer = await dialMarker();
  const done = await dialMarker();
  try {
    await p.waitEvent((e) => e.event === 'listening', 'listening');
    p.child.stderr!.pause();
    const from = p.stderr.length;
    const count = 8000; // two log lines each (~360 bytes): ~2.9 MB of logs, far past the bound and the pipe
    await feed(p, [...Array(count).fill(`connect 127.0.0.1:${closer.port}`), `connect 127.0.0.1:${done.port}`], 500);
    await within('the node dialing for every command', done.dialed, 60_000);
    p.command('stats');
    const stats = await p.waitEvent((e) => e.event === 'stats', 'stats while stderr is not read', 10_000);
    assert.ok(Number(stats.pid) > 0);
    const answered = p.events.filter((e) => e.event === 'error' || e.event === 'connected').length;
    assert.ok(answered >= count, `every connect answered on stdout (${answered})`);
    p.child.stderr!.resume();
    await stderrQuiet(p, 500, 30_000);
    const lines = p.stderr.slice(from).split('\n').filter((l) => l.startsWith('{'));
    const closed = lines.filter((l) => l.includes('"connection closed before open"'));
    const heldBytes = closed.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
    assert.ok(
      heldBytes <= logBytesMax + outsideBytesMax,
      `the reader got ${closed.length} log lines, ${heldBytes} bytes, logged while it read nothing: more than the bound (${logBytesMax}) and what the pipe holds`,
    );
    const reports = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.message === logDroppedMessage);
    assert.ok(reports.length > 0, 'the dropped lines are reported');
    for (const r of reports) assert.ok(r.level === 'warn' && Number(r.count) > 0 && Number(r.bytes) > 0 && Number(r.sinceMs) >= 0, JSON.stringify(r));
    p.command('quit');
    assert.is(await exitWithin(p, 20_000), 0, p.stderr.slice(-1500));
  } finally {
    closer.close();
    done.close();
    await p.stop();
  }
});

const mainTs = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const hasScript = /util-linux/.test(spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '');

/** Every process below `pid` (Linux /proc), to be killed at the end whatever state they are in. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/** Opens `count` connections to `port`, `parallel` at a time, each closed as soon as it is open. */
async function dialAndClose(port: number, count: number, parallel = 20): Promise<void> {
  let next = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.destroy());
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next++ < count) await one();
  }));
}

(hasScript ? test : test.skip)('a node whose stderr is a terminal that stops reading keeps answering /health while it logs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-log-tty-'));
  let script: ChildProcess | null = null;
  try {
    const outFile = join(dir, 'out');
    const args = [process.execPath, '--import', 'tsx', mainTs, '--host', '127.0.0.1', '--port', '0', '--json', '--threads', '1', '--log-level', 'debug', '--log-format', 'json', '--metrics', '127.0.0.1:0'];
    // Standard output to a file, standard error (and input) the pseudo-terminal, which nobody reads.
    const command = `exec ${args.map((a) => `'${a}'`).join(' ')} > '${outFile}'`;
    script = spawn('script', ['-q', '-c', command, '/dev/null'], { cwd: root, stdio: ['pipe', 'pipe', 'ignore'] });
    const terminal = script;
    const started = await within(
      'the node in the terminal listening and serving metrics',
      (async () => {
        for (;;) {
          let text = '';
          try {
            text = readFileSync(outFile, 'utf8');
          } catch {
            // not created yet
          }
          const port = /"event":"listening"[^\n]*"port":(\d+)/.exec(text);
          const url = /"event":"metrics"[^\n]*"url":"(http:[^"]+)"/.exec(text);
          if (port && url) return { port: Number(port[1]), url: url[1]! };
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
      30_000,
    );
    terminal.stdout!.pause(); // the terminal stops reading
    const count = 3000; // ~540 KB of debug lines: far more than a terminal's buffers hold
    const dialed = within('every connection opened and closed', dialAndClose(started.port, count), 60_000);
    dialed.catch(() => undefined); // awaited below, unless /health fails first
    const slowest = await healthWhile(started.url, dialed, 3000);
    await dialed;
    assert.ok(slowest < 3000, `slowest /health ${slowest} ms`);
  } finally {
    for (const pid of script?.pid === undefined ? [] : descendants(script.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    script?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
