/**
 * Logging: a tiny interface so the library stays silent by default and the CLI decides where lines go.
 *
 * The CLI writes one line per entry, as text for a person or as one JSON object for a log collector. This is
 * our own forty lines rather than pino: a node logs a few lines a second at most (peers coming and going,
 * offences, failures), never per message, so pino's asynchronous writer and worker-thread transports would buy
 * no speed that matters here, while its dependencies would ship to every user of the library. The CLI passes
 * its own `write`: a bounded writer of standard error (cli/log-writer.ts), so that a reader of the logs that
 * stalls neither holds the node nor grows its memory, and every exit flushes it; a fatal error's line goes
 * past its bound and is flushed before `process.exit`. `stderrLogger` (the library's) writes to stderr as is.
 */

/** Structured fields attached to a log line. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Where a node writes what it does. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  /**
   * Something of ours failed (the verifier, the disk, the consensus tick); not a peer's bad input, which is a
   * warning. Optional so that loggers written before it existed still fit: {@link logError} falls back to warn.
   */
  error?(msg: string, fields?: LogFields): void;
}

/** Log levels in increasing severity; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Every log level, in increasing severity. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** How a line is written: `text` for people, `json` (one object per line) for log collectors. */
export type LogFormat = 'text' | 'json';

/** Every log format. */
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** A logger that drops everything (the library default). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Logs at error level, or at warn level through a logger that has no error method. */
export function logError(log: Logger, msg: string, fields?: LogFields): void {
  if (log.error) log.error(msg, fields);
  else log.warn(msg, fields);
}

/** Keys every JSON line has; a field of the same name is written as `field_NAME` so that none is lost. */
const reservedKeys = new Set(['time', 'level', 'message']);

/** One JSON line: `time` (ISO 8601, UTC), `level`, `message`, then the fields (undefined ones left out). */
export function jsonLine(time: Date, level: string, msg: string, fields?: LogFields): string {
  const entry: Record<string, unknown> = { time: time.toISOString(), level, message: msg };
  for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) entry[reservedKeys.has(k) ? `field_${k}` : k] = v;
  return JSON.stringify(entry) + '\n';
}

/** One text line: time, level, message, then `key=value` fields (a value with spaces quoted). */
export function textLine(time: Date, level: string, msg: string, fields?: LogFields): string {
  const extra = Object.entries(fields ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${time.toISOString()} ${level.padEnd(5)} ${msg}${extra ? ' ' + extra : ''}\n`;
}

/** Options of {@link lineLogger}. */
export interface LineLoggerOptions {
  /** Lowest level written. @default 'info' */
  level?: LogLevel;
  /** @default 'text' */
  format?: LogFormat;
  /** Where each line goes. @default standard error */
  write?: (line: string) => void;
  /** The time stamped on each line. @default the system clock */
  now?: () => Date;
}

/** A logger writing one line per entry, at `level` and above. */
export function lineLogger(options: LineLoggerOptions = {}): Logger {
  const rank = LOG_LEVELS.indexOf(options.level ?? 'info');
  const format = options.format === 'json' ? jsonLine : textLine;
  const write = options.write ?? ((s: string) => void process.stderr.write(s));
  const now = options.now ?? (() => new Date());
  const at = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) >= rank) write(format(now(), level, msg, fields));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger writing one line per entry to standard error, at `level` and above. */
export function stderrLogger(level: LogLevel = 'info', format: LogFormat = 'text'): Logger {
  return lineLogger({ level, format });
}
