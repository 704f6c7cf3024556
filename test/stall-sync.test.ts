/**
 * Overload breaks synchrony, and a validator whose process stalls must know it and not decide as if it had
 * not (issue 18, "load must not fork the chain silently": 16 validator processes on 2 cores at Δ = 200 ms
 * forked). The old check saw a stall only when a round tick fired more than a whole round late; a process
 * stopped for most of a round between two ticks went unnoticed. Here, on the simulator, running the shipped
 * node and validator, a miner's process is stopped right after it proposes, for stalls around stallMsMax and
 * up to nearly a round.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';
import { stallDefaults } from '../src/core/validator-types.ts';

const roundMs = 200;

function world(seed: number): World {
  const w = new World({ seed, n: 4, faults: 1, roundMs, delayMinMs: 5, delayMaxMs: 10, verifyMsMax: 1, diskMsMax: 1, syncIntervalMs: 200, eventsMax: 1_000_000 });
  w.startFullMesh();
  return w;
}

/** Runs miner 0 at t0 = 2 stopped for `stallMs` from 1 ms after T0, then a block from validator 1 at t0 = 6. */
async function run(seed: number, stallMs: number): Promise<World> {
  const w = world(seed);
  w.mineAt(0, 2, 'stalled miner');
  w.sched.at(w.T0(2) + 1, () => w.pause(0, stallMs));
  w.mineAt(1, 6, 'after the stall');
  await w.sched.run(w.T0(14));
  return w;
}

function chains(w: World): string[] {
  return w.nodes.map((sv) => sv!.chainHashes().join(','));
}

test('a process stopped for nearly a round between two ticks knows it stalled, catches up again, and the chains agree', async () => {
  for (const seed of [1, 2, 3]) {
    const w = await run(seed, roundMs - 5);
    const c = chains(w);
    assert.ok(c.every((x) => x === c[0]), `seed=${seed}: honest validators' chains differ:\n${c.join('\n')}`);
    // The block after the stall is in every chain, at the same height.
    assert.is(w.nodes[2]!.validator.chain().at(-1)?.height, w.nodes[0]!.validator.chain().at(-1)?.height);
    assert.ok(w.nodes[0]!.counters.resyncs >= 1, `seed=${seed}: the stalled miner knew it was out of synchrony`);
    assert.ok(w.nodes[0]!.validator.status().synchrony.stalls >= 1, 'status counts the stall');
    assert.ok(w.nodes[0]!.validator.status().synchrony.lagMsMax > stallDefaults.stallMsMax(roundMs));
  }
});

test('a stall of at most stallMsMax is within the timing rule: no resync, the block is decided everywhere', async () => {
  const stallMsMax = stallDefaults.stallMsMax(roundMs);
  const w = await run(7, stallMsMax);
  const c = chains(w);
  assert.ok(c.every((x) => x === c[0]), c.join('\n'));
  assert.is(w.nodes[0]!.counters.resyncs, 0, 'a stall at the limit is not out of synchrony');
  assert.is(w.nodes[0]!.validator.chain().length, 2, 'both blocks decided');
});

test('a stall just over stallMsMax (and one probe interval) is noticed', async () => {
  const stallMsMax = stallDefaults.stallMsMax(roundMs);
  const w = await run(8, stallMsMax + stallDefaults.probeMs(stallMsMax) + 1);
  assert.ok(w.nodes[0]!.counters.resyncs >= 1);
  const c = chains(w);
  assert.ok(c.every((x) => x === c[0]), c.join('\n'));
});

test('a chain that arrived in time but whose check ended after its round is counted late (status synchrony)', async () => {
  // Every link 5 ms, every check 20 ms: validator 2 reads the proposal at T0 + 5 and has it checked at T0 + 25,
  // unless its process stops in between, here from T0 + 15 until past the round.
  const w = new World({ seed: 9, n: 4, faults: 1, roundMs, delayMinMs: 5, delayMaxMs: 5, verifyMsMin: 20, verifyMsMax: 20, diskMsMax: 1, syncIntervalMs: 200, eventsMax: 1_000_000 });
  w.startFullMesh();
  w.mineAt(0, 2, 'checked late');
  w.sched.at(w.T0(2) + 15, () => w.pause(2, roundMs));
  await w.sched.run(w.T0(8));
  const s = w.nodes[2]!.validator.status().synchrony;
  assert.ok(s.chainsCheckedLate >= 1, JSON.stringify(s));
  assert.ok(s.chainMarginMsRecentMin !== null && s.chainMarginMsRecentMin < 0, JSON.stringify(s));
  const ok = w.nodes[1]!.validator.status().synchrony;
  assert.is(ok.chainsCheckedLate, 0, 'a validator that ran on time checked every chain in its round');
  assert.ok(ok.chainsChecked >= 1 && ok.chainMarginMsRecentMin! > 0, JSON.stringify(ok));
});

test.run();
