/** Real processes: `testnet --json` starts a network, takes commands, and leaves nothing running. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, PortTaken, withPortBlock } from './helpers/proc.ts';
import { testnetStartDelayMs } from '../src/cli/testnet.ts';

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

/**
 * Starts `testnet --json` with `nodes` validators in a fresh directory under `root` and waits until each
 * listens. The genesis it writes names each validator's port (--base-port P: validator i on P+i), so the ports
 * are chosen before anything listens; a testnet one of whose validators found its port taken (ERR_PORT_IN_USE
 * in its log) is stopped and started again on other ports.
 */
function startTestnet(root: string, nodes: number, extra: string[]): Promise<{ t: CliProcess; dir: string }> {
  return withPortBlock(nodes, async (block) => {
    const dir = mkdtempSync(join(root, 'net-'));
    await block.release();
    const t = new CliProcess(['testnet', '--nodes', String(nodes), '--dir', dir, ...extra, '--base-port', String(block.base), '--json']);
    try {
      for (let i = 0; i < nodes; i++) {
        const e = await t.waitEvent((x) => x.node === i && (x.event === 'listening' || x.event === 'exited'), `node ${i} listening`, 40_000);
        if (e.event === 'exited') throw new Error(`node ${i} exited before listening`);
      }
    } catch (e) {
      await t.stop();
      // A validator's own error goes to its log; the testnet may even go down with it.
      for (let i = 0; i < nodes; i++) {
        const log = existsSync(join(dir, `node-${i}.log`)) ? readFileSync(join(dir, `node-${i}.log`), 'utf8') : '';
        if (log.includes('ERR_PORT_IN_USE')) throw new PortTaken(`node ${i}: ${log.trim().split('\n').pop()}`);
      }
      throw e;
    }
    return { t, dir };
  });
}

test('testnet --json: 3 validators form a network, mine through stdin, all decide, quit stops all', async () => {
  const root = mkdtempSync(join(tmpdir(), 'strongcast-testnet-'));
  let t: CliProcess | null = null;
  try {
    const launchedAtMs = Date.now();
    const started = await startTestnet(root, 3, ['--round-ms', '500']);
    t = started.t;
    const dir = started.dir;
    const startMs = (JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')) as { startMs: number }).startMs;
    assert.ok(startMs >= launchedAtMs + testnetStartDelayMs, `round 0 starts ${testnetStartDelayMs} ms after the genesis is made, once the validators are up (${startMs - launchedAtMs} ms after launch)`);
    for (let i = 0; i < 3; i++) await t.waitEvent((e) => e.node === i && e.event === 'stats' && e.peers === 2, `node ${i} with 2 peers`, 40_000);
    assert.ok(existsSync(join(dir, 'genesis.json')), 'genesis written');
    const pids = [...new Set(childPids(t))];
    assert.is(pids.length, 3, 'three validator processes');
    t.command('0 mine from the test');
    for (let i = 0; i < 3; i++) {
      // `synced` when a validator stalled on a busy machine and caught up instead (helpers/proc.ts firstBlockEvent).
      const d = await t.waitEvent((e) => e.node === i && (e.event === 'decided' || e.event === 'synced'), `decided on ${i}`, 15_000);
      assert.is((d.block as { payload: string }).payload, 'from the test');
    }
    t.command('quit');
    await t.waitEvent((e) => e.event === 'stopped', 'stopped');
    assert.is(await t.exited, 0);
    for (const pid of pids) assert.not.ok(alive(pid), `validator ${pid} is gone`);
  } finally {
    await t?.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a testnet killed with SIGKILL leaves no validator running (children watch their IPC channel)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'strongcast-testnet-'));
  let t: CliProcess | null = null;
  try {
    t = (await startTestnet(root, 2, [])).t;
    for (let i = 0; i < 2; i++) await t.waitEvent((e) => e.node === i && e.event === 'stats', `node ${i} stats`, 40_000);
    const pids = [...new Set(childPids(t))];
    assert.is(pids.length, 2);
    t.child.kill('SIGKILL');
    await t.exited;
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) assert.not.ok(alive(pid), `validator ${pid} exited after its parent died`);
  } finally {
    await t?.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a command to a validator that died does not bring the testnet down (EPIPE on its stdin is handled)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'strongcast-testnet-'));
  let t: CliProcess | null = null;
  try {
    t = (await startTestnet(root, 2, [])).t;
    const s1 = await t.waitEvent((e) => e.node === 1 && e.event === 'stats' && typeof e.pid === 'number', 'node 1 stats', 40_000);
    process.kill(s1.pid as number, 'SIGKILL');
    await t.waitEvent((e) => e.node === 1 && e.event === 'exited', 'node 1 exited', 10_000);
    // Writes to the dead child's pipe fail with EPIPE, asynchronously; several give the error time to surface.
    for (let i = 0; i < 5; i++) {
      t.command('1 stats');
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = t.events.length;
    t.command('0 stats');
    await t.waitEvent((e) => t!.events.indexOf(e) >= before && e.node === 0 && e.event === 'stats', 'node 0 still answers', 10_000);
    assert.is(t.exitCode, null, 'the testnet is still running');
    t.command('quit');
    await t.waitEvent((e) => e.event === 'stopped', 'stopped');
    assert.is(await t.exited, 0);
  } finally {
    await t?.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
