/** Logging: a tiny interface so the library stays silent by default and the CLI decides where lines go. */

/** Structured fields attached to a log line. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Where a node writes what it does. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
}

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'silent';

/** A logger that drops everything (the library default). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

function line(level: string, msg: string, fields?: LogFields): string {
  const extra = fields
    ? Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
        .join(' ')
    : '';
  return `${new Date().toISOString()} ${level.padEnd(5)} ${msg}${extra ? ' ' + extra : ''}\n`;
}

/** A logger writing one line per entry to standard error, at `level` and above. */
export function stderrLogger(level: LogLevel = 'info'): Logger {
  const rank = { debug: 0, info: 1, warn: 2, silent: 3 }[level];
  return {
    debug: (m, f) => rank <= 0 && process.stderr.write(line('debug', m, f)),
    info: (m, f) => rank <= 1 && process.stderr.write(line('info', m, f)),
    warn: (m, f) => rank <= 2 && process.stderr.write(line('warn', m, f)),
  };
}
