/**
 * The durability order of the append log, seen through a recording file system: an append's bytes are
 * written, then fdatasync'ed, and only then does its promise resolve; a new log is created durably (written
 * aside, fsynced, renamed, directory fsynced) before it takes appends. A crash test cannot see these: the
 * page cache survives `kill -9`, so a log that skipped its sync would pass it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendLog, LOG_HEADER_BYTES, RECORD_HEADER_BYTES } from '../src/store/append-log.ts';
import { durabilityOrderProblem, RecordingFs, type FsCall } from './helpers/recording-fs.ts';

let dir = '';
let n = 0;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongcast-order-'));
});

test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Event-loop turns to wait for something that needs only a few: enough for real fs calls on a busy machine. */
const turnsMax = 10_000;

/** Waits whole event-loop turns (real fs calls finish on other turns) until `cond`, at most turnsMax. */
async function turnsUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < turnsMax && !cond(); i++) await new Promise((r) => setImmediate(r));
}

/** The calls on the log file (and the test's marks) from index `from` on, without reads and stats. */
function logCalls(fs: RecordingFs, path: string, from: number): FsCall[] {
  return fs.calls.slice(from).filter((c) => (c.path === path || c.path === '') && c.op !== 'read' && c.op !== 'stat');
}

test('an append resolves only after its bytes were written and then fdatasync-ed, never while the sync is held', async () => {
  const fs = new RecordingFs();
  const path = join(dir, `log-${n++}.log`);
  const { log } = await AppendLog.open(path, { fs });
  const from = fs.calls.length;
  fs.holdDatasyncs();
  const body = new Uint8Array([1, 2, 3, 4, 5]);
  const end = LOG_HEADER_BYTES + RECORD_HEADER_BYTES + body.byteLength;
  let resolved = false;
  const appended = log.append(body).then(() => {
    resolved = true;
    fs.mark('resolved', { position: end });
  });
  await turnsUntil(() => fs.heldDatasyncs > 0 || resolved);
  assert.is(fs.heldDatasyncs, 1, 'the append reached its datasync');
  // the sync is held: however long we wait, the append must not resolve
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  assert.not.ok(resolved, 'the append resolved while its datasync had not finished');
  fs.release();
  await appended;
  assert.equal(logCalls(fs, path, from), [
    { op: 'write', path, position: LOG_HEADER_BYTES, bytes: RECORD_HEADER_BYTES + body.byteLength },
    { op: 'datasync', path },
    { op: 'resolved', path: '', position: end },
  ]);
  await log.close();
});

test('group commits: every append, queued alone or with others, resolves after a datasync that covers its bytes', async () => {
  const fs = new RecordingFs();
  const path = join(dir, `log-${n++}.log`);
  const { log } = await AppendLog.open(path, { fs });
  const from = fs.calls.length;
  fs.holdDatasyncs();
  let size = log.sizeBytes;
  const pending: Promise<void>[] = [];
  const append = (len: number): void => {
    size += RECORD_HEADER_BYTES + len;
    const end = size;
    pending.push(log.append(new Uint8Array(len).fill(len)).then(() => fs.mark('resolved', { position: end })));
  };
  // the first append is written at once, alone; the four queued while its sync is held form the next batch
  append(3);
  await turnsUntil(() => fs.heldDatasyncs > 0);
  for (const len of [10, 7, 1, 20]) append(len);
  fs.release();
  await Promise.all(pending);
  const calls = logCalls(fs, path, from);
  assert.is(durabilityOrderProblem(calls, path), null);
  assert.equal(
    calls.map((c) => c.op),
    ['write', 'datasync', 'resolved', 'write', 'datasync', 'resolved', 'resolved', 'resolved', 'resolved'],
    'two batches, each written and synced before its appends resolve',
  );
  assert.is(calls[3]!.bytes, 4 * RECORD_HEADER_BYTES + 10 + 7 + 1 + 20, 'the second batch is one write');
  await log.close();
});

test('the order check itself refuses an append that resolved before its datasync finished', () => {
  const path = '/x.log';
  const write: FsCall = { op: 'write', path, position: 8, bytes: 13 };
  const resolved: FsCall = { op: 'resolved', path: '', position: 21 };
  assert.is(durabilityOrderProblem([write, { op: 'datasync', path }, resolved], path), null);
  assert.ok(durabilityOrderProblem([write, resolved, { op: 'datasync', path }], path)?.includes('only 0 bytes synced'));
  assert.ok(durabilityOrderProblem([{ op: 'datasync', path }, write, resolved], path)?.includes('(21 written)'));
});

test('a new log is made durably before it takes appends: header written aside, fsynced, renamed, directory fsynced', async () => {
  const fs = new RecordingFs();
  const name = `log-${n++}.log`;
  const { log } = await AppendLog.open(join(dir, name), { fs });
  const made = fs.calls.filter((c) => c.op !== 'read' && c.op !== 'stat').map((c) => `${c.op} ${c.path.replaceAll(dir, 'DIR')}${c.flags ? ` ${c.flags}` : ''}`);
  assert.equal(made, [
    `open DIR/${name}.tmp w`,
    `write DIR/${name}.tmp`,
    `sync DIR/${name}.tmp`,
    `close DIR/${name}.tmp`,
    `rename DIR/${name}.tmp -> DIR/${name}`,
    'open DIR r',
    'sync DIR',
    'close DIR',
    `open DIR/${name} r+`,
  ]);
  await log.close();
});

test.run();
