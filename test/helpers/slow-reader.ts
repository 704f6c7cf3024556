/** Helpers of the tests of a slow reader of a node's standard output (cli-slow-reader, cli-slow-terminal). */
import { createServer, type Server } from 'node:net';
import type { CliProcess } from './proc.ts';

/** A server that tells when the node dials it (and closes the connection at once). */
export async function dialMarker(): Promise<{ port: number; dialed: Promise<void>; close: () => void }> {
  let onDial!: () => void;
  const dialed = new Promise<void>((resolve) => (onDial = resolve));
  const server: Server = createServer((socket) => {
    onDial();
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as { port: number }).port, dialed, close: () => server.close() };
}

/** Writes console lines in batches, pausing between them, so the node's console does not hold its loop. */
export async function feed(p: CliProcess, lines: string[], batch = 1000, pauseMs = 20): Promise<void> {
  for (let i = 0; i < lines.length; i += batch) {
    const ok = p.child.stdin!.write(lines.slice(i, i + batch).join('\n') + '\n');
    if (!ok) await new Promise((resolve) => p.child.stdin!.once('drain', resolve));
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/** Waits for `p` to exit, failing after `ms`. */
export async function exitWithin(p: CliProcess, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${ms} ms; stderr:\n${p.stderr.slice(-1500)}`)), ms)));
  try {
    return await Promise.race([p.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Within `ms`, or an error naming what did not come. */
export async function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks /health every 100 ms until `until` settles; returns the slowest answer in ms (a refusal or a timeout fails). */
export async function healthWhile(url: string, until: Promise<unknown>, answerMsMax: number): Promise<number> {
  let done = false;
  void until.then(
    () => (done = true),
    () => (done = true),
  );
  let slowest = 0;
  while (!done) {
    const started = Date.now();
    try {
      await (await fetch(`${url}/health`, { signal: AbortSignal.timeout(answerMsMax) })).text();
    } catch (e) {
      throw new Error(`/health did not answer within ${answerMsMax} ms: the node is held (${(e as Error).message})`);
    }
    slowest = Math.max(slowest, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return slowest;
}

/** Waits until `p` has written nothing for `quietMs` (what it held has all come), failing after `timeoutMs`. */
export async function outputQuiet(p: CliProcess, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let seen = -1; seen !== p.stdout.length; ) {
    if (Date.now() > deadline) throw new Error(`output still coming after ${timeoutMs} ms`);
    seen = p.stdout.length;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
}
