/** The line logger: levels (error included), the JSON and text line formats, and the fallback for older loggers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLine, lineLogger, logError, textLine, type Logger } from '../src/log.ts';

const at = new Date('2026-01-02T03:04:05.678Z');

test('a JSON line is one object: time, level, message, then the fields; undefined fields left out, reserved names kept apart', () => {
  const line = jsonLine(at, 'warn', 'peer offence', { id: 'ab12', score: 40, banned: false, gone: undefined, message: 'theirs', level: null });
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line');
  assert.equal(JSON.parse(line), { time: '2026-01-02T03:04:05.678Z', level: 'warn', message: 'peer offence', id: 'ab12', score: 40, banned: false, field_message: 'theirs', field_level: null });
});

test('a text line: time, level padded, message, key=value with spaces quoted', () => {
  assert.is(textLine(at, 'info', 'peer connected', { addr: '127.0.0.1:7001', reason: 'two words', n: 3 }), '2026-01-02T03:04:05.678Z info  peer connected addr=127.0.0.1:7001 reason="two words" n=3\n');
});

test('each level writes itself and what is above it; error exists; silent writes nothing', () => {
  const levels = ['debug', 'info', 'warn', 'error'] as const;
  const expected: Record<string, string[]> = { debug: ['debug', 'info', 'warn', 'error'], info: ['info', 'warn', 'error'], warn: ['warn', 'error'], error: ['error'], silent: [] };
  for (const level of [...levels, 'silent'] as const) {
    const lines: string[] = [];
    const log = lineLogger({ level, format: 'json', write: (s) => lines.push(s), now: () => at });
    for (const l of levels) log[l]!(`at ${l}`);
    assert.equal(lines.map((s) => (JSON.parse(s) as { level: string }).level), expected[level], `level ${level}`);
  }
});

test('logError uses a logger\'s error method, or warn on a logger written before error existed', () => {
  const calls: string[] = [];
  const old: Logger = { debug() {}, info() {}, warn: (m) => calls.push(`warn ${m}`) };
  logError(old, 'disk failed');
  logError({ ...old, error: (m) => calls.push(`error ${m}`) }, 'disk failed');
  assert.equal(calls, ['warn disk failed', 'error disk failed']);
});

test.run();
