/**
 * A node of the attack suite as its own OS process: the compiled CLI (`node dist/src/main.js ... --json`),
 * driven by console commands on stdin and read through its JSON events on stdout, with its CPU time and
 * memory read from /proc. Every event is stamped with performance.now() as the suite reads it. An exit the
 * suite did not ask for is recorded (for the victim, that is a crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cliNodeFlags } from '../node-flags.ts';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../child-rpc.ts';
import { harnessOutputBytesMax, jsonLines, memoryOf } from '../load/processes.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The compiled CLI, run with plain Node as an installed package runs it. */
export const cliPath = `${repoRoot}dist/src/main.js`;

/** An event of the node, with the time the suite read it (performance.now()). */
export interface StampedEvent {
  atMs: number;
  e: Record<string, unknown>;
}

/** Linux reports CPU time in ticks of 1/100 s (USER_HZ). */
const ticksPerSecond = 100;

/** One CLI node process. */
export class CliNode {
  readonly child: ChildProcess;
  /** Set when the process exited without being asked to. */
  unexpectedExit: { code: number | null; signal: string | null } | null = null;
  #exitExpected = false;
  readonly #listeners = new Set<(ev: StampedEvent) => void>();
  /** Ids of the peers open now, from its `peer` events (kept from the start, so none is missed). */
  readonly openPeers = new Set<string>();
  /** Largest VmHWM read, in MB. */
  peakRssMb: number | null = null;
  /** Events the node dropped because the suite read its output too slowly (`output-dropped`): must stay 0. */
  eventsLost = 0;
  readonly exited: Promise<void>;

  /** Starts `node dist/src/main.js ARGS` with the installed command's Node flags (bench/node-flags.ts); stderr (its log) goes to `logPath`. */
  constructor(
    readonly name: string,
    args: readonly string[],
    readonly logPath: string,
  ) {
    const fd = openSync(logPath, 'a');
    // The suite reads every event it judges by: the largest output bound, and a dropped event is an exit of its own.
    this.child = spawn(process.execPath, [...cliNodeFlags, cliPath, ...args, '--output-bytes-max', String(harnessOutputBytesMax)], { cwd: repoRoot, stdio: ['pipe', 'pipe', fd] });
    closeSync(fd);
    trackChild(this.child);
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
    this.child.once('exit', (code, signal) => {
      if (!this.#exitExpected) this.unexpectedExit = { code, signal };
    });
    jsonLines(this.child.stdout!, (e) => {
      if (e.event === 'output-dropped') this.eventsLost += Number(e.count);
      if (e.event === 'peer') {
        if (e.state === 'connected') this.openPeers.add(String(e.id));
        else this.openPeers.delete(String(e.id));
      }
      const ev = { atMs: performance.now(), e };
      for (const l of this.#listeners) l(ev);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Calls `listener` with every event from now on; returns how to stop. */
  on(listener: (ev: StampedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The next event matching `pred`, or null after `timeoutMs` or when the process exits first. */
  waitFor(pred: (e: Record<string, unknown>) => boolean, timeoutMs: number): Promise<StampedEvent | null> {
    return new Promise((resolve) => {
      const done = (ev: StampedEvent | null) => {
        clearTimeout(t);
        off();
        this.child.off('exit', onExit);
        resolve(ev);
      };
      const off = this.on((ev) => {
        if (pred(ev.e)) done(ev);
      });
      const onExit = () => done(null);
      const t = setTimeout(() => done(null), timeoutMs);
      if (!this.running) return done(null);
      this.child.once('exit', onExit);
    });
  }

  /** Writes one console command; false when the process is gone. */
  command(line: string): boolean {
    const stdin = this.child.stdin;
    if (!this.running || !stdin || stdin.destroyed) return false;
    stdin.write(line + '\n');
    return true;
  }

  /** CPU seconds of the whole process (every thread), user + system; null when it is gone. */
  cpuSeconds(): number | null {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / ticksPerSecond;
    } catch {
      return null;
    }
  }

  /** Reads the peak resident memory (VmHWM) into peakRssMb. */
  sampleMemory(): void {
    if (this.pid === undefined || !this.running) return;
    const m = memoryOf(this.pid);
    if (m) this.peakRssMb = Math.max(this.peakRssMb ?? 0, m.peakMb);
  }

  /** Kills the process (SIGKILL) as asked, after a last memory reading, and waits for it to be gone. */
  async kill(): Promise<void> {
    this.sampleMemory();
    this.#exitExpected = true;
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The last lines of its log, for a crash report. */
  logTail(lines = 8): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
