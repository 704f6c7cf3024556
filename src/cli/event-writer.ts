/**
 * A bounded writer for the CLI's standard output. A script that reads a node's events slowly (or stops
 * reading) must never hold the node up, nor make it keep an ever-growing backlog: the writer holds at most
 * `outputBytesMax` bytes that the reader has not taken yet, and drops the events that do not fit.
 *
 * Dropping comes in gaps. Once an event does not fit, every event is dropped until the reader has taken half
 * of what is held; then one line reports the gap (how many events, how many bytes, for how long) and events
 * flow again. The report sits exactly where the events are missing, so a reader knows what it saw before the
 * gap and what after; and the half-way resume keeps a reader that is just slower than the node from seeing
 * a report between every two events.
 *
 * What the writer has accepted is not lost on exit: `flush()` waits until the sink has taken all of it, for
 * at most `flushMsMax`, so a reader that never reads again cannot hold the exit forever. The last line of the
 * output (a node's `stopped`) is written with `writeLast`, past the bound if need be, so that however slow
 * the reader, the output it gets says how it ended.
 *
 * It never writes itself: a sink does (stdout-sink.ts), and must not block. Time comes from a Clock, so tests
 * drive the gaps' durations and the flush timeout by hand.
 */
import { Buffer } from 'node:buffer';
import type { Clock, Timer } from '../io/clock.ts';
import { systemClock } from '../io/system-clock.ts';
import { optionsObject, positiveInt } from '../options.ts';
import { StrongcastError } from '../errors.ts';

/** Where the writer's text goes (standard output in the CLI). */
export interface OutputSink {
  /**
   * Starts writing `text` and returns at once, never waiting for the reader. Calls `done` once the text has
   * left the process (or with the error that stopped it); texts are written in the order given.
   */
  write(text: string, done: (error?: Error | null) => void): void;
}

/** One gap in the output: the events dropped since the last event written. */
export interface OutputLoss {
  /** Events dropped. */
  count: number;
  /** Their bytes (UTF-8). */
  bytes: number;
  /** ms from the first dropped event to the report. */
  sinceMs: number;
}

/** Options of an EventWriter. */
export interface EventWriterOptions {
  /** Where the text goes. */
  sink: OutputSink;
  /** The line that reports a gap, ending in a newline (an `output-dropped` event, or a line for people). */
  dropReport: (loss: OutputLoss) => string;
  /**
   * Most bytes (UTF-8) of events held for the reader: handed to the sink and not yet taken by it. An event
   * that would pass this is dropped, not queued. At least 1024, so the report line always fits once the
   * writer resumes at half of it. @default 4194304 (4 MiB)
   */
  outputBytesMax?: number;
  /** Longest `flush()` waits for the reader, in ms (an exit waits this long at most). @default 2000 */
  flushMsMax?: number;
  /** Time for the gaps' `sinceMs` and the flush timeout. @default the system clock */
  clock?: Clock;
}

/**
 * Defaults of EventWriterOptions. 4 MiB holds three to five seconds of a node delivering 4,000 broadcasts a
 * second (a `message` line with a short text is 200-300 bytes), and two of the largest `message` lines (256
 * KiB of data, at most 1.5 MiB as JSON text when every byte is escaped); 2 s of flushing is well inside what
 * a service manager gives a stop.
 */
export const eventWriterDefaults = { outputBytesMax: 4 * 1024 * 1024, flushMsMax: 2000 };

/** The smallest outputBytesMax: a gap's report (under 100 bytes) must fit in half of it. */
export const outputBytesMaxFloor = 1024;

/** A gap being dropped. */
interface Gap {
  count: number;
  bytes: number;
  startMs: number;
}

/** Writes events to a sink, holding at most outputBytesMax of them, dropping and reporting the rest. */
export class EventWriter {
  readonly outputBytesMax: number;
  readonly flushMsMax: number;
  /** Events and bytes dropped since the start, over every gap. */
  readonly counters = { droppedEvents: 0, droppedBytes: 0 };
  readonly #sink: OutputSink;
  readonly #dropReport: (loss: OutputLoss) => string;
  readonly #clock: Clock;
  #held = 0;
  #gap: Gap | null = null;
  #failed = false;
  #drainWaiters: (() => void)[] = [];

  constructor(options: EventWriterOptions) {
    optionsObject(options);
    this.outputBytesMax = positiveInt(options.outputBytesMax ?? eventWriterDefaults.outputBytesMax, 'outputBytesMax');
    if (this.outputBytesMax < outputBytesMaxFloor) {
      throw new StrongcastError('ERR_INVALID_OPTION', `options.outputBytesMax must be at least ${outputBytesMaxFloor}`);
    }
    this.flushMsMax = positiveInt(options.flushMsMax ?? eventWriterDefaults.flushMsMax, 'flushMsMax');
    if (typeof options.sink?.write !== 'function') throw new StrongcastError('ERR_INVALID_OPTION', 'options.sink must have a write function');
    if (typeof options.dropReport !== 'function') throw new StrongcastError('ERR_INVALID_OPTION', 'options.dropReport must be a function');
    this.#sink = options.sink;
    this.#dropReport = options.dropReport;
    this.#clock = options.clock ?? systemClock();
  }

  /** Bytes handed to the sink that it has not taken yet. */
  get heldBytes(): number {
    return this.#held;
  }

  /** Whether events are being dropped now (a gap not yet reported). */
  get dropping(): boolean {
    return this.#gap !== null;
  }

  /** Writes `text` (one or more whole lines) if it fits; returns false when it was dropped. */
  write(text: string): boolean {
    const bytes = Buffer.byteLength(text);
    if (this.#gap === null && !this.#failed && this.#held + bytes <= this.outputBytesMax) {
      this.#send(text, bytes);
      return true;
    }
    this.#drop(bytes);
    return false;
  }

  /**
   * Writes the last line of the output whatever is held: an open gap is reported first, then `text`. Each
   * call may take the held bytes past outputBytesMax by its text: it is for the one line that ends the
   * output, which a reader must get even from a node that was dropping events for it.
   */
  writeLast(text: string): void {
    if (this.#failed) return this.#drop(Buffer.byteLength(text));
    if (this.#gap) this.#report(this.#gap);
    this.#send(text, Buffer.byteLength(text));
  }

  /**
   * Waits until the sink has taken everything accepted, for at most `timeoutMs`; a gap still open is reported
   * first (this one line may go past outputBytesMax: the reader must learn of the gap before the end).
   * Resolves true when everything was written, false after the timeout or a failed write.
   */
  flush(timeoutMs = this.flushMsMax): Promise<boolean> {
    if (this.#gap && !this.#failed) this.#report(this.#gap);
    if (this.#held === 0) return Promise.resolve(!this.#failed);
    return new Promise((resolve) => {
      let timer: Timer | null = null;
      const drained = () => {
        timer?.cancel();
        resolve(!this.#failed);
      };
      this.#drainWaiters.push(drained);
      // Not a background timer: an exit waiting on it must not end early because nothing else is pending.
      timer = this.#clock.setTimer(() => {
        this.#drainWaiters = this.#drainWaiters.filter((w) => w !== drained);
        resolve(false);
      }, timeoutMs);
    });
  }

  #send(text: string, bytes: number): void {
    this.#held += bytes;
    this.#sink.write(text, (error) => this.#taken(bytes, error ?? null));
  }

  #taken(bytes: number, error: Error | null): void {
    this.#held -= bytes;
    // A sink that failed (its reader gone) takes nothing more: what comes later is dropped, and not reported.
    if (error) this.#failed = true;
    this.#resumeWhenCaughtUp();
    if (this.#held === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }

  #drop(bytes: number): void {
    this.counters.droppedEvents++;
    this.counters.droppedBytes += bytes;
    const gap = (this.#gap ??= { count: 0, bytes: 0, startMs: this.#clock.now() });
    gap.count++;
    gap.bytes += bytes;
    // An event larger than the room left while little is held: the reader has caught up already.
    this.#resumeWhenCaughtUp();
  }

  /** Ends the gap with its report once the reader has taken all but half the bound. */
  #resumeWhenCaughtUp(): void {
    if (this.#gap && !this.#failed && this.#held <= this.outputBytesMax / 2) this.#report(this.#gap);
  }

  #report(gap: Gap): void {
    this.#gap = null;
    const line = this.#dropReport({ count: gap.count, bytes: gap.bytes, sinceMs: Math.max(0, Math.round(this.#clock.now() - gap.startMs)) });
    this.#send(line, Buffer.byteLength(line));
  }
}
