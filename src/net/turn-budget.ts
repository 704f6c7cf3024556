/**
 * A bound on the work one event-loop turn does. Everything a node reads from every socket in one turn would
 * otherwise be handled before the loop moves on: under overload a read backlog of thousands of frames, each
 * verified inline, holds every timer, keepalive and write for hundreds of milliseconds. With a budget, work
 * past `turnWorkMsMax` waits for a later turn, and the connections that have work waiting resume in the order
 * they began to wait.
 *
 * Pure apart from two injected functions: the clock and how to run something on the next turn (the node's
 * Clock: setImmediate on a machine), so tests drive it deterministically.
 */
import { positiveInt } from '../options.ts';

/** Something with queued work that the budget resumes on a later turn. */
export interface DeferredWork {
  /** Does some of the waiting work (asking `allows()` before each piece) and defers itself again if any is left. */
  resumeWork(): void;
}

/** Options of a TurnBudget. */
export interface TurnBudgetOptions {
  /** Work one event-loop turn may do before the rest waits for a later turn, in ms. @default 50 */
  turnWorkMsMax?: number;
  /** Clock in ms (the node's Clock.now). */
  now: () => number;
  /** Runs a function on the next turn of the event loop (the node's Clock.nextTurn). */
  nextTurn: (run: () => void) => void;
}

/** Defaults of TurnBudgetOptions. */
export const turnBudgetDefaults = { turnWorkMsMax: 50 };

/** One node's budget of work per event-loop turn, shared by all its connections. */
export class TurnBudget {
  readonly turnWorkMsMax: number;
  /** Turns that reached the budget with work left over. */
  readonly counters = { turnsCut: 0 };
  private readonly now: () => number;
  private readonly nextTurn: (run: () => void) => void;
  /** When the current turn's work began; null between turns. */
  private turnStartMs: number | null = null;
  private scheduled = false;
  private cut = false;
  private waiting: DeferredWork[] = [];
  private readonly queued = new Set<DeferredWork>();

  constructor(options: TurnBudgetOptions) {
    this.turnWorkMsMax = positiveInt(options.turnWorkMsMax ?? turnBudgetDefaults.turnWorkMsMax, 'turnWorkMsMax');
    this.now = options.now;
    this.nextTurn = options.nextTurn;
  }

  /** Whether one more piece of work fits in this turn; the first piece of a turn always does. */
  allows(): boolean {
    const now = this.now();
    if (this.turnStartMs === null) {
      this.turnStartMs = now;
      this.schedule();
      return true;
    }
    // A clock stepped backwards must not stretch the turn by the size of the step.
    if (now < this.turnStartMs) this.turnStartMs = now;
    if (now - this.turnStartMs < this.turnWorkMsMax) return true;
    if (!this.cut) this.counters.turnsCut++;
    this.cut = true;
    return false;
  }

  /** Queues work that did not fit; it resumes on a later turn, after the work queued before it. */
  defer(work: DeferredWork): void {
    if (this.queued.has(work)) return;
    this.queued.add(work);
    this.waiting.push(work);
    this.schedule();
  }

  /** Work queued and not yet resumed. New work arriving while any waits must queue behind it. */
  get waitingCount(): number {
    return this.queued.size;
  }

  /** Drops all waiting work (its owners are closing); the budget stays usable. */
  clear(): void {
    this.waiting = [];
    this.queued.clear();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.nextTurn(() => this.onNextTurn());
  }

  /**
   * The end of the turn (the check phase, after this iteration's reads): the waiting work resumes in the order
   * it began to wait, on what the reads left of the budget. Work the budget cuts short stays first, so a
   * connection finishes what it read before others' later reads. Timers run next, so the next turn starts
   * afresh. A throw from the work (a bug, or an application listener) leaves that work and the rest of the
   * round queued, in order, not lost: the work whose resume threw may still hold unread frames.
   */
  private onNextTurn(): void {
    this.scheduled = false;
    const round = this.waiting;
    this.waiting = [];
    let i = 0;
    try {
      while (i < round.length && this.allows()) {
        const work = round[i]!;
        this.queued.delete(work);
        work.resumeWork();
        if (this.queued.has(work)) break; // it deferred itself again, out of budget: it goes first next turn
        i++;
      }
    } finally {
      const rest = round.slice(i);
      const restSet = new Set(rest);
      this.waiting = rest.concat(this.waiting.filter((w) => !restSet.has(w)));
      for (const w of rest) this.queued.add(w);
      this.turnStartMs = null;
      this.cut = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
