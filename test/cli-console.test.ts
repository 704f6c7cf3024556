/**
 * The console and the start-up as a person meets them: the interactive start's end of input and listening
 * address, one line per event, output drawn above the prompt at a terminal, help for the node's kind, stats
 * as a table, an unknown command's own code, peers by their listening address, and flag mistakes that say
 * what is wrong.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliProcess, runCli } from './helpers/proc.ts';
import { CLEAR_LINE, ConsoleScreen } from '../src/cli/screen.ts';
import { listenLine } from '../src/cli/interactive.ts';
import { consoleCommands, statsTable } from '../src/cli/console.ts';
import { cliLogging } from '../src/cli/run.ts';
import { parseCommandLine, type RunFlags } from '../src/cli/args.ts';
import { startNodes, stopAll, waitFor } from './helpers/net.ts';
import type { PeerEvent } from '../src/core/node-types.ts';

/** The process's exit status, or an error once `ms` pass without an exit (a start that should have aborted). */
async function exitWithin(p: CliProcess, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${p.stdout.slice(-800)}`)), ms)));
  try {
    return await Promise.race([p.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

function oneLineError(r: { code: number | null; stderr: string }, code: string, message: string): void {
  assert.is(r.code, 2, `exit status 2, got ${r.code}; stderr: ${r.stderr}`);
  assert.is(r.stderr, `strongcast: ${code}: ${message}\n`);
}

test('end of input at an interactive question aborts with one line; no node is started', async () => {
  const r = await runCli([], 15_000);
  oneLineError(r, 'ERR_INPUT_ENDED', "standard input ended before an answer to 'Port to listen on [" + /\[(\d+)\]/.exec(r.stdout)?.[1] + "]:'; nothing was started");
  assert.not.match(r.stdout, /listening on/);
});

test('the interactive start says where the node will listen before it asks anything more', async () => {
  const a = new CliProcess([]);
  try {
    a.child.stdin!.end('0\n'); // a port, then the input ends at the genesis question
    assert.is(await exitWithin(a, 10_000), 2);
    assert.match(a.stdout, /strongcast: the node will listen on 0\.0\.0\.0, on a free port the system picks\n/);
    assert.match(a.stderr, /ERR_INPUT_ENDED: standard input ended before an answer to 'Genesis file/);
  } finally {
    await a.stop();
  }
  assert.is(listenLine('0.0.0.0', 7001, '192.168.1.20'), 'strongcast: the node will listen on 0.0.0.0:7001 (other machines reach it at 192.168.1.20:7001)\n');
  assert.is(listenLine('10.0.0.5', 7001, '192.168.1.20'), 'strongcast: the node will listen on 10.0.0.5:7001 (other machines reach it at 10.0.0.5:7001)\n');
});

test('the interactive console prints each event once (no log line repeating it)', async () => {
  const seed = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json']);
  const a = new CliProcess([]);
  try {
    const port = Number((await seed.waitEvent((e) => e.event === 'listening', 'seed listening')).port);
    a.child.stdin!.write(`0\n\n127.0.0.1:${port}\n`);
    const deadline = Date.now() + 10_000;
    while (!a.stdout.includes('peer connected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    a.command('quit');
    assert.is(await exitWithin(a, 10_000), 0, a.stderr);
    const all = a.stdout + a.stderr;
    assert.is(all.split('peer connected').length - 1, 1, `one line for the peer:\n${all}`);
    assert.is(a.stdout.split(/listening on \S+ as /).length - 1, 1, `one line for listening:\n${a.stdout}`);
    assert.not.match(a.stderr, /listening/, 'and no log line repeating it');
  } finally {
    await a.stop();
    await seed.stop();
  }
});

test('at a terminal, a line printed while the prompt shows goes above it, and the prompt is drawn again', () => {
  const written: string[] = [];
  let typed = 'broad';
  const screen = new ConsoleScreen(
    (s) => written.push(`out:${s}`),
    (s) => written.push(`err:${s}`),
    { prompt: (keep) => written.push(keep ? `out:> ${typed}` : 'out:> ') },
  );
  screen.out('before any prompt\n');
  screen.showPrompt();
  screen.out('peer connected ab12 127.0.0.1:7002\n');
  screen.err('2026-01-01T00:00:00.000Z warn  peer offence\n');
  typed = '';
  screen.inputTaken();
  screen.out('broadcast 1f2e to 1 peers\n');
  assert.equal(written, [
    'out:before any prompt\n',
    'out:> ',
    `out:${CLEAR_LINE}`,
    'out:peer connected ab12 127.0.0.1:7002\n',
    'out:> broad',
    `out:${CLEAR_LINE}`,
    'err:2026-01-01T00:00:00.000Z warn  peer offence\n',
    'out:> broad',
    'out:broadcast 1f2e to 1 peers\n',
  ]);
  const piped: string[] = [];
  const noTerminal = new ConsoleScreen((s) => piped.push(s), (s) => piped.push(s), null);
  noTerminal.showPrompt();
  noTerminal.out('line\n');
  assert.equal(piped, ['line\n'], 'no prompt and no clearing without a terminal');
});

test('logs at a text console default to warnings (the console shows the events); elsewhere to info; flags win', () => {
  const flags = (extra: Partial<RunFlags>): RunFlags => ({ ...(parseCommandLine(['--port', '0']) as { flags: RunFlags }).flags, ...extra });
  assert.equal(cliLogging(flags({}), true, true), { level: 'warn', format: 'text' });
  assert.equal(cliLogging(flags({}), false, false), { level: 'info', format: 'json' });
  assert.equal(cliLogging(flags({ logLevel: 'debug', logLevelGiven: true, logFormat: 'text' }), true, false), { level: 'debug', format: 'text' });
});

test("a plain node's help lists no validator commands; a validator's does", async () => {
  assert.not.ok(consoleCommands(false).some((c) => ['mine', 'chain', 'status'].includes(c)));
  assert.ok(['mine', 'chain', 'status'].every((c) => consoleCommands(true).includes(c)));
  const a = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json']);
  try {
    await a.waitEvent((e) => e.event === 'listening', 'listening');
    a.command('help');
    const help = await a.waitEvent((e) => e.event === 'help', 'help');
    assert.equal(help.commands, ['help', 'id', 'peers', 'connect', 'broadcast', 'stats', 'isolate', 'quit']);
    a.command('frobnicate');
    const err = await a.waitEvent((e) => e.event === 'error', 'error');
    assert.equal([err.code, err.message], ['ERR_UNKNOWN_COMMAND', "unknown command 'frobnicate' (try help)"]);
    a.command('constructor');
    const proto = await a.waitEvent((e) => e.event === 'error' && String(e.message).includes('constructor'), 'error for a prototype name');
    assert.is(proto.code, 'ERR_UNKNOWN_COMMAND');
  } finally {
    await a.stop();
  }
});

test('stats at a terminal is a table of aligned rows; under --json it is the raw event', async () => {
  assert.is(statsTable({ peers: 2, tree: { eager: 1, missing: 0 }, lastBlock: null }), ['  peers         2', '  tree.eager    1', '  tree.missing  0', '  lastBlock     -'].join('\n'));
  const a = new CliProcess(['--host', '127.0.0.1', '--port', '0']);
  try {
    const deadline = Date.now() + 10_000;
    while (!a.stdout.includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    a.command('stats');
    while (!/^ {2}tree\.missing +0$/m.test(a.stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(a.stdout, /^ {2}peers {9,}0$/m);
    assert.not.match(a.stdout, /peers=0/, 'not the old key=value line');
  } finally {
    await a.stop();
  }
});

test("an inbound peer is shown where it listens, in the library's peer event and the console", async () => {
  const nodes = await startNodes(2, () => []);
  const seen: PeerEvent[] = [];
  try {
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    a.on('peer', (e) => seen.push(e));
    await b.connect(`127.0.0.1:${a.listenPort}`);
    await waitFor(() => seen.length === 1, 'a sees b');
    const e = seen[0]!;
    assert.is(e.outbound, false);
    assert.is(e.addr, `127.0.0.1:${b.listenPort}`, 'its listening address');
    assert.match(e.socket, /^127\.0\.0\.1:\d+$/);
    assert.is.not(e.socket, e.addr, 'the socket has an ephemeral port');
  } finally {
    await stopAll(nodes);
  }
});

test('a flag given twice, a negative number and config mistakes are one-line errors that say what is wrong', async () => {
  oneLineError(await runCli(['--port', '0', '--port', '1']), 'ERR_INVALID_OPTION', '--port is given more than once');
  oneLineError(await runCli(['--port', '0', '--max-peers', '-1']), 'ERR_INVALID_OPTION', "--max-peers must be an integer in 1..10000, got '-1'");
  oneLineError(await runCli(['--port', '0', '--log-format', 'xml']), 'ERR_INVALID_OPTION', "--log-format must be one of text, json, got 'xml'");
  oneLineError(await runCli(['--port', '0', '--log-level', 'loud']), 'ERR_INVALID_OPTION', "--log-level must be one of debug, info, warn, error, silent, got 'loud'");
  oneLineError(await runCli(['--metrics', 'nohost']), 'ERR_INVALID_OPTION', "--metrics 'nohost' must be HOST:PORT with a port in 1..65535");
  const peers = parseCommandLine(['--peers', '127.0.0.1:1', '--peers', '127.0.0.1:2']) as { flags: RunFlags };
  assert.equal(peers.flags.peers, ['127.0.0.1:1', '127.0.0.1:2'], '--peers may repeat');
  assert.equal((parseCommandLine(['--metrics', '9464']) as { flags: RunFlags }).flags.metrics, { host: '127.0.0.1', port: 9464 });
  assert.equal((parseCommandLine(['--metrics', '0.0.0.0:9464']) as { flags: RunFlags }).flags.metrics, { host: '0.0.0.0', port: 9464 });
  assert.equal((parseCommandLine(['--metrics', '[::1]:0']) as { flags: RunFlags }).flags.metrics, { host: '::1', port: 0 });
});

test.run();
