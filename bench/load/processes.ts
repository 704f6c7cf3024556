/**
 * The operating-system chores of a load run: pauses, memory from /proc, event lines, free ports. Every
 * process a run starts is registered with trackChild (../child-rpc.ts), killed with SIGKILL when the run ends
 * for any reason (normal end, error, 'exit', SIGINT/SIGTERM), and the children also watch their IPC channel
 * and exit when the parent goes away. A paused child (SIGSTOP) cannot notice its parent dying, so pauses are
 * done by a small shell helper that sends SIGCONT on its own after the pause.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { trackChild } from '../child-rpc.ts';

/**
 * Pauses process `pid` for `ms` with SIGSTOP and resumes it with SIGCONT, from a shell helper that does both
 * itself, so the pause ends even if this process dies meanwhile. Resolves when the helper exits.
 */
export function pauseProcess(pid: number, ms: number): Promise<void> {
  const secs = (ms / 1000).toFixed(3);
  const helper = spawn('sh', ['-c', `kill -STOP ${pid}; sleep ${secs}; kill -CONT ${pid}`], { stdio: 'ignore' });
  trackChild(helper);
  return new Promise((resolve) => helper.once('exit', () => resolve()));
}

/** Resident memory of a process from /proc: current and peak (VmHWM), in MB; null when it is gone. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const rss = kb('VmRSS');
    const hwm = kb('VmHWM');
    if (!Number.isFinite(rss) || !Number.isFinite(hwm)) return null;
    return { rssMb: rss / 1024, peakMb: hwm / 1024 };
  } catch {
    return null;
  }
}

/**
 * `--output-bytes-max` of every node a harness starts: the largest the CLI takes (1 GiB). The checks read
 * every event, so a harness that falls behind under load must not lose any; a node that still drops some says
 * so with `output-dropped`, which the harnesses count as a failure of the run.
 */
export const harnessOutputBytesMax = 1024 * 1024 * 1024;

/** Splits a stream into lines and hands every JSON object line to `onEvent`. */
export function jsonLines(stream: NodeJS.ReadableStream, onEvent: (e: Record<string, unknown>) => void): void {
  let partial = '';
  stream.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      try {
        onEvent(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not an event line
      }
    }
  });
}

/** First port the system hands out for outgoing connections (Linux; 32768 elsewhere). */
function ephemeralPortsStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * `count` consecutive ports free on 127.0.0.1, from a random start below the ephemeral range: a validator's
 * port must stay free while it is down, and an outgoing connection of another node could take it otherwise.
 */
export async function freeBasePort(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  const low = 10_000;
  const high = Math.max(low + count, ephemeralPortsStart() - count);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await free(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
