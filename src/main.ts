#!/usr/bin/env -S npx tsx
/**
 * strongcast: the single entry point (the installed package runs the compiled file through bin/strongcast.js).
 *
 *   npx tsx src/main.ts                      interactive start, then a console
 *   npx tsx src/main.ts --port 7001 --json   headless node
 *   npx tsx src/main.ts init --nodes 4 --out net
 *   npx tsx src/main.ts --genesis net/genesis.json --key net/node-0.key
 *
 * A user mistake prints one line `strongcast: ERR_CODE: message` on stderr and exits 2; never a stack trace.
 */
import { isStrongcastError } from './errors.ts';
import { initHelp, parseCommandLine, runHelp, testnetHelp, type RunFlags } from './cli/args.ts';
import { runTestnet } from './cli/testnet.ts';
import { askForFlags } from './cli/interactive.ts';
import { LineReader } from './cli/lines.ts';
import { cliLogger, exitAfterOutput, installSignalHandlers, nodeOptionsFromFlags, processLogging, runConsole, startCliNode, type StopReason } from './cli/run.ts';
import { consoleHelpFor } from './cli/console.ts';
import { ConsoleScreen } from './cli/screen.ts';
import { runInit } from './cli/init.ts';
import { prepareValidator } from './cli/validator.ts';
import { keepPeersSaved, withDataDir } from './cli/data.ts';
import type { DataDir } from './store/data-dir.ts';
import type { ValidatorFactory } from './cli/run.ts';
import { createVerifyPool } from './crypto/verify-pool.ts';
import { EventWriter } from './cli/event-writer.ts';
import { ignoreStreamErrors, onOutputClosed, stderrSink, stdoutSink } from './cli/stdout-sink.ts';
import { logWriter } from './cli/log-writer.ts';
import { dropReportLine } from './cli/output.ts';
import type { Logger } from './log.ts';

/** A running node's standard output, which every exit flushes; null until a node starts. */
let stdout: EventWriter | null = null;
/** Its standard error (the logs), which every exit flushes after standard output; null until a node starts. */
let logs: EventWriter | null = null;
/** Its logger, for a flush that ran out of time. */
let stdoutLog: Logger | undefined;

/**
 * Writes the line that ends the process on stderr: through the logs' writer past its bound once a node has
 * one (an exit flushes it, so the line is written before the process ends), else straight to stderr.
 */
function writeFinalLine(line: string): void {
  if (logs) logs.writeLast(line);
  else process.stderr.write(line);
}

/** A plain node with --data saves its known peers; it has no validator part. */
function plainNodeStore(store: DataDir | null): ValidatorFactory | undefined {
  if (!store) return undefined;
  return async (node) => {
    const save = keepPeersSaved(node, store);
    return { validator: null, stop: save };
  };
}

async function runNode(flags: RunFlags, lines: LineReader, interactive: boolean): Promise<void> {
  // Events never wait for the reader of standard output: a slow one loses events (reported), not the node its turns.
  const out = new EventWriter({ sink: stdoutSink(), dropReport: dropReportLine(flags.json), ...(flags.outputBytesMax === undefined ? {} : { outputBytesMax: flags.outputBytesMax }) });
  stdout = out;
  // Logs never wait for the reader of standard error either: a slow one loses log lines (reported in the log's format).
  const err = logWriter({ sink: stderrSink(), format: processLogging(flags, interactive).format, ...(flags.logBytesMax === undefined ? {} : { logBytesMax: flags.logBytesMax }) });
  logs = err;
  // A reader of the logs that went away (EPIPE) stops the writer (it drops from then on), not the node.
  ignoreStreamErrors(process.stderr);
  const screen = new ConsoleScreen((s) => void out.write(s), (s) => void err.write(s), lines.promptLine);
  const log = cliLogger(flags, interactive, screen);
  stdoutLog = log;
  const base = await nodeOptionsFromFlags(flags, log);
  // Every signature a node checks goes through the worker pool; a validator's pool also knows the validator set.
  const prepared = flags.genesis ? await prepareValidator(flags, base) : null;
  const pool = prepared?.pool ?? createVerifyPool({ threads: flags.threads, backend: flags.backend });
  let options = prepared?.options ?? { ...base, verifier: pool };
  let store = prepared?.store ?? null;
  if (!prepared && flags.data) ({ store, options } = await withDataDir(flags.data, options));
  const starting = startCliNode(flags, options, prepared?.factory ?? plainNodeStore(store), { screen, log, pool, writeLast: (s) => out.writeLast(s) }).catch(async (e: unknown) => {
    await store?.close();
    await pool.close();
    throw e;
  });
  // Signals are ours from before the node listens: one that comes while it starts (a supervisor's quick
  // restart, a test that stops it as soon as it says `listening`) waits for the start, then stops cleanly.
  // The first reason to stop wins; a second (a signal during quit) waits for the same stop.
  let stopping: Promise<void> | null = null;
  const stopAll = (reason: StopReason) =>
    (stopping ??= (async () => {
      const cli = await starting.catch(() => null);
      if (!cli) return; // the start failed and closed what it had opened; its error is reported
      await cli.stop();
      await store?.close();
      await pool.close();
      // The last line a reader gets from a node that stopped cleanly, however slowly it read.
      cli.out.last('stopped', { reason }, null);
    })());
  const exit = (code: number) => exitAfterOutput({ stdout: out, logs: err }, code, log);
  installSignalHandlers(stopAll, log, exit);
  const cli = await starting;
  const quit = async () => {
    await stopAll('quit');
    lines.close();
    await exit(0);
  };
  // Started by a testnet (or any parent) with an IPC channel: exit when the parent goes away, so a killed
  // parent never leaves validators running.
  if (process.send) process.on('disconnect', () => void stopAll('disconnect').finally(() => exit(0)));
  // The reader of standard output went away (`strongcast --json | head -1`): stop cleanly, as a tool killed by
  // SIGPIPE would stop, rather than die on an unhandled EPIPE with a stack trace.
  onOutputClosed(() => void stopAll('output-closed').finally(() => exit(0)));
  if (interactive) screen.out(`\n${consoleHelpFor(cli.validator !== null)}\n`);
  await runConsole(cli, lines, quit, screen);
}

async function main(argv: string[]): Promise<void> {
  const cmd = parseCommandLine(argv);
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(cmd.topic === 'init' ? initHelp : cmd.topic === 'testnet' ? testnetHelp : runHelp);
      return;
    case 'testnet':
      return runTestnet(cmd.flags);
    case 'init':
      await runInit(cmd.flags);
      return;
    case 'interactive': {
      const lines = new LineReader();
      const flags = await askForFlags(cmd.flags, lines);
      return runNode(flags, lines, true);
    }
    case 'run':
      return runNode(cmd.flags, new LineReader(), false);
  }
}

/** Set once the process is on its way out through exitOnError. */
let failing = false;

/**
 * The one way out after an error: a user mistake (a StrongcastError out of main: a bad flag, a port in use)
 * prints one line `strongcast: ERR_CODE: message` and exits 2; anything else is a bug, an uncaught exception
 * or an unhandled rejection among them, and prints `strongcast: internal error:` with its stack and exits 1.
 * Either way the line goes past the logs' bound, and what the writers of stdout and stderr hold reaches
 * their readers first (each for at most its flushMsMax). An error while the writers flush adds its line and
 * waits for the same exit.
 */
async function exitOnError(e: unknown, userMistakePossible: boolean): Promise<void> {
  const mistake = userMistakePossible && isStrongcastError(e);
  writeFinalLine(mistake ? `strongcast: ${e.code}: ${e.message}\n` : `strongcast: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  if (failing) return;
  failing = true;
  await exitAfterOutput({ stdout, logs }, mistake ? 2 : 1, stdoutLog);
}

// Node's own handling of these prints a stack and exits at once, throwing away what the writers hold.
process.on('uncaughtException', (e) => void exitOnError(e, false));
process.on('unhandledRejection', (e) => void exitOnError(e, false));
main(process.argv.slice(2)).catch((e: unknown) => exitOnError(e, true));
