/**
 * The parent's side of the Byzantine validators: one process each (byzantine-proc.ts), requests over IPC
 * with a timeout each, and a close that leaves no process behind.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildRpc, type WithoutRid } from '../child-rpc.ts';
import type { ByzantineRequest, ByzantineRole } from './byzantine-proc.ts';
import { memoryOf } from './processes.ts';
import type { Launch } from './hosting.ts';

const script = fileURLToPath(new URL('./byzantine-proc.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Time a request may take, in ms. */
const requestTimeoutMs = 30_000;
/** Time a process gets to exit after its channel closes, in ms. */
const exitTimeoutMs = 3000;

/** One Byzantine validator process. */
export class ByzantineProcess {
  readonly #rpc: ChildRpc<ByzantineRequest>;
  /** Largest VmHWM seen, MB. */
  peakMb = 0;
  /** How the process ended if it exited before close(), e.g. "code 1, signal null"; else null. */
  exitedEarly: string | null = null;

  constructor(readonly role: ByzantineRole, readonly index: number, dir: string, launch?: Launch) {
    const logFd = openSync(join(dir, `byzantine-${role}.log`), 'a');
    try {
      this.#rpc = new ChildRpc<ByzantineRequest>({
        name: role,
        argv: ['--import', 'tsx', script],
        ...(launch ? { launch } : {}),
        cwd: repoRoot,
        stdout: 'ignore',
        stderr: logFd,
        requestTimeoutMs,
        onUnexpectedExit: (_e, code, signal) => {
          this.exitedEarly = `code ${code}, signal ${signal}`;
        },
      });
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(logFd);
    }
  }

  request<T>(req: WithoutRid<ByzantineRequest>, timeoutMs = requestTimeoutMs): Promise<T> {
    return this.#rpc.request<T>(req, timeoutMs);
  }

  sampleMemory(): void {
    const pid = this.#rpc.pid;
    const m = pid === undefined ? null : memoryOf(pid);
    if (m) this.peakMb = Math.max(this.peakMb, m.peakMb);
  }

  /** Closes the channel (the process stops and exits), then kills it if it lingers. Safe to call twice. */
  close(): Promise<void> {
    // The peak is read while the process is still there to read it from.
    if (this.#rpc.running) this.sampleMemory();
    return this.#rpc.close(exitTimeoutMs);
  }
}
