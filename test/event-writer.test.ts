/**
 * The bounded writer of the CLI's standard output on a fake sink and a hand-driven clock: the bound at its
 * edge, in UTF-8 bytes; gaps dropped whole and reported where they are, once the reader has taken half;
 * flush at exit, its report of an open gap and its timeout; a failed sink; the options' messages.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventWriter, eventWriterDefaults, type EventWriterOptions, type OutputLoss, type OutputSink } from '../src/cli/event-writer.ts';
import { dropReportLine } from '../src/cli/output.ts';
import { HandClock, HeldSink } from './helpers/writer-fakes.ts';

const reports: OutputLoss[] = [];
const report = (l: OutputLoss) => (reports.push(l), `DROPPED ${l.count} ${l.bytes} ${l.sinceMs}\n`);

function writer(options: Partial<EventWriterOptions> = {}): { w: EventWriter; sink: HeldSink; clock: HandClock } {
  const sink = new HeldSink();
  const clock = new HandClock();
  reports.length = 0;
  return { w: new EventWriter({ sink, clock, dropReport: report, outputBytesMax: 1024, ...options }), sink, clock };
}

/** A line of exactly `bytes` bytes, newline included. */
const line = (bytes: number, c = 'x') => c.repeat(bytes - 1) + '\n';

/** The state of a promise after the microtasks queued so far have run. */
async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  void p.then((value) => (state = { done: true, value }));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return state;
}

test('the bound at its edge: events up to exactly outputBytesMax held are written, one byte more is dropped', () => {
  const { w, sink } = writer();
  assert.ok(w.write(line(1000)));
  assert.ok(w.write(line(24)), 'brings the held bytes to exactly 1024');
  assert.is(w.heldBytes, 1024);
  assert.not.ok(w.write(line(1)), 'one byte past the bound is dropped');
  assert.is(sink.written.length, 2);
  assert.equal(w.counters, { droppedEvents: 1, droppedBytes: 1 });
  assert.is(w.heldBytes, 1024, 'a dropped event holds nothing');
});

test('the bound counts UTF-8 bytes, not characters', () => {
  const { w } = writer();
  const euros = '€'.repeat(341) + '\n'; // 3 bytes each: 1024 bytes in 342 characters
  assert.ok(w.write(euros));
  assert.is(w.heldBytes, 1024);
  assert.not.ok(w.write('.'));
});

test('a reader that keeps up: nothing is dropped and nothing is reported, however much goes through', () => {
  const { w, sink } = writer();
  for (let i = 0; i < 100; i++) {
    assert.ok(w.write(line(1024)), `event ${i}`);
    sink.take();
  }
  assert.is(sink.written.length, 100);
  assert.equal(reports, []);
  assert.equal(w.counters, { droppedEvents: 0, droppedBytes: 0 });
});

test('a gap: once one event does not fit, all are dropped until the reader has taken half, then one report and events flow again', () => {
  const { w, sink, clock } = writer();
  for (let i = 0; i < 4; i++) assert.ok(w.write(line(256, String(i))));
  assert.not.ok(w.write(line(100)), 'the buffer is full');
  clock.advance(250);
  sink.take(); // 768 held: more than half
  assert.not.ok(w.write(line(10)), 'room for it now, but the gap goes on until half is free');
  assert.ok(w.dropping);
  assert.equal(reports, []);
  clock.advance(50);
  sink.take(); // 512 held: half, the reader has caught up
  assert.equal(reports, [{ count: 2, bytes: 110, sinceMs: 300 }], 'the report comes as the reader catches up, without waiting for another event');
  assert.not.ok(w.dropping);
  assert.ok(w.write(line(200, 'n')), 'events are written again');
  assert.equal(
    sink.written.map((s) => s[0]),
    ['0', '1', '2', '3', 'D', 'n'],
    'the report sits where the events are missing',
  );
  assert.equal(w.counters, { droppedEvents: 2, droppedBytes: 110 });
});

test('an event larger than the whole bound is dropped and reported at once when little is held', () => {
  const { w, sink } = writer();
  assert.ok(w.write(line(100)));
  assert.not.ok(w.write(line(1025)));
  assert.equal(reports, [{ count: 1, bytes: 1025, sinceMs: 0 }]);
  assert.ok(w.write(line(10)));
  assert.equal(sink.written.map((s) => s.length), [100, 'DROPPED 1 1025 0\n'.length, 10]);
});

test('flush resolves true once the sink has taken everything, and at once when nothing is held', async () => {
  const { w, sink } = writer();
  assert.equal(await settled(w.flush()), { done: true, value: true });
  w.write(line(300));
  w.write(line(300));
  const f = w.flush();
  sink.take();
  assert.is((await settled(f)).done, false, 'one write still held');
  sink.take();
  assert.equal(await settled(f), { done: true, value: true });
});

test('flush reports a gap still open, even with the buffer full, so the reader learns of it before the end', async () => {
  const { w, sink } = writer();
  w.write(line(1024));
  w.write(line(5));
  const f = w.flush();
  assert.equal(reports, [{ count: 1, bytes: 5, sinceMs: 0 }]);
  assert.is(w.heldBytes, 1024 + 'DROPPED 1 5 0\n'.length, 'the one report line past the bound');
  sink.take(2);
  assert.equal(await settled(f), { done: true, value: true });
  assert.is(sink.written[1], 'DROPPED 1 5 0\n');
});

test('writeLast: the line that ends the output is written even into a full buffer, after the report of the open gap', async () => {
  const { w, sink } = writer();
  w.write(line(1024, 'a'));
  assert.not.ok(w.write(line(10)), 'dropped: full');
  w.writeLast('LAST\n');
  assert.equal(sink.written, [line(1024, 'a'), 'DROPPED 1 10 0\n', 'LAST\n']);
  assert.is(w.heldBytes, 1024 + 'DROPPED 1 10 0\n'.length + 5);
  sink.take(3);
  assert.equal(await settled(w.flush()), { done: true, value: true });
});

test('flush gives up after flushMsMax when the reader never reads (and not a millisecond before)', async () => {
  const { w, clock } = writer({ flushMsMax: 2000 });
  w.write(line(10));
  const f = w.flush();
  clock.advance(1999);
  assert.is((await settled(f)).done, false);
  clock.advance(1);
  assert.equal(await settled(f), { done: true, value: false });
});

test('a failed write (the reader gone): later events are dropped unreported, and flush says not everything was written', async () => {
  const { w, sink } = writer();
  w.write(line(10));
  w.write(line(10));
  sink.take(2, new Error('EPIPE'));
  assert.not.ok(w.write(line(10)));
  assert.equal(await settled(w.flush()), { done: true, value: false });
  assert.equal(reports, [], 'no report to a reader that is gone');
  assert.is(sink.waiting, 0);
});

test('the defaults: 4 MiB held, 2 s of flushing', () => {
  assert.equal(eventWriterDefaults, { outputBytesMax: 4 * 1024 * 1024, flushMsMax: 2000 });
  const w = new EventWriter({ sink: new HeldSink(), dropReport: report });
  assert.is(w.outputBytesMax, 4_194_304);
  assert.is(w.flushMsMax, 2000);
});

test('options are checked once, with messages that name the field', () => {
  const sink = new HeldSink();
  const cases: [Partial<EventWriterOptions>, RegExp][] = [
    [{ outputBytesMax: 1023 }, /options\.outputBytesMax must be at least 1024/],
    [{ outputBytesMax: 0 }, /options\.outputBytesMax must be a positive integer/],
    [{ outputBytesMax: 1.5e3 + 0.5 }, /options\.outputBytesMax must be a positive integer/],
    [{ flushMsMax: 0 }, /options\.flushMsMax must be a positive integer/],
    [{ sink: {} as OutputSink }, /options\.sink must have a write function/],
    [{ dropReport: 'x' as unknown as EventWriterOptions['dropReport'] }, /options\.dropReport must be a function/],
  ];
  for (const [o, message] of cases) assert.throws(() => new EventWriter({ sink, dropReport: report, ...o }), message, JSON.stringify(o));
  assert.ok(new EventWriter({ sink, dropReport: report, outputBytesMax: 1024 }), '1024 is allowed');
});

test('the report line: an output-dropped event with --json, a sentence otherwise', () => {
  const loss = { count: 3, bytes: 1200, sinceMs: 40 };
  const before = Date.now();
  const line = dropReportLine(true)(loss);
  assert.ok(line.endsWith('\n'));
  const { ts, ...rest } = JSON.parse(line) as { ts: number };
  assert.equal(rest, { event: 'output-dropped', count: 3, bytes: 1200, sinceMs: 40 });
  assert.ok(ts >= before && ts <= Date.now(), 'stamped with the time it was written');
  assert.is(dropReportLine(false)(loss), 'output dropped: 3 events (1200 bytes) in 40 ms, standard output was not read fast enough\n');
});

test.run();
