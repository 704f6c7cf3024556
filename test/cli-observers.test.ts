/**
 * Real processes: validators that reach each other only through observers still agree. Three validators,
 * each allowed one connection (--max-peers 1), each linked to an observer; two observers in a line between
 * them (V0, V1 - observer A - observer B - V2), so every consensus chain crosses one or two observers. An
 * observer is a node started with --genesis and no --key: it checks, forwards and decides like a validator.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, allListening, connectedPeers, runCli, withPortBlock, firstBlockEvent } from './helpers/proc.ts';

/**
 * init (ports fixed in the genesis) and five processes on one block of ports: two observers, and three
 * validators each allowed one peer, its observer. A port taken between reservation and bind starts it all
 * again on other ports.
 */
function startNetwork(root: string): Promise<{ procs: CliProcess[]; observers: [CliProcess, CliProcess]; validators: CliProcess[] }> {
  return withPortBlock(5, async (block) => {
    const dir = mkdtempSync(join(root, 'net-'));
    const base = block.base;
    const addr = (port: number) => `127.0.0.1:${port}`;
    // Round 0 well ahead: five processes start and connect before it, as a fresh network.
    const startMs = Date.now() + 10_000;
    const r = await runCli(['init', '--nodes', '3', '--faults', '1', '--out', dir, '--round-ms', '600', '--base-port', String(base), '--start-ms', String(startMs)]);
    assert.is(r.code, 0, r.stderr);
    const common = ['--genesis', join(dir, 'genesis.json'), '--host', '127.0.0.1', '--json', '--threads', '1'];
    await block.release();
    const observerB = new CliProcess([...common, '--port', String(base + 4), '--peers', addr(base + 2), '--target-peers', '2']);
    const observerA = new CliProcess([...common, '--port', String(base + 3), '--peers', [addr(base), addr(base + 1), addr(base + 4)].join(','), '--target-peers', '3']);
    const procs = [observerA, observerB];
    for (const [i, via] of [[0, base + 3], [1, base + 3], [2, base + 4]] as const) {
      procs.push(new CliProcess([...common, '--key', join(dir, `node-${i}.key`), '--peers', addr(via), '--max-peers', '1', '--target-peers', '1']));
    }
    await allListening(procs, 40_000);
    return { procs, observers: [observerA, observerB], validators: procs.slice(2) };
  });
}

test('validators connected only through observers decide the same block; the observers decide it too', async () => {
  const root = mkdtempSync(join(tmpdir(), 'strongcast-observers-'));
  let procs: CliProcess[] = [];
  try {
    const net = await startNetwork(root);
    procs = net.procs;
    const [observerA, observerB] = net.observers;
    const validators = net.validators;
    const deadline = Date.now() + 40_000;
    while (!(connectedPeers(observerA) === 3 && connectedPeers(observerB) === 2 && validators.every((p) => connectedPeers(p) === 1))) {
      if (Date.now() > deadline) throw new Error(`network did not form: ${procs.map(connectedPeers)}\n${observerA.stderr.slice(-1500)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    validators[0]!.command('mine through observers');
    const decided = await Promise.all(procs.map((p, i) => firstBlockEvent(p, `decided on process ${i}`, 30_000)));
    const blocks = decided.map((e) => e.block as { hash: string; height: number; miner: number; payload: string } | null);
    for (const [i, b] of blocks.entries()) {
      assert.ok(b, `process ${i}: a block, not "no block"`);
      assert.is(b!.hash, blocks[0]!.hash, `process ${i}: the same block everywhere`);
      assert.equal([b!.height, b!.miner, b!.payload], [1, 0, 'through observers']);
    }
    assert.equal(validators.map(connectedPeers), [1, 1, 1], 'each validator still had only its observer');
    // Both other validators relayed the block with their own signature; the observers forwarded and signed nothing.
    for (const i of [1, 2]) await validators[i]!.waitEvent((e) => e.event === 'relayed', `relayed on validator ${i}`, 5000);
    for (const o of [observerA, observerB]) assert.not.ok(o.events.some((e) => e.event === 'relayed' || e.event === 'proposed'), 'an observer never signs');
    observerB.command('mine not allowed');
    const refused = await observerB.waitEvent((e) => e.event === 'error', 'mine refused on an observer');
    assert.is(refused.code, 'ERR_NOT_VALIDATOR');
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
