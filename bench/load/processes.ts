/**
 * Every process a load run starts, and the guarantee that none outlives it: children are registered here,
 * killed with SIGKILL when the run ends for any reason (normal end, error, 'exit', SIGINT/SIGTERM), and they
 * also watch their IPC channel and exit when the parent goes away. A paused child (SIGSTOP) cannot notice its
 * parent dying, so pauses are done by a small shell helper that sends SIGCONT on its own after the pause.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();
let handlersInstalled = false;

/** Sends SIGKILL to every registered child still running. */
export function killAllChildren(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

/** Registers a child for the exit handlers; it leaves the set when it exits. */
export function track(child: ChildProcess): void {
  if (!handlersInstalled) {
    handlersInstalled = true;
    process.on('exit', killAllChildren);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        killAllChildren();
        process.exit(130);
      });
    }
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/**
 * Pauses process `pid` for `ms` with SIGSTOP and resumes it with SIGCONT, from a shell helper that does both
 * itself, so the pause ends even if this process dies meanwhile. Resolves when the helper exits.
 */
export function pauseProcess(pid: number, ms: number): Promise<void> {
  const secs = (ms / 1000).toFixed(3);
  const helper = spawn('sh', ['-c', `kill -STOP ${pid}; sleep ${secs}; kill -CONT ${pid}`], { stdio: 'ignore' });
  track(helper);
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
