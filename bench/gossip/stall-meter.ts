/**
 * What an event-loop stall was made of. A timer that should fire every `tickMs` fires late when the loop is
 * blocked, and the process CPU time used in between tells why: the node's own work (its code, or its GC),
 * or waiting for a core while other processes ran. With 16 node processes on 2 cores the second is the
 * usual cause, and a figure that does not say so blames the node for the scheduler.
 *
 * The accounting (`StallTally`) is pure: ticks with their time and CPU in, records out. `StallMeter` drives
 * it from a real timer and `process.cpuUsage()` (the whole process, so GC helper threads count too: the
 * own-work figure is an upper bound).
 */
import { performance } from 'node:perf_hooks';

/** A phase's stall figures, in ms. */
export interface StallFigures {
  /**
   * How late the timer fired, at worst: the delay beyond its interval (as the sig benchmark reports it). The
   * loop was blocked at least this long and at most one interval longer.
   */
  largestStallMs: number;
  /** Process CPU time used from the tick before that stall to its end; the rest, the process was waiting for a core. */
  largestStallCpuMs: number;
  /**
   * The most process CPU time used between two consecutive ticks: about one tick while the loop keeps turning
   * under load; more only when work ran longer without the loop turning (or other threads of the process ran).
   */
  busiestTickCpuMs: number;
}

/** Accumulates ticks into {@link StallFigures}; time and CPU are passed in. */
export class StallTally {
  private lastMs: number;
  private lastCpuMs: number;
  private figures: StallFigures = { largestStallMs: 0, largestStallCpuMs: 0, busiestTickCpuMs: 0 };

  constructor(
    private readonly tickMs: number,
    nowMs: number,
    cpuMs: number,
  ) {
    this.lastMs = nowMs;
    this.lastCpuMs = cpuMs;
  }

  /** A tick of the timer at `nowMs`, with the process CPU time used so far. */
  tick(nowMs: number, cpuMs: number): void {
    const stallMs = Math.max(0, nowMs - this.lastMs - this.tickMs);
    const usedMs = Math.max(0, cpuMs - this.lastCpuMs);
    const f = this.figures;
    if (stallMs > f.largestStallMs) {
      f.largestStallMs = stallMs;
      f.largestStallCpuMs = usedMs;
    }
    if (usedMs > f.busiestTickCpuMs) f.busiestTickCpuMs = usedMs;
    this.lastMs = nowMs;
    this.lastCpuMs = cpuMs;
  }

  /** Starts a new phase: figures from zero; the next tick is measured from the last one. */
  reset(): void {
    this.figures = { largestStallMs: 0, largestStallCpuMs: 0, busiestTickCpuMs: 0 };
  }

  /** The figures since the last reset. */
  read(): StallFigures {
    return { ...this.figures };
  }
}

/** Process CPU time (user + system) so far, in ms. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** A {@link StallTally} driven by a real timer; `stop()` leaves nothing behind. */
export class StallMeter {
  private readonly tally: StallTally;
  private readonly timer: NodeJS.Timeout;

  constructor(tickMs: number) {
    this.tally = new StallTally(tickMs, performance.now(), processCpuMs());
    this.timer = setInterval(() => this.tally.tick(performance.now(), processCpuMs()), tickMs);
    this.timer.unref();
  }

  reset(): void {
    this.tally.reset();
  }

  read(): StallFigures {
    return this.tally.read();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
