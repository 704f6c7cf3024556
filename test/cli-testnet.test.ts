/** Real processes: `testnet --json` starts a network, takes commands, and leaves nothing running. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, freeBasePort } from './helpers/proc.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childPids(p: CliProcess): number[] {
  return p.events.filter((e) => e.event === 'stats' && typeof e.pid === 'number').map((e) => e.pid as number);
}

test('testnet --json: 3 validators form a network, mine through stdin, all decide, quit stops all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-testnet-'));
  const base = await freeBasePort(3);
  const t = new CliProcess(['testnet', '--nodes', '3', '--dir', dir, '--round-ms', '500', '--base-port', String(base), '--json']);
  try {
    for (let i = 0; i < 3; i++) await t.waitEvent((e) => e.node === i && e.event === 'stats' && e.peers === 2, `node ${i} with 2 peers`, 40_000);
    assert.ok(existsSync(join(dir, 'genesis.json')), 'genesis written');
    const pids = [...new Set(childPids(t))];
    assert.is(pids.length, 3, 'three validator processes');
    t.command('0 mine from the test');
    for (let i = 0; i < 3; i++) {
      const d = await t.waitEvent((e) => e.node === i && e.event === 'decided', `decided on ${i}`, 15_000);
      assert.is((d.block as { payload: string }).payload, 'from the test');
    }
    t.command('quit');
    await t.waitEvent((e) => e.event === 'stopped', 'stopped');
    assert.is(await t.exited, 0);
    for (const pid of pids) assert.not.ok(alive(pid), `validator ${pid} is gone`);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a testnet killed with SIGKILL leaves no validator running (children watch their IPC channel)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-testnet-'));
  const base = await freeBasePort(2);
  const t = new CliProcess(['testnet', '--nodes', '2', '--dir', dir, '--base-port', String(base), '--json']);
  try {
    for (let i = 0; i < 2; i++) await t.waitEvent((e) => e.node === i && e.event === 'stats', `node ${i} stats`, 40_000);
    const pids = [...new Set(childPids(t))];
    assert.is(pids.length, 2);
    t.child.kill('SIGKILL');
    await t.exited;
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) assert.not.ok(alive(pid), `validator ${pid} exited after its parent died`);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
