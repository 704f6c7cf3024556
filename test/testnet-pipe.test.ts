/** The testnet view writes console commands to children that may already be dead: EPIPE must not crash it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { guardCommandPipe } from '../src/cli/testnet.ts';

/** A child alive but with its stdin closed: every write to it fails with EPIPE, as to a child just killed. */
function childWithoutStdin() {
  const child = spawn(process.execPath, ['-e', "require('fs').closeSync(0); process.stdout.write('closed\\n'); setTimeout(() => {}, 3000)"], { stdio: ['pipe', 'pipe', 'ignore'] });
  const ready = new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return { child, ready };
}

async function uncaughtDuring(write: () => void): Promise<Error[]> {
  const seen: Error[] = [];
  const record = (e: Error) => seen.push(e);
  process.on('uncaughtException', record);
  try {
    for (let i = 0; i < 5; i++) {
      write();
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    process.off('uncaughtException', record);
  }
  return seen;
}

test('control: an unguarded write to a child without stdin raises EPIPE (the test reproduces the fault)', async () => {
  const { child, ready } = childWithoutStdin();
  await ready;
  const errors = await uncaughtDuring(() => child.stdin!.write('stats\n'));
  child.kill('SIGKILL');
  assert.ok(errors.some((e) => (e as NodeJS.ErrnoException).code === 'EPIPE'), `EPIPE seen: ${errors.map(String).join('; ')}`);
});

test('guardCommandPipe: writes to a child without stdin raise nothing', async () => {
  const { child, ready } = childWithoutStdin();
  guardCommandPipe(child);
  await ready;
  const errors = await uncaughtDuring(() => child.stdin!.write('stats\n'));
  child.kill('SIGKILL');
  assert.equal(errors.map(String), []);
});

test.run();
