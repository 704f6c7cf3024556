/** --config FILE: keys are the long flag names, flags override it, every mistake is one line naming the file and key. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine, type RunFlags } from '../src/cli/args.ts';
import { configFileBytesMax } from '../src/cli/config-file.ts';
import { isStrongcastError } from '../src/errors.ts';
import { runCli } from './helpers/proc.ts';

const dir = mkdtempSync(join(tmpdir(), 'strongcast-config-'));
let n = 0;
function file(text: string): string {
  const p = join(dir, `c${n++}.json`);
  writeFileSync(p, text);
  return p;
}
function run(argv: string[]): RunFlags {
  const cmd = parseCommandLine(argv);
  assert.is(cmd.kind, 'run');
  return (cmd as { flags: RunFlags }).flags;
}
function refused(argv: string[], message: string): void {
  try {
    parseCommandLine(argv);
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
    assert.is((e as Error).message, message);
    return;
  }
  assert.unreachable(`accepted ${argv.join(' ')}`);
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('keys are the long flag names, with JSON numbers, strings, booleans and lists', () => {
  const p = file(JSON.stringify({ port: 7005, host: '127.0.0.1', 'max-peers': 12, peers: ['127.0.0.1:7001', '127.0.0.1:7002'], json: true, 'log-format': 'json', metrics: '9464' }));
  const f = run(['--config', p]);
  assert.equal([f.port, f.host, f.maxPeers, f.peers, f.json, f.logFormat, f.metrics], [7005, '127.0.0.1', 12, ['127.0.0.1:7001', '127.0.0.1:7002'], true, 'json', { host: '127.0.0.1', port: 9464 }]);
});

test('flags on the command line override the file, key by key', () => {
  const p = file(JSON.stringify({ port: 7005, 'max-peers': 12, peers: '127.0.0.1:7001' }));
  const f = run(['--config', p, '--port', '7006', '--peers', '127.0.0.1:7009']);
  assert.equal([f.port, f.maxPeers, f.peers], [7006, 12, ['127.0.0.1:7009']]);
});

test('every mistake in the file is one error naming the file and the key', () => {
  const cases: [string, string][] = [
    [JSON.stringify({ prot: 7001 }), "unknown key 'prot' (keys are the long flag names, as in --help)"],
    [JSON.stringify({ config: 'other.json' }), "unknown key 'config' (keys are the long flag names, as in --help)"],
    [JSON.stringify({ help: true }), "unknown key 'help' (keys are the long flag names, as in --help)"],
    [JSON.stringify({ json: 'yes' }), "key 'json' must be true or false, got \"yes\""],
    [JSON.stringify({ port: { n: 1 } }), "key 'port' must be a string or a number, got {\"n\":1}"],
    [JSON.stringify({ peers: [1.5, null] }), "key 'peers' must be a string or a number, got null"],
    [JSON.stringify([1, 2]), 'must hold one JSON object of flag names and values'],
    ['{ "port": 7001, }', 'is not valid JSON'],
  ];
  for (const [text, message] of cases) {
    const p = file(text);
    try {
      parseCommandLine(['--config', p]);
      assert.unreachable(`accepted ${text}`);
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
      assert.ok((e as Error).message.startsWith(`config file ${p}: ${message}`), `${(e as Error).message} / ${message}`);
    }
  }
  refused(['--config', file(JSON.stringify({ port: 70000 }))], "--port must be an integer in 0..65535, got '70000'");
  refused(['--config', join(dir, 'missing.json')], `config file ${join(dir, 'missing.json')}: cannot be read (ENOENT)`);
});

test(`a file of exactly configFileBytesMax (${configFileBytesMax}) bytes is read; one byte more is refused`, () => {
  const body = JSON.stringify({ port: 7001 });
  const at = file(body + ' '.repeat(configFileBytesMax - body.length));
  assert.is(run(['--config', at]).port, 7001);
  const over = file(body + ' '.repeat(configFileBytesMax - body.length + 1));
  refused(['--config', over], `config file ${over}: is larger than ${configFileBytesMax} bytes`);
});

test('the CLI reports an unknown key as one line, like an unknown flag', async () => {
  const p = file(JSON.stringify({ 'max-peer': 3 }));
  const r = await runCli(['--config', p]);
  assert.is(r.code, 2);
  assert.is(r.stderr, `strongcast: ERR_INVALID_OPTION: config file ${p}: unknown key 'max-peer' (keys are the long flag names, as in --help)\n`);
});

test.run();
