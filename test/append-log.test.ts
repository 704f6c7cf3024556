/** The append-only log: round trips, the recovery rule byte by byte, and every limit at its edge. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStrongcastError } from '../src/errors.ts';
import { AppendLog, LOG_HEADER_BYTES, RECORD_HEADER_BYTES, type AppendLogOptions } from '../src/store/append-log.ts';

let dir = '';
let n = 0;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongcast-log-'));
});

test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function freshPath(): string {
  return join(dir, `log-${n++}.log`);
}

function hex(records: Uint8Array[]): string[] {
  return records.map((r) => Buffer.from(r).toString('hex'));
}

/** Writes `bodies` to a new log and returns its path and each record's start offset. */
async function logWith(bodies: Uint8Array[], options?: AppendLogOptions): Promise<{ path: string; starts: number[] }> {
  const path = freshPath();
  const { log } = await AppendLog.open(path, options);
  const starts: number[] = [];
  for (const b of bodies) {
    starts.push(log.sizeBytes);
    await log.append(b);
  }
  await log.close();
  return { path, starts };
}

async function expectStoreError(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_STORE'), `expected ERR_STORE, got ${String(e)}`);
    for (const part of parts) assert.ok((e as Error).message.includes(part), `message '${(e as Error).message}' lacks '${part}'`);
    return;
  }
  assert.unreachable('expected ERR_STORE');
}

const bodies = [randomBytes(5), randomBytes(300), randomBytes(41)].map((b) => new Uint8Array(b));

test('records round-trip, and concurrent appends are all durable in order', async () => {
  const path = freshPath();
  const opened = await AppendLog.open(path);
  assert.equal(opened.records, []);
  assert.equal(opened.recovery, { tornTailBytes: 0, offset: null, reason: null });
  const many = Array.from({ length: 50 }, (_, i) => new Uint8Array([i, i + 1, i + 2]));
  await Promise.all([...bodies, ...many].map((b) => opened.log.append(b)));
  await opened.log.close();
  const again = await AppendLog.open(path);
  assert.equal(hex(again.records), hex([...bodies, ...many]));
  assert.is(again.recovery.tornTailBytes, 0);
  await again.log.close();
});

test('a reopened log appends after its existing records', async () => {
  const { path } = await logWith(bodies.slice(0, 2));
  const a = await AppendLog.open(path);
  await a.log.append(bodies[2]!);
  await a.log.close();
  const b = await AppendLog.open(path);
  assert.equal(hex(b.records), hex(bodies));
  await b.log.close();
});

test('the body is copied at append, so the caller may reuse its buffer', async () => {
  const path = freshPath();
  const { log } = await AppendLog.open(path);
  const buf = new Uint8Array([1, 2, 3]);
  const done = log.append(buf);
  buf.fill(9);
  await done;
  await log.close();
  const again = await AppendLog.open(path);
  assert.equal(hex(again.records), ['010203']);
  await again.log.close();
});

test('a tail torn at every byte of the last record is reported, cut, not loaded, and appends continue', async () => {
  const { path, starts } = await logWith(bodies);
  const whole = await readFile(path);
  const last = starts[2]!;
  for (let cut = last; cut < whole.byteLength; cut++) {
    const p = freshPath();
    await writeFile(p, whole.subarray(0, cut));
    const { log, records, recovery } = await AppendLog.open(p);
    assert.equal(hex(records), hex(bodies.slice(0, 2)), `cut at ${cut}`);
    if (cut === last) {
      assert.is(recovery.tornTailBytes, 0, 'a cut at a record boundary is a clean end');
    } else {
      assert.is(recovery.tornTailBytes, cut - last, `cut at ${cut}`);
      assert.is(recovery.offset, last);
      assert.ok(recovery.reason?.includes(p) && recovery.reason.includes(`offset ${last}`), recovery.reason ?? '');
      const why = cut - last < RECORD_HEADER_BYTES ? 'incomplete record header' : 'incomplete record body';
      assert.ok(recovery.reason?.includes(why), recovery.reason ?? '');
    }
    assert.is((await stat(p)).size, last, 'the tail was cut from the file');
    await log.append(new Uint8Array([7]));
    await log.close();
    const again = await AppendLog.open(p);
    assert.equal(hex(again.records), [...hex(bodies.slice(0, 2)), '07']);
    assert.is(again.recovery.tornTailBytes, 0);
    await again.log.close();
  }
});

test('a CRC mismatch in the last record is a torn tail', async () => {
  const { path, starts } = await logWith(bodies);
  const bytes = await readFile(path);
  bytes[starts[2]! + RECORD_HEADER_BYTES + 3]! ^= 0x01;
  await writeFile(path, bytes);
  const { log, records, recovery } = await AppendLog.open(path);
  assert.equal(hex(records), hex(bodies.slice(0, 2)));
  assert.is(recovery.offset, starts[2]);
  assert.ok(recovery.reason?.includes('CRC-32 mismatch'), recovery.reason ?? '');
  await log.close();
});

test('a flipped byte in a middle record, with valid records after it, refuses the log and leaves the file alone', async () => {
  for (const at of [RECORD_HEADER_BYTES + 10, 1, 5]) {
    // body byte (CRC mismatch), length byte (length above limit), CRC byte
    const { path, starts } = await logWith(bodies);
    const bytes = await readFile(path);
    bytes[starts[1]! + at]! ^= 0x40;
    await writeFile(path, bytes);
    await expectStoreError(AppendLog.open(path), path, `offset ${starts[1]}`, `valid records follow from offset ${starts[2]}`);
    assert.ok((await readFile(path)).equals(bytes), 'nothing was cut');
  }
});

test('a bad stretch longer than batchBytesMax is refused, not cut', async () => {
  const options = { recordBytesMax: 16, batchBytesMax: 24 };
  const { path } = await logWith([new Uint8Array([1])], options);
  const bytes = await readFile(path);
  const garbage = Buffer.alloc(25, 0xff);
  await writeFile(path, Buffer.concat([bytes, garbage]));
  await expectStoreError(AppendLog.open(path, options), 'with 25 bytes after it', 'batchBytesMax 24');
  await writeFile(path, Buffer.concat([bytes, garbage.subarray(0, 24)]));
  const { log, recovery } = await AppendLog.open(path, options);
  assert.is(recovery.tornTailBytes, 24, 'exactly batchBytesMax bytes is still a tail');
  await log.close();
});

test('a file that is not a log is refused: wrong magic, wrong version, shorter than the header', async () => {
  const { path } = await logWith(bodies);
  const bytes = await readFile(path);
  const p = freshPath();
  await writeFile(p, Buffer.concat([Buffer.from('NOTLOG\0\0'), bytes.subarray(LOG_HEADER_BYTES)]));
  await expectStoreError(AppendLog.open(p), p, 'not a strongcast log');
  const v2 = Buffer.from(bytes);
  v2[5] = 2;
  await writeFile(p, v2);
  await expectStoreError(AppendLog.open(p), 'format version 2');
  await writeFile(p, 'SCLOX');
  await expectStoreError(AppendLog.open(p), 'shorter than a log header');
});

test('an empty file, or one holding only the start of a header, is adopted as a new log', async () => {
  const { path } = await logWith([]);
  const header = await readFile(path);
  for (let size = 0; size < LOG_HEADER_BYTES; size++) {
    const p = freshPath();
    await writeFile(p, header.subarray(0, size));
    const { log, records, recovery } = await AppendLog.open(p);
    assert.equal(records, []);
    assert.is(recovery.tornTailBytes, 0);
    await log.append(new Uint8Array([1]));
    await log.close();
    assert.is((await stat(p)).size, LOG_HEADER_BYTES + RECORD_HEADER_BYTES + 1, `from ${size} bytes`);
    const again = await AppendLog.open(p);
    assert.is(again.records.length, 1);
    await again.log.close();
  }
});

test('recordBytesMax: exactly max is accepted, max + 1 and empty are refused, and a tail length above max is torn', async () => {
  const options = { recordBytesMax: 100 };
  const path = freshPath();
  const { log } = await AppendLog.open(path, options);
  await log.append(new Uint8Array(100).fill(1));
  await expectStoreError(log.append(new Uint8Array(101)), 'a record of 101 bytes is above recordBytesMax 100');
  await expectStoreError(log.append(new Uint8Array(0)), 'empty records are refused');
  await log.close();
  const header = Buffer.alloc(RECORD_HEADER_BYTES + 20, 2);
  header.writeUInt32BE(101, 0);
  await writeFile(path, Buffer.concat([await readFile(path), header]));
  const again = await AppendLog.open(path, options);
  assert.is(again.records.length, 1);
  assert.is(again.records[0]!.byteLength, 100);
  assert.is(again.recovery.tornTailBytes, header.byteLength);
  assert.ok(again.recovery.reason?.includes('record length 101 above recordBytesMax 100'), again.recovery.reason ?? '');
  await again.log.close();
});

test('a zero-filled tail is torn, never read as empty records', async () => {
  const { path } = await logWith(bodies.slice(0, 1));
  await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(64)]));
  const { log, records, recovery } = await AppendLog.open(path);
  assert.is(records.length, 1);
  assert.is(recovery.tornTailBytes, 64);
  assert.ok(recovery.reason?.includes('record length 0'), recovery.reason ?? '');
  await log.close();
});

test('queuedBytesMax: appends up to exactly the limit wait together, one more byte is refused', async () => {
  const options = { recordBytesMax: 10, queuedBytesMax: 2 * (RECORD_HEADER_BYTES + 10) };
  const path = freshPath();
  const { log } = await AppendLog.open(path, options);
  const first = log.append(new Uint8Array(10).fill(1));
  const second = log.append(new Uint8Array(10).fill(2));
  await expectStoreError(log.append(new Uint8Array(1)), 'queuedBytesMax is 36');
  await Promise.all([first, second]);
  await log.append(new Uint8Array(10).fill(3));
  await log.close();
  const again = await AppendLog.open(path, options);
  assert.equal(again.records.map((r) => r[0]), [1, 2, 3]);
  await again.log.close();
});

test('close waits for queued appends, is safe twice, and later appends are refused', async () => {
  const path = freshPath();
  const { log } = await AppendLog.open(path);
  const pending = log.append(new Uint8Array([1]));
  await Promise.all([log.close(), log.close()]);
  await pending;
  await log.close();
  await expectStoreError(log.append(new Uint8Array([2])), 'the log is closed');
  const again = await AppendLog.open(path);
  assert.is(again.records.length, 1);
  await again.log.close();
});

test('an onRecord visitor sees each record with its index and offset; its exception refuses the log', async () => {
  const { path, starts } = await logWith(bodies);
  const seen: Array<[string, number, number]> = [];
  const opened = await AppendLog.open(path, undefined, (body, index, offset) => seen.push([Buffer.from(body).toString('hex'), index, offset]));
  assert.equal(opened.records, []);
  assert.equal(seen, bodies.map((b, i) => [Buffer.from(b).toString('hex'), i, starts[i]!]));
  await opened.log.close();
  try {
    await AppendLog.open(path, undefined, () => {
      throw new Error('no thanks');
    });
    assert.unreachable('accepted');
  } catch (e) {
    assert.is((e as Error).message, 'no thanks');
  }
});

test('options are validated with messages that name the field', async () => {
  const cases: Array<[unknown, string]> = [
    [5, 'options must be an object'],
    [{ recordBytesMax: 0 }, 'options.recordBytesMax must be a positive integer'],
    [{ recordBytesMax: 2 ** 30 + 1 }, 'options.recordBytesMax must be at most 1073741824'],
    [{ recordBytesMax: 10, batchBytesMax: 17 }, 'options.batchBytesMax must be at least recordBytesMax + 8 (18)'],
    [{ recordBytesMax: 10, queuedBytesMax: 17 }, 'options.queuedBytesMax must be at least recordBytesMax + 8 (18)'],
    [{ queuedBytesMax: 1.5 }, 'options.queuedBytesMax must be a positive integer'],
    [{ fs: { open: () => undefined } }, 'options.fs must be an object with open and rename functions'],
    [{ fs: null }, 'options.fs must be an object with open and rename functions'],
  ];
  for (const [options, message] of cases) {
    try {
      await AppendLog.open(freshPath(), options as AppendLogOptions);
      assert.unreachable(`accepted ${JSON.stringify(options)}`);
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
      assert.is((e as Error).message, message);
    }
  }
});

test.run();
