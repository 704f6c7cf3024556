/**
 * A script reading a node's --json output slowly, as real processes over a pipe on loopback: the node keeps
 * serving and holds no more than its bound for the reader, drops the rest in gaps that one `output-dropped`
 * event reports where they are (and only when the bound was passed), and on SIGTERM or `exit` writes what
 * it holds, then `stopped`, before it exits; a reader that never reads again holds the exit for the flush
 * timeout only.
 *
 * The reader stops by pausing our end of the pipe. How far the node has got with its input is learned from a
 * `connect` to a server of ours sent after the commands: commands run in order, so once the node dials it,
 * it has answered every command before.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliProcess } from './helpers/proc.ts';
import { dialMarker, exitWithin, feed, healthWhile, outputQuiet, within } from './helpers/slow-reader.ts';
import { eventWriterDefaults } from '../src/cli/event-writer.ts';

/**
 * Bytes that can sit between the node and our reader outside the node: the kernel's socket buffer (about 200
 * KiB on Linux) and what our paused stream had read ahead. Held bytes are judged with this much allowed.
 */
const outsideBytesMax = 1024 * 1024;

/** The raw lines the node wrote after `from` (an offset into its stdout). */
function linesAfter(p: CliProcess, from: number): string[] {
  return p.stdout.slice(from).split('\n').filter((l) => l.length > 0);
}

/** The numbered commands `n0`, `n1` ... that the node answers with one `error` event each. */
const numbered = (count: number) => Array.from({ length: count }, (_, i) => `n${i}`);
/** The number of the command an `error` event answers, or null. */
const numberOf = (e: Record<string, unknown>) => (e.event === 'error' && typeof e.message === 'string' ? Number(/'n(\d+)'/.exec(e.message)?.[1] ?? NaN) : NaN);

/**
 * Checks the events of `count` numbered commands then the answer to the dial marker (number `count`), as a
 * reader got them: in order; each run of missing ones replaced by exactly one `output-dropped` event, right
 * where they are missing, whose count is the run's length; and `stopped` last. Returns the events missing.
 */
function checkGaps(events: Record<string, unknown>[], count: number, stopReason: string): number {
  let expected = 0;
  let reported: number | null = null;
  let missing = 0;
  const takeKey = (k: number, at: number) => {
    assert.ok(k >= expected, `event ${k} after ${expected - 1}: out of order (item ${at})`);
    const gap = k - expected;
    assert.is(reported ?? 0, gap, `events ${expected}..${k - 1} missing: reported as ${reported} (item ${at})`);
    missing += gap;
    reported = null;
    expected = k + 1;
  };
  for (const [at, e] of events.entries()) {
    if (e.event === 'output-dropped') {
      assert.is(reported, null, `two reports in a row (item ${at})`);
      assert.ok(Number(e.count) > 0 && Number(e.bytes) > 0 && Number(e.sinceMs) >= 0, JSON.stringify(e));
      reported = Number(e.count);
    } else if (e.event === 'stopped') {
      assert.is(at, events.length - 1, '`stopped` is the last line');
      assert.is(e.reason, stopReason);
      takeKey(count + 1, at);
      return missing;
    } else if (Number.isInteger(numberOf(e))) takeKey(numberOf(e), at);
    else if (e.event === 'error' || e.event === 'connected') takeKey(count, at); // the marker's dial
  }
  assert.unreachable('no `stopped` line');
  return missing;
}

/** Starts a --json node on loopback. */
function jsonNode(extra: string[] = []): CliProcess {
  return new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--log-level', 'warn', ...extra]);
}

test('a --json node whose reader stops keeps answering /health, and holds at most its 4 MiB bound of events for the reader', async () => {
  const p = jsonNode(['--metrics', '127.0.0.1:0']);
  const marker = await dialMarker();
  try {
    const url = String((await p.waitEvent((e) => e.event === 'metrics', 'metrics')).url);
    p.child.stdout!.pause();
    const from = p.stdout.length;
    const before = p.events.length;
    const count = 30_000; // ~800 bytes each: ~24 MB of `stats`, six times the bound
    const fed = feed(p, Array(count).fill('stats')).then(() => p.command(`connect 127.0.0.1:${marker.port}`));
    const reached = within('the node answering every stats', fed.then(() => marker.dialed), 60_000);
    const slowest = await healthWhile(url, reached, 3000);
    await reached;
    p.child.stdout!.resume();
    await outputQuiet(p, 500, 30_000); // all the node held has come
    const statsLines = linesAfter(p, from).filter((l) => l.startsWith('{"event":"stats"'));
    const heldBytes = statsLines.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
    assert.ok(
      heldBytes <= eventWriterDefaults.outputBytesMax + outsideBytesMax,
      `the reader got ${statsLines.length} of ${count} stats answers, ${heldBytes} bytes, written while it read nothing: more than the bound (${eventWriterDefaults.outputBytesMax}) and what the pipe holds`,
    );
    assert.ok(slowest < 3000, `slowest /health ${slowest} ms`);
    p.command('quit');
    assert.is(await exitWithin(p, 20_000), 0, p.stderr);
    const after = p.events.slice(before);
    const dropped = after.filter((e) => e.event === 'output-dropped').reduce((sum, e) => sum + Number(e.count), 0);
    const read = after.filter((e) => e.event !== 'output-dropped' && e.event !== 'stopped').length;
    assert.is(dropped, count + 1 - read, 'every answer (the stats, the dial) is either read or counted as dropped');
    assert.is(after[after.length - 1]?.event, 'stopped');
  } finally {
    marker.close();
    await p.stop();
  }
});

test('after the reader resumes, events come in order, each gap marked where it is by one output-dropped with its count', async () => {
  const p = jsonNode(['--output-bytes-max', '65536']);
  const marker = await dialMarker();
  try {
    await p.waitEvent((e) => e.event === 'listening', 'listening');
    p.child.stdout!.pause();
    const before = p.events.length;
    const count = 20_000; // ~90 bytes each: 1.8 MB, far past 64 KiB and what the pipe holds
    await feed(p, [...numbered(count), `connect 127.0.0.1:${marker.port}`], 2000);
    await within('the node answering every command', marker.dialed, 60_000);
    p.child.stdout!.resume();
    p.command('quit');
    assert.is(await exitWithin(p, 20_000), 0, p.stderr);
    const missing = checkGaps(p.events.slice(before), count, 'quit');
    assert.ok(missing > 0, 'the bound was passed, so events were dropped and reported');
  } finally {
    marker.close();
    await p.stop();
  }
});

test('a reader that pauses while less than the bound is written gets every event and no output-dropped', async () => {
  const p = jsonNode(['--output-bytes-max', '65536']);
  const marker = await dialMarker();
  try {
    await p.waitEvent((e) => e.event === 'listening', 'listening');
    p.child.stdout!.pause();
    const before = p.events.length;
    const count = 200; // ~18 KB: under the bound even with nothing in the pipe
    await feed(p, [...numbered(count), `connect 127.0.0.1:${marker.port}`]);
    await within('the node answering every command', marker.dialed, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    p.child.stdout!.resume();
    p.command('quit');
    assert.is(await exitWithin(p, 20_000), 0, p.stderr);
    assert.is(checkGaps(p.events.slice(before), count, 'quit'), 0);
    assert.not.ok(p.events.some((e) => e.event === 'output-dropped'));
  } finally {
    marker.close();
    await p.stop();
  }
});

/** Sends `count` numbered commands and the marker to a paused reader's node, and waits until it answered them. */
async function backlog(p: CliProcess, count: number): Promise<number> {
  const marker = await dialMarker();
  try {
    await p.waitEvent((e) => e.event === 'listening', 'listening');
    p.child.stdout!.pause();
    const before = p.events.length;
    await feed(p, [...numbered(count), `connect 127.0.0.1:${marker.port}`], 2000);
    await within('the node answering every command', marker.dialed, 60_000);
    return before;
  } finally {
    marker.close();
  }
}

test('SIGTERM with a backlog: the node writes all it holds, then `stopped`, before it exits', async () => {
  const p = jsonNode();
  try {
    const count = 20_000; // ~1.8 MB held: under the 4 MiB bound, far more than the pipe takes
    const before = await backlog(p, count);
    p.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the node has stopped and waits for the reader
    p.child.stdout!.resume();
    assert.is(await exitWithin(p, 20_000), 0, p.stderr);
    assert.is(checkGaps(p.events.slice(before), count, 'SIGTERM'), 0, 'nothing dropped, nothing lost');
  } finally {
    await p.stop();
  }
});

test('the console `exit` with a backlog: the backlog and `stopped` reach the reader', async () => {
  const p = jsonNode();
  try {
    const count = 20_000;
    const before = await backlog(p, count);
    p.command('exit');
    await new Promise((resolve) => setTimeout(resolve, 500));
    p.child.stdout!.resume();
    assert.is(await exitWithin(p, 20_000), 0, p.stderr);
    assert.is(checkGaps(p.events.slice(before), count, 'quit'), 0);
  } finally {
    await p.stop();
  }
});

test('a reader that never reads again holds the exit for the flush timeout (2 s) only', async () => {
  const p = jsonNode();
  try {
    await backlog(p, 20_000);
    const signalled = Date.now();
    p.child.kill('SIGTERM');
    const code = await exitWithin(p, eventWriterDefaults.flushMsMax + 8000);
    const tookMs = Date.now() - signalled;
    assert.is(code, 0, p.stderr);
    assert.ok(tookMs >= eventWriterDefaults.flushMsMax - 100, `it waited for the reader first (${tookMs} ms)`);
    assert.match(p.stderr, /standard output not all written before exit/);
  } finally {
    p.child.stdout!.resume();
    await p.stop();
  }
});

test.run();
