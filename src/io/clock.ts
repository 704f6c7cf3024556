/**
 * Time, as the node core sees it: the wall clock and timers, passed in so that the core never reads a real
 * clock or sets a real timer. A machine runs the system clock (system-clock.ts); the simulator runs a
 * virtual clock per host, with its own offset, over one virtual timeline (src/sim/virtual-clock.ts), so a
 * seed replays the same run and clocks can differ as separate machines' do.
 */

/** A scheduled callback; cancelling twice, or after it ran, is harmless. */
export interface Timer {
  cancel(): void;
}

/** The clock and timers of one host. */
export interface Clock {
  /** Wall-clock time in ms since the epoch (Date.now on a machine; may differ between hosts). */
  now(): number;
  /**
   * Runs `fn` once, `ms` from now. A `background` timer does not keep a process alive on its own (Node's
   * unref): housekeeping that a stopped node would cancel anyway.
   */
  setTimer(fn: () => void, ms: number, background?: boolean): Timer;
  /** Runs `fn` every `ms` until cancelled; always background. */
  setRepeating(fn: () => void, ms: number): Timer;
  /**
   * Runs `fn` once the work of the current event is done, before any timer (setImmediate on a machine): what
   * was read in one event-loop iteration is handled before it runs.
   */
  nextTurn(fn: () => void): Timer;
}
