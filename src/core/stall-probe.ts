/**
 * How late this process runs, as a validator needs to know it: a timer due every probeMs, and how far past
 * due it fired. A process that did not run for a while (CPU starvation on an overloaded machine, a long GC
 * pause, SIGSTOP) fires late by about as long; past stallMsMax the validator takes itself as out of
 * synchrony (validator-types.ts, stallDefaults). Time comes from the Clock seam, so the simulator's pauses
 * are seen exactly as a real stall is.
 */
import type { Clock, Timer } from '../io/clock.ts';
import type { SynchronyStatus } from './validator-types.ts';

/** Probes kept for the recent maximum. */
const recentProbes = 10;

/** A repeating probe of the process's own lateness. */
export class StallProbe {
  #timer: Timer | null = null;
  #dueMs = 0;
  #lagMsMax = 0;
  readonly #recent: number[] = [];
  #stalls = 0;

  constructor(
    private readonly clock: Clock,
    private readonly now: () => number,
    readonly probeMs: number,
    readonly stallMsMax: number,
    private readonly onStall: (lateMs: number) => void,
    /** Called at every firing, after the lateness is taken: other watches of the same period share this timer. */
    private readonly onProbe: () => void = () => {},
  ) {}

  start(): void {
    if (this.#timer === null) this.#arm();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  status(): Pick<SynchronyStatus, 'stallMsMax' | 'probeMs' | 'lagMsMax' | 'lagMsRecentMax' | 'stalls'> {
    return { stallMsMax: this.stallMsMax, probeMs: this.probeMs, lagMsMax: this.#lagMsMax, lagMsRecentMax: Math.max(0, ...this.#recent), stalls: this.#stalls };
  }

  /**
   * Fires now when the probe's timer is already more than stallMsMax past due. After a pause every timer
   * fires late, in the order they fell due, so another one (the round tick) may run before this one and must
   * not act on the node's own view before the stall is known (OutageWatch.check asks this first).
   */
  fireIfLate(): void {
    if (this.#timer === null || this.now() - this.#dueMs <= this.stallMsMax) return;
    this.#timer.cancel();
    this.#fire();
  }

  // Re-armed from each firing (not an interval): a process that was stopped fires once when it runs again,
  // and the lateness is measured from the moment this firing was due.
  #arm(): void {
    this.#dueMs = this.now() + this.probeMs;
    this.#timer = this.clock.setTimer(() => this.#fire(), this.probeMs);
  }

  #fire(): void {
    const lateMs = Math.max(0, this.now() - this.#dueMs);
    this.#lagMsMax = Math.max(this.#lagMsMax, lateMs);
    this.#recent.push(lateMs);
    if (this.#recent.length > recentProbes) this.#recent.shift();
    this.#arm();
    if (lateMs > this.stallMsMax) {
      this.#stalls++;
      this.onStall(lateMs);
    }
    this.onProbe();
  }
}
