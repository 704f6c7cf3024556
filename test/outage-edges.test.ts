/**
 * The edges of a validator's outages, on the simulator (the shipped node and validator, test/sim-net): a
 * restart just before a round boundary, a restart with a clock behind the others', and a cut shorter than a
 * round. All validators honest (n = 4, f = 1), the restarted or cut one alone at fault; every schedule here
 * forked the honest chains before the fixes named in each test (found by a review's randomized search).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8 } from '../src/bytes.ts';
import { World } from './sim-net/world.ts';

const roundMs = 200;

interface Schedule {
  seed: number;
  /** v3's clock offset from the others', in ms (within clockSkewMsMax = 50 ms). */
  offset3Ms: number;
  syncIntervalMs: number;
  /** v3 runs from the start and is killed at T0(3) + 50 ms before it starts again. */
  kill: boolean;
  /** When v3 (re)starts, from T0(6); null: it runs throughout. */
  startAtMs: number | null;
  /** A cut of v3: [from T0(6), length], both in ms. */
  cut?: [number, number];
}

/** Runs a schedule with a block every round from v0-v2 (t0 2..20): each validator's chain, as on its disk. */
async function run(s: Schedule): Promise<{ stores: string[]; resyncs: number }> {
  const w = new World({ seed: s.seed, n: 4, faults: 1, roundMs, delayMinMs: 2, delayMaxMs: 12, verifyMsMax: 2, diskMsMax: 2, syncIntervalMs: s.syncIntervalMs, eventsMax: 4_000_000, offsetsMs: [0, 0, 0, s.offset3Ms] });
  w.mesh = [0, 1, 2, 3].map((i) => new Set([0, 1, 2, 3].filter((j) => j !== i)));
  for (let i = 0; i < 3; i++) w.startNode(i);
  if (s.startAtMs === null || s.kill) w.startNode(3);
  if (s.kill) w.sched.at(w.T0(3) + 50, () => w.kill(3));
  if (s.startAtMs !== null) w.sched.at(w.T0(6) + s.startAtMs, () => void w.startNode(3));
  let resyncs = 0;
  if (s.cut) {
    const [from, ms] = s.cut;
    w.nodes[3]!.validator.on('resync', () => resyncs++);
    w.sched.at(w.T0(6) + from, () => w.cut(3, ms));
  }
  for (let t0 = 2; t0 <= 20; t0++) {
    w.sched.at(w.T0(t0) - 10, () => {
      const sv = w.nodes[t0 % 3]!;
      sv.host.run(sv.host.incarnation, () => void sv.validator.mine(utf8(`b${t0}`)).catch(() => undefined));
    });
  }
  await w.sched.run(w.T0(30));
  return { stores: [0, 1, 2, 3].map((i) => w.stores[i]!.map((b) => `${b.t0}:${toHex(b.hash).slice(0, 8)}`).join(' ')), resyncs };
}

function sameChains(stores: string[], what: string): void {
  assert.ok(stores[0]!.split(' ').length >= 15, `${what}: the others decided the blocks (${stores[0]})`);
  for (let i = 1; i < 4; i++) assert.is(stores[i], stores[0], `${what}: v${i}'s chain differs from v0's`);
}

test('a validator (re)started just before a round boundary, clock behind, decides no instance it saw only in part', async () => {
  // Its links came up after round 1's chains of instance 6 had passed and before its own tick, so it did not
  // count as alone, took instance 6 as live, decided "no block" and completed without the block (10 of
  // these 24 schedules forked). Now an instance is live only from after the first check that finds peers,
  // with the skew bound as margin, and "alone" includes the time before the first peer.
  for (const kill of [false, true]) {
    for (const startAtMs of [-24, -21, -18, -15, -12, -9]) {
      for (const seed of [1, 2]) {
        const { stores } = await run({ seed, offset3Ms: -25, syncIntervalMs: 200, kill, startAtMs, cut: undefined });
        sameChains(stores, `seed ${seed}, v3 ${kill ? 'restarted' : 'started'} at T0(6) ${startAtMs} ms`);
      }
    }
  }
});

test('a restarted validator whose clock is behind does not append a block twice after catching up', async () => {
  // It synced instance 6's block from peers whose clocks run ahead and completed while instance 6 was still
  // open by its own clock; the instance then ended there and appended the block again (heights shifted).
  // Catch-up now ends only once every instance up to the synced tip has ended by the node's own clock.
  const { stores } = await run({ seed: 1, offset3Ms: -25, syncIntervalMs: 500, kill: true, startAtMs: -100 });
  const t0s = stores[3]!.split(' ').map((e) => e.split(':')[0]);
  assert.is(new Set(t0s).size, t0s.length, `no instance twice in v3's chain: ${stores[3]}`);
  sameChains(stores, 'seed 1, v3 restarted at T0(6) - 100 ms, 25 ms behind');
});

test('a cut shorter than a round, between two checks, is noticed and caught up', async () => {
  // The validator looked for "no peers" only at its ticks, chains, answers and `mine`: a cut that began
  // after one tick and ended before the next left no trace, the node lost that instance's chains, never
  // caught up, and appended the rest one height lower (2 of these 24 forked). Now a watcher notes any
  // moment without peers and the next check treats it as an outage.
  for (const seed of [1, 2]) {
    for (const from of [-30, -10, 5, 20]) {
      for (const ms of [100, 150, 180]) {
        const { stores } = await run({ seed, offset3Ms: 0, syncIntervalMs: 500, kill: false, startAtMs: null, cut: [from, ms] });
        sameChains(stores, `seed ${seed}, v3 cut at T0(6) + ${from} ms for ${ms} ms`);
      }
    }
  }
});

test.run();
