/**
 * A fork is never silent, also outside the outcome window (issue 18, item 3). Validators' signed outcomes
 * are carried for recent rounds only, so a validator whose chain left the others' and that then restarted
 * hears no outcome that contradicts it; in catch-up it finds no f+1 vouches for anything on its tip and would
 * catch up for ever, saying nothing. Here, on the simulator, validator 3 is restarted on a chain that forks
 * from the others' (its store rewritten while it is down) and no block is mined after: the only evidence is
 * what its peers' catch-up replies say.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8 } from '../src/bytes.ts';
import { blockHash, type ChainBlock } from '../src/consensus/block.ts';
import type { Divergence } from '../src/consensus/divergence.ts';
import { World } from './sim-net/world.ts';

const roundMs = 200;

function world(seed: number): World {
  const w = new World({ seed, n: 4, faults: 1, roundMs, delayMinMs: 5, delayMaxMs: 10, verifyMsMax: 1, diskMsMax: 1, syncIntervalMs: 200, eventsMax: 2_000_000 });
  w.startFullMesh();
  return w;
}

/** `chain` kept up to height `keep`, then `extra` blocks of our own making on top of it. */
function forked(chain: readonly ChainBlock[], keep: number, extra: number): ChainBlock[] {
  const out = chain.slice(0, keep);
  for (let i = 0; i < extra; i++) {
    const wire = { miner: 3, t0: keep + 2 + i, ts: 7, payload: utf8(`fork ${i}`) };
    out.push({ ...wire, hash: blockHash(wire), height: keep + i + 1, parent: out.at(-1)?.hash ?? chain[0]!.parent });
  }
  return out;
}

/**
 * Four blocks decided by all; validator 3 down at T0(8), its durable chain replaced by `fork` of it, up again
 * at T0(9); nothing mined after. Returns the world and validator 3's `diverged` events.
 */
async function run(seed: number, fork: (chain: readonly ChainBlock[]) => ChainBlock[]): Promise<{ w: World; alarms: Divergence[] }> {
  const w = world(seed);
  for (let t0 = 2; t0 <= 5; t0++) w.mineAt(t0 - 2, t0, `block ${t0}`);
  const alarms: Divergence[] = [];
  w.sched.at(w.T0(8), () => {
    w.kill(3);
    w.stores[3]!.splice(0, Infinity, ...fork(w.stores[3]!));
  });
  w.sched.at(w.T0(9), () => w.restart(3).validator.on('diverged', (d) => void alarms.push(d)));
  await w.sched.run(w.T0(20));
  return { w, alarms };
}

test('restarted on a chain whose last block differs from the others\': diverged from catch-up, at that height, once', async () => {
  for (const seed of [1, 2]) {
    const { w, alarms } = await run(seed, (c) => forked(c, 2, 1));
    assert.is(w.nodes[0]!.validator.chain().length, 4, 'the others decided all four');
    assert.is(alarms.length, 1, `seed=${seed}: one alarm, got ${alarms.length}`);
    const d = alarms[0]!;
    assert.is(d.source, 'catch-up');
    assert.is(d.height, 3);
    assert.ok(d.signers.length >= 2 && !d.signers.includes(3), `f+1 others: ${d.signers.join(',')}`);
    assert.equal(d.theirs, [{ height: 3, miner: null, hash: toHex(w.nodes[0]!.validator.chain()[2]!.hash) }]);
    assert.equal(d.ours, [{ height: 3, hash: toHex(w.nodes[3]!.validator.chain()[2]!.hash) }]);
    assert.ok(d.reason.includes('catch-up'), d.reason);
    assert.is(w.nodes[3]!.validator.status().divergences, 1);
    assert.ok(w.nodes[3]!.validator.syncing, 'it cannot finish catching up on that chain (and must not)');
  }
});

test('restarted on a longer chain that forked below the others\' tip: diverged at the others\' height', async () => {
  const { w, alarms } = await run(3, (c) => forked(c, 1, 5));
  assert.is(alarms.length, 1);
  const d = alarms[0]!;
  assert.is(d.source, 'catch-up');
  assert.is(d.height, 4, 'the others state height 4, whose chain digest differs from ours there');
  assert.equal(d.theirs.map((t) => t.hash), [toHex(w.nodes[0]!.validator.chain()[3]!.hash)]);
  assert.is(d.t0, 5, 'the start round of our block at that height');
});

test('restarted on a prefix of the others\' chain: it catches up, no alarm', async () => {
  const { w, alarms } = await run(4, (c) => c.slice(0, 2));
  assert.is(alarms.length, 0);
  assert.equal(w.nodes[3]!.chainHashes(), w.nodes[0]!.chainHashes());
  assert.ok(!w.nodes[3]!.validator.syncing);
});

test.run();
