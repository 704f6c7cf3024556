/** The clock of a real machine: Date.now and Node's timers. */
import type { Clock, Timer } from './clock.ts';

/** A Clock on Date.now (or `now`, for a process whose clock should read differently) and Node's timers. */
export function systemClock(now: () => number = Date.now): Clock {
  return {
    now,
    setTimer(fn, ms, background = false): Timer {
      const t = setTimeout(fn, ms);
      if (background) t.unref();
      return { cancel: () => clearTimeout(t) };
    },
    setRepeating(fn, ms): Timer {
      const t = setInterval(fn, ms);
      t.unref();
      return { cancel: () => clearInterval(t) };
    },
    nextTurn(fn): Timer {
      const t = setImmediate(fn);
      return { cancel: () => clearImmediate(t) };
    },
  };
}
