/**
 * One honest validator of a load run: the real CLI (`src/main.ts --genesis ... --data ... --json`) as its own
 * OS process, driven by console commands on stdin and read through its JSON events on stdout. It can be
 * killed with SIGKILL and started again on the same data directory; each start is a new "life". An exit the
 * run did not ask for is recorded as a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../child-rpc.ts';
import { harnessOutputBytesMax, jsonLines, memoryOf } from './processes.ts';
import type { Launch } from './hosting.ts';

/**
 * Validators and observers run the compiled CLI of `npm run build` (the load test builds first) under plain
 * Node with the installed command's flags, as the attack suite, the gossip and the consensus benchmarks run
 * their nodes: under tsx each process would also carry the loader's thread (about 32 MB of resident memory
 * and its CPU), which is not the node's.
 */
const mainPath = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Time a validator gets to exit after SIGTERM before SIGKILL, in ms. */
export const stopGraceMs = 5000;

/** An event of one validator, stamped with the life it came from and when the run read it. */
export interface NodeEvent {
  node: number;
  life: number;
  atMs: number;
  e: Record<string, unknown>;
}

/** A validator process that exited without being asked to. */
export interface Crash {
  node: number;
  life: number;
  code: number | null;
  signal: string | null;
  logTail: string;
}

/** Where a node runs: its address, how its process starts, for an observer its port and peers, and flags of its own. */
export interface NodePlace {
  address: string;
  launch: Launch;
  observer?: { port: number; peers: string[] };
  /** More CLI flags for this node (the attack suite's target: --ip-limits-on-loopback). */
  flags?: string[];
}

/** One honest validator (or observer) and its successive processes. */
export class HonestNode {
  readonly index: number;
  /** Number of processes started so far; the current one is life `life`. */
  life = 0;
  child: ChildProcess | null = null;
  /** Peers open in the current life. */
  readonly peers = new Set<string>();
  /** When the current life finished catching up, or came up before the genesis start (it never syncs). */
  caughtUpAtMs: number | null = null;
  /** Largest VmHWM seen over all lives, MB. */
  peakMb = 0;
  /** When a sample first showed peakMb (ms since the epoch): the peak was reached in the second before. */
  peakSeenAtMs = 0;
  readonly crashes: Crash[] = [];
  /** Exits the run asked for but that were not clean (non-zero code after SIGTERM, or SIGKILL after the grace). */
  uncleanStops = 0;
  /** Events the node dropped because this harness read its output too slowly (`output-dropped`): must stay 0. */
  eventsLost = 0;
  #exitExpected = false;
  readonly #logPath: string;

  /**
   * @param genesisStartMs round 0 of the genesis: a process that is up before it never catches up; one that
   *   starts later catches up first and says `caught-up` when done.
   */
  constructor(
    index: number,
    private readonly dir: string,
    private readonly genesisStartMs: number,
    private readonly onEvent: (ev: NodeEvent) => void,
    private readonly place: NodePlace = { address: '127.0.0.1', launch: { command: process.execPath, prefix: [], env: process.env } },
  ) {
    this.index = index;
    this.#logPath = join(dir, `${place.observer ? 'observer' : 'node'}-${index}.log`);
  }

  /** Whether this is an observer (the genesis and no key) rather than a validator. */
  get observer(): boolean {
    return this.place.observer !== undefined;
  }

  /** True while a process of this validator is running (paused counts as running). */
  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts a new life. */
  start(): void {
    if (this.child) throw new Error(`validator ${this.index} is already running`);
    this.life++;
    const life = this.life;
    this.peers.clear();
    this.caughtUpAtMs = null;
    this.#exitExpected = false;
    const logFd = openSync(this.#logPath, 'a');
    const obs = this.place.observer;
    const args = [
      ...this.place.launch.prefix,
      mainPath,
      '--genesis', join(this.dir, 'genesis.json'),
      ...(obs ? ['--port', String(obs.port), '--peers', obs.peers.join(',')] : ['--key', join(this.dir, `node-${this.index}.key`)]),
      '--data', join(this.dir, `${obs ? 'observer' : 'data'}-${this.index}`),
      '--host', this.place.address, '--json', '--threads', '1', '--log-level', 'warn',
      // The checks read every event: the largest bound, so a harness that falls behind under load loses none.
      '--output-bytes-max', String(harnessOutputBytesMax),
      ...(this.place.flags ?? []),
    ];
    const child = spawn(this.place.launch.command, args, { cwd: repoRoot, env: this.place.launch.env, stdio: ['pipe', 'pipe', logFd, 'ipc'] });
    closeSync(logFd);
    trackChild(child);
    this.child = child;
    // A write to a process that just died must not take the run down.
    child.stdin!.on('error', () => undefined);
    jsonLines(child.stdout!, (e) => {
      if (e.event === 'output-dropped') this.eventsLost += Number(e.count);
      if (e.event === 'peer') {
        if (e.state === 'connected') this.peers.add(String(e.id));
        else this.peers.delete(String(e.id));
      }
      // The validator joins consensus before the node listens, so `listening` before round 0 means no catch-up.
      if (e.event === 'listening' && this.life === life && Date.now() < this.genesisStartMs) this.caughtUpAtMs = Date.now();
      if (e.event === 'caught-up' && this.life === life) this.caughtUpAtMs = Date.now();
      // A validator that noticed it was paused or cut off catches up again until its next `caught-up`.
      if (e.event === 'resync' && this.life === life) this.caughtUpAtMs = null;
      this.onEvent({ node: this.index, life, atMs: Date.now(), e });
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (!this.#exitExpected) {
        this.crashes.push({ node: this.index, life, code, signal, logTail: this.logTail() });
      }
    });
  }

  /** Writes one console command; false when no process is running. */
  command(line: string): boolean {
    const c = this.child;
    if (!c || !c.stdin || c.stdin.destroyed) return false;
    c.stdin.write(line + '\n');
    return true;
  }

  /** Kills the process with SIGKILL (a crash the run causes) and resolves once it is gone. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.sampleMemory();
    this.#exitExpected = true;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await gone;
  }

  /** Stops the process with SIGTERM, SIGKILL after stopGraceMs; a non-zero exit counts as unclean. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.sampleMemory();
    this.#exitExpected = true;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    const t = setTimeout(() => c.kill('SIGKILL'), stopGraceMs);
    c.kill('SIGTERM');
    const code = await exited;
    clearTimeout(t);
    if (code !== 0) this.uncleanStops++;
  }

  /** Reads the process's peak resident memory into peakMb. */
  sampleMemory(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    const m = memoryOf(pid);
    if (!m || m.peakMb <= this.peakMb) return;
    this.peakMb = m.peakMb;
    this.peakSeenAtMs = Date.now();
  }

  /** The last lines of this validator's log (stderr of every life), for crash reports. */
  logTail(lines = 15): string {
    try {
      return readFileSync(this.#logPath, 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '';
    }
  }
}
