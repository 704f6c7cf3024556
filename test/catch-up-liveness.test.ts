/**
 * Review of catch-up's liveness (src/consensus/catch-up.ts): within the fault bound, one validator out at a
 * time, every honest validator can end up catching up for good while the network runs and they all hear
 * each other. With catch-up slow to end (here it asks every 20 rounds; a node far behind, that needs many
 * asks, is as slow), each validator goes out before the last one came back live; each then holds decisions
 * from before the others' first live rounds (`heldFrom` early), and the one that stayed live longest synced
 * blocks nobody else has in a chain. After the last fault nobody can ever complete: no f+1 vouches for those
 * blocks (held decisions are no vouches), no f+1 live statements, and no quorum whose `heldFrom` passes.
 * The same faults with catch-up asking every 500 or 2,000 ms end with every validator live on one chain.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';

const roundMs = 200;
const k = 2;

type Kind = 'pause' | 'kill' | 'cut';
/** One validator out: [validator, kind, start round (at +50 ms), ms]. */
const faults: Array<[number, Kind, number, number]> = [
  [2, 'pause', 3, 500],
  [3, 'kill', 12, 300],
  [1, 'cut', 20, 400],
  [0, 'kill', 29, 600],
];

/** A fault counts from its start until k+1 rounds after the validator is back (and 200 ms to relink), as in test/sim-net/scenario.ts. */
function faultyUntil(w: World, [, , r, ms]: [number, Kind, number, number]): number {
  return w.T0(r) + 50 + ms + 200 + (k + 1) * roundMs;
}

async function run(seed: number, syncIntervalMs: number): Promise<{ w: World; worst: number }> {
  const w = new World({ seed, n: 4, faults: 1, roundMs, delayMinMs: 1, delayMaxMs: 12, verifyMsMax: 2, diskMsMax: 2, syncIntervalMs, eventsMax: 20_000_000 });
  w.startFullMesh();
  for (const [i, kind, r, ms] of faults) {
    w.sched.at(w.T0(r) + 50, () => {
      if (kind === 'pause') w.pause(i, ms);
      else if (kind === 'cut') w.cut(i, ms);
      else {
        w.kill(i);
        w.sched.after(ms, () => void w.restart(i));
      }
    });
  }
  // A block every other round, from a validator that does not count as faulty then.
  const faulty = (m: number, t0: number) => faults.some((x) => x[0] === m && w.T0(t0) >= w.T0(x[2]) - roundMs && w.T0(t0) < faultyUntil(w, x));
  for (let t0 = 1; t0 < 100; t0 += 2) {
    const m = [0, 1, 2, 3].map((x) => (x + t0) % 4).find((x) => !faulty(x, t0));
    if (m !== undefined) w.mineAt(m, t0, `block ${t0}`);
  }
  let worst = 0;
  for (let t0 = 0; t0 < 150; t0++) {
    const load = faults.filter((x) => w.T0(x[2]) + 50 < w.T0(t0 + k) && w.T0(t0) < faultyUntil(w, x)).length;
    worst = Math.max(worst, load);
  }
  await w.sched.run(w.T0(150));
  return { w, worst };
}

test('one fault per instance, catch-up asking every 20 rounds: every validator completes catch-up (seeds 1-3)', async () => {
  const stuck: string[] = [];
  for (const seed of [1, 2, 3]) {
    const { w, worst } = await run(seed, 4000);
    assert.ok(worst <= 1, `seed ${seed}: within the fault bound (worst ${worst} faulty in one instance)`);
    const still = [0, 1, 2, 3].filter((i) => w.nodes[i]!.validator.syncing);
    // 120 rounds (6 asks) after the last fault ended.
    if (still.length > 0) stuck.push(`seed ${seed}: ${still.map((i) => `v${i} (height ${w.nodes[i]!.validator.chain().length})`).join(', ')} still catching up at round 150`);
  }
  assert.equal(stuck, [], stuck.join('\n'));
});

test('the same faults, catch-up asking every 500 ms: every validator completes, on one chain', async () => {
  for (const seed of [1, 2, 3]) {
    const { w } = await run(seed, 500);
    const chains = [0, 1, 2, 3].map((i) => w.nodes[i]!.chainHashes().join(','));
    assert.equal([0, 1, 2, 3].map((i) => w.nodes[i]!.validator.syncing), [false, false, false, false], `seed ${seed}`);
    assert.ok(chains.every((c) => c === chains[0]), `seed ${seed}: one chain`);
  }
});

test.run();
