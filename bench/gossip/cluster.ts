/**
 * A cluster of benchmark node processes (gossip-node.ts), one OS process per node, driven over IPC. Every
 * request has a timeout, and every child is killed when the cluster closes, when the parent exits for any
 * reason, or on SIGINT/SIGTERM, so a failed run never leaves processes behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isCompiled } from '../../src/module-path.ts';
import type { NodeReply, NodeRequest } from './gossip-node.ts';

/**
 * Nodes always run the compiled script of `npm run build` with plain Node (bench/gossip.ts builds first):
 * the tsx loader would add a module-loader thread (~30 MB) and a compile at start to every node process.
 */
const nodeScript = fileURLToPath(
  isCompiled(import.meta.url) ? new URL('./gossip-node.js', import.meta.url) : new URL('../../dist/bench/gossip/gossip-node.js', import.meta.url),
);
const repoRoot = fileURLToPath(new URL(isCompiled(import.meta.url) ? '../../..' : '../..', import.meta.url));

/** Default time a request may take before it fails, in ms. */
export const requestTimeoutMsDefault = 30_000;
/** Time children get to stop cleanly before they are killed, in ms. */
const stopTimeoutMs = 5_000;

/**
 * Extra Node flags for every node process, e.g. `--cpu-prof --cpu-prof-dir=prof` to profile a run; read
 * from STRONGCAST_BENCH_NODE_FLAGS (space-separated), empty by default.
 */
const extraNodeFlags = (process.env['STRONGCAST_BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);

/** Every child of every cluster still alive, for the exit handlers. */
const live = new Set<ChildProcess>();
let handlersInstalled = false;

function killAll(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

type Pending = { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout };

/** A request without its id; the cluster numbers requests itself. */
export type Request = NodeRequest extends infer R ? (R extends { rid: number } ? Omit<R, 'rid'> : never) : never;

/** N node processes and a request/reply channel to each. */
export class Cluster {
  private readonly pending = new Map<number, Pending>();
  private nextRid = 1;
  private closed = false;
  /** Set when close() begins: a node exiting after that is expected. */
  private closing = false;

  private constructor(private readonly children: ChildProcess[]) {
    children.forEach((child, i) => {
      child.on('message', (raw) => this.onReply(raw as NodeReply));
      child.on('exit', (code, signal) => {
        live.delete(child);
        if (!this.closing) this.failAll(new Error(`node process ${i} exited (code ${code}, signal ${signal})`));
      });
    });
  }

  /** Spawns `n` node processes (`node dist/bench/gossip/gossip-node.js`) with an IPC channel each. */
  static spawn(n: number): Cluster {
    installHandlers();
    if (!existsSync(nodeScript)) throw new Error(`${nodeScript} is missing: run npm run build first`);
    const children: ChildProcess[] = [];
    for (let i = 0; i < n; i++) {
      const child = spawn(process.execPath, [...extraNodeFlags, nodeScript], {
        cwd: repoRoot,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      live.add(child);
      children.push(child);
    }
    return new Cluster(children);
  }

  get size(): number {
    return this.children.length;
  }

  /** Sends one request to node `i` and resolves with its result. */
  request<T>(i: number, req: Request, timeoutMs = requestTimeoutMsDefault): Promise<T> {
    const child = this.children[i];
    if (!child || this.closed) return Promise.reject(new Error(`no node process ${i}`));
    const rid = this.nextRid++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error(`node ${i} did not answer '${req.cmd}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rid, { resolve: resolve as (v: unknown) => void, reject, timer });
      child.send({ ...req, rid } as NodeRequest);
    });
  }

  /** Sends a request to every node (built per node by `make`) and resolves with every result, in order. */
  all<T>(make: (i: number) => Request, timeoutMs = requestTimeoutMsDefault): Promise<T[]> {
    return Promise.all(this.children.map((_, i) => this.request<T>(i, make(i), timeoutMs)));
  }

  /** Stops every node, then kills whatever did not exit in time. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const exited = this.children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
    await Promise.allSettled(this.children.map((_, i) => this.request(i, { cmd: 'stop' }, stopTimeoutMs)));
    this.closed = true;
    this.failAll(new Error('cluster closed'));
    const timer = setTimeout(() => this.children.forEach((c) => c.kill('SIGKILL')), stopTimeoutMs);
    await Promise.all(exited);
    clearTimeout(timer);
    for (const c of this.children) live.delete(c);
  }

  private onReply(reply: NodeReply): void {
    const p = this.pending.get(reply.rid);
    if (!p) return;
    this.pending.delete(reply.rid);
    clearTimeout(p.timer);
    if (reply.error !== undefined) p.reject(new Error(reply.error));
    else p.resolve(reply.result);
  }

  private failAll(e: Error): void {
    for (const [rid, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(e);
      this.pending.delete(rid);
    }
  }
}
