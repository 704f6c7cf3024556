/** Helpers to run the CLI as a real process and read its --json events. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PortTaken, reservePorts } from './ports.ts';

export { PortTaken, withPortBlock } from './ports.ts';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const mainTs = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const clockOffsetModule = new URL('../../bench/clock-offset.mjs', import.meta.url).href;

/** A running CLI process with its parsed JSON events and raw output. */
export class CliProcess {
  readonly events: Record<string, unknown>[] = [];
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  exited: Promise<number | null>;
  readonly child: ChildProcess;

  /**
   * `clockOffsetMs`: the process's Date.now reads that much ahead (bench/clock-offset.mjs), as another machine's clock may.
   * `preload`: more modules for `node --import` (test faults); `env`: variables added to the process's environment.
   */
  constructor(args: string[], opts: { stdin?: 'pipe' | 'ignore'; clockOffsetMs?: number; preload?: string[]; env?: Record<string, string> } = {}) {
    const offset = opts.clockOffsetMs ?? 0;
    const preload = [...(offset === 0 ? [] : ['--import', clockOffsetModule]), ...(opts.preload ?? []).flatMap((m) => ['--import', m])];
    const env = { ...process.env, ...(offset === 0 ? {} : { STRONGCAST_CLOCK_OFFSET_MS: String(offset) }), ...opts.env };
    this.child = spawn(process.execPath, [...preload, '--import', 'tsx', mainTs, ...args], { cwd: root, env, stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (l.startsWith('{')) {
          try {
            this.events.push(JSON.parse(l) as Record<string, unknown>);
          } catch {
            // not an event line
          }
        }
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve((this.exitCode = code))));
  }

  /** Writes one console command. */
  command(line: string): void {
    this.child.stdin?.write(line + '\n');
  }

  /** Waits for an event matching `pred`. */
  async waitEvent(pred: (e: Record<string, unknown>) => boolean, what: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find(pred);
      if (e) return e;
      if (this.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${what} event (exit ${this.exitCode}); stderr:\n${this.stderr.slice(-2000)}\nstdout:\n${this.stdout.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGTERM, then SIGKILL if it does not exit within 5 s. */
  async stop(): Promise<number | null> {
    if (this.exitCode !== null) return this.exitCode;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new CliProcess(args, { stdin: 'ignore' });
  const t = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(t);
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/**
 * A run of `count` free consecutive loopback ports, for callers that cannot retry (see ports.ts for why a CLI
 * network needs them up front and where they come from). New tests use `withPortBlock`, which holds the ports
 * until just before use and starts again on other ports if one was taken after all.
 */
export async function freeBasePort(count: number): Promise<number> {
  const block = await reservePorts(count);
  await block.release();
  return block.base;
}

/**
 * Waits for a CLI process's `listening` event and returns its port. A process that exits first because its
 * port was taken (ERR_PORT_IN_USE) throws PortTaken, for `withPortBlock` to start again on other ports.
 */
export async function waitListening(p: CliProcess, what: string, timeoutMs = 20_000): Promise<number> {
  try {
    return Number((await p.waitEvent((e) => e.event === 'listening', `${what} listening`, timeoutMs)).port);
  } catch (e) {
    // 'exit' can come before the last of stderr has been read
    const stderr = p.child.stderr!;
    if (p.exitCode !== null && !stderr.readableEnded) await new Promise((r) => (stderr.once('end', r), setTimeout(r, 1000).unref()));
    if (p.exitCode !== null && p.stderr.includes('ERR_PORT_IN_USE')) throw new PortTaken(`${what}: ${p.stderr.trim().split('\n').pop()}`);
    throw e;
  }
}

/** Waits until every process listens; when one does not (its port taken, or any other failure), stops them all and rethrows. */
export async function allListening(procs: CliProcess[], timeoutMs = 20_000): Promise<number[]> {
  try {
    return await Promise.all(procs.map((p, i) => waitListening(p, `process ${i}`, timeoutMs)));
  } catch (e) {
    await Promise.all(procs.map((p) => p.stop()));
    throw e;
  }
}

/**
 * The event by which a validator process came to hold its first block: `decided` (its `block` null for "no
 * block"), or `synced` when it caught up instead. A validator whose process stalls past its stallMsMax on a
 * busy machine takes the instances of that time from f+1 validators (catch-up), and reports the block it
 * learned so. Either way it holds the block the others decided, which is what agreement asks.
 */
export function firstBlockEvent(p: CliProcess, what: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return p.waitEvent((e) => e.event === 'decided' || e.event === 'synced', what, timeoutMs);
}

/** Distinct peers a process has now, from its peer events. */
export function connectedPeers(p: CliProcess): number {
  const open = new Set<string>();
  for (const e of p.events) {
    if (e.event !== 'peer') continue;
    if (e.state === 'connected') open.add(String(e.id));
    else open.delete(String(e.id));
  }
  return open.size;
}

/** Waits until every process has `peers` connected peers. */
export async function waitMesh(procs: CliProcess[], peers: number, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!procs.every((p) => connectedPeers(p) >= peers)) {
    if (Date.now() > deadline) throw new Error(`network did not form: ${procs.map(connectedPeers)}\n${procs[0]!.stderr.slice(-1500)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
