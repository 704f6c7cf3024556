/**
 * The child's side of child-rpc.ts: every request from the parent is handled and answered once, with the
 * result or the error's message, under the request's `rid`.
 */
import type { RpcReply, RpcRequest } from './child-rpc.ts';

/**
 * Answers the parent's requests with `handle`; `answered` runs after a successful reply has been sent (a
 * `stop` that must reach the parent before the channel closes).
 * @throws Error when the process has no IPC channel (it was not started by a benchmark).
 */
export function serveRequests<Req extends RpcRequest>(handle: (req: Req) => Promise<unknown>, answered?: (req: Req) => void): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error(`${process.argv[1] ?? 'this script'} runs as a benchmark's child process (it needs an IPC channel)`);
  process.on('message', (raw) => {
    const req = raw as Req;
    handle(req).then(
      (result) => {
        send({ rid: req.rid, result } satisfies RpcReply);
        answered?.(req);
      },
      (e: unknown) => send({ rid: req.rid, error: e instanceof Error ? e.message : String(e) } satisfies RpcReply),
    );
  });
}

/** How a benchmark child keeps from outliving its parent. */
export interface ChildLimits {
  /** How often the child checks that its parent is still there, in ms. */
  parentCheckMs: number;
  /** The longest the child runs at all, in ms (it exits with code 3 then). */
  lifetimeMaxMs: number;
}

/**
 * A benchmark's child process: answers the parent's requests with `handle`, leaves when the parent sends
 * `stop` (after answering it), disconnects or goes away, and never runs longer than lifetimeMaxMs.
 */
export function serveChild<Req extends RpcRequest & { cmd: string }>(handle: (req: Req) => Promise<unknown>, limits: ChildLimits): void {
  const lifetime = setTimeout(() => process.exit(3), limits.lifetimeMaxMs);
  lifetime.unref();
  process.on('disconnect', () => process.exit(0));
  // Belt and braces: a parent killed outright does not always surface as 'disconnect' in a busy child.
  const parentPid = process.ppid;
  const watchdog = setInterval(() => {
    if (!process.connected || process.ppid !== parentPid) process.exit(0);
  }, limits.parentCheckMs);
  watchdog.unref();
  serveRequests<Req>(handle, (req) => {
    if (req.cmd === 'stop') process.disconnect();
  });
}
