/**
 * Running a node from the command line: builds the node from flags, prints its events, reads console
 * commands from stdin, and shuts down cleanly on quit, SIGINT or SIGTERM.
 */
import { type StrongcastNode } from '../core/node.ts';
import { createNode } from '../create-node.ts';
import { readKeyFile } from '../crypto/keys.ts';
import { lineLogger, type LogFormat, type Logger, type LogLevel } from '../log.ts';
import type { NodeOptions } from '../core/node-options.ts';
import type { Validator } from '../core/validator.ts';
import type { VerifyPool } from '../crypto/verifier-core.ts';
import { startMetricsServer, type MetricsServer } from '../observe/metrics-server.ts';
import type { RunFlags } from './args.ts';
import { runConsoleLine, type ConsoleContext, type ConsoleValidator } from './console.ts';
import { Output } from './output.ts';
import type { EventWriter } from './event-writer.ts';
import type { LineReader } from './lines.ts';
import type { ConsoleScreen } from './screen.ts';

/** A running CLI node and how to stop it. */
export interface CliNode {
  node: StrongcastNode;
  out: Output;
  validator: ConsoleValidator | null;
  /** The /metrics and /health server, with --metrics. */
  metrics: MetricsServer | null;
  stop: () => Promise<void>;
}

/** What a validator shell adds to the CLI: its console commands, the validator itself, and how to stop it. */
export interface ValidatorPart {
  validator: ConsoleValidator | null;
  /** The validator or observer, for the metrics and health check. */
  consensus?: Validator;
  stop: () => Promise<void>;
}

/** Hook a validator shell can use to join the CLI (set by the consensus integration). */
export type ValidatorFactory = (node: StrongcastNode, flags: RunFlags, out: Output) => Promise<ValidatorPart>;

/** How the CLI logs: the level and format flags, or their defaults for where the output goes. */
export function cliLogging(flags: RunFlags, textConsole: boolean, stderrIsTerminal: boolean): { level: LogLevel; format: LogFormat } {
  return {
    // The console already prints each event (a peer, a listening address) as a line of its own; info logs
    // would say it all a second time, so at a text console only warnings and errors are logged by default.
    level: flags.logLevelGiven ? flags.logLevel : textConsole ? 'warn' : 'info',
    // People read a terminal; anything else (a file, a pipe, a service manager) is read by a log collector.
    format: flags.logFormat ?? (stderrIsTerminal ? 'text' : 'json'),
  };
}

/** How this process logs: cliLogging for its flags, its console and whether its stderr is a terminal. */
export function processLogging(flags: RunFlags, interactive: boolean): { level: LogLevel; format: LogFormat } {
  const textConsole = !flags.json && (interactive || process.stdout.isTTY === true);
  return cliLogging(flags, textConsole, process.stderr.isTTY === true);
}

/** The CLI's logger: lines on stderr (through the screen's writer of it), around the console's prompt at a terminal. */
export function cliLogger(flags: RunFlags, interactive: boolean, screen: ConsoleScreen): Logger {
  return lineLogger({ ...processLogging(flags, interactive), write: (s) => screen.err(s) });
}

/** Prints node events the way the CLI promises (names are a public interface). */
export function wireNodeEvents(node: StrongcastNode, out: Output): void {
  node.on('listening', (e) => out.event('listening', { port: e.port, host: e.host, id: e.id }, `listening on ${e.host}:${e.port} as ${e.id}`));
  node.on('peer', (e) =>
    out.event(
      'peer',
      { state: e.state, id: e.id, addr: e.addr, socket: e.socket, outbound: e.outbound, ...(e.code ? { code: e.code, reason: e.reason } : {}) },
      `peer ${e.state} ${e.id.slice(0, 16)} ${e.addr} ${e.outbound ? 'outbound' : `inbound from ${e.socket}`}${e.reason ? ` (${e.reason})` : ''}`,
    ),
  );
  node.on('message', (m) => {
    const data = new TextDecoder().decode(m.data);
    out.event('message', { id: m.id, origin: m.origin, topic: m.topic, data, seq: m.seq, hops: m.hops }, `[${m.topic}] ${m.origin.slice(0, 8)}: ${data}`);
  });
  node.on('offence', (o) =>
    out.event('offence', { peer: o.peer, addr: o.addr, code: o.code, reason: o.reason, score: Math.round(o.score), banned: o.banned }, null),
  );
}

/** Node options from flags (identity read from --key when given). */
export async function nodeOptionsFromFlags(flags: RunFlags, log: Logger): Promise<NodeOptions> {
  return {
    host: flags.host ?? '0.0.0.0',
    port: flags.port ?? 0,
    advertiseHost: flags.advertise ?? '',
    peers: flags.peers,
    networkId: flags.network,
    identity: flags.key ? await readKeyFile(flags.key) : undefined,
    maxPeers: flags.maxPeers,
    targetPeers: flags.targetPeers,
    outboundSlotsMin: flags.outboundSlotsMin,
    ipLimitsOnLoopback: flags.ipLimitsOnLoopback,
    frameBytesMax: flags.frameBytesMax,
    gossipMode: flags.gossipMode,
    log,
  };
}

/** What the CLI shares with the node it starts. */
export interface CliParts {
  screen: ConsoleScreen;
  log: Logger;
  /** The node's verification pool, reported by the metrics. */
  pool?: VerifyPool;
  /** Writes the line that ends the output past the bound of standard output's writer; default: as any line. */
  writeLast?: (s: string) => void;
}

/** Starts the metrics server of --metrics and says where it listens. */
async function startMetrics(flags: RunFlags, node: StrongcastNode, parts: CliParts, out: Output, consensus?: Validator): Promise<MetricsServer | null> {
  if (!flags.metrics) return null;
  const server = await startMetricsServer({ node, ...flags.metrics, log: parts.log, ...(parts.pool ? { pool: parts.pool } : {}), ...(consensus ? { validator: consensus } : {}) });
  out.event('metrics', { host: server.host, port: server.port, url: server.url }, `metrics on ${server.url}/metrics, health on ${server.url}/health`);
  return server;
}

/** Starts a node for the CLI; the validator factory joins consensus when --genesis is given. */
export async function startCliNode(flags: RunFlags, options: NodeOptions, makeValidator: ValidatorFactory | undefined, parts: CliParts): Promise<CliNode> {
  const out = new Output(flags.json, (s) => parts.screen.out(s), parts.writeLast);
  const node = createNode(options);
  wireNodeEvents(node, out);
  const v = makeValidator ? await makeValidator(node, flags, out) : null;
  await node.start();
  const metrics = await startMetrics(flags, node, parts, out, v?.consensus).catch(async (e: unknown) => {
    await v?.stop();
    await node.stop();
    throw e;
  });
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      // /health says 503 while the node winds down, and the server goes last.
      metrics?.markStopping();
      await v?.stop();
      await node.stop();
      await metrics?.stop();
    })());
  return { node, out, validator: v?.validator ?? null, metrics, stop };
}

/**
 * Reads console commands until quit. When stdin ends, a headless node keeps running (e.g. `< /dev/null`,
 * stopped by a signal); a terminal closing (Ctrl-D) means quit.
 */
export async function runConsole(cli: CliNode, lines: LineReader, onQuit: () => Promise<void>, screen: ConsoleScreen): Promise<void> {
  const interactive = process.stdin.isTTY === true;
  const ctx: ConsoleContext = { node: cli.node, out: cli.out, validator: cli.validator, quit: onQuit };
  for (;;) {
    screen.showPrompt();
    const line = await lines.next();
    screen.inputTaken();
    if (line === null) break;
    // One command at a time, in the order typed, even when one is slow (connect, mine).
    await runConsoleLine(ctx, line);
  }
  if (interactive) await onQuit();
}

/** How long a signalled stop may take before the process exits anyway (status 1), in ms. */
export const signalStopMsMax = 5000;

/** Why a running node stopped (the `stopped` event's `reason`). */
export type StopReason = 'quit' | 'SIGINT' | 'SIGTERM' | 'disconnect' | 'output-closed';

/**
 * Stops on SIGINT/SIGTERM, then exits 0 through `exit`; a stop that takes longer than signalStopMsMax exits 1
 * through it all the same, so what standard output holds is still written.
 */
export function installSignalHandlers(stop: (signal: StopReason) => Promise<void>, log: Logger, exit: (code: number) => Promise<void>): void {
  let stopping = false;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal: sig });
    const force = setTimeout(() => void exit(1), signalStopMsMax);
    force.unref();
    void stop(sig).then(() => exit(0));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

/** The bounded writers an exit flushes: standard output's events and standard error's logs (either may be absent). */
export interface ExitWriters {
  stdout?: EventWriter | null;
  logs?: EventWriter | null;
}

/**
 * The CLI's way out of a running node: the events the writer of standard output holds reach the reader
 * first (for at most its flushMsMax, so a reader that never reads cannot hold the exit), then the logs the
 * writer of standard error holds, a warning about lost events among them (for at most its own flushMsMax),
 * then the process exits with `code`. `process.exit` alone would throw away whatever a pipe or a terminal
 * had not taken yet.
 */
export async function exitAfterOutput(writers: ExitWriters, code: number, log?: Logger): Promise<never> {
  const { stdout, logs } = writers;
  if (stdout && !(await stdout.flush()) && stdout.heldBytes > 0) {
    log?.warn('standard output not all written before exit', { heldBytes: stdout.heldBytes, flushMsMax: stdout.flushMsMax });
  }
  await logs?.flush();
  process.exit(code);
}
