/**
 * What an event-loop stall was made of. A timer that should fire every `tickMs` fires late when the loop is
 * blocked, and the process CPU time used in between tells why: the node's own work (its code, or its GC),
 * or waiting for a core while other processes ran. With 16 node processes on 2 cores the second is the
 * usual cause, and a figure that does not say so blames the node for the scheduler.
 *
 * The timer is Node's event-loop delay monitor (perf_hooks monitorEventLoopDelay): a native timer that
 * records, without running any JavaScript, the interval between its firings. The process CPU time is read
 * far less often, every few tens of ms (`sample()`, driven by the owner's one timer). The meter used to be a
 * JavaScript timer every 10 ms that read the CPU time at each tick: on 2 shared cores each of those wake-ups
 * cost about 80 us, and 16 idle nodes spent about 0.17 of the 2 cores on them, seven times the nodes' own
 * idle work (bench/RESULTS.md `gossip-fixed-costs-2026-12-06`): the figures measured the meter with the node.
 *
 * So the CPU of a stall is known over the span between the last reading before the stall began and the
 * first after it ended, a little longer than the stall: the process ran at most that much during it. The
 * accounting (`StallTally`) is pure: readings with their time, CPU and the monitor's largest interval in,
 * figures out. `StallMeter` drives it from the monitor and `process.cpuUsage()` (the whole process, so GC
 * helper threads count too: the own-work figure is an upper bound).
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

/** A phase's stall figures, in ms. */
export interface StallFigures {
  /**
   * How late the timer fired, at worst: the delay beyond its interval (as the sig benchmark reports it). The
   * loop was blocked at least this long and at most one interval longer.
   */
  largestStallMs: number;
  /**
   * Process CPU time used over `largestStallSpanMs`, a span of readings that covers that stall (and the
   * interval before it): the process ran at most this long during the stall; the rest, it was waiting for a core.
   */
  largestStallCpuMs: number;
  /** The span of readings `largestStallCpuMs` was measured over: the stall's interval and up to two reading intervals more. */
  largestStallSpanMs: number;
  /**
   * The most process CPU time used between two consecutive readings, and that span: the whole span while the
   * loop is busy (a stall is in it or not); more than the span only when other threads of the process ran.
   */
  busiestSpanCpuMs: number;
  busiestSpanMs: number;
}

/** One reading: when, and the process CPU time used so far. */
interface Reading {
  ms: number;
  cpuMs: number;
}

const noFigures = (): StallFigures => ({ largestStallMs: 0, largestStallCpuMs: 0, largestStallSpanMs: 0, busiestSpanCpuMs: 0, busiestSpanMs: 0 });

/** Accumulates readings into {@link StallFigures}; time, CPU and the monitor's largest interval are passed in. */
export class StallTally {
  /** The latest readings, oldest first, at most readingsKept: a stall is covered from the one before it began. */
  private readings: Reading[];
  private figures: StallFigures = noFigures();

  constructor(
    private readonly tickMs: number,
    private readonly readingsKept: number,
    nowMs: number,
    cpuMs: number,
  ) {
    this.readings = [{ ms: nowMs, cpuMs }];
  }

  /**
   * A reading at `nowMs`, with the process CPU time used so far and the largest interval the monitor's timer
   * has measured since the last reset (ms). A largest interval that grew ended after the previous reading and
   * began at most that interval before it: the CPU over the readings around it is the stall's upper bound.
   */
  reading(nowMs: number, cpuMs: number, maxIntervalMs: number): void {
    const last = this.readings[this.readings.length - 1] as Reading;
    const f = this.figures;
    const usedMs = Math.max(0, cpuMs - last.cpuMs);
    if (usedMs > f.busiestSpanCpuMs) {
      f.busiestSpanCpuMs = usedMs;
      f.busiestSpanMs = Math.max(0, nowMs - last.ms);
    }
    const stallMs = Math.max(0, maxIntervalMs - this.tickMs);
    if (stallMs > f.largestStallMs) {
      const from = this.before(last.ms - maxIntervalMs);
      f.largestStallMs = stallMs;
      f.largestStallCpuMs = Math.max(0, cpuMs - from.cpuMs);
      f.largestStallSpanMs = Math.max(0, nowMs - from.ms);
    }
    this.readings.push({ ms: nowMs, cpuMs });
    if (this.readings.length > this.readingsKept) this.readings.shift();
  }

  /** Starts a new phase: figures from zero (the monitor is reset with it); the readings kept still cover a stall. */
  reset(): void {
    this.figures = noFigures();
  }

  /** The figures since the last reset. */
  read(): StallFigures {
    return { ...this.figures };
  }

  /** The latest reading at or before `ms`, else the oldest kept. */
  private before(ms: number): Reading {
    for (let i = this.readings.length - 1; i >= 0; i--) {
      const r = this.readings[i] as Reading;
      if (r.ms <= ms) return r;
    }
    return this.readings[0] as Reading;
  }
}

/** Process CPU time (user + system) so far, in ms. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * A {@link StallTally} fed by Node's event-loop delay monitor; the owner calls `sample()` every few tens of
 * ms (from a timer it has anyway), and `stop()` leaves nothing behind.
 */
export class StallMeter {
  private readonly tally: StallTally;
  private readonly monitor: IntervalHistogram;

  /** @param readingsKept readings kept to cover a stall: their spacing times this must exceed the longest stall. */
  constructor(tickMs: number, readingsKept: number) {
    this.monitor = monitorEventLoopDelay({ resolution: tickMs });
    this.monitor.enable();
    this.tally = new StallTally(tickMs, readingsKept, performance.now(), processCpuMs());
  }

  /** Takes a reading. */
  sample(): void {
    // The monitor reports in ns; before its first interval it reports 0.
    this.tally.reading(performance.now(), processCpuMs(), this.monitor.max / 1e6);
  }

  /** Starts a new phase. The monitor's first interval after a reset is not recorded (its own clock restarts). */
  reset(): void {
    this.sample();
    this.monitor.reset();
    this.tally.reset();
  }

  /** The figures since the last reset, with a reading taken now. */
  read(): StallFigures {
    this.sample();
    return this.tally.read();
  }

  stop(): void {
    this.monitor.disable();
  }
}
