/**
 * The parent's side of the Byzantine validators: one process each (byzantine-proc.ts), requests over IPC
 * with a timeout each, and a close that leaves no process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ByzantineReply, ByzantineRequest, ByzantineRole } from './byzantine-proc.ts';
import { memoryOf, track } from './processes.ts';

const script = fileURLToPath(new URL('./byzantine-proc.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Time a request may take, in ms. */
const requestTimeoutMs = 30_000;
/** Time a process gets to exit after its channel closes, in ms. */
const exitTimeoutMs = 3000;

type Pending = { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout };
type Request = ByzantineRequest extends infer R ? (R extends { rid: number } ? Omit<R, 'rid'> : never) : never;

/** One Byzantine validator process. */
export class ByzantineProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #rid = 1;
  #closing = false;
  /** Largest VmHWM seen, MB. */
  peakMb = 0;
  exitedEarly: string | null = null;

  constructor(readonly role: ByzantineRole, readonly index: number, dir: string) {
    const logFd = openSync(join(dir, `byzantine-${role}.log`), 'a');
    this.#child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'ignore', logFd, 'ipc'], serialization: 'advanced' });
    closeSync(logFd);
    track(this.#child);
    this.#child.on('message', (raw) => this.#onReply(raw as ByzantineReply));
    this.#child.once('exit', (code, signal) => {
      if (!this.#closing) this.exitedEarly = `code ${code}, signal ${signal}`;
      this.#failAll(new Error(`${role} process exited (code ${code}, signal ${signal})`));
    });
  }

  request<T>(req: Request, timeoutMs = requestTimeoutMs): Promise<T> {
    if (this.#closing || !this.#child.connected) return Promise.reject(new Error(`${this.role} process is not running`));
    const rid = this.#rid++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid);
        reject(new Error(`${this.role} did not answer '${req.cmd}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(rid, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#child.send({ ...req, rid } as ByzantineRequest);
    });
  }

  sampleMemory(): void {
    const pid = this.#child.pid;
    const m = pid === undefined ? null : memoryOf(pid);
    if (m) this.peakMb = Math.max(this.peakMb, m.peakMb);
  }

  /** Closes the channel (the process stops and exits), then kills it if it lingers. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.sampleMemory();
    this.#closing = true;
    this.#failAll(new Error(`${this.role} closed`));
    const c = this.#child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    if (c.connected) c.disconnect();
    const t = setTimeout(() => c.kill('SIGKILL'), exitTimeoutMs);
    await exited;
    clearTimeout(t);
  }

  #onReply(reply: ByzantineReply): void {
    const p = this.#pending.get(reply.rid);
    if (!p) return;
    this.#pending.delete(reply.rid);
    clearTimeout(p.timer);
    if (reply.error !== undefined) p.reject(new Error(reply.error));
    else p.resolve(reply.result);
  }

  #failAll(e: Error): void {
    for (const [rid, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(e);
      this.#pending.delete(rid);
    }
  }
}
