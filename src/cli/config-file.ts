/**
 * `--config FILE`: a JSON object whose keys are the long flag names (`"port": 7001`, `"max-peers": 16`,
 * `"peers": ["10.0.0.2:7001"]`, `"json": true`). It yields the same values the command line does, so one
 * validation covers both, and flags given on the command line override the file key by key.
 *
 * JSON and not TOML: Node reads JSON itself, while TOML would add a parser dependency for a file of a dozen
 * flat keys, where TOML's tables, dates and multi-line strings have nothing to carry.
 */
import { readFileSync, statSync } from 'node:fs';
import { StrongcastError } from '../errors.ts';

/** One flag as `util.parseArgs` declares it. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
}

/** Flag values as `util.parseArgs` returns them. */
export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Flags that only make sense on the command line. */
const commandLineOnly = new Set(['help', 'config']);

/** Bytes of the largest config file read: a dozen flags take a few hundred bytes. */
export const configFileBytesMax = 64 * 1024;

function bad(path: string, message: string): StrongcastError {
  return new StrongcastError('ERR_INVALID_OPTION', `config file ${path}: ${message}`);
}

/** A number or string for a string flag (ports and counts read naturally as JSON numbers), as a string. */
function stringValue(path: string, key: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw bad(path, `key '${key}' must be a string or a number, got ${JSON.stringify(v)}`);
}

function oneValue(path: string, key: string, spec: FlagSpec, v: unknown): string | boolean | string[] {
  if (spec.type === 'boolean') {
    if (typeof v !== 'boolean') throw bad(path, `key '${key}' must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  if (spec.multiple && Array.isArray(v)) return v.map((x) => stringValue(path, key, x));
  return spec.multiple ? [stringValue(path, key, v)] : stringValue(path, key, v);
}

/**
 * The flag values in a parsed config file.
 * @throws ERR_INVALID_OPTION naming the file and the first unknown key or bad value
 */
export function configValues(json: unknown, specs: Record<string, FlagSpec>, path: string): FlagValues {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(path, 'must hold one JSON object of flag names and values');
  const out: FlagValues = {};
  for (const [key, v] of Object.entries(json)) {
    const spec = Object.hasOwn(specs, key) && !commandLineOnly.has(key) ? specs[key] : undefined;
    if (!spec) throw bad(path, `unknown key '${key}' (keys are the long flag names, as in --help)`);
    out[key] = oneValue(path, key, spec, v);
  }
  return out;
}

/**
 * Reads and checks a config file.
 * @throws ERR_INVALID_OPTION when it cannot be read, is larger than configFileBytesMax, is not JSON, or holds an
 *   unknown key or a bad value
 */
export function readConfigFile(path: string, specs: Record<string, FlagSpec>): FlagValues {
  let text: string;
  try {
    if (statSync(path).size > configFileBytesMax) throw bad(path, `is larger than ${configFileBytesMax} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof StrongcastError) throw e;
    throw bad(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(path, `is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return configValues(json, specs, path);
}
