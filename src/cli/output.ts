/**
 * What the CLI prints on standard output: with --json, one JSON object per line with an `event` field;
 * otherwise a short human line. Event names and fields are a public interface: add, never rename.
 */

/** Fields of an event line; `event` is added by `Output.event`. */
export type EventFields = Record<string, unknown>;

/** Prints events for people or for scripts. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly write: (s: string) => void = (s) => void process.stdout.write(s),
  ) {}

  /** One event: a JSON line with --json, else `human` (skipped when null). */
  event(name: string, fields: EventFields, human: string | null): void {
    if (this.json) this.write(JSON.stringify({ event: name, ...fields }) + '\n');
    else if (human !== null) this.write(human + '\n');
  }

  /** A command-level error, as an `error` event with its stable code. */
  error(code: string, message: string): void {
    this.event('error', { code, message }, `error ${code}: ${message}`);
  }
}
