/**
 * Every validator crashes at once right after deciding a block, before any of their disks kept it, while two
 * observers stay up. An observer appends, and reports, a block f+1 validators' signed outcomes name, or f+1
 * validators' catch-up replies carry; the unanimity rule (catch-up.ts) completes validators that all come
 * back without a block. So a validator must neither sign an outcome for a block nor put it in a reply before
 * its own disk keeps it (consensus-effects.ts publishDurable, validator-sync.ts answer): signed at once, the
 * observers kept the lost block at its height while the validators, all back without it, decided another
 * one there (a fork), in every seed of both tests here.
 *
 * Deterministic: n = 4, f = 1, clocks equal, link delays 1-10 ms, the validators' disks hold every write
 * issued from round 17 on for 5 s (past the crash), the observers' disks keep a block in 1 ms.
 * `CRASH_SEED=N` replays one seed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../src/bytes.ts';
import { World, type SimValidator } from './sim-net/world.ts';

const roundMs = 200;
const n = 4;
const observers = 2;

function seeds(count: number): number[] {
  const one = process.env.CRASH_SEED;
  return one !== undefined ? [Number(one) >>> 0] : Array.from({ length: count }, (_, i) => i + 1);
}

interface CrashRun {
  world: World;
  /** Each validator's chain in memory and on disk (hex hashes) as the crash found them. */
  memory: string[][];
  durable: string[][];
}

/**
 * Blocks at rounds 2, 4 and 6 (durable everywhere) and at round 18 (decided, then lost); every validator
 * killed in round `crashT0`, back one round later one after another; blocks again from round 40. With
 * `observerRestartT0`, observer n restarts in that round and catches up.
 */
async function runCrash(seed: number, crashT0: number, observerRestartT0?: number): Promise<CrashRun> {
  const slowFromMs = 1_000_000 + 17 * roundMs;
  const slowToMs = 1_000_000 + (crashT0 + 1) * roundMs;
  const world: World = new World({
    seed, n, faults: 1, roundMs, delayMinMs: 1, delayMaxMs: 10, verifyMsMax: 2, diskMsMax: 2,
    syncIntervalMs: 500, eventsMax: 6_000_000, observers,
    diskMsOf: (i, nowMs) => (i >= n ? 1 : nowMs >= slowFromMs && nowMs < slowToMs ? 5_000 : undefined),
  });
  const everyone = [...Array(world.total).keys()];
  world.mesh = everyone.map((i) => new Set(everyone.filter((j) => j !== i)));
  for (const i of everyone) world.startNode(i);
  for (let t0 = 2; t0 <= 6; t0 += 2) world.mineAt(t0 % n, t0, `before ${t0}`);
  world.mineAt(2, 18, 'decided, then lost by every validator');
  if (observerRestartT0 !== undefined) {
    world.sched.at(world.T0(observerRestartT0) + 20, () => world.kill(n));
    world.sched.at(world.T0(observerRestartT0) + 60, () => void world.restart(n));
  }
  const memory: string[][] = [];
  const durable: string[][] = [];
  const crashMs = world.T0(crashT0) + 37;
  world.sched.at(crashMs, () => {
    for (let i = 0; i < n; i++) {
      memory.push(world.nodes[i]!.chainHashes());
      durable.push(world.stores[i]!.map((b) => toHex(b.hash)));
      world.kill(i);
    }
  });
  for (let i = 0; i < n; i++) world.sched.at(crashMs + roundMs + 150 * i, () => void world.restart(i));
  for (let t0 = 40; t0 <= 60; t0 += 4) world.mineAt(t0 % n, t0, `after ${t0}`);
  await world.sched.run(world.T0(80));
  return { world, memory, durable };
}

/** The crash lost a decided block, and afterwards every node, observers too, holds one chain and reported only its blocks. */
function assertOneChain(run: CrashRun, seed: number): void {
  const { world, memory, durable } = run;
  const tag = `seed ${seed} (replay with CRASH_SEED=${seed})`;
  assert.ok(memory.every((c) => c.length === 4) && durable.every((c) => c.length === 3), `${tag}: the crash found the round-18 block decided and on no validator's disk`);
  const nodes = world.nodes.map((sv, i) => {
    assert.ok(sv, `${tag}: node ${i} is up`);
    return sv!;
  });
  const show = nodes.map((sv) => `${sv.id}${sv.validator.syncing ? ' (catching up)' : ''}: ${sv.chainHashes().map((h) => h.slice(0, 8)).join(' ')}`).join('; ');
  const validators = nodes.slice(0, n);
  assert.equal(validators.map((sv) => sv.validator.syncing), validators.map(() => false), `${tag}: every validator completed (${show})`);
  const chain = validators[0]!.chainHashes();
  assert.ok(chain.length >= 3 + 6, `${tag}: the validators decided the blocks mined after the crash (${show})`);
  for (const sv of nodes) {
    const c = sv.chainHashes();
    assert.ok(
      c.every((h, i) => chain[i] === h),
      `${tag}: ${sv.id}'s chain is a prefix of v0's (${show})`,
    );
    for (const b of reported(sv)) assert.is(chain[b.height - 1], b.hash, `${tag}: ${sv.id} reported at height ${b.height} the block v0 holds there (${show})`);
  }
  for (const o of nodes.slice(n)) assert.is(o.chainHashes().length, chain.length, `${tag}: ${o.id} followed the validators to their tip (${show})`);
}

/** What a node reported `decided` (only `decided` is recorded with its block by the world). */
function reported(sv: SimValidator): Array<{ height: number; hash: string }> {
  return sv.decidedBlocks;
}

test('every validator crashes before its disk keeps a block the observers follow by outcomes: one chain afterwards', async () => {
  for (const seed of seeds(3)) assertOneChain(await runCrash(seed, 20), seed);
});

test('every validator crashes before its disk keeps a block an observer catches up: one chain afterwards', async () => {
  for (const seed of seeds(3)) assertOneChain(await runCrash(seed, 25, 19), seed);
});

test.run();
