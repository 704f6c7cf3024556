/**
 * Command-line flags: their names, help text and validation. Flag names are a public interface (scripts use
 * them): never rename one; add new ones.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StrongcastError } from '../errors.ts';
import { parseHostPort } from '../core/node-options.ts';
import { ED25519_BACKENDS, type Ed25519Backend } from '../crypto/ed25519.ts';

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
  frameBytesMax?: number;
  threads?: number;
  backend?: Ed25519Backend;
  gossipMode?: 'tree' | 'flood';
  clockSkewMsMax?: number;
  stallMsMax?: number;
  logLevel: 'debug' | 'info' | 'warn' | 'silent';
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

export const runHelp = `strongcast: a peer-to-peer node with gossip broadcast and Dolev-Strong consensus

Usage:
  strongcast                                   interactive start: asks for port, peers (or a validator), then a console
  strongcast --port N [flags]                  run a node headless (console commands read from stdin)
  strongcast --genesis FILE --key FILE [flags] run validator i of a genesis (port and peers default from genesis)
  strongcast --genesis FILE [flags]            run an observer: follows, checks and carries consensus, no key of the genesis
  strongcast init --nodes N --out DIR [...]    write DIR/genesis.json and DIR/node-<i>.key
  strongcast testnet --nodes N [...]           run a local network of N validators (see --help after testnet)

Flags:
  --port N             TCP port to listen on (1..65535; 0 = any free port)
  --host H             address to listen on (default 0.0.0.0)
  --advertise H        host to announce to peers (default: the address peers see)
  --peers H:P,H:P      peers to dial at start and keep reconnecting to
  --json               print every event as one JSON object per line on stdout
  --network ID         network id (default strongcast-dev; with --genesis: the genesis network id)
  --key FILE           node key file (default: a fresh key for this run)
  --genesis FILE       genesis file: run as a validator of that network (with --key) or an observer (without)
  --data DIR           keep the key, known peers and decided chain in DIR
  --max-peers N        most open connections (default 32)
  --target-peers N     connections to keep through peer exchange (default 8)
  --frame-bytes-max N  largest frame accepted, in bytes (default 1048576)
  --threads N          signature verification worker threads (default: CPU count)
  --backend NAME       signature backend: sodium, native or noble (default sodium, or native
                       where the sodium addon cannot load); all accept the same signatures
  --gossip-mode MODE   tree (eager tree links, ids to the others) or flood (default tree)
  --clock-skew-ms-max MS  validators: largest clock difference to another validator; a chain up to
                       this early is counted in round 1 (default: a quarter of the genesis round length)
  --stall-ms-max MS    validators: a stall of this process longer than MS puts it out of synchrony: it
                       catches up from f+1 validators (default: half the genesis round length)
  --log-level L        debug, info, warn or silent (default info; logs go to stderr)
  -h, --help           show this help

Console commands: help, id, peers, connect HOST:PORT, broadcast TEXT, mine [TEXT], chain, status, quit
`;

export const initHelp = `strongcast init: write a genesis and one key per validator

Usage:
  strongcast init --nodes N --out DIR [--faults F] [--round-ms MS] [--base-port P] [--host H] [--network ID] [--start-ms T]
                  [--clock-skew-ms-max MS] [--delay-ms-max MS]

  --nodes N       number of validators (1..1024)
  --out DIR       directory for genesis.json and node-<i>.key (created if missing)
  --faults F      tolerated Byzantine validators, 0 <= F < N (default floor((N-1)/3)); k = F+1 rounds
  --round-ms MS   round length in ms (default 1000)
  --base-port P   validator i listens on P+i (default 7001)
  --host H        validators' host (default 127.0.0.1)
  --network ID    network id (default strongcast-<random>)
  --start-ms T    genesis start time in ms since the epoch (default: now)
  --clock-skew-ms-max MS  largest clock difference between two validators (default 50)
  --delay-ms-max MS       delivery bound: network delay over every hop plus verification (default 100)

  The round length must satisfy the timing rule Δ/4 + skew + delay < Δ (and skew <= Δ/4); init refuses one
  that does not, naming the smallest that does.
`;

export const testnetHelp = `strongcast testnet: run a local validator network with a live view

Usage:
  strongcast testnet [--nodes N] [--faults F] [--round-ms MS] [--dir DIR] [--base-port P] [--json]

  --nodes N       validators to start (default 4; must match DIR's genesis when DIR already has one)
  --faults F      tolerated Byzantine validators for a new network (default floor((N-1)/3))
  --round-ms MS   round length for a new network (default 1000)
  --dir DIR       keys, genesis, data and logs (default .testnet); reused when it already has a genesis
  --base-port P   validator i listens on P+i for a new network (default 7001)
  --json          no live view: every node event as a JSON line with "node": I; stdin takes "I COMMAND" and "quit"

Keys in the live view: 0-9 or up/down select a node, b broadcast, m mine, q or Ctrl-C quit.
Each node's log is DIR/node-I.log. Stopping the testnet stops every process it started.
`;

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new StrongcastError('ERR_INVALID_OPTION', `--${name} must be an integer in ${min}..${max}, got '${v}'`);
  }
  return n;
}

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (e) {
    // parseArgs's own messages are clear ("Unknown option '--prot'"); keep them, typed.
    throw new StrongcastError('ERR_INVALID_OPTION', (e as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
}

function parseRun(argv: string[]): RunFlags {
  const { values: v } = parse(argv, {
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
    'frame-bytes-max': { type: 'string' },
    threads: { type: 'string' },
    backend: { type: 'string' },
    'gossip-mode': { type: 'string' },
    'clock-skew-ms-max': { type: 'string' },
    'stall-ms-max': { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const s = (k: string) => v[k] as string | undefined;
  const peers = ((v['peers'] as string[] | undefined) ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  for (const p of peers) parseHostPort(p, '--peers entry');
  const logLevel = s('log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'silent'].includes(logLevel)) {
    throw new StrongcastError('ERR_INVALID_OPTION', `--log-level must be debug, info, warn or silent, got '${logLevel}'`);
  }
  const backend = s('backend');
  if (backend !== undefined && !ED25519_BACKENDS.includes(backend as Ed25519Backend)) {
    throw new StrongcastError('ERR_INVALID_OPTION', `--backend must be one of ${ED25519_BACKENDS.join(', ')}, got '${backend}'`);
  }
  const gossipMode = s('gossip-mode');
  if (gossipMode !== undefined && gossipMode !== 'tree' && gossipMode !== 'flood') {
    throw new StrongcastError('ERR_INVALID_OPTION', `--gossip-mode must be tree or flood, got '${gossipMode}'`);
  }
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
    frameBytesMax: int('frame-bytes-max', s('frame-bytes-max'), 1024, 64 * 1024 * 1024),
    threads: int('threads', s('threads'), 1, 256),
    backend: backend as RunFlags['backend'],
    gossipMode: gossipMode as RunFlags['gossipMode'],
    clockSkewMsMax: int('clock-skew-ms-max', s('clock-skew-ms-max'), 0, 3_600_000),
    stallMsMax: int('stall-ms-max', s('stall-ms-max'), 1, 3_600_000),
    logLevel: logLevel as RunFlags['logLevel'],
  };
}

function parseInit(argv: string[]): InitFlags {
  const { values: v } = parse(argv, {
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
  const { values: v } = parse(argv, {
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
