/**
 * A node whose standard output is a terminal that stops reading: a pseudo-terminal whose other side nobody
 * reads, as with a terminal paused by Ctrl-S or a stalled remote session. Node writes to a terminal
 * blocking, so once the terminal's buffers are full every write waits, and the whole node with it. The
 * pseudo-terminal is util-linux `script`'s: the node runs inside it, and what `script` copies out of the
 * terminal is left unread here. Skipped where there is no such `script`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliProcess, root } from './helpers/proc.ts';
import { feed, healthWhile, within } from './helpers/slow-reader.ts';

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

/** A CLI node inside a pseudo-terminal; `output` is what `script` copied out of it so far. */
function nodeInTerminal(args: string[]): { script: ChildProcess; output: () => string } {
  const quoted = [process.execPath, '--import', 'tsx', mainTs, ...args].map((a) => `'${a}'`).join(' ');
  const script = spawn('script', ['-q', '-c', `exec ${quoted}`, '/dev/null'], { cwd: root, stdio: ['pipe', 'pipe', 'ignore'] });
  let text = '';
  script.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  return { script, output: () => text };
}

/** A delivered-broadcast count from /metrics. */
async function delivered(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  return Number(/^strongcast_broadcasts_delivered_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

(hasScript ? test : test.skip)('a --json node whose terminal stops reading keeps answering /health and delivering broadcasts', async () => {
  const peer = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--log-level', 'warn']);
  let inTerminal: ReturnType<typeof nodeInTerminal> | null = null;
  try {
    const port = Number((await peer.waitEvent((e) => e.event === 'listening', 'peer listening')).port);
    inTerminal = nodeInTerminal(['--host', '127.0.0.1', '--port', '0', '--json', '--threads', '1', '--log-level', 'warn', '--metrics', '127.0.0.1:0', '--peers', `127.0.0.1:${port}`]);
    const terminal = inTerminal;
    const url = await within(
      'the node in the terminal serving metrics',
      (async () => {
        for (;;) {
          const m = /"event":"metrics"[^\n]*"url":"(http:[^"]+)"/.exec(terminal.output());
          if (m) return m[1]!;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
      30_000,
    );
    await peer.waitEvent((e) => e.event === 'peer' && e.state === 'connected', 'the node in the terminal connected');
    terminal.script.stdout!.pause(); // the terminal stops reading
    const count = 4000; // ~450-byte `message` lines: ~1.8 MB, far more than a terminal's buffers hold
    const text = 'x'.repeat(100);
    const sent = feed(peer, Array.from({ length: count }, (_, i) => `broadcast ${text} ${i}`), 200, 20);
    const allDelivered = within(
      'every broadcast delivered by the node in the terminal',
      (async () => {
        await sent;
        while ((await delivered(url)) < count) await new Promise((resolve) => setTimeout(resolve, 200));
      })(),
      60_000,
    );
    allDelivered.catch(() => undefined); // awaited below, unless /health fails first
    const slowest = await healthWhile(url, allDelivered, 3000);
    await allDelivered;
    assert.ok(slowest < 3000, `slowest /health ${slowest} ms`);
  } finally {
    for (const pid of inTerminal?.script.pid === undefined ? [] : descendants(inTerminal.script.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    inTerminal?.script.kill('SIGKILL');
    await peer.stop();
  }
});

test.run();
