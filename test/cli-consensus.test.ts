/** Real processes: `init` a 4-validator network, start 4 nodes on loopback, `mine` on one, all decide the same block. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allListening, CliProcess, connectedPeers, runCli, withPortBlock, firstBlockEvent } from './helpers/proc.ts';

test('init writes a genesis and one private key file per validator', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-init-'));
  try {
    const r = await runCli(['init', '--nodes', '3', '--out', dir, '--faults', '2', '--round-ms', '250', '--base-port', '9100']);
    assert.is(r.code, 0, r.stderr);
    const g = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
    assert.is(g.validators.length, 3);
    assert.is(g.faults, 2);
    assert.is(g.roundMs, 250);
    assert.equal(g.validators.map((v: { port: number }) => v.port), [9100, 9101, 9102]);
    for (let i = 0; i < 3; i++) {
      const key = JSON.parse(readFileSync(join(dir, `node-${i}.key`), 'utf8'));
      assert.is(key.publicKey, g.validators[i].publicKey);
      assert.is(statSync(join(dir, `node-${i}.key`)).mode & 0o777, 0o600);
    }
    const again = await runCli(['init', '--nodes', '3', '--out', dir]);
    assert.is(again.code, 2, 'refuses to overwrite an existing genesis');
    assert.match(again.stderr, 'already exists');
    const bad = await runCli(['init', '--nodes', '3', '--out', dir, '--faults', '3']);
    assert.is(bad.code, 2, 'faults must be below n');
    const skew = await runCli(['--genesis', join(dir, 'genesis.json'), '--key', join(dir, 'node-0.key'), '--port', '0', '--clock-skew-ms-max', '250']);
    assert.is(skew.code, 2, skew.stderr);
    assert.match(skew.stderr, 'strongcast: ERR_INVALID_OPTION: --clock-skew-ms-max must be below the genesis round length (250 ms), got 250');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('4 validator processes on loopback: mine on one, all print the same decided block', async () => {
  const root = mkdtempSync(join(tmpdir(), 'strongcast-net-'));
  let procs: CliProcess[] = [];
  try {
    // The genesis names each validator's port (--base-port P: validator i on P+i), so the ports are chosen
    // before anything listens; a network whose ports were taken after all starts again on others.
    procs = await withPortBlock(4, async (block) => {
      const dir = mkdtempSync(join(root, 'net-'));
      // Round 0 a few seconds ahead: all four start and connect before it, as a fresh network. (With the default
      // start, now, each begins by catching up, and one that connects late on a busy machine syncs the block
      // instead of deciding it, which is correct but not what this test is about.)
      const startMs = Date.now() + 6000;
      const r = await runCli(['init', '--nodes', '4', '--out', dir, '--round-ms', '600', '--base-port', String(block.base), '--start-ms', String(startMs)]);
      assert.is(r.code, 0, r.stderr);
      await block.release();
      const started = [0, 1, 2, 3].map((i) => new CliProcess(['--genesis', join(dir, 'genesis.json'), '--key', join(dir, `node-${i}.key`), '--host', '127.0.0.1', '--json', '--threads', '1']));
      await allListening(started);
      return started;
    });
    const deadline = Date.now() + 40_000;
    while (!procs.every((p) => connectedPeers(p) === 3)) {
      if (Date.now() > deadline) throw new Error(`network did not form: ${procs.map(connectedPeers)}\n${procs[0]!.stderr.slice(-1500)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    procs[1]!.command('mine hello consensus');
    const decided = await Promise.all(procs.map((p, i) => firstBlockEvent(p, `decided on node ${i}`, 20_000)));
    const blocks = decided.map((e) => e.block as { hash: string; height: number; payload: string; miner: number } | null);
    for (const b of blocks) {
      assert.ok(b, 'a block, not "no block"');
      assert.is(b!.hash, blocks[0]!.hash, 'agreement: the same block everywhere');
      assert.is(b!.height, 1);
      assert.is(b!.miner, 1);
      assert.is(b!.payload, 'hello consensus');
    }
    // Every other validator relayed it with its own signature added.
    for (const i of [0, 2, 3]) await procs[i]!.waitEvent((e) => e.event === 'relayed', `relayed on node ${i}`, 5000);
    procs[2]!.command('chain');
    const chain = await procs[2]!.waitEvent((e) => e.event === 'chain', 'chain answer');
    assert.equal((chain.blocks as { hash: string }[]).map((b) => b.hash), [blocks[0]!.hash]);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
