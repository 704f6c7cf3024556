/**
 * A network-wide stall: every honest validator is out of synchrony at once (a global overload, a host
 * pause, a network restart) while the f others stay silent (dead, or Byzantine validators that answer no
 * `getchain`). Every honest validator then catches up again, and nobody is live. Catch-up must still end,
 * on one chain, and the chain must go on: within the fault bound, f + 1 statements naming our chain, ours
 * included, prove nothing decided is missing (src/consensus/catch-up.ts, "the quorum rule"), and n - f of
 * them (when more) keep the rule from trusting a minority outside the bound.
 *
 * Before the quorum rule a catching-up validator needed f + 1 statements from validators that were not
 * catching up, or all n - 1 others: with everyone catching up and one validator silent, neither could hold,
 * and every seed here ended with the chain stopped for good (the load test with the attack suite, seed
 * 1207: 12 of 13 honest validators stalled and none ever caught up).
 *
 * Seeded, clocks differ per validator (up to ±20 ms), link delays 1-10 ms. `STALL_SEED=N` replays one seed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stallWorld } from './sim-net/stall-world.ts';
import type { World } from './sim-net/world.ts';

const roundMs = 200;

interface StallRun {
  world: World;
  live: number[];
  heightBefore: number;
  minedAfter: number;
}

function seeds(): number[] {
  const one = process.env.STALL_SEED;
  return one !== undefined ? [Number(one) >>> 0] : Array.from({ length: 16 }, (_, i) => i + 1);
}

/**
 * Seed's shape: n of 4, 5 or 7; f silent validators killed at round 8; blocks mined before; at round 20 every
 * other validator pauses for 2-4 rounds, each starting at its own moment in that round; blocks mined again
 * from round 40 by validators that are up.
 */
async function runStall(seed: number): Promise<StallRun> {
  const { world, draw, live, silent } = stallWorld(seed, roundMs);
  for (let t0 = 2; t0 <= 6; t0 += 2) world.mineAt(live[t0 % live.length]!, t0, `before ${t0}`);
  for (const i of silent) world.sched.at(world.T0(8), () => world.kill(i));
  for (let t0 = 10; t0 <= 13; t0 += 3) world.mineAt(live[t0 % live.length]!, t0, `with ${silent.length} silent ${t0}`);
  let heightBefore = 0;
  world.sched.at(world.T0(20) - 1, () => (heightBefore = world.nodes[live[0]!]!.validator.chain().length));
  for (const i of live) world.sched.at(world.T0(20) + draw.int(0, roundMs - 1), () => world.pause(i, draw.int(2, 4) * roundMs));
  let minedAfter = 0;
  for (let t0 = 40; t0 <= 60; t0 += 4, minedAfter++) world.mineAt(live[t0 % live.length]!, t0, `after ${t0}`);
  await world.sched.run(world.T0(80));
  return { world, live, heightBefore, minedAfter };
}

test('after a stall of every honest validator at once, with f silent: catch-up ends on one chain and the chain goes on', async () => {
  for (const seed of seeds()) {
    const { world, live, heightBefore, minedAfter } = await runStall(seed);
    const tag = `seed ${seed} (n ${world.opts.n}, f ${world.opts.faults}; replay with STALL_SEED=${seed})`;
    const nodes = live.map((i) => world.nodes[i]!);
    assert.ok(nodes.every((sv) => sv.counters.resyncs >= 1), `${tag}: every live validator stalled and caught up again (resyncs ${nodes.map((sv) => sv.counters.resyncs)})`);
    assert.equal(nodes.map((sv) => sv.validator.syncing), nodes.map(() => false), `${tag}: nobody still catching up`);
    const chains = nodes.map((sv) => sv.chainHashes().join(','));
    assert.ok(chains.every((c) => c === chains[0]), `${tag}: one chain (heights ${nodes.map((sv) => sv.validator.chain().length)})`);
    assert.is(heightBefore, 5, `${tag}: the five blocks mined before the stall were decided`);
    assert.is(nodes[0]!.validator.chain().length, heightBefore + minedAfter, `${tag}: every block mined after the stall decided`);
    assert.ok(nodes.every((sv) => sv.counters.diverged === 0), `${tag}: no divergence alarm`);
  }
});

test.run();
