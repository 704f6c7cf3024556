/**
 * A bound on the work one event-loop turn does. Everything a node reads from every socket in one turn would
 * otherwise be handled before the loop moves on: under overload a read backlog of thousands of frames, each
 * verified inline, holds every timer, keepalive and write for hundreds of milliseconds. With a budget, work
 * past `turnWorkMsMax` waits for a later turn.
 *
 * The connections with work waiting take turns, round robin: each handles at most `turnQuantumFrames` frames
 * while others wait and then goes to the back of the queue (deficit round robin with a quantum of frames,
 * Shreedhar and Varghese, 1995). So a peer that sends a frame now and then is served within a round, however
 * large the backlogs of the others, and a peer that sends more than its share waits for its own backlog,
 * its socket unread, slowed by TCP. A connection with nothing waiting that reads something handles it at
 * once (a quantum of it) instead of queueing behind the backlogs.
 *
 * Light work goes first: work that has to wait is queued by priority (WorkPriority), and while work of a
 * higher priority waits, work of a lower one does not start (it queues, and leaves the turn's budget to the
 * other). A connection with little of its own in progress (peer-connection.ts: fewer than a quantum of its
 * messages being verified or waiting for their verdicts' work) is light: what follows the verdicts on its messages comes first (a message
 * already read and checked, one message's relay and delivery each), then its other work, then everything
 * else. It is the new-flows list of FQ-CoDel (RFC 8290, section 4.2): a peer that sends a broadcast now and
 * then waits for no peer's backlog, whatever the order its frames and verdicts come in, while the peers that
 * send much share what is left round robin. Light peers' reads come after light peers' verdicts because a
 * peer with nothing being verified may still send frames that cost much to handle (IHAVE frames of a
 * thousand ids, which are never verified).
 *
 * Pure apart from two injected functions: the clock and how to run something on the next turn (the node's
 * Clock: setImmediate on a machine), so tests drive it deterministically.
 */
import { positiveInt } from '../options.ts';

/**
 * How soon deferred work resumes, first to last: the work that follows the verdicts on a light peer's
 * messages, a light peer's other work, the rest. Within one priority, round robin.
 */
export type WorkPriority = 'verdict' | 'light' | 'rest';

/** The priorities, first to last. */
const priorities: readonly WorkPriority[] = ['verdict', 'light', 'rest'];

/** Something with queued work that the budget resumes on a later turn. */
export interface DeferredWork {
  /** Does some of the waiting work (asking `allows()` before each piece) and defers itself again if any is left. */
  resumeWork(): void;
}

/** Options of a TurnBudget. */
export interface TurnBudgetOptions {
  /** Work one event-loop turn may do before the rest waits for a later turn, in ms. @default 50 */
  turnWorkMsMax?: number;
  /**
   * Frames a connection handles (and verdicts on its messages it acts on) each time its turn comes round while
   * other connections have work waiting; then it goes to the back of the queue. @default 64
   */
  turnQuantumFrames?: number;
  /** Clock in ms (the node's Clock.now). */
  now: () => number;
  /** Runs a function on the next turn of the event loop (the node's Clock.nextTurn). */
  nextTurn: (run: () => void) => void;
}

/** Defaults of TurnBudgetOptions. */
export const turnBudgetDefaults = { turnWorkMsMax: 50, turnQuantumFrames: 64 };

/** One node's budget of work per event-loop turn, shared by all its connections. */
export class TurnBudget {
  readonly turnWorkMsMax: number;
  readonly turnQuantumFrames: number;
  /** Turns that reached the budget with work left over. */
  readonly counters = { turnsCut: 0 };
  private readonly now: () => number;
  private readonly nextTurn: (run: () => void) => void;
  /** When the current turn's work began; null between turns. */
  private turnStartMs: number | null = null;
  private scheduled = false;
  private cut = false;
  /** finish() is running: every piece of work fits. */
  private unbounded = false;
  /** Work waiting, by priority. */
  private waiting: Record<WorkPriority, DeferredWork[]> = { verdict: [], light: [], rest: [] };
  private readonly queued = new Set<DeferredWork>();
  /** The end-of-turn callback, made once: a turn allocates nothing to schedule it. */
  private readonly runNextTurn = (): void => this.onNextTurn();

  constructor(options: TurnBudgetOptions) {
    this.turnWorkMsMax = positiveInt(options.turnWorkMsMax ?? turnBudgetDefaults.turnWorkMsMax, 'turnWorkMsMax');
    this.turnQuantumFrames = positiveInt(options.turnQuantumFrames ?? turnBudgetDefaults.turnQuantumFrames, 'turnQuantumFrames');
    this.now = options.now;
    this.nextTurn = options.nextTurn;
  }

  /** Whether one more piece of work fits in this turn; the first piece of a turn always does. */
  allows(): boolean {
    if (this.unbounded) return true;
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

  /**
   * Whether work of `priority` that has done `done` pieces since it began or resumed may do one more now:
   * no work of a higher priority waits, it has not had its quantum while others wait, and the turn has room.
   */
  mayContinue(done: number, priority: WorkPriority): boolean {
    // Asked first: work that yields to higher-priority work does not open the turn (its budget is theirs).
    for (const p of priorities) {
      if (p === priority) break;
      if (this.waiting[p].length > 0) return false;
    }
    if (done >= this.turnQuantumFrames && this.queued.size > 0) return false;
    return this.allows();
  }

  /**
   * Queues work that did not fit, or had its quantum while others wait: it resumes after the work of its
   * `priority` queued before it, and after all work of higher priorities.
   */
  defer(work: DeferredWork, priority: WorkPriority = 'rest'): void {
    if (this.queued.has(work)) return;
    this.queued.add(work);
    this.waiting[priority].push(work);
    this.schedule();
  }

  /** Work of `priority` queued and not yet resumed. */
  waitingCountOf(priority: WorkPriority): number {
    return this.waiting[priority].length;
  }

  /** The queue the next work to resume comes from (one must be waiting). */
  private firstQueue(): DeferredWork[] {
    return this.waiting[priorities.find((p) => this.waiting[p].length > 0)!];
  }

  /** Work queued and not yet resumed. */
  get waitingCount(): number {
    return this.queued.size;
  }

  /** Whether `work` is queued (what it reads meanwhile waits with the rest of its work). */
  isWaiting(work: DeferredWork): boolean {
    return this.queued.has(work);
  }

  /**
   * Resumes the waiting work until none is left, budget or not: the node is stopping, its connections are
   * closed, and what they have left is the work that follows verdicts (the node's bookkeeping of the
   * messages in flight), which must not be lost. Then the budget is as new.
   */
  finish(): void {
    this.unbounded = true;
    try {
      while (this.queued.size > 0) {
        const work = this.firstQueue().shift()!;
        this.queued.delete(work);
        work.resumeWork();
      }
    } finally {
      this.unbounded = false;
      this.clear();
      this.turnStartMs = null;
      this.cut = false;
    }
  }

  /** Drops all waiting work (its owners are closing); the budget stays usable. */
  clear(): void {
    this.waiting = { verdict: [], light: [], rest: [] };
    this.queued.clear();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.nextTurn(this.runNextTurn);
  }

  /**
   * The end of the turn (the check phase, after this iteration's reads): the waiting work resumes round robin
   * on what the reads left of the budget, each taking its quantum (or finishing) and queueing again at the back
   * if it has more, until the budget is spent or nothing waits. Timers run next, so the next turn starts
   * afresh. A throw from the work (a bug, or an application listener) leaves that work queued first and the
   * rest behind it, not lost: the work whose resume threw may still hold unread frames.
   */
  private onNextTurn(): void {
    this.scheduled = false;
    try {
      while (this.queued.size > 0 && this.allows()) {
        const from = this.firstQueue();
        const work = from.shift()!;
        this.queued.delete(work);
        try {
          work.resumeWork();
        } catch (e) {
          if (!this.queued.has(work)) {
            from.unshift(work);
            this.queued.add(work);
          }
          throw e;
        }
      }
    } finally {
      this.turnStartMs = null;
      this.cut = false;
      if (this.queued.size > 0) this.schedule();
    }
  }
}
