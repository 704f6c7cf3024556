/**
 * The stall probe (core/stall-probe.ts) on a clock that moves only when the test says, and whose timers run
 * only when the test runs them: after a pause every timer is due at once and they run one by one, so the
 * round tick's outage check asks the probe first (fireIfLate). A probe more than stallMsMax past due reports
 * the stall at once and only once; one late by stallMsMax or less, or stopped, reports nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Clock, Timer } from '../src/io/clock.ts';
import { StallProbe } from '../src/core/stall-probe.ts';

/** A clock whose time moves, and whose timers run, only when the test says. */
class HandClock implements Clock {
  ms = 1_000_000;
  readonly timers: { at: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.ms;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const t = { at: this.ms + ms, fn, live: true };
    this.timers.push(t);
    return { cancel: () => void (t.live = false) };
  }

  setRepeating(): Timer {
    throw new Error('not used');
  }

  nextTurn(fn: () => void): Timer {
    return this.setTimer(fn, 0);
  }

  /** Runs the timers due now, in the order they fell due. */
  runDue(): void {
    for (const t of this.timers.filter((x) => x.live && x.at <= this.ms).sort((a, b) => a.at - b.at)) {
      if (!t.live) continue;
      t.live = false;
      t.fn();
    }
  }
}

const probeMs = 25;
const stallMsMax = 100;

function probe(): { clock: HandClock; p: StallProbe; stalls: number[] } {
  const clock = new HandClock();
  const stalls: number[] = [];
  const p = new StallProbe(clock, () => clock.now(), probeMs, stallMsMax, (lateMs) => stalls.push(lateMs));
  return { clock, p, stalls };
}

test('a probe more than stallMsMax past due reports the stall when asked, once: its own timer, run later, reports nothing more', () => {
  const { clock, p, stalls } = probe();
  p.start();
  clock.ms += probeMs + stallMsMax + 30;
  p.fireIfLate();
  assert.equal(stalls, [stallMsMax + 30], 'reported at once, before its timer runs');
  p.fireIfLate();
  clock.runDue();
  assert.equal(stalls, [stallMsMax + 30], 'the timer it replaced is cancelled, and the new one is not late');
  assert.is(p.status().stalls, 1);
});

test('a probe late by stallMsMax or less, or stopped, reports nothing when asked', () => {
  const { clock, p, stalls } = probe();
  p.start();
  clock.ms += probeMs + stallMsMax;
  p.fireIfLate();
  assert.equal(stalls, [], 'late by exactly stallMsMax: within the timing rule');
  p.stop();
  clock.ms += 1_000;
  p.fireIfLate();
  assert.equal(stalls, [], 'a stopped probe');
});

test('every firing of the probe runs onProbe once, the one fireIfLate forces too: the watches of its period share its one timer', () => {
  const clock = new HandClock();
  let probes = 0;
  const p = new StallProbe(clock, () => clock.now(), probeMs, stallMsMax, () => {}, () => probes++);
  p.start();
  for (let i = 0; i < 4; i++) {
    clock.ms += probeMs;
    clock.runDue();
  }
  assert.is(probes, 4, 'one a period');
  clock.ms += probeMs + stallMsMax + 1;
  p.fireIfLate();
  assert.is(probes, 5, 'the forced firing');
  p.stop();
  clock.ms += 10 * probeMs;
  clock.runDue();
  assert.is(probes, 5, 'none once stopped');
});

test.run();
