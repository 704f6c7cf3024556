/**
 * A validator whose checks run later than its round while its process keeps running on time (CPU overload:
 * the verification backlog grows, the event loop still turns, the stall probe sees nothing) is out of
 * synchrony just as a stalled one is (issue 18, item 2). Dolev-Strong accepts a chain signed by r validators
 * only in round r (Dolev & Strong 1983): a node that has every chain checked two rounds late refuses them all,
 * decides "no block" where the others decided the block, and decides its own blocks at heights the others do
 * not hold them at. Here, on the simulator, validator 3's every verification takes longer than the round (or
 * two) from T0(1) to T0(12), with no pause of its process; validators 0..3 mine in turn meanwhile.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../src/bytes.ts';
import { World, type SimValidator } from './sim-net/world.ts';
import { stallDefaults } from '../src/core/validator-types.ts';

const roundMs = 200;
const slow = 3;
/** Validator 3 checks slowly from T0(1) until T0(slowUntilT0). */
const slowUntilT0 = 12;

function world(seed: number, slowMs: number): World {
  const w: World = new World({
    seed,
    n: 4,
    faults: 1,
    roundMs,
    delayMinMs: 5,
    delayMaxMs: 10,
    verifyMsMax: 1,
    diskMsMax: 1,
    syncIntervalMs: 200,
    eventsMax: 2_000_000,
    verifyMsOf: (i, nowMs) => (i === slow && nowMs >= w.T0(1) && nowMs < w.T0(slowUntilT0) ? slowMs : undefined),
  });
  w.startFullMesh();
  return w;
}

/** Blocks from validators t0 mod 4 (the slow one among them) at t0 = 2..9, then one at t0 = 16 after it recovered. */
async function run(seed: number, slowMs: number): Promise<World> {
  const w = world(seed, slowMs);
  for (let t0 = 2; t0 <= 9; t0++) w.mineAt(t0 % 4, t0, `block at t0 ${t0}`);
  w.mineAt(0, 16, 'after the overload');
  await w.sched.run(w.T0(26));
  return w;
}

/** The block hash at each height of validator `v`'s chain. */
function byHeight(v: SimValidator): Map<number, string> {
  return new Map(v.validator.chain().map((b) => [b.height, toHex(b.hash)]));
}

for (const slowMs of [roundMs + 50, 2 * roundMs + 50]) {
  test(`checks of ${slowMs} ms on a ${roundMs} ms round, no pause: the validator never decides a different chain, says it is out of synchrony, catches up and ends with the others`, async () => {
    for (const seed of [1, 2, 3]) {
      const w = await run(seed, slowMs);
      const honest = byHeight(w.nodes[0]!);
      const v = w.nodes[slow]!;
      for (const d of v.decidedBlocks) {
        assert.is(d.hash, honest.get(d.height), `seed=${seed}: v${slow} decided ${d.hash.slice(0, 8)} at height ${d.height} (t0 ${d.t0}); the others hold ${honest.get(d.height)?.slice(0, 8)} there`);
      }
      const chains = w.nodes.map((sv) => sv!.chainHashes().join(','));
      assert.ok(chains.every((c) => c === chains[0]), `seed=${seed}: chains differ:\n${chains.join('\n')}`);
      assert.is(w.nodes[0]!.validator.chain().length, 9, `seed=${seed}: every block decided`);
      assert.ok(v.counters.lateChains >= 1 && v.counters.resyncs >= 1, `seed=${seed}: late-chain ${v.counters.lateChains}, resync ${v.counters.resyncs}`);
      assert.ok(v.caughtUp, `seed=${seed}: caught up once its checks were fast again`);
      const s = v.validator.status().synchrony;
      assert.ok(s.chainsOutOfSync >= 1 && s.stalls === 0, JSON.stringify(s));
      assert.is(v.counters.diverged, 0, 'nothing diverged: the slow validator never held another chain');
      for (const i of [0, 1, 2]) assert.is(w.nodes[i]!.counters.lateChains + w.nodes[i]!.counters.resyncs, 0, `v${i} ran in synchrony`);
    }
  });
}

test('checks slower than usual but within stallMsMax, ending inside their round: no late chain, no resync', async () => {
  const w = await run(4, stallDefaults.stallMsMax(roundMs) - 20);
  const v = w.nodes[slow]!;
  assert.is(v.counters.lateChains, 0);
  assert.is(v.counters.resyncs, 0);
  assert.is(v.validator.status().synchrony.chainsOutOfSync, 0);
  const chains = w.nodes.map((sv) => sv!.chainHashes().join(','));
  assert.ok(chains.every((c) => c === chains[0]), chains.join('\n'));
});

test.run();
