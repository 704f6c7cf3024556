/**
 * The sinks of standard output: a file is written with fs.write in the thread pool, one write at a time, the
 * lines queued meanwhile joined into the next, a short write continued, an error passed to every line it
 * cost; and a process whose standard output is a file gets every line, in order, through stdoutSink.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { FdSink, type FdWrite } from '../src/cli/stdout-sink.ts';
import { root } from './helpers/proc.ts';
import { spawn } from 'node:child_process';

/** An fs.write that answers only when told, taking at most `chunk` bytes per call. */
function handWrite(chunk = Infinity) {
  const calls: { text: string; answer: (error?: Error) => void }[] = [];
  const write: FdWrite = (_fd, buffer, offset, length, _position, done) => {
    const n = Math.min(length, chunk);
    calls.push({ text: buffer.subarray(offset, offset + n).toString(), answer: (error) => (error ? done(error, 0) : done(null, n)) });
  };
  return { write, calls };
}

test('FdSink: one write at a time; what is queued meanwhile goes in the next, joined, in order', () => {
  const { write, calls } = handWrite();
  const sink = new FdSink(1, write);
  const done: string[] = [];
  sink.write('a\n', () => done.push('a'));
  sink.write('b\n', () => done.push('b'));
  sink.write('c\n', () => done.push('c'));
  assert.equal(calls.map((c) => c.text), ['a\n'], 'b and c wait for a');
  calls[0]!.answer();
  assert.equal(done, ['a']);
  assert.equal(calls.map((c) => c.text), ['a\n', 'b\nc\n'], 'one system call for both');
  calls[1]!.answer();
  assert.equal(done, ['a', 'b', 'c']);
});

test('FdSink: a short write is continued where it stopped; an error reaches every line of the write', () => {
  const { write, calls } = handWrite(3);
  const sink = new FdSink(1, write);
  const errors: (Error | null | undefined)[] = [];
  sink.write('hello\n', (e) => errors.push(e));
  calls[0]!.answer();
  calls[1]!.answer();
  assert.equal(calls.map((c) => c.text), ['hel', 'lo\n']);
  assert.equal(errors, [null]);
  sink.write('x\n', (e) => errors.push(e));
  sink.write('y\n', (e) => errors.push(e));
  sink.write('z\n', (e) => errors.push(e));
  calls[2]!.answer(new Error('ENOSPC'));
  calls[3]!.answer(new Error('ENOSPC'));
  assert.is(errors.length, 4);
  assert.ok(errors.slice(1).every((e) => e?.message === 'ENOSPC'));
});

test('FdSink on a real file: every line, in order, at the end of what the file held', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-sink-'));
  try {
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    const sink = new FdSink(fd);
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${'é'.repeat(i % 7)}\n`);
    await Promise.all(lines.map((l) => new Promise<void>((resolve, reject) => sink.write(l, (e) => (e ? reject(e) : resolve())))));
    closeSync(fd);
    assert.is(readFileSync(path, 'utf8'), lines.join(''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process whose standard output is a file: stdoutSink writes it with fs.write, and a flush before exit leaves every line in it, in order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-sink-'));
  try {
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    const script = `
      import { EventWriter } from './src/cli/event-writer.ts';
      import { FdSink, stdoutSink } from './src/cli/stdout-sink.ts';
      const sink = stdoutSink();
      if (!(sink instanceof FdSink)) process.exit(3);
      const w = new EventWriter({ sink, dropReport: () => 'DROPPED\\n' });
      for (let i = 0; i < 2000; i++) w.write('event ' + i + '\\n');
      // process.exit would throw away what a stream has not written: flush first, as the CLI's exits do.
      process.exit((await w.flush()) ? 0 : 4);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', fd, 'pipe'], timeout: 20_000 });
    closeSync(fd);
    assert.is(r.status, 0, `status 3: not written with fs.write; ${r.stderr?.toString()}`);
    const expected = Array.from({ length: 2000 }, (_, i) => `event ${i}\n`).join('');
    assert.is(readFileSync(path, 'utf8'), expected);
    assert.is(Buffer.byteLength(expected), readFileSync(path).length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stream sink hands a pipe bytes, not strings: large lines queued for a reader that reads late take about their own size when written, not three times it', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/helpers/sink-flush-child.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // The reader is late: nothing is read for a while, so the lines wait in the child's stream.
  child.stdout.pause();
  await new Promise((r) => setTimeout(r, 1500));
  let read = 0;
  child.stdout.on('data', (d: Buffer) => (read += d.byteLength));
  child.stdout.resume();
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.is(code, 0, err);
  const { textBytes, peakArrayBufferBytes } = JSON.parse(err.trim().split('\n').at(-1)!) as { textBytes: number; peakArrayBufferBytes: number };
  assert.is(read, textBytes, 'every byte arrived');
  // Strings queued in the stream were written with room for 3 bytes a character: 2.6 times the text here.
  assert.ok(peakArrayBufferBytes <= 1.3 * textBytes, `peak ${(peakArrayBufferBytes / 2 ** 20).toFixed(1)} MB of buffers for ${(textBytes / 2 ** 20).toFixed(1)} MB of text`);
});

test.run();
