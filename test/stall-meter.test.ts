/** The gossip benchmark's stall accounting: how late a timer fired, and how much of that the process ran. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { processCpuMs, StallMeter, StallTally } from '../bench/gossip/stall-meter.ts';

test('ticks on time are no stall; a late tick is a stall of its lateness, with the CPU used meanwhile', () => {
  const t = new StallTally(10, 1000, 50);
  t.tick(1010, 52);
  t.tick(1020, 53);
  assert.equal(t.read(), { largestStallMs: 0, largestStallCpuMs: 0, busiestTickCpuMs: 2 });
  t.tick(1110, 61); // 90 ms late, 8 ms of CPU: the process mostly waited for a core
  t.tick(1120, 70);
  assert.equal(t.read(), { largestStallMs: 80, largestStallCpuMs: 8, busiestTickCpuMs: 9 });
});

test('the largest stall keeps its own CPU figure; the busiest tick is tracked apart', () => {
  const t = new StallTally(10, 0, 0);
  t.tick(60, 45); // 50 ms late, 45 ms of own work
  t.tick(170, 55); // 100 ms late, 10 ms of own work
  assert.equal(t.read(), { largestStallMs: 100, largestStallCpuMs: 10, busiestTickCpuMs: 45 });
});

test('reset starts a phase from zero, measuring the next tick from the last one', () => {
  const t = new StallTally(10, 0, 0);
  t.tick(200, 100);
  t.reset();
  assert.equal(t.read(), { largestStallMs: 0, largestStallCpuMs: 0, busiestTickCpuMs: 0 });
  t.tick(230, 103);
  assert.equal(t.read(), { largestStallMs: 20, largestStallCpuMs: 3, busiestTickCpuMs: 3 });
});

test('a clock or CPU counter that steps back counts as nothing, never negative', () => {
  const t = new StallTally(10, 500, 40);
  t.tick(490, 30);
  assert.equal(t.read(), { largestStallMs: 0, largestStallCpuMs: 0, busiestTickCpuMs: 0 });
});

test('the meter on a real timer sees the loop blocked by work, and that the process ran through it', async () => {
  const meter = new StallMeter(5);
  try {
    // The meter ticks every 5 ms: a few ticks before the spin, so the stall is measured from a recent one.
    await new Promise((r) => setTimeout(r, 20));
    // Spin on CPU time, not wall time alone: on a loaded machine a wall-clock spin may get little of a core.
    // And on wall time too: the process's CPU counts every thread (GC, the loader), so it can pass 80 ms
    // before this thread has held the loop for 80 ms (seen: a 69.2 ms stall).
    const untilCpu = processCpuMs() + 80;
    const untilWall = performance.now() + 80;
    while (processCpuMs() < untilCpu || performance.now() < untilWall) {
      // busy: the loop cannot turn
    }
    // The meter's tick, overdue since the spin, runs before this later timer does (Node runs due timers in the
    // order they fall due), so the reading below includes the stall however late both fire.
    await new Promise((r) => setTimeout(r, 20));
    const f = meter.read();
    assert.ok(f.busiestTickCpuMs >= 70, `most CPU between two ticks ${f.busiestTickCpuMs} ms`);
    assert.ok(f.largestStallMs >= 70, `stall ${f.largestStallMs} ms`);
  } finally {
    meter.stop();
  }
});

test.run();
