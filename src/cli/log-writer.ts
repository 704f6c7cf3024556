/**
 * The bounded writer of the CLI's standard error, where the logs go. Logs had the slow-reader problems that
 * standard output had before its writer (event-writer.ts): a pipe that nobody reads made Node hold every log
 * line in a backlog without bound, and a terminal that stopped reading (Node writes to a terminal blocking)
 * held the whole node. Standard error now goes through an EventWriter of its own, on a sink chosen the way
 * standard output's is (stdout-sink.ts), with its own bound, `logBytesMax`.
 *
 * A gap in the logs is reported by one log line in the log's own format (`--log-format`): a `warn` line
 * `log lines dropped` with `count`, `bytes` and `sinceMs`, so a log collector parses it as it parses any other.
 * Exits flush it as they flush standard output; a fatal error's line goes with `writeLast`, past the bound,
 * so the line that says why the process ended is never the one dropped.
 */
import type { Clock } from '../io/clock.ts';
import { jsonLine, textLine, type LogFormat } from '../log.ts';
import { StrongcastError } from '../errors.ts';
import { optionsObject, positiveInt } from '../options.ts';
import { EventWriter, outputBytesMaxFloor, type OutputLoss, type OutputSink } from './event-writer.ts';

/**
 * Defaults of the log writer. A node logs a few lines a second (peers coming and going, offences, failures);
 * 1 MiB holds about 5,000 lines of 200 bytes: minutes of a busy node's logs, or a burst of offences from
 * many peers, for a reader that stalls for a while.
 */
export const logWriterDefaults = { logBytesMax: 1024 * 1024 };

/** The message of the line that reports a gap in the logs (a public interface, as the events are). */
export const logDroppedMessage = 'log lines dropped';

/** The line that reports a gap in the logs, in the log's format: level `warn`, `count`, `bytes`, `sinceMs`. */
export function logDropReport(format: LogFormat, now: () => Date = () => new Date()): (loss: OutputLoss) => string {
  const line = format === 'json' ? jsonLine : textLine;
  return (l) => line(now(), 'warn', logDroppedMessage, { count: l.count, bytes: l.bytes, sinceMs: l.sinceMs });
}

/** Options of {@link logWriter}. */
export interface LogWriterOptions {
  /** Where the log lines go (standard error's sink, stderrSink). */
  sink: OutputSink;
  /** The format of the gap's report line, the log's own. @default 'text' */
  format?: LogFormat;
  /** Most bytes (UTF-8) of log lines held for the reader of standard error; at least 1024. @default 1048576 (1 MiB) */
  logBytesMax?: number;
  /** Longest an exit waits for the reader of the logs, in ms. @default 2000 (eventWriterDefaults.flushMsMax) */
  flushMsMax?: number;
  /** Time for the gaps and the flush timeout. @default the system clock */
  clock?: Clock;
  /** The time stamped on a gap's report line. @default the system clock */
  now?: () => Date;
}

/** A bounded writer for log lines. @throws ERR_INVALID_OPTION naming the option */
export function logWriter(options: LogWriterOptions): EventWriter {
  optionsObject(options);
  const logBytesMax = positiveInt(options.logBytesMax ?? logWriterDefaults.logBytesMax, 'logBytesMax');
  if (logBytesMax < outputBytesMaxFloor) throw new StrongcastError('ERR_INVALID_OPTION', `options.logBytesMax must be at least ${outputBytesMaxFloor}`);
  return new EventWriter({
    sink: options.sink,
    dropReport: logDropReport(options.format ?? 'text', options.now),
    outputBytesMax: logBytesMax,
    ...(options.flushMsMax === undefined ? {} : { flushMsMax: options.flushMsMax }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
