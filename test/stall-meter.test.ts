/** The gossip benchmark's stall accounting: how late a timer fired, and how much of that the process ran at most. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { processCpuMs, StallMeter, StallTally } from '../bench/gossip/stall-meter.ts';

test('intervals on time are no stall; a longer one is a stall of its excess, with the CPU of the readings around it', () => {
  const t = new StallTally(10, 100, 1000, 50);
  t.reading(1100, 52, 10);
  assert.equal(t.read(), { largestStallMs: 0, largestStallCpuMs: 0, largestStallSpanMs: 0, busiestSpanCpuMs: 2, busiestSpanMs: 100 });
  t.reading(1200, 60, 10);
  // A 90 ms interval (80 ms late) ended after the reading at 1200 and began after 1200 - 90: the readings at
  // 1100 and 1300 cover it, and the process ran 19 ms between them: it mostly waited for a core.
  t.reading(1300, 71, 90);
  assert.equal(t.read(), { largestStallMs: 80, largestStallCpuMs: 19, largestStallSpanMs: 200, busiestSpanCpuMs: 11, busiestSpanMs: 100 });
});

test('a stall longer than the readings\' spacing is covered from the last reading before it began', () => {
  const t = new StallTally(10, 100, 0, 0);
  t.reading(100, 5, 10);
  t.reading(200, 10, 10);
  // Blocked from about 200 to 450 (own work, 240 ms of CPU): the next reading at 460 sees a 260 ms interval.
  t.reading(460, 250, 260);
  assert.equal(t.read(), { largestStallMs: 250, largestStallCpuMs: 250, largestStallSpanMs: 460, busiestSpanCpuMs: 240, busiestSpanMs: 260 });
});

test('the largest stall keeps its own CPU figure; the busiest span is tracked apart', () => {
  const t = new StallTally(10, 100, 0, 0);
  t.reading(100, 60, 60); // 50 ms late, 60 ms of CPU
  t.reading(200, 65, 60);
  t.reading(300, 70, 60);
  // 100 ms late: the interval began after 300 - 110, so the reading at 100 is before it; 15 ms of CPU since.
  t.reading(400, 75, 110);
  const f = t.read();
  assert.is(f.largestStallMs, 100);
  assert.is(f.largestStallCpuMs, 15);
  assert.is(f.largestStallSpanMs, 300);
  assert.is(f.busiestSpanCpuMs, 60);
});

test('reset starts a phase from zero; the readings kept still cover a stall across it', () => {
  const t = new StallTally(10, 100, 0, 0);
  t.reading(100, 90, 100);
  t.reset();
  assert.equal(t.read(), { largestStallMs: 0, largestStallCpuMs: 0, largestStallSpanMs: 0, busiestSpanCpuMs: 0, busiestSpanMs: 0 });
  t.reading(200, 93, 30);
  assert.equal(t.read(), { largestStallMs: 20, largestStallCpuMs: 93, largestStallSpanMs: 200, busiestSpanCpuMs: 3, busiestSpanMs: 100 });
});

test('only readingsKept readings are kept: a stall older than all of them is covered from the oldest', () => {
  const t = new StallTally(10, 3, 0, 0);
  for (let i = 1; i <= 5; i++) t.reading(i * 100, i, 10);
  t.reading(600, 6, 1000);
  assert.is(t.read().largestStallSpanMs, 300);
});

test('a clock or CPU counter that steps back counts as nothing, never negative', () => {
  const t = new StallTally(10, 100, 500, 40);
  t.reading(490, 30, 0);
  assert.equal(t.read(), { largestStallMs: 0, largestStallCpuMs: 0, largestStallSpanMs: 0, busiestSpanCpuMs: 0, busiestSpanMs: 0 });
});

test('the meter on the native monitor sees the loop blocked by work, and that the process ran through it', async () => {
  const meter = new StallMeter(5, 100);
  try {
    // A few intervals of the monitor before the spin, so its clock is running when the loop blocks.
    await new Promise((r) => setTimeout(r, 20));
    meter.sample();
    // Spin on CPU time, not wall time alone: on a loaded machine a wall-clock spin may get little of a core.
    // And on wall time too: the process's CPU counts every thread (GC, the loader), so it can pass 80 ms
    // before this thread has held the loop for 80 ms (seen: a 69.2 ms stall).
    const untilCpu = processCpuMs() + 80;
    const untilWall = performance.now() + 80;
    while (processCpuMs() < untilCpu || performance.now() < untilWall) {
      // busy: the loop cannot turn
    }
    // The monitor's timer, overdue since the spin, fires before this later timer does.
    await new Promise((r) => setTimeout(r, 20));
    const f = meter.read();
    assert.ok(f.largestStallMs >= 70, `stall ${f.largestStallMs} ms`);
    assert.ok(f.largestStallCpuMs >= 70, `CPU around the stall ${f.largestStallCpuMs} ms`);
    assert.ok(f.largestStallSpanMs >= f.largestStallMs, `span ${f.largestStallSpanMs} ms`);
  } finally {
    meter.stop();
  }
});

test.run();
