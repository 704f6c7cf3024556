/**
 * Every validator crashes at once (a power loss, `kill -9` of a testnet on one machine) and comes back.
 * Each then states its crash mark (held.json, store/held-mark.ts): it may have decided something it lost.
 * Within the fault bound the quorum rule must not count such a validator (src/consensus/catch-up.ts), and
 * with every validator crashed none counted for another: before unanimity, every seed here ended with all
 * of them catching up for good and the chain stopped (session 25's noted limit).
 *
 * Unanimity (catch-up.ts) ends it: when all n validators state exactly our chain and none keeps a decision
 * from before our first live round to append, every validator's chain up to there is ours, whatever anyone
 * decided and lost. The second test crashes them while a block is being decided and while disks lag, so
 * marks are set and decisions are lost: they must still end on one chain.
 *
 * Seeded, clocks differ per validator (up to ±20 ms), link delays 1-10 ms. `CRASH_SEED=N` replays one seed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../src/bytes.ts';
import { Prng } from '../src/sim/prng.ts';
import { World } from './sim-net/world.ts';

const roundMs = 200;

function seeds(count: number): number[] {
  const one = process.env.CRASH_SEED;
  return one !== undefined ? [Number(one) >>> 0] : Array.from({ length: count }, (_, i) => i + 1);
}

interface CrashRun {
  world: World;
  heightBefore: number;
  minedAfter: number;
  /** Each validator's durable chain (hex hashes) as the crash left it. */
  durable: string[][];
}

/**
 * n of 4, 5 or 7, every validator up; blocks mined at rounds 2..6 (and at 18 and 19 when `midDecision`); all
 * killed in the same millisecond of round 20; each back 1-3 rounds later at its own moment; blocks mined
 * again from round 40. With `midDecision` disks lag 0-800 ms around the crash, so decisions are lost.
 */
async function runCrash(seed: number, midDecision: boolean): Promise<CrashRun> {
  const draw = new Prng(seed * 7919 + (midDecision ? 17 : 5));
  const n = draw.pick([4, 5, 7]);
  const f = Math.floor((n - 1) / 2);
  const offsetsMs = [...Array(n).keys()].map(() => draw.int(-20, 20));
  const crashMs = (w: World): number => w.T0(20) + 37;
  const diskMsOf = midDecision ? (_i: number, nowMs: number): number | undefined => (nowMs >= world.T0(17) && nowMs < world.T0(21) ? draw.int(0, 800) : undefined) : undefined;
  const world: World = new World({
    seed, n, faults: f, roundMs, delayMinMs: 1, delayMaxMs: 10, verifyMsMax: 2, diskMsMax: 2,
    syncIntervalMs: draw.pick([200, 500]), eventsMax: 6_000_000, offsetsMs,
    ...(diskMsOf ? { diskMsOf } : {}),
  });
  world.startFullMesh();
  for (let t0 = 2; t0 <= 6; t0 += 2) world.mineAt(t0 % n, t0, `before ${t0}`);
  if (midDecision) for (const t0 of [18, 19]) world.mineAt(t0 % n, t0, `at the crash ${t0}`);
  let heightBefore = 0;
  world.sched.at(world.T0(17) - 1, () => (heightBefore = world.nodes[0]!.validator.chain().length));
  const durable: string[][] = [];
  world.sched.at(crashMs(world), () => {
    for (let i = 0; i < n; i++) world.kill(i);
    for (let i = 0; i < n; i++) durable.push(world.stores[i]!.map((b) => toHex(b.hash)));
  });
  for (let i = 0; i < n; i++) world.sched.at(crashMs(world) + draw.int(roundMs, 3 * roundMs), () => world.restart(i));
  let minedAfter = 0;
  for (let t0 = 40; t0 <= 60; t0 += 4, minedAfter++) world.mineAt(t0 % n, t0, `after ${t0}`);
  await world.sched.run(world.T0(80));
  return { world, heightBefore, minedAfter, durable };
}

function assertRecovered(run: CrashRun, seed: number, keepsBefore: boolean): void {
  const { world, heightBefore, minedAfter } = run;
  const tag = `seed ${seed} (n ${world.opts.n}, f ${world.opts.faults}; replay with CRASH_SEED=${seed})`;
  const nodes = world.nodes.map((sv, i) => {
    assert.ok(sv, `${tag}: validator ${i} is up`);
    return sv!;
  });
  const show = nodes.map((sv) => `v${sv.index}${sv.validator.syncing ? ' (catching up)' : ''}: ${sv.chainHashes().map((h) => h.slice(0, 8)).join(' ')}`).join('; ');
  assert.equal(nodes.map((sv) => sv.validator.syncing), nodes.map(() => false), `${tag}: nobody still catching up (${show})`);
  const chains = nodes.map((sv) => sv.chainHashes().join(','));
  assert.ok(chains.every((c) => c === chains[0]), `${tag}: one chain (heights ${nodes.map((sv) => sv.validator.chain().length)})`);
  if (keepsBefore) assert.is(heightBefore, 3, `${tag}: the three blocks mined before the crash were decided`);
  const height = nodes[0]!.validator.chain().length;
  assert.ok(height >= heightBefore + minedAfter, `${tag}: every block mined before the crash kept and every one after decided (height ${height}, ${heightBefore} + ${minedAfter})`);
  assert.ok(nodes.every((sv) => sv.counters.diverged === 0), `${tag}: no divergence alarm`);
}

test('every validator killed at once and restarted: catch-up ends on one chain and the chain goes on', async () => {
  for (const seed of seeds(12)) assertRecovered(await runCrash(seed, false), seed, true);
});

/** Whether each chain is a prefix of the longest: no two validators hold different blocks at one height. */
function prefixesOfOne(chains: readonly (readonly string[])[]): boolean {
  const longest = chains.reduce((a, c) => (c.length > a.length ? c : a), [] as readonly string[]);
  return chains.every((c) => c.every((h, i) => longest[i] === h));
}

test('killed at once while blocks are being decided and disks lag: no fork; when the disks agree, one chain and nobody left catching up', async () => {
  let agreed = 0;
  let split = 0;
  for (const seed of seeds(12)) {
    const run = await runCrash(seed, true);
    const tag = `seed ${seed} (replay with CRASH_SEED=${seed})`;
    const chains = run.world.nodes.map((sv) => sv!.chainHashes());
    assert.ok(prefixesOfOne(chains), `${tag}: no fork (${chains.map((c) => c.map((h) => h.slice(0, 8)).join(' ')).join('; ')})`);
    if (run.durable.every((c) => c.join() === run.durable[0]!.join())) {
      agreed++;
      assertRecovered(run, seed, true);
    } else {
      // A block on some disks only, vouched for by fewer than f + 1 validators: nobody can prove it decided
      // or not, so nobody appends past it, and catch-up waits rather than fork (the README's limits).
      split++;
      assert.ok(run.world.nodes.every((sv) => sv!.validator.syncing), `${tag}: the durable chains differ, and every validator is still catching up`);
    }
  }
  if (process.env.CRASH_SEED === undefined) assert.ok(agreed >= 6 && split >= 1, `both cases ran: disks agreed in ${agreed} seeds, differed in ${split}`);
});

test.run();
