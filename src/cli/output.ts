/**
 * What the CLI prints on standard output: with --json, one JSON object per line with an `event` field;
 * otherwise a short human line. Event names and fields are a public interface: add, never rename. The lines
 * go through a bounded writer (event-writer.ts), which reports the events it had to drop with the line of
 * `dropReportLine`.
 */
import type { OutputLoss } from './event-writer.ts';

/** Fields of an event line; `event` is added by `Output.event`. */
export type EventFields = Record<string, unknown>;

/** Prints events for people or for scripts. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly write: (s: string) => void = (s) => void process.stdout.write(s),
    /** Writes the line that ends the output, even past the writer's bound (EventWriter.writeLast). */
    private readonly writeLast: (s: string) => void = write,
  ) {}

  /** One event: a JSON line with --json, else `human` (skipped when null). */
  event(name: string, fields: EventFields, human: string | null): void {
    const line = this.#line(name, fields, human);
    if (line !== null) this.write(line);
  }

  /** The event that ends the output (a node's `stopped`): it reaches even a reader that made events drop. */
  last(name: string, fields: EventFields, human: string | null): void {
    const line = this.#line(name, fields, human);
    if (line !== null) this.writeLast(line);
  }

  #line(name: string, fields: EventFields, human: string | null): string | null {
    // `ts`: when the node wrote the event, by its own clock (ms since the epoch), so a reader that reads late
    // (a script on a loaded machine) can still tell when things happened.
    if (this.json) return JSON.stringify({ event: name, ts: Date.now(), ...fields }) + '\n';
    return human === null ? null : human + '\n';
  }

  /** A command-level error, as an `error` event with its stable code. */
  error(code: string, message: string): void {
    this.event('error', { code, message }, `error ${code}: ${message}`);
  }
}

/**
 * The line that reports a gap in the output: an `output-dropped` event with --json (`count` events, their
 * `bytes`, over `sinceMs` ms), else a line for people.
 */
export function dropReportLine(json: boolean): (loss: OutputLoss) => string {
  if (json) return (l) => JSON.stringify({ event: 'output-dropped', ts: Date.now(), count: l.count, bytes: l.bytes, sinceMs: l.sinceMs }) + '\n';
  return (l) => `output dropped: ${l.count} events (${l.bytes} bytes) in ${l.sinceMs} ms, standard output was not read fast enough\n`;
}
