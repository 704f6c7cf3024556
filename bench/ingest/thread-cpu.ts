/**
 * CPU time of this process's threads by role (Linux /proc; zeros elsewhere): the main thread, the threads a
 * verification pool started (found as the threads that appeared while it was created: Node names every
 * thread "node"), and all the others (V8's GC and compiler helpers, libuv's pool). Node 20 has no per-thread
 * CPU clock; /proc counts in ticks of 10 ms, plenty over a step of seconds.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports thread CPU time in clock ticks of 1/100 s (USER_HZ). */
const ticksPerSecond = 100;

/** Ids of this process's threads now (empty where /proc is missing). */
export function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

/** CPU ms one thread has used (0 if it is gone). */
function threadCpuMs(tid: number): number {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the parenthesised name; utime and stime are fields 14 and 15 of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** CPU ms so far by role. */
export interface ThreadCpu {
  mainMs: number;
  poolMs: number;
  otherMs: number;
}

/** Reads the CPU of the process's threads by role; `poolTids` are the pool's threads. */
export class ThreadCpuMeter {
  readonly #pool: Set<number>;

  constructor(poolTids: readonly number[]) {
    this.#pool = new Set(poolTids);
  }

  /** CPU so far by role (threads that exited are no longer counted: read it around a step, not across restarts). */
  read(): ThreadCpu {
    const out: ThreadCpu = { mainMs: 0, poolMs: 0, otherMs: 0 };
    for (const tid of threadIds()) {
      const ms = threadCpuMs(tid);
      if (tid === process.pid) out.mainMs += ms;
      else if (this.#pool.has(tid)) out.poolMs += ms;
      else out.otherMs += ms;
    }
    return out;
  }
}
