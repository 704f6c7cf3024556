/**
 * The quorum rule's way out of a network-wide stall (test/total-stall-sim.test.ts) when blocks are being
 * decided across it, from the review of the quorum rule: the same stall (f validators dead from round 8,
 * every other validator paused 2-4 rounds at once in round 20), but a block is mined every round from 10 to
 * 30 instead of none from 14 to 39, so each validator resumes at its own moment and their first live rounds
 * differ. A total stall is outside the fault bound: the bound promises neither that catch-up ends here nor
 * that the chains agree, and what this test holds is the part that does hold, in every seed: the validators
 * that complete catch-up hold one chain.
 *
 * Catch-up does not always end here. On the quorum rule as first committed, every honest validator stayed
 * catching up in all four seeds: each held the decisions of the instances that ended while it was paused,
 * from before its own first live round, so it counted neither itself nor the others. With partial decisions
 * left out of `heldFrom` (DolevStrong.notePartial) and the crash mark written ahead, the first validators
 * to resume complete in seeds 1, 2 and 4, appending decisions of instances only they were live for, which
 * the others, with f silent, can never get f+1 vouches for; in seed 3 (n = 5, f = 2) none completes. Seeded
 * as total-stall-sim; `STALL_SEED=N` replays one.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stallWorld } from './sim-net/stall-world.ts';

const roundMs = 200;

function seeds(): number[] {
  const one = process.env.STALL_SEED;
  return one !== undefined ? [Number(one) >>> 0] : [1, 2, 3, 4];
}

test('after a stall of every honest validator at once while blocks are decided, with f silent: the validators that complete catch-up hold one chain', async () => {
  for (const seed of seeds()) {
    const { world, draw, live, silent } = stallWorld(seed, roundMs);
    for (const i of silent) world.sched.at(world.T0(8), () => world.kill(i));
    for (let t0 = 2; t0 <= 30; t0 += t0 < 10 ? 2 : 1) world.mineAt(live[t0 % live.length]!, t0, `block ${t0}`);
    for (const i of live) world.sched.at(world.T0(20) + draw.int(0, roundMs - 1), () => world.pause(i, draw.int(2, 4) * roundMs));
    for (let t0 = 40; t0 <= 60; t0 += 4) world.mineAt(live[t0 % live.length]!, t0, `after ${t0}`);
    await world.sched.run(world.T0(80));
    const nodes = live.map((i) => world.nodes[i]!);
    const chains = nodes.filter((sv) => !sv.validator.syncing).map((sv) => sv.chainHashes().join(','));
    assert.ok(chains.every((c) => c === chains[0]), `seed ${seed}: the validators that completed hold one chain`);
  }
});

test.run();
