/** The CLI as a user runs it: flags, errors, headless --json nodes driven through stdin, signals. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, runCli } from './helpers/proc.ts';
import { parseCommandLine } from '../src/cli/args.ts';
import { createNode } from '../src/create-node.ts';
import { nodeOptionsFromFlags } from '../src/cli/run.ts';
import { silentLogger } from '../src/log.ts';

function oneLineError(r: { code: number | null; stderr: string }, code: string): void {
  assert.is(r.code, 2, `exit status 2, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, `strongcast: ${code}:`);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
}

test('--help documents every flag', async () => {
  const r = await runCli(['--help']);
  assert.is(r.code, 0);
  for (const flag of ['--port', '--host', '--peers', '--json', '--network', '--key', '--genesis', '--max-peers', '--outbound-slots-min', '--ip-limits-on-loopback', '--threads', '--backend', '--gossip-mode', '--clock-skew-ms-max', '--stall-ms-max', '--log-level', '--output-bytes-max', '--log-bytes-max']) {
    assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
  }
});

test('invalid flags and values give one line and exit status 2', async () => {
  oneLineError(await runCli(['--port', '70000']), 'ERR_INVALID_OPTION');
  oneLineError(await runCli(['--port', 'abc']), 'ERR_INVALID_OPTION');
  oneLineError(await runCli(['--prot', '7001']), 'ERR_INVALID_OPTION');
  oneLineError(await runCli(['--port', '0', '--peers', 'nohost']), 'ERR_INVALID_OPTION');
  oneLineError(await runCli(['--port', '0', '--gossip-mode', 'gossipsub']), 'ERR_INVALID_OPTION');
  oneLineError(await runCli(['--port', '0', '--backend', 'openssl']), 'ERR_INVALID_OPTION');
  oneLineError(await runCli(['--port', '0', '--key', 'does-not-exist.key']), 'ERR_KEY_FILE');
});

test('--outbound-slots-min takes 0 and up, and the node refuses one that leaves inbound peers no slot', () => {
  const c = parseCommandLine(['--port', '0', '--outbound-slots-min', '0']);
  assert.is(c.kind === 'run' ? c.flags.outboundSlotsMin : null, 0);
  assert.throws(() => parseCommandLine(['--port', '0', '--outbound-slots-min', '-1']), /--outbound-slots-min must be an integer in 0\.\.10000, got '-1'/);
  assert.throws(() => createNode({ maxPeers: 4, targetPeers: 1, outboundSlotsMin: 4 }), /options\.outboundSlotsMin must be below options\.maxPeers/);
});

test('--ip-limits-on-loopback is off unless given, and reaches the node options', async () => {
  const on = parseCommandLine(['--port', '0', '--ip-limits-on-loopback']);
  const off = parseCommandLine(['--port', '0']);
  assert.is(on.kind === 'run' && on.flags.ipLimitsOnLoopback, true);
  assert.is(off.kind === 'run' && off.flags.ipLimitsOnLoopback, false);
  if (on.kind === 'run') assert.is((await nodeOptionsFromFlags(on.flags, silentLogger)).ipLimitsOnLoopback, true);
});

test('--stall-ms-max takes 1 ms and up; 0 is refused with the range', () => {
  const c = parseCommandLine(['--port', '0', '--stall-ms-max', '1']);
  assert.is(c.kind === 'run' ? c.flags.stallMsMax : null, 1);
  assert.throws(() => parseCommandLine(['--port', '0', '--stall-ms-max', '0']), /--stall-ms-max must be an integer in 1\.\.3600000, got '0'/);
});

test('--output-bytes-max takes 1024 bytes and up (a gap report must fit in half of it); 1023 is refused with the range', () => {
  const c = parseCommandLine(['--port', '0', '--output-bytes-max', '1024']);
  assert.is(c.kind === 'run' ? c.flags.outputBytesMax : null, 1024);
  const d = parseCommandLine(['--port', '0']);
  assert.is(d.kind === 'run' ? d.flags.outputBytesMax : null, undefined, 'not given: the writer takes its default');
  assert.throws(() => parseCommandLine(['--port', '0', '--output-bytes-max', '1023']), /--output-bytes-max must be an integer in 1024\.\.1073741824, got '1023'/);
});

test('--log-bytes-max takes 1024 bytes and up (a gap report must fit in half of it); 1023 is refused with the range', () => {
  const c = parseCommandLine(['--port', '0', '--log-bytes-max', '1024']);
  assert.is(c.kind === 'run' ? c.flags.logBytesMax : null, 1024);
  const d = parseCommandLine(['--port', '0']);
  assert.is(d.kind === 'run' ? d.flags.logBytesMax : null, undefined, 'not given: the log writer takes its default');
  assert.throws(() => parseCommandLine(['--port', '0', '--log-bytes-max', '1023']), /--log-bytes-max must be an integer in 1024\.\.1073741824, got '1023'/);
});

test('an unreadable key file and a port in use are reported in one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-cli-'));
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  try {
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'not json');
    oneLineError(await runCli(['--port', '0', '--key', bad]), 'ERR_KEY_FILE');
    const port = (busy.address() as { port: number }).port;
    oneLineError(await runCli(['--host', '127.0.0.1', '--port', String(port)]), 'ERR_PORT_IN_USE');
  } finally {
    busy.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two headless --json nodes: connect, broadcast through stdin, events on stdout, clean SIGTERM', async () => {
  const a = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--network', 'cli-test']);
  let b: CliProcess | null = null;
  try {
    const listening = await a.waitEvent((e) => e.event === 'listening', 'listening');
    assert.type(listening.port, 'number');
    assert.match(String(listening.id), /^[0-9a-f]{64}$/);
    // b floods, a (default) uses the broadcast tree: the two modes interoperate.
    b = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--network', 'cli-test', '--gossip-mode', 'flood', '--peers', `127.0.0.1:${listening.port}`]);
    await b.waitEvent((e) => e.event === 'peer' && e.state === 'connected', 'peer connected on b');
    await a.waitEvent((e) => e.event === 'peer' && e.state === 'connected', 'peer connected on a');
    b.command('broadcast hello over tcp');
    const m = await a.waitEvent((e) => e.event === 'message', 'message on a');
    assert.is(m.data, 'hello over tcp');
    assert.is(m.topic, 'chat');
    const bId = (await b.waitEvent((e) => e.event === 'listening', 'b listening')).id;
    assert.is(m.origin, bId);
    a.command('peers');
    const peers = await a.waitEvent((e) => e.event === 'peers', 'peers answer');
    assert.is((peers.peers as unknown[]).length, 1);
    a.command('no-such-command');
    const err = await a.waitEvent((e) => e.event === 'error', 'error event');
    assert.is(err.code, 'ERR_UNKNOWN_COMMAND', 'an unknown command has a code of its own');
    assert.is(await a.stop(), 0, 'SIGTERM exits 0');
    assert.is(await b.stop(), 0);
  } finally {
    await a.stop();
    await b?.stop();
  }
});

test('quit on stdin stops the node with status 0', async () => {
  const a = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json']);
  try {
    await a.waitEvent((e) => e.event === 'listening', 'listening');
    a.command('id');
    await a.waitEvent((e) => e.event === 'id', 'id answer');
    a.command('quit');
    assert.is(await a.exited, 0);
  } finally {
    await a.stop();
  }
});

test('the interactive start asks for port and peers, then opens the console', async () => {
  const a = new CliProcess([]);
  try {
    // Answers typed ahead: port 0 (any free), no genesis, no peers; then console commands.
    a.child.stdin!.write('0\n\n\nid\nquit\n');
    assert.is(await a.exited, 0, a.stderr);
    assert.match(a.stdout, /your IP address is \d+\.\d+\.\d+\.\d+/);
    assert.match(a.stdout, /Port to listen on \[\d+\]/);
    assert.match(a.stdout, /Peers to connect to/);
    assert.match(a.stdout, /^id [0-9a-f]{64}$/m);
  } finally {
    await a.stop();
  }
});

test.run();
