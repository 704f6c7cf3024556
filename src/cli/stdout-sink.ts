/**
 * Standard output and standard error as sinks that never block the event loop (event-writer.ts bounds what
 * they hold; log-writer.ts for standard error). Everything below holds for both.
 *
 * What `process.stdout` is on Node 20 decides how a write behaves (Node's "A note on process I/O"; libuv):
 *
 * - a pipe or a socket: a net.Socket over a libuv stream whose descriptor libuv made non-blocking when it
 *   opened it. A write the kernel cannot take at once waits in the stream and the call returns: a slow
 *   reader never blocks the loop, but without a bound the waiting text grows for as long as the reader lags
 *   (measured: 40 MB held after 30,000 `stats` answers to a reader that had stopped), and `process.exit`
 *   throws it away. Used as it is; the writer bounds it, and exits flush it.
 * - a terminal: a tty.WriteStream that Node makes blocking on purpose (`setBlocking(true)`, so that output
 *   is not interleaved or lost at exit, nodejs/node#1771). A terminal that stops reading (Ctrl-S, a stalled
 *   remote session, a pseudo-terminal nobody reads) then blocks every write and the whole node with it. We
 *   turn the handle back to non-blocking: libuv reopened the terminal for this process (uv_tty_init), so the
 *   shell and other programs on the same terminal keep their own blocking mode. (Where libuv could not
 *   reopen it, it falls back to blocking writes of its own, and such a terminal can still hold the node.)
 * - a file (or a device such as /dev/null): a stream that writes with fs.writeSync. A file is not a pipe, and
 *   a non-blocking mode means nothing to it, but a slow disk or a network file system can still hold a
 *   synchronous write. FdSink writes with fs.write instead, in libuv's thread pool, one write at a time.
 *
 * fs.write on descriptor 1 for every kind (the other option) was not taken: on a pipe whose descriptor is
 * non-blocking it fails with EAGAIN and would need polling, and on a blocking one it parks a pool thread
 * (of four, shared with the data directory's fdatasync) for as long as the reader does not read.
 */
import { write as fsWrite } from 'node:fs';
import { Socket } from 'node:net';
import { Buffer } from 'node:buffer';
import type { OutputSink } from './event-writer.ts';

/**
 * Calls `closed` once when standard output's reader has gone away (EPIPE: `strongcast --json | head -1`), and
 * keeps every error of standard output from being thrown as an unhandled 'error' event; the writer already
 * stops writing after a failed write (event-writer.ts).
 */
export function onOutputClosed(closed: () => void, stream: NodeJS.WritableStream = process.stdout): void {
  let told = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' || told) return;
    told = true;
    closed();
  });
}

/**
 * Keeps every error of `stream` (standard error's reader gone: EPIPE) from being thrown as an unhandled
 * 'error' event. The writer already drops what comes after a failed write (event-writer.ts); a node whose
 * logs nobody reads any more runs on.
 */
export function ignoreStreamErrors(stream: NodeJS.WritableStream = process.stderr): void {
  stream.on('error', () => undefined);
}

/**
 * A line as the bytes a stream is handed: its UTF-8, exactly. A stream that queued strings (its reader slow)
 * writes its queue in one writev, for which Node allocates room for the strings' worst case, 3 bytes per
 * character, all at once: a validator that printed eight 256 KiB binary broadcasts (1.5 MB lines of JSON
 * escapes) to a harness reading late took 27 MB more memory at once when the harness read again, a peak on
 * top of the 12 MB queued. Handed bytes, the stream writes them as they are.
 */
function lineBytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** A stream as a sink: `write` queues in the stream (which writes its queue in one writev) and never blocks. */
export function streamSink(stream: NodeJS.WritableStream): OutputSink {
  return { write: (text, done) => void stream.write(lineBytes(text), (error?: Error | null) => done(error ?? null)) };
}

/** How to write to a descriptor (fs.write; a test passes its own). */
export type FdWrite = (fd: number, buffer: Buffer, offset: number, length: number, position: null, done: (error: Error | null, written: number) => void) => void;

/** A queued text and who waits for it. */
interface Pending {
  text: string;
  done: (error?: Error | null) => void;
}

/**
 * A descriptor written asynchronously: one fs.write at a time, with everything queued meanwhile joined into
 * the next (one system call for many lines); a short write is continued where it stopped.
 */
export class FdSink implements OutputSink {
  #queue: Pending[] = [];
  #writing = false;

  constructor(
    private readonly fd: number,
    private readonly writeFd: FdWrite = fsWrite as unknown as FdWrite,
  ) {}

  write(text: string, done: (error?: Error | null) => void): void {
    this.#queue.push({ text, done });
    if (!this.#writing) this.#next();
  }

  #next(): void {
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    this.#writing = true;
    const buffer = Buffer.from(batch.map((p) => p.text).join(''));
    this.#writeFrom(buffer, 0, (error) => {
      this.#writing = false;
      for (const p of batch) p.done(error);
      this.#next();
    });
  }

  #writeFrom(buffer: Buffer, offset: number, done: (error: Error | null) => void): void {
    // position null: at the descriptor's own offset, as a shell's `>` or `>>` set it up.
    this.writeFd(this.fd, buffer, offset, buffer.length - offset, null, (error, written) => {
      if (error) return done(error);
      if (offset + written < buffer.length) return this.#writeFrom(buffer, offset + written, done);
      done(null);
    });
  }
}

/** The part of a terminal stream's libuv handle used here (Node's internal `_handle`). */
interface BlockingHandle {
  setBlocking?(blocking: boolean): number;
}

/**
 * A pipe, socket or terminal as a sink that turns its descriptor back to non-blocking before each write.
 *
 * For standard error this is needed: a child process started with standard error inherited shares its open
 * file description, and libuv makes a child's standard descriptors blocking before it runs it, for the
 * parent too (uv__process_child_init). tsx, the way this repository runs the CLI, starts esbuild so in every
 * worker thread, which turned standard error blocking about half a second after a node listened: from then
 * on a reader of the logs that stopped held the whole node. Turning it back costs two fcntl calls a line,
 * which logs (a few lines a second) can pay. What stays open: text that libuv queued before such a child
 * started is written from its queue blocking, once the reader reads again, and may hold the node until the
 * reader has taken it (at most the writer's bound); the next line turns the descriptor back.
 */
export function reassertingStreamSink(stream: Socket): OutputSink {
  const handle = (stream as unknown as { _handle?: BlockingHandle })._handle;
  return {
    write: (text, done) => {
      handle?.setBlocking?.(false);
      void stream.write(lineBytes(text), (error?: Error | null) => done(error ?? null));
    },
  };
}

/**
 * The sink for one of the process's standard streams, chosen by what it is (see the top of this file); `fd` is
 * its descriptor (1 for standard output, 2 for standard error), written with fs.write when it is a file.
 * `reassert`: turn a pipe or terminal back to non-blocking before every write (reassertingStreamSink).
 */
export function standardStreamSink(stream: NodeJS.WriteStream, fd: number, reassert = false): OutputSink {
  // Pipes, sockets and terminals (tty.WriteStream is a net.Socket).
  if (stream instanceof Socket) {
    if (reassert) return reassertingStreamSink(stream);
    if (stream.isTTY) (stream as unknown as { _handle?: BlockingHandle })._handle?.setBlocking?.(false);
    return streamSink(stream);
  }
  return new FdSink(fd);
}

/** The sink for the process's standard output. */
export function stdoutSink(stdout: NodeJS.WriteStream = process.stdout): OutputSink {
  return standardStreamSink(stdout, 1);
}

/**
 * The sink for the process's standard error (the logs): the same choice as standard output's, its descriptor
 * turned back to non-blocking before every line (child processes inheriting it make it blocking).
 */
export function stderrSink(stderr: NodeJS.WriteStream = process.stderr): OutputSink {
  return standardStreamSink(stderr, 2, true);
}
