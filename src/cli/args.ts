/**
 * Command-line flags: their names, help text and validation. Flag names are a public interface (scripts use
 * them): never rename one; add new ones.
 */
import { parseArgs } from 'node:util';
import { StrongcastError } from '../errors.ts';
import { parseHostPort, parsePeerAddress } from '../core/node-options.ts';
import { ED25519_BACKENDS, type Ed25519Backend } from '../crypto/ed25519.ts';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log.ts';
import { readConfigFile, type FlagSpec, type FlagValues } from './config-file.ts';
import { outputBytesMaxFloor } from './event-writer.ts';

export { initHelp, runHelp, testnetHelp } from './help.ts';

/** Where `--metrics` serves: a bare port binds to this host, so metrics stay on the machine unless asked. */
export const METRICS_DEFAULT_HOST = '127.0.0.1';

/** Flags of `strongcast` (run a node). */
export interface RunFlags {
  port?: number;
  host?: string;
  advertise?: string;
  peers: string[];
  json: boolean;
  network?: string;
  key?: string;
  genesis?: string;
  data?: string;
  maxPeers?: number;
  targetPeers?: number;
  outboundSlotsMin?: number;
  /** Per-IP and per-group limits and IP bans for loopback peers too (attack tests on one machine). */
  ipLimitsOnLoopback: boolean;
  frameBytesMax?: number;
  threads?: number;
  backend?: Ed25519Backend;
  gossipMode?: 'tree' | 'flood';
  clockSkewMsMax?: number;
  stallMsMax?: number;
  logLevel: LogLevel;
  /** Whether --log-level was given (else the CLI picks: see cli/run.ts). */
  logLevelGiven: boolean;
  /** Text or JSON lines on stderr; undefined: text at a terminal, JSON otherwise. */
  logFormat?: LogFormat;
  /** Where to serve /metrics and /health; undefined: no server. */
  metrics?: { host: string; port: number };
  /** Most bytes of events held for a slow reader of stdout (event-writer.ts); undefined: its default. */
  outputBytesMax?: number;
  /** Most bytes of log lines held for a slow reader of stderr (log-writer.ts); undefined: its default. */
  logBytesMax?: number;
}

/** Flags of `strongcast init`. */
export interface InitFlags {
  nodes: number;
  out: string;
  faults?: number;
  roundMs?: number;
  basePort?: number;
  host?: string;
  network?: string;
  startMs?: number;
  /** The skew bound σ the round length must allow for (the timing rule). */
  clockSkewMsMax?: number;
  /** The delivery bound D the round length must allow for (the timing rule). */
  deliveryMsMax?: number;
}

/** Flags of `strongcast testnet`. */
export interface TestnetFlags {
  nodes: number;
  /** Whether --nodes was given (a reused directory must then match it). */
  nodesGiven: boolean;
  faults?: number;
  roundMs?: number;
  dir: string;
  basePort?: number;
  json: boolean;
}

/** What the command line asks for. */
export type Command =
  | { kind: 'help'; topic: 'run' | 'init' | 'testnet' }
  | { kind: 'interactive'; flags: RunFlags }
  | { kind: 'run'; flags: RunFlags }
  | { kind: 'init'; flags: InitFlags }
  | { kind: 'testnet'; flags: TestnetFlags };

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new StrongcastError('ERR_INVALID_OPTION', `--${name} must be an integer in ${min}..${max}, got '${v}'`);
  }
  return n;
}

/**
 * Joins `--flag -1` into `--flag=-1` for flags that take a value, so a negative number reaches the value's
 * own check ("must be an integer in 1..10000, got '-1'") instead of parseArgs's guess that the value is missing.
 */
function joinNegativeValues(argv: string[], specs: Record<string, FlagSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const spec = a.startsWith('--') ? specs[a.slice(2)] : undefined;
    if (spec?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** A flag given twice is an error (a script that says --port twice means one of them by mistake); list flags may repeat. */
function rejectRepeats(tokens: { kind: string; name?: string; rawName?: string }[], specs: Record<string, FlagSpec>): void {
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name === undefined || specs[t.name]?.multiple) continue;
    if (seen.has(t.name)) throw new StrongcastError('ERR_INVALID_OPTION', `${t.rawName ?? `--${t.name}`} is given more than once`);
    seen.add(t.name);
  }
}

function parse(argv: string[], specs: Record<string, FlagSpec>): FlagValues {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, specs), options: specs, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    // parseArgs's own messages are clear ("Unknown option '--prot'"); keep them, typed.
    throw new StrongcastError('ERR_INVALID_OPTION', (e as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  rejectRepeats(parsed.tokens, specs);
  return parsed.values;
}

/** Flags of the run command; a config file's keys are these names. */
export const runFlagSpecs: Record<string, FlagSpec> = {
  port: { type: 'string' },
  host: { type: 'string' },
  advertise: { type: 'string' },
  peers: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  network: { type: 'string' },
  key: { type: 'string' },
  genesis: { type: 'string' },
  data: { type: 'string' },
  'max-peers': { type: 'string' },
  'target-peers': { type: 'string' },
  'outbound-slots-min': { type: 'string' },
  'ip-limits-on-loopback': { type: 'boolean' },
  'frame-bytes-max': { type: 'string' },
  threads: { type: 'string' },
  backend: { type: 'string' },
  'gossip-mode': { type: 'string' },
  'clock-skew-ms-max': { type: 'string' },
  'stall-ms-max': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  metrics: { type: 'string' },
  'output-bytes-max': { type: 'string' },
  'log-bytes-max': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** One of `allowed`, or undefined when not given. @throws ERR_INVALID_OPTION naming the flag */
function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined || allowed.includes(v as T)) return v as T | undefined;
  throw new StrongcastError('ERR_INVALID_OPTION', `--${name} must be one of ${allowed.join(', ')}, got '${v}'`);
}

/** `--metrics PORT` (on METRICS_DEFAULT_HOST) or `--metrics HOST:PORT`; port 0 takes any free port. */
export function parseMetricsAddress(v: string): { host: string; port: number } {
  if (/^\d+$/.test(v)) return { host: METRICS_DEFAULT_HOST, port: int('metrics', v, 0, 65535)! };
  const m = /^(\[[^\]]+\]|[^:\s]+):0$/.exec(v.trim());
  if (m) return { host: m[1]!.replace(/^\[|\]$/g, ''), port: 0 };
  return parseHostPort(v, '--metrics');
}

function parseRun(argv: string[]): RunFlags {
  const fromArgs = parse(argv, runFlagSpecs);
  const configPath = fromArgs['config'] as string | undefined;
  // Flags override the file key by key (a list flag such as --peers replaces the file's list).
  const v: FlagValues = { ...(configPath ? readConfigFile(configPath, runFlagSpecs) : {}), ...fromArgs };
  const s = (k: string) => v[k] as string | undefined;
  const peers = ((v['peers'] as string[] | undefined) ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  for (const p of peers) parsePeerAddress(p, '--peers entry');
  const metrics = s('metrics');
  return {
    port: int('port', s('port'), 0, 65535),
    host: s('host'),
    advertise: s('advertise'),
    peers,
    json: v['json'] === true,
    network: s('network'),
    key: s('key'),
    genesis: s('genesis'),
    data: s('data'),
    maxPeers: int('max-peers', s('max-peers'), 1, 10_000),
    targetPeers: int('target-peers', s('target-peers'), 1, 10_000),
    outboundSlotsMin: int('outbound-slots-min', s('outbound-slots-min'), 0, 10_000),
    ipLimitsOnLoopback: v['ip-limits-on-loopback'] === true,
    frameBytesMax: int('frame-bytes-max', s('frame-bytes-max'), 1024, 64 * 1024 * 1024),
    threads: int('threads', s('threads'), 1, 256),
    backend: oneOf('backend', s('backend'), ED25519_BACKENDS),
    gossipMode: oneOf('gossip-mode', s('gossip-mode'), ['tree', 'flood'] as const),
    clockSkewMsMax: int('clock-skew-ms-max', s('clock-skew-ms-max'), 0, 3_600_000),
    stallMsMax: int('stall-ms-max', s('stall-ms-max'), 1, 3_600_000),
    logLevel: oneOf('log-level', s('log-level'), LOG_LEVELS) ?? 'info',
    logLevelGiven: s('log-level') !== undefined,
    logFormat: oneOf('log-format', s('log-format'), LOG_FORMATS),
    metrics: metrics === undefined ? undefined : parseMetricsAddress(metrics),
    outputBytesMax: int('output-bytes-max', s('output-bytes-max'), outputBytesMaxFloor, 1024 * 1024 * 1024),
    logBytesMax: int('log-bytes-max', s('log-bytes-max'), outputBytesMaxFloor, 1024 * 1024 * 1024),
  };
}

function parseInit(argv: string[]): InitFlags {
  const v = parse(argv, {
    nodes: { type: 'string' },
    out: { type: 'string' },
    faults: { type: 'string' },
    'round-ms': { type: 'string' },
    'base-port': { type: 'string' },
    host: { type: 'string' },
    network: { type: 'string' },
    'start-ms': { type: 'string' },
    'clock-skew-ms-max': { type: 'string' },
    'delay-ms-max': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const s = (k: string) => v[k] as string | undefined;
  const nodes = int('nodes', s('nodes'), 1, 1024);
  if (nodes === undefined) throw new StrongcastError('ERR_INVALID_OPTION', 'init needs --nodes N');
  const out = s('out');
  if (!out) throw new StrongcastError('ERR_INVALID_OPTION', 'init needs --out DIR');
  const faults = int('faults', s('faults'), 0, nodes - 1);
  return {
    nodes,
    out,
    faults,
    roundMs: int('round-ms', s('round-ms'), 1, 3_600_000),
    basePort: int('base-port', s('base-port'), 1, 65535 - nodes + 1),
    host: s('host'),
    network: s('network'),
    startMs: int('start-ms', s('start-ms'), 0, Number.MAX_SAFE_INTEGER),
    clockSkewMsMax: int('clock-skew-ms-max', s('clock-skew-ms-max'), 0, 3_600_000),
    deliveryMsMax: int('delay-ms-max', s('delay-ms-max'), 0, 3_600_000),
  };
}

function parseTestnet(argv: string[]): TestnetFlags {
  const v = parse(argv, {
    nodes: { type: 'string' },
    faults: { type: 'string' },
    'round-ms': { type: 'string' },
    dir: { type: 'string' },
    'base-port': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const s = (k: string) => v[k] as string | undefined;
  const nodes = int('nodes', s('nodes'), 1, 64) ?? 4;
  return {
    nodes,
    nodesGiven: s('nodes') !== undefined,
    faults: int('faults', s('faults'), 0, nodes - 1),
    roundMs: int('round-ms', s('round-ms'), 1, 3_600_000),
    dir: s('dir') ?? '.testnet',
    basePort: int('base-port', s('base-port'), 1, 65535 - nodes + 1),
    json: v['json'] === true,
  };
}

/** Reads argv (without node and script) into a command. @throws ERR_INVALID_OPTION with a one-line message */
export function parseCommandLine(argv: string[]): Command {
  const [first, ...rest] = argv;
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (first === 'init') return wantsHelp ? { kind: 'help', topic: 'init' } : { kind: 'init', flags: parseInit(rest) };
  if (first === 'testnet') return wantsHelp ? { kind: 'help', topic: 'testnet' } : { kind: 'testnet', flags: parseTestnet(rest) };
  if (wantsHelp) return { kind: 'help', topic: 'run' };
  if (argv.length === 0) return { kind: 'interactive', flags: parseRun([]) };
  if (first !== undefined && !first.startsWith('-')) {
    throw new StrongcastError('ERR_INVALID_OPTION', `unknown command '${first}' (try --help)`);
  }
  return { kind: 'run', flags: parseRun(argv) };
}
