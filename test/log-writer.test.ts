/**
 * The bounded writer of the CLI's logs (standard error) on a fake sink: its bound at the edge, in UTF-8
 * bytes; a gap reported by one `warn` line `log lines dropped` in the log's own format, text or JSON; a
 * fatal line written past the bound; its default and the messages of its options.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { logDroppedMessage, logDropReport, logWriter, logWriterDefaults } from '../src/cli/log-writer.ts';
import { HandClock, HeldSink } from './helpers/writer-fakes.ts';

const at = new Date('2026-01-02T03:04:05.678Z');
/** A log line of exactly `bytes` bytes, newline included. */
const line = (bytes: number) => 'l'.repeat(bytes - 1) + '\n';

test('the bound at its edge: log lines up to exactly logBytesMax held are written, one byte more is dropped', () => {
  const sink = new HeldSink();
  const w = logWriter({ sink, logBytesMax: 2048, now: () => at });
  assert.ok(w.write(line(2000)));
  assert.ok(w.write(line(48)), 'brings the held bytes to exactly 2048');
  assert.is(w.heldBytes, 2048);
  assert.not.ok(w.write(line(1)), 'one byte past the bound is dropped');
  assert.is(sink.written.length, 2);
  assert.equal(w.counters, { droppedEvents: 1, droppedBytes: 1 });
});

test('the bound counts UTF-8 bytes of the lines, not characters', () => {
  const sink = new HeldSink();
  const w = logWriter({ sink, logBytesMax: 1024 });
  assert.ok(w.write('€'.repeat(341) + '\n'), '1024 bytes in 342 characters');
  assert.not.ok(w.write('.'));
});

test('a gap in JSON logs is reported by one JSON warn line, where the lines are missing, once the reader took half', () => {
  const sink = new HeldSink();
  // A clock that stands still: the gap's sinceMs is 0 however slowly the test runs.
  const w = logWriter({ sink, logBytesMax: 1024, format: 'json', now: () => at, clock: new HandClock() });
  w.write(line(1000));
  for (let i = 0; i < 3; i++) assert.not.ok(w.write(line(100)));
  sink.take(); // the reader took it all: the writer resumes with the report
  assert.is(sink.written.length, 2);
  assert.equal(JSON.parse(sink.written[1]!), { time: at.toISOString(), level: 'warn', message: logDroppedMessage, count: 3, bytes: 300, sinceMs: 0 });
  assert.ok(w.write(line(10)), 'lines flow again');
});

test('a gap in text logs is reported by one text warn line in the format of the others', () => {
  const report = logDropReport('text', () => at)({ count: 7, bytes: 1400, sinceMs: 250 });
  assert.is(report, '2026-01-02T03:04:05.678Z warn  log lines dropped count=7 bytes=1400 sinceMs=250\n');
});

test('a fatal line is written past the bound, after the report of the gap it ends', () => {
  const sink = new HeldSink();
  const w = logWriter({ sink, logBytesMax: 1024, format: 'json', now: () => at });
  w.write(line(1024));
  assert.not.ok(w.write(line(10)));
  w.writeLast('strongcast: internal error: boom\n');
  assert.is(sink.written.length, 3);
  assert.is(JSON.parse(sink.written[1]!).message, logDroppedMessage);
  assert.is(sink.written[2], 'strongcast: internal error: boom\n');
});

test('logBytesMax: 1 MiB by default; below 1024 or not an integer is refused with a message naming it', () => {
  assert.is(logWriterDefaults.logBytesMax, 1024 * 1024);
  assert.is(logWriter({ sink: new HeldSink() }).outputBytesMax, 1_048_576);
  assert.is(logWriter({ sink: new HeldSink(), logBytesMax: 1024 }).outputBytesMax, 1024, '1024 is allowed');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ logBytesMax: 1023 }, /options\.logBytesMax must be at least 1024/],
    [{ logBytesMax: 0 }, /options\.logBytesMax must be a positive integer/],
    [{ logBytesMax: 1.5 }, /options\.logBytesMax must be a positive integer/],
    [{ logBytesMax: '4096' }, /options\.logBytesMax must be a positive integer/],
  ];
  for (const [o, message] of cases) assert.throws(() => logWriter({ sink: new HeldSink(), ...o }), message, JSON.stringify(o));
});

test.run();
