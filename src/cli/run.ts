/**
 * Running a node from the command line: builds the node from flags, prints its events, reads console
 * commands from stdin, and shuts down cleanly on quit, SIGINT or SIGTERM.
 */
import { type StrongcastNode } from '../core/node.ts';
import { createNode } from '../create-node.ts';
import { readKeyFile } from '../crypto/keys.ts';
import { stderrLogger } from '../log.ts';
import type { NodeOptions } from '../core/node-options.ts';
import type { RunFlags } from './args.ts';
import { runConsoleLine, type ConsoleContext, type ConsoleValidator } from './console.ts';
import { Output } from './output.ts';
import type { LineReader } from './lines.ts';

/** A running CLI node and how to stop it. */
export interface CliNode {
  node: StrongcastNode;
  out: Output;
  validator: ConsoleValidator | null;
  stop: () => Promise<void>;
}

/** Hook a validator shell can use to join the CLI (set by the consensus integration). */
export type ValidatorFactory = (node: StrongcastNode, flags: RunFlags, out: Output) => Promise<{ validator: ConsoleValidator | null; stop: () => Promise<void> }>;

/** Prints node events the way the CLI promises (names are a public interface). */
export function wireNodeEvents(node: StrongcastNode, out: Output): void {
  node.on('listening', (e) => out.event('listening', { port: e.port, host: e.host, id: e.id }, `listening on ${e.host}:${e.port} as ${e.id}`));
  node.on('peer', (e) =>
    out.event(
      'peer',
      { state: e.state, id: e.id, addr: e.addr, outbound: e.outbound, ...(e.code ? { code: e.code, reason: e.reason } : {}) },
      `peer ${e.state} ${e.id.slice(0, 16)} ${e.addr}${e.reason ? ` (${e.reason})` : ''}`,
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
export async function nodeOptionsFromFlags(flags: RunFlags): Promise<NodeOptions> {
  return {
    host: flags.host ?? '0.0.0.0',
    port: flags.port ?? 0,
    advertiseHost: flags.advertise ?? '',
    peers: flags.peers,
    networkId: flags.network,
    identity: flags.key ? await readKeyFile(flags.key) : undefined,
    maxPeers: flags.maxPeers,
    targetPeers: flags.targetPeers,
    frameBytesMax: flags.frameBytesMax,
    gossipMode: flags.gossipMode,
    log: stderrLogger(flags.logLevel),
  };
}

/** Starts a node for the CLI; the validator factory joins consensus when --genesis is given. */
export async function startCliNode(flags: RunFlags, options: NodeOptions, makeValidator?: ValidatorFactory): Promise<CliNode> {
  const out = new Output(flags.json);
  const node = createNode(options);
  wireNodeEvents(node, out);
  const v = makeValidator ? await makeValidator(node, flags, out) : null;
  await node.start();
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      await v?.stop();
      await node.stop();
    })());
  return { node, out, validator: v?.validator ?? null, stop };
}

/**
 * Reads console commands until quit. When stdin ends, a headless node keeps running (e.g. `< /dev/null`,
 * stopped by a signal); a terminal closing (Ctrl-D) means quit.
 */
export async function runConsole(cli: CliNode, lines: LineReader, onQuit: () => Promise<void>): Promise<void> {
  const interactive = process.stdin.isTTY === true;
  const ctx: ConsoleContext = { node: cli.node, out: cli.out, validator: cli.validator, quit: onQuit };
  for (;;) {
    if (interactive) process.stdout.write('> ');
    const line = await lines.next();
    if (line === null) break;
    // One command at a time, in the order typed, even when one is slow (connect, mine).
    await runConsoleLine(ctx, line);
  }
  if (interactive) await onQuit();
}

/** Stops on SIGINT/SIGTERM, exits 0 once everything is closed. */
export function installSignalHandlers(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`received ${sig}, shutting down\n`);
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}
