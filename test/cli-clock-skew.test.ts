/**
 * Issue 13, bug 1, as an operator meets it: four validators from `init --nodes 4 --round-ms 300`, the
 * miner's process clock 40 ms ahead of the other three (a process-level offset of Date.now, nothing else
 * unusual). Before the fix the other three refused its proposal as "instance starts in the future"
 * (ERR_BAD_CHAIN, 50 points) and only the miner decided its block.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, freeBasePort, runCli, waitMesh, firstBlockEvent } from './helpers/proc.ts';

test('a miner whose process clock runs 40 ms ahead: all four validators decide its block, nobody is scored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-skew-'));
  const procs: CliProcess[] = [];
  try {
    const base = await freeBasePort(4);
    const startMs = Date.now() + 8000;
    const r = await runCli(['init', '--nodes', '4', '--out', dir, '--round-ms', '300', '--base-port', String(base), '--start-ms', String(startMs)]);
    assert.is(r.code, 0, r.stderr);
    for (let i = 0; i < 4; i++) {
      const args = ['--genesis', join(dir, 'genesis.json'), '--key', join(dir, `node-${i}.key`), '--host', '127.0.0.1', '--json', '--threads', '1'];
      procs.push(new CliProcess(args, { clockOffsetMs: i === 0 ? 40 : 0 }));
    }
    await waitMesh(procs, 3);
    procs[0]!.command('mine from the future');
    const decided = await Promise.all(procs.map((p, i) => firstBlockEvent(p, `decided on validator ${i}`, 20_000)));
    for (const [i, e] of decided.entries()) {
      const b = e.block as { miner: number; payload: string } | null;
      assert.ok(b, `validator ${i} decided a block, not "no block"`);
      assert.equal([b!.miner, b!.payload], [0, 'from the future'], `validator ${i}`);
    }
    for (const [i, p] of procs.entries()) {
      assert.equal(p.events.filter((e) => e.event === 'offence').map((e) => e.code), [], `validator ${i} scored nobody`);
      assert.equal(p.events.filter((e) => e.event === 'rejected').map((e) => e.code), [], `validator ${i} refused no chain`);
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
