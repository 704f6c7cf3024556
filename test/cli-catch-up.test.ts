/**
 * Real processes with --data: a validator killed with SIGKILL misses 5 blocks, restarts from its data
 * directory, learns the missed blocks from its peers (f+1 vouches each) and ends with the same chain.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allListening, CliProcess, runCli, waitMesh, withPortBlock } from './helpers/proc.ts';

type Block = { hash: string; height: number };

function validator(dir: string, i: number): CliProcess {
  return new CliProcess(['--genesis', join(dir, 'genesis.json'), '--key', join(dir, `node-${i}.key`), '--data', join(dir, `data-${i}`), '--host', '127.0.0.1', '--json', '--threads', '1']);
}

/** Blocks a validator appended, by deciding them or, after a stall on a busy machine, by catch-up (synced). */
function appendedBlocks(p: CliProcess): Block[] {
  return p.events.filter((e) => (e.event === 'decided' || e.event === 'synced') && e.block).map((e) => e.block as Block);
}

async function chainOf(p: CliProcess): Promise<string[]> {
  const before = p.events.length;
  p.command('chain');
  const e = await p.waitEvent((x) => x.event === 'chain' && p.events.indexOf(x) >= before, 'chain answer');
  return (e.blocks as Block[]).map((b) => b.hash);
}

test('a validator killed with SIGKILL catches up the 5 blocks it missed and keeps what it had decided', async () => {
  const root = mkdtempSync(join(tmpdir(), 'strongcast-catchup-'));
  let dir = '';
  let procs: CliProcess[] = [];
  try {
    // The genesis names each validator's port (--base-port P: validator i on P+i), so the ports are chosen
    // before anything listens; a network whose ports were taken after all starts again on others. The
    // restarted validator binds its port again later, which the system never hands out meanwhile (see ports.ts).
    procs = await withPortBlock(4, async (block) => {
      dir = mkdtempSync(join(root, 'net-'));
      const r = await runCli(['init', '--nodes', '4', '--out', dir, '--round-ms', '400', '--base-port', String(block.base)]);
      assert.is(r.code, 0, r.stderr);
      await block.release();
      const started = [0, 1, 2, 3].map((i) => validator(dir, i));
      await allListening(started);
      return started;
    });
    await waitMesh(procs, 3);
    for (const [i, p] of procs.entries()) await p.waitEvent((e) => e.event === 'caught-up', `caught-up on ${i}`, 20_000);

    // One block everybody has, then node 3 dies without warning.
    procs[0]!.command('mine before the crash');
    // As below: a validator that stalls past stallMsMax on a busy machine learns the block by catch-up (synced).
    for (const [i, p] of procs.entries()) {
      await p.waitEvent((e) => (e.event === 'decided' || e.event === 'synced') && (e.block as Block | null)?.height === 1, `first block on ${i}`, 15_000);
    }
    const first = appendedBlocks(procs[3]!)[0]!;
    procs[3]!.child.kill('SIGKILL');
    await procs[3]!.exited;

    // Five blocks without it, mined one after another by the three live validators.
    for (let b = 0; b < 5; b++) {
      const miner = procs[b % 3]!;
      const want = 2 + b;
      miner.command(`mine missed block ${b}`);
      for (const [i, p] of procs.slice(0, 3).entries()) {
        // A live validator that stalls past stallMsMax on a busy machine learns the block by catch-up (synced).
        await p.waitEvent((e) => (e.event === 'decided' || e.event === 'synced') && (e.block as Block | null)?.height === want, `height ${want} on ${i}`, 15_000);
      }
    }
    const reference = await chainOf(procs[0]!);
    assert.is(reference.length, 6);

    // Restart from the same data directory.
    const restarted = validator(dir, 3);
    procs[3] = restarted;
    const caught = await restarted.waitEvent((e) => e.event === 'caught-up', 'caught-up after restart', 40_000);
    assert.is(caught.height, 6, 'caught up at the network height');
    const synced = restarted.events.filter((e) => e.event === 'synced').map((e) => (e.block as Block).height);
    assert.equal(synced, [2, 3, 4, 5, 6], 'exactly the missed blocks came from peers');
    const chain = await chainOf(restarted);
    assert.equal(chain, reference, 'the same chain as the others');
    assert.is(chain[0], first.hash, 'the block decided before the crash survived it');
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
