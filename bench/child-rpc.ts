/**
 * The parent's side of a benchmark child process driven over IPC (gossip nodes, consensus validators, the
 * load run's Byzantine validators): spawn a Node script with an IPC channel, send requests numbered by `rid`
 * and pair each reply with its request, each with a timeout; reject what is pending when the child exits
 * unasked; close it by disconnecting (the child stops and exits) and SIGKILL it if it lingers.
 *
 * Also the one registry of live children: every child is killed with SIGKILL when the parent exits for any
 * reason or gets SIGINT/SIGTERM, so a failed run never leaves processes behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** A request as the child reads it: `rid` pairs it with its reply, `cmd` names it. */
export interface RpcRequest {
  rid: number;
  cmd: string;
}

/** A reply as the child sends it: `error` set when the request failed, else `result`. */
export interface RpcReply {
  rid: number;
  error?: string;
  result?: unknown;
}

/** A request as the parent writes it, without `rid` (numbered here), member by member of a union. */
export type WithoutRid<R> = R extends { rid: number } ? Omit<R, 'rid'> : never;

/** Why a request failed, by code. */
export const ChildRpcErrorCodes = {
  ERR_CHILD_TIMEOUT: 'the child did not answer within the request\'s timeout',
  ERR_CHILD_EXITED: 'the child exited before close() (in a group: one of the children did)',
  ERR_CHILD_CLOSED: 'close() began while the request was pending',
  ERR_CHILD_NOT_RUNNING: 'the request was made after close(), after the channel closed, or to no such child',
  ERR_CHILD_REQUEST_FAILED: 'the child answered with an error (the message is the child\'s)',
} as const;

/** A stable code of ChildRpcErrorCodes. */
export type ChildRpcErrorCode = keyof typeof ChildRpcErrorCodes;

/** A failed request: `code` says why, `message` is for people. */
export class ChildRpcError extends Error {
  readonly code: ChildRpcErrorCode;

  constructor(code: ChildRpcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChildRpcError';
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The registry of live children.

const live = new Set<ChildProcess>();
let handlersInstalled = false;

/** Sends SIGKILL to every registered child still running. */
export function killAllChildren(): void {
  for (const c of live) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    try {
      c.kill('SIGKILL');
    } catch (e) {
      // This runs in exit handlers: one child that cannot be killed must not spare the others.
      process.stderr.write(`could not kill child process ${c.pid}: ${(e as Error).message}\n`);
    }
  }
  live.clear();
}

/**
 * Registers a child to be killed when the parent exits or gets SIGINT/SIGTERM (the handlers are installed
 * with the first child); it leaves the registry when it exits.
 */
export function trackChild(child: ChildProcess): void {
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

// ---------------------------------------------------------------------------------------------------------
// One child.

/** Where a child's stdout or stderr goes: the parent's, nowhere, or an open file descriptor. */
export type OutputTarget = 'inherit' | 'ignore' | number;

/** How to start a child. */
export interface ChildRpcOptions {
  /** The child in error messages, e.g. `node 3` gives "node 3 did not answer 'report' within 30000 ms". */
  name: string;
  /** Arguments of `node` (process.execPath): flags, the script, the script's arguments. */
  argv: readonly string[];
  /**
   * Runs node through another command (e.g. `ip netns exec NS node`): `command` and the arguments before
   * node's own, which must end with the node binary. @default node itself
   */
  launch?: { command: string; prefix: readonly string[]; env?: NodeJS.ProcessEnv };
  /** Working directory of the child. */
  cwd: string;
  /** @default 'inherit' */
  stdout?: OutputTarget;
  /** @default 'inherit' */
  stderr?: OutputTarget;
  /** Encoding of IPC messages ('advanced' carries Uint8Array, Map, bigint). @default 'advanced' */
  serialization?: 'json' | 'advanced';
  /** Timeout of a request that names none, in ms. @default 30_000 */
  requestTimeoutMs?: number;
  /** Called if the child exits before close() is called, after its pending requests were rejected with `error`. */
  onUnexpectedExit?: (error: ChildRpcError, code: number | null, signal: NodeJS.Signals | null) => void;
}

type Pending = { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout };

/** 'stopping': close() began and its farewell request may still be answered; an exit is expected from then on. */
type State = 'open' | 'stopping' | 'closed';

/** One child process with an IPC channel, spawned by the constructor and registered with trackChild. */
export class ChildRpc<Req extends RpcRequest> {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #requestTimeoutMs: number;
  readonly #exited: Promise<void>;
  #nextRid = 1;
  #state: State = 'open';
  #closed: Promise<void> | null = null;

  constructor(options: ChildRpcOptions) {
    if (options.argv.length === 0) throw new Error('options.argv must name the script to run');
    this.name = options.name;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    const launch = options.launch;
    this.#child = spawn(launch?.command ?? process.execPath, [...(launch?.prefix ?? []), ...options.argv], {
      cwd: options.cwd,
      env: launch?.env ?? process.env,
      stdio: ['ignore', options.stdout ?? 'inherit', options.stderr ?? 'inherit', 'ipc'],
      serialization: options.serialization ?? 'advanced',
    });
    const child = this.#child;
    trackChild(child);
    this.#exited = new Promise((r) => child.once('exit', () => r()));
    // Our own child speaks this protocol; a reply to no pending request (one that timed out) is dropped.
    child.on('message', (raw) => this.#onReply(raw as RpcReply));
    child.once('exit', (code, signal) => {
      // While stopping, the farewell may be pending: it fails now rather than at its timeout.
      const e = new ChildRpcError('ERR_CHILD_EXITED', `${this.name} process exited (code ${code}, signal ${signal})`);
      this.rejectPending(e);
      if (this.#state === 'open') options.onUnexpectedExit?.(e, code, signal);
    });
  }

  /** Process id, undefined if the spawn failed. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** True until close() is called or the child's channel closes. */
  get running(): boolean {
    return this.#state === 'open' && this.#child.connected;
  }

  /** Sends one request and resolves with its result. @throws ChildRpcError (as a rejection) */
  request<T>(req: WithoutRid<Req>, timeoutMs = this.#requestTimeoutMs): Promise<T> {
    if (this.#state === 'closed' || !this.#child.connected) {
      return Promise.reject(new ChildRpcError('ERR_CHILD_NOT_RUNNING', `${this.name} process is not running`));
    }
    const rid = this.#nextRid++;
    const cmd = (req as { cmd: string }).cmd;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(rid, new ChildRpcError('ERR_CHILD_TIMEOUT', `${this.name} did not answer '${cmd}' within ${timeoutMs} ms`)), timeoutMs);
      this.#pending.set(rid, { resolve: resolve as (v: unknown) => void, reject, timer });
      // The callback takes a send that fails because the channel just closed (without it, an 'error' event).
      this.#child.send({ ...req, rid }, (err) => {
        if (err) this.#settle(rid, new ChildRpcError('ERR_CHILD_NOT_RUNNING', `${this.name} process is not running: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Rejects every pending request with `e` (a group does this when another child exits). */
  rejectPending(e: Error): void {
    for (const rid of [...this.#pending.keys()]) this.#settle(rid, e);
  }

  /**
   * Rejects what is pending, closes the channel (the child stops and exits), waits for the exit and sends
   * SIGKILL if it has not come within `exitTimeoutMs`. With `farewell`, that request is sent first and
   * answered (or timed out, after exitTimeoutMs) before anything else. Safe to call twice: a second call
   * resolves with the first.
   */
  close(exitTimeoutMs: number, farewell?: WithoutRid<Req>): Promise<void> {
    this.#closed ??= this.#close(exitTimeoutMs, farewell);
    return this.#closed;
  }

  async #close(exitTimeoutMs: number, farewell: WithoutRid<Req> | undefined): Promise<void> {
    this.#state = 'stopping';
    if (farewell !== undefined) {
      // Whatever the farewell's outcome, the child is disconnected and, if need be, killed below.
      await this.request(farewell, exitTimeoutMs).catch(() => undefined);
    }
    this.#state = 'closed';
    this.rejectPending(new ChildRpcError('ERR_CHILD_CLOSED', `${this.name} closed`));
    const c = this.#child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    if (c.connected) c.disconnect();
    const timer = setTimeout(() => c.kill('SIGKILL'), exitTimeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }

  #onReply(reply: RpcReply): void {
    if (reply.error !== undefined) this.#settle(reply.rid, new ChildRpcError('ERR_CHILD_REQUEST_FAILED', reply.error));
    else this.#settle(reply.rid, null, reply.result);
  }

  /** Ends request `rid` with `error`, or with `result` when error is null; nothing if it is no longer pending. */
  #settle(rid: number, error: Error | null, result?: unknown): void {
    const p = this.#pending.get(rid);
    if (!p) return;
    this.#pending.delete(rid);
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(result);
  }
}

// ---------------------------------------------------------------------------------------------------------
// n children of one kind.

/**
 * n children serving one run together: when one exits unasked, every pending request of every child fails
 * with that exit (the run cannot go on, and waiting for the others' timeouts would only delay the report).
 */
export class ChildRpcGroup<Req extends RpcRequest> {
  readonly #children: ChildRpc<Req>[];

  /** Spawns `size` children, child `i` with `optionsOf(i)`. */
  constructor(size: number, optionsOf: (i: number) => Omit<ChildRpcOptions, 'onUnexpectedExit'>) {
    this.#children = Array.from({ length: size }, (_, i) => new ChildRpc<Req>({ ...optionsOf(i), onUnexpectedExit: (e) => this.#rejectAll(e) }));
  }

  get size(): number {
    return this.#children.length;
  }

  /** Sends one request to child `i` and resolves with its result. @throws ChildRpcError (as a rejection) */
  request<T>(i: number, req: WithoutRid<Req>, timeoutMs?: number): Promise<T> {
    const child = this.#children[i];
    if (!child) return Promise.reject(new ChildRpcError('ERR_CHILD_NOT_RUNNING', `no child process ${i} (there are ${this.size})`));
    return child.request<T>(req, timeoutMs);
  }

  /** Sends a request to every child (built per child by `make`) and resolves with every result, in order. */
  all<T>(make: (i: number) => WithoutRid<Req>, timeoutMs?: number): Promise<T[]> {
    return Promise.all(this.#children.map((c, i) => c.request<T>(make(i), timeoutMs)));
  }

  /** Closes every child at once (see ChildRpc.close). Safe to call twice. */
  async close(exitTimeoutMs: number, farewell?: WithoutRid<Req>): Promise<void> {
    await Promise.all(this.#children.map((c) => c.close(exitTimeoutMs, farewell)));
  }

  #rejectAll(e: ChildRpcError): void {
    for (const c of this.#children) c.rejectPending(e);
  }
}
