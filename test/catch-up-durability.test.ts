/**
 * Review of the quorum rule (src/consensus/catch-up.ts): a validator that decided a block, and died before
 * that decision reached its disk, comes back stating a chain without the block and `heldFrom` null, as if it
 * had never decided it. The disk order (src/core/disk-order.ts keepHeldMark) took "a crash before the mark (or
 * the block) is durable" as "a crash during its instance"; the fault bound counts a fault from its start
 * (test/sim-net/scenario.ts: from the moment the fault starts until k+1 rounds after the validator is back).
 * When a disk write lags behind the decision by more than a few rounds (an fsync held up on a busy host, a
 * backlog of catch-up appends), the two differ, and one fault per instance is enough to fork honest validators.
 *
 * Now the mark is written ahead of the decisions it covers (disk-order.ts): the first two schedules end on
 * one chain, the third test holds the mark on disk against what a crash would lose at every round (and
 * checks a clean stop: no mark, nothing decided after it), and the fourth covers the one gap a mark written
 * ahead leaves, a store with no mark at all while the first one is on its way (opening the store fills it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';
import { toHex } from '../src/bytes.ts';

const roundMs = 200;

/** A crash fault of one validator: down (or out) from `fromMs`, back at `backMs`. */
interface Outage {
  node: number;
  fromMs: number;
  backMs: number;
}

/**
 * The most validators faulty during any one instance t0 (rounds t0 .. t0+k-1), counting each outage from its
 * start until k+1 rounds after the validator is back, as test/sim-net/scenario.ts does.
 */
function worstInstanceLoad(w: World, outages: Outage[], k: number, lastT0: number): { worst: number; at: number } {
  let worst = 0;
  let at = -1;
  for (let t0 = 0; t0 <= lastT0; t0++) {
    const from = w.T0(t0);
    const to = w.T0(t0 + k);
    const load = new Set(outages.filter((o) => o.fromMs < to && from < o.backMs + (k + 1) * roundMs).map((o) => o.node)).size;
    if (load > worst) [worst, at] = [load, t0];
  }
  return { worst, at };
}

/** Hex chains of the validators that are up and not catching up. */
function liveChains(w: World, n: number): string[] {
  return [...Array(n).keys()]
    .filter((i) => w.nodes[i] !== null && !w.nodes[i]!.validator.syncing)
    .map((i) => `v${i}: ${w.nodes[i]!.validator.chain().map((b) => toHex(b.hash).slice(0, 8)).join(',')}`);
}

test('decisions not yet durable when their validators die: one fault per instance, and a late validator completes without B', async () => {
  // n = 4, f = 1, k = 2. v0 mines B at t0 = 10; v1 and v2 decide it at T0(12), but their disks hold the write
  // up until T0(30). v3 is down during instance 10. v1 dies at T0(17) and v2 at T0(23), one at a time, before
  // B is on their disks; they come back without B and with no held-decision mark. When v3 asks (its
  // catch-up asks every 25 rounds), v1 and v2 state its chain (height 0) with heldFrom null: with its own,
  // that is max(f+1, n-f) = 3, and v3 completes without B; then v1 and v2 do the same, and v0 is alone with B.
  const forks: string[] = [];
  for (const seed of [1, 2, 3]) {
    const diskStall = (i: number, nowMs: number): number | undefined => ((i === 1 || i === 2) && nowMs >= w.T0(11) && nowMs < w.T0(13) ? w.T0(30) - nowMs : undefined);
    const w: World = new World({ seed, n: 4, faults: 1, roundMs, delayMinMs: 2, delayMaxMs: 12, verifyMsMax: 2, diskMsMax: 2, diskMsOf: diskStall, syncIntervalMs: 5000, eventsMax: 4_000_000 });
    w.startFullMesh();
    const outages: Outage[] = [
      { node: 3, fromMs: w.T0(9) + 100, backMs: w.T0(12) + 50 },
      { node: 1, fromMs: w.T0(17) + 50, backMs: w.T0(18) + 50 },
      { node: 2, fromMs: w.T0(23) + 50, backMs: w.T0(24) + 50 },
    ];
    for (const o of outages) {
      w.sched.at(o.fromMs, () => w.kill(o.node));
      w.sched.at(o.backMs, () => void w.restart(o.node));
    }
    w.mineAt(0, 10, 'B');
    w.mineAt(0, 70, 'C');
    const budget = worstInstanceLoad(w, outages, 2, 80);
    assert.ok(budget.worst <= 1, `seed ${seed}: within the fault bound (worst ${budget.worst} faulty, instance ${budget.at})`);
    let bDurableAt1 = -1;
    w.sched.at(w.T0(17) + 49, () => (bDurableAt1 = w.stores[1]!.length));
    await w.sched.run(w.T0(80));
    assert.is(bDurableAt1, 0, `seed ${seed}: B was not yet on v1's disk when it died`);
    const chains = liveChains(w, 4);
    const heads = new Set(chains.map((c) => c.slice(4)));
    if (heads.size > 1) forks.push(`seed ${seed}:\n  ${chains.join('\n  ')}`);
  }
  assert.equal(forks, [], `honest chains forked within the fault bound:\n${forks.join('\n')}`);
});

test('held decisions whose mark is not yet durable when their validators die: one fault per instance, and a late validator completes without B', async () => {
  // n = 4, f = 1, k = 2. v1 and v2 restart early (rounds 1 and 6, one at a time) and stay catching up (they
  // ask every 25 rounds). v3 is down during instance 13, where v0 mines B: v0 appends it, v1 and v2 hold it,
  // and their held-decision marks wait on disks that hold writes up until T0(30) (keepHeldMark's window). v1
  // dies at T0(20) and v2 at T0(26), one at a time; each comes back without B and with no mark (held.json
  // never got it), so its statements say heldFrom null. v3, then v1 and v2, complete without B.
  const forks: string[] = [];
  for (const seed of [1, 2, 3]) {
    const diskStall = (i: number, nowMs: number): number | undefined => ((i === 1 || i === 2) && nowMs >= w.T0(14) && nowMs < w.T0(16) ? w.T0(30) - nowMs : undefined);
    const w: World = new World({ seed, n: 4, faults: 1, roundMs, delayMinMs: 2, delayMaxMs: 12, verifyMsMax: 2, diskMsMax: 2, diskMsOf: diskStall, syncIntervalMs: 5000, eventsMax: 4_000_000 });
    w.startFullMesh();
    const outages: Outage[] = [
      { node: 1, fromMs: w.T0(1) + 40, backMs: w.T0(1) + 120 },
      { node: 2, fromMs: w.T0(6) + 40, backMs: w.T0(6) + 120 },
      { node: 3, fromMs: w.T0(12) + 100, backMs: w.T0(15) + 50 },
      { node: 1, fromMs: w.T0(20) + 50, backMs: w.T0(21) + 50 },
      { node: 2, fromMs: w.T0(26) + 50, backMs: w.T0(27) + 50 },
    ];
    for (const o of outages) {
      w.sched.at(o.fromMs, () => w.kill(o.node));
      w.sched.at(o.backMs, () => void w.restart(o.node));
    }
    w.mineAt(0, 13, 'B');
    w.mineAt(0, 70, 'C');
    const budget = worstInstanceLoad(w, outages, 2, 80);
    assert.ok(budget.worst <= 1, `seed ${seed}: within the fault bound (worst ${budget.worst} faulty, instance ${budget.at})`);
    // Just before it dies v1 holds B (its prospective chain has it, its chain not), and held.json does not say so.
    let heldB = false;
    w.sched.at(w.T0(20) + 49, () => {
      const v = w.nodes[1]!.validator;
      const run = (v as unknown as { sync: { run: { liveFromT0: number } | null } }).sync.run;
      heldB = run !== null && v.core.prospectiveTip(run.liveFromT0).height === v.core.tip().height + 1;
    });
    await w.sched.run(w.T0(80));
    assert.ok(heldB, `seed ${seed}: v1 held B when it died`);
    const chains = liveChains(w, 4);
    const heads = new Set(chains.map((c) => c.slice(4)));
    if (heads.size > 1) forks.push(`seed ${seed}:\n  ${chains.join('\n  ')}`);
  }
  assert.equal(forks, [], `honest chains forked within the fault bound:\n${forks.join('\n')}`);
});

test('at every round, the durable mark is at or below every decision a crash would lose (the first schedule, fast disks and a stalled one)', async () => {
  for (const stalled of [false, true]) {
    const seed = 1;
    const diskStall = (i: number, nowMs: number): number | undefined => (stalled && (i === 1 || i === 2) && nowMs >= w.T0(11) && nowMs < w.T0(13) ? w.T0(30) - nowMs : undefined);
    const w: World = new World({ seed, n: 4, faults: 1, roundMs, delayMinMs: 2, delayMaxMs: 12, verifyMsMax: 2, diskMsMax: 2, diskMsOf: diskStall, syncIntervalMs: 5000, eventsMax: 4_000_000 });
    w.startFullMesh();
    w.sched.at(w.T0(9) + 100, () => w.kill(3));
    w.sched.at(w.T0(12) + 50, () => void w.restart(3));
    for (const t0 of [4, 10, 16, 22]) w.mineAt(0, t0, `block ${t0}`);
    const wrong: string[] = [];
    for (let r = 1; r < 42; r++) {
      // Just before each tick: what a crash now would lose, against the mark on disk.
      w.sched.at(w.T0(r) - 1, () => {
        for (let i = 0; i < 4; i++) {
          const v = w.nodes[i]?.validator;
          if (!v) continue;
          const undurable = v.chain().filter((b) => b.height > w.stores[i]!.length).map((b) => b.t0);
          const held = v.core.heldFrom();
          const lose = Math.min(...undurable, held ?? Infinity);
          const mark = w.heldMarks[i] ?? null;
          if (lose !== Infinity && (mark === null || mark > lose)) wrong.push(`round ${r}: v${i} could lose t0 ${lose}, mark on disk ${mark}`);
        }
      });
    }
    // A clean stop of a live validator, just before instance 36 ends: everything it decided is on disk, so the
    // mark says nothing is lost, and it decides nothing after it, though its node still hands it the chains
    // of instance 38 (a chain that reached the state machine would decide instance 36 there).
    w.mineAt(1, 36, 'block 36');
    w.mineAt(1, 38, 'block 38');
    let markAfterStop: number | null | undefined;
    let heightAtStop = -1;
    w.sched.at(w.T0(38) - 5, () => {
      const v = w.nodes[0]!.validator;
      v.stop();
      heightAtStop = v.chain().length;
      void v.flushed().then(() => (markAfterStop = w.heldMarks[0] ?? null));
    });
    await w.sched.run(w.T0(42));
    assert.equal(wrong, [], `disk ${stalled ? 'stalled' : 'fast'}`);
    assert.is(markAfterStop, null, 'a clean stop leaves no mark');
    assert.is(w.nodes[0]!.validator.chain().length, heightAtStop, 'nothing decided after stop');
    assert.is(w.stores[0]!.length, heightAtStop, 'all of it on disk');
    assert.is(w.nodes[1]!.validator.chain().length, heightAtStop + 2, 'the others decided blocks 36 and 38');
  }
});

test('after a clean stop, a validator whose first mark is held up on its disk: its decisions are covered meanwhile all the same', async () => {
  // n = 4, f = 1. v1 stops cleanly in round 5 (held.json: null, nothing held) and starts again in round 6 on a
  // disk that holds its writes up until T0(20): its first mark waits, and a crash meanwhile must still leave a
  // mark at or below what it decided (opening the store claims it with 0). v0 mines in rounds 8, 10 and 12.
  for (const seed of [1, 2]) {
    const diskStall = (i: number, nowMs: number): number | undefined => (i === 1 && nowMs >= w.T0(6) && nowMs < w.T0(7) ? w.T0(20) - nowMs : undefined);
    const w: World = new World({ seed, n: 4, faults: 1, roundMs, delayMinMs: 2, delayMaxMs: 12, verifyMsMax: 2, diskMsMax: 2, diskMsOf: diskStall, syncIntervalMs: 500, eventsMax: 4_000_000 });
    w.startFullMesh();
    w.sched.at(w.T0(5) + 50, () => {
      const v = w.nodes[1]!.validator;
      v.stop();
      void v.flushed().then(() => w.kill(1));
    });
    w.sched.at(w.T0(6) + 20, () => void w.restart(1));
    for (const t0 of [8, 10, 12]) w.mineAt(0, t0, `block ${t0}`);
    const wrong: string[] = [];
    for (let r = 7; r < 30; r++) {
      w.sched.at(w.T0(r) - 1, () => {
        const v = w.nodes[1]?.validator;
        if (!v) return;
        const run = (v as unknown as { sync: { run: { liveFromT0: number } | null } }).sync.run;
        // While it catches up, blocks it synced are no decisions of its own (f+1 others vouched for them); those
        // it holds for instances from its first live round on are (the others are partial: it was not up then).
        const holds = run !== null && v.core.prospectiveTip(run.liveFromT0).height > v.core.tip().height;
        const undurable = run !== null ? [] : v.chain().filter((b) => b.height > w.stores[1]!.length).map((b) => b.t0);
        const mark = w.heldMarks[1] ?? null;
        if ((holds || undurable.length > 0) && mark === null) wrong.push(`round ${r}: v1 ${holds ? 'holds a decision' : `has t0 ${undurable} off its disk`}, no mark on disk`);
        if (mark !== null && undurable.some((t0) => t0 < mark)) wrong.push(`round ${r}: v1 has t0 ${undurable} off its disk, mark ${mark}`);
      });
    }
    await w.sched.run(w.T0(40));
    assert.equal(wrong, [], `seed ${seed}`);
    assert.is(w.nodes[1]!.validator.syncing, false, `seed ${seed}: v1 caught up once its disk came back`);
    assert.equal(w.nodes[1]!.chainHashes(), w.nodes[0]!.chainHashes(), `seed ${seed}: one chain`);
  }
});

test.run();
