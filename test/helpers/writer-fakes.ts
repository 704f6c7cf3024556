/**
 * Fakes for the bounded writers' tests (event-writer, log-writer): a sink whose reader takes writes only when
 * told, and a clock that moves only when told.
 */
import type { OutputSink } from '../../src/cli/event-writer.ts';
import type { Clock, Timer } from '../../src/io/clock.ts';

/** A sink that takes nothing until told: `take()` completes the oldest write, as a reader reading it would. */
export class HeldSink implements OutputSink {
  readonly written: string[] = [];
  readonly #pending: ((error?: Error | null) => void)[] = [];

  write(text: string, done: (error?: Error | null) => void): void {
    this.written.push(text);
    this.#pending.push(done);
  }

  /** Completes the oldest `n` writes (with `error`, as a reader that went away). */
  take(n = 1, error: Error | null = null): void {
    for (let i = 0; i < n; i++) this.#pending.shift()?.(error);
  }

  get waiting(): number {
    return this.#pending.length;
  }
}

/** A clock whose time moves only when the test says. */
export class HandClock implements Clock {
  ms = 1_000_000;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.ms;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const t = { at: this.ms + ms, fn, live: true };
    this.#timers.push(t);
    return { cancel: () => void (t.live = false) };
  }

  setRepeating(): Timer {
    throw new Error('not used');
  }

  nextTurn(fn: () => void): Timer {
    return this.setTimer(fn, 0);
  }

  advance(ms: number): void {
    this.ms += ms;
    for (const t of this.#timers.filter((x) => x.live && x.at <= this.ms)) {
      t.live = false;
      t.fn();
    }
  }
}
