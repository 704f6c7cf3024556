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
