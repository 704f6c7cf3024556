/**
 * The end-of-turn flush of a node's connections, in one callback: every connection whose writes wait for the
 * end of the current event-loop turn (write-coalescer.ts) joins a list, and one `nextTurn` (setImmediate on a
 * machine) flushes them all, in the order they joined. A relay written to six peers used to schedule six
 * immediates, each with its closures, each followed by its own run of the microtask and nextTick queues;
 * on 2 cores shared by 16 node processes that per-turn work is paid at every frame that wakes a node.
 *
 * Pure apart from the injected `nextTurn` (the node's Clock), so the simulator drives it on virtual time.
 */

/** A connection's writer whose held writes may be due at the end of the turn. */
export interface TurnFlushable {
  /** The turn ended: flush, if the writes are still held for it (not flushed, stopped, or waiting for a timer since). */
  onTurnEnd(): void;
}

/** One node's list of writers to flush at the end of the turn. */
export class TurnFlush {
  #due: TurnFlushable[] = [];
  /** The list of the previous turn, emptied, reused for the next one: a turn's flush allocates nothing. */
  #spare: TurnFlushable[] = [];
  #scheduled = false;
  readonly #run = (): void => this.#flushDue();

  constructor(private readonly nextTurn: (run: () => void) => void) {}

  /** Flushes `w` at the end of this turn; the caller adds it once per turn (it may have flushed meanwhile). */
  add(w: TurnFlushable): void {
    this.#due.push(w);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.nextTurn(this.#run);
  }

  /** Writers added while the list is flushed (by what a flush runs) go at the end of the next turn. */
  #flushDue(): void {
    this.#scheduled = false;
    const due = this.#due;
    this.#due = this.#spare;
    let i = 0;
    try {
      for (; i < due.length; i++) (due[i] as TurnFlushable).onTurnEnd();
    } finally {
      // A throw (a bug) loses no other writer's flush: those after it go at the end of the next turn.
      for (i++; i < due.length; i++) this.add(due[i] as TurnFlushable);
      due.length = 0;
      this.#spare = due;
    }
  }
}
