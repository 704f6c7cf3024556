/**
 * The validator's disk order: one queue through which every block it appends reaches the store and every
 * report of one waits for it. A block is reported (`decided`, `synced`, `caught-up`) only once it is durable,
 * and in the order the blocks came, so a crash never leaves a reported block off the disk.
 *
 * The crash mark (store/held-mark.ts, held.json) goes through the same queue and is written ahead of the
 * decisions it covers: a start round at or below every decision of this process that a crash could lose,
 * held for catch-up (DolevStrong.heldFrom) or appended and not yet durable. The validator hands in the
 * earliest held decision and the first start round still undecided (DolevStrong.decidedThrough + 1): every
 * decision made so far was queued before the mark, and a decision made later has a later start round, so a
 * mark stays true until the next one is durable, however long the disk takes. A restarted validator states
 * the mark it finds (`heldFrom`) until its catch-up ends, so it never states a chain without a decision it
 * made as if it had never made it (catch-up.ts, the quorum rule): "a decision counts once its mark is
 * durable" holds by construction, since the mark is durable before the decision is made. Before the first
 * mark of this process is durable, the store holds the one it was opened with, never null: a store opened
 * for a running validator that finds none (a first start, or one after a clean stop) makes a mark of 0
 * durable first (ChainStore.loadHeldFrom).
 *
 * A failed append breaks the store for the rest of the process: no later block is written or reported, the
 * failure is told once, and the validator decides on in memory only until it is restarted. Why not try again
 * with the next block: (1) the chain on disk must have no hole, and the failed block is below every later
 * one, so a later block stored over it would be reported durable on a chain that is not, and the restarted
 * store would hold a gap; (2) the failed block cannot simply be written again either, since a write or
 * fdatasync that failed leaves the file's end unknown (the kernel may have dropped the dirty pages and will
 * not fail the next fdatasync for them: PostgreSQL's "fsyncgate"), which is why the chain log refuses every
 * append after one fails until it is reopened, and a reopen (a restart) applies its recovery rule
 * (store/append-log.ts). Retrying would thus only repeat one ERR_STORE per block, an alarm drowned in its
 * own noise. What an operator needs is one clear alarm and a node that stays safe meanwhile: the crash mark
 * stays at or below the failed block (a restart states it until its catch-up ends), and a restart reopens
 * the store, cuts a torn tail, and catches up the blocks it lacks from f+1 validators (README, "Durable state
 * and catch-up").
 */
import type { ChainBlock } from '../consensus/block.ts';
import { assert, isStrongcastError, StrongcastError } from '../errors.ts';
import { logError, type Logger } from '../log.ts';
import type { ChainStore } from './validator-types.ts';

/**
 * Rounds a rising crash mark may lag behind what it could be before it is written again: one small durable
 * write every this many rounds while the validator runs. A lagging mark is only more careful (a restarted
 * validator counts for fewer catch-ups until its own ends); a mark that must fall is written at once.
 */
export const heldMarkStepRounds = 8;

/** What the disk order starts from, and whom it tells of a failed append. */
export interface DiskOrderOptions {
  /** Where blocks and the mark are kept; null keeps nothing (reports still wait their turn). */
  store: ChainStore | null;
  /** Height of the newest block already in the store. */
  storedHeight: number;
  /** The crash mark the store holds now (ChainStore.loadHeldFrom). */
  heldMark: number | null;
  log: Logger;
  /**
   * The store failed an append, for the first time: neither this block nor any after it is reported, and
   * this is not called again (module comment). A report's own exception is logged, never told here.
   */
  onAppendFailed(block: ChainBlock, error: StrongcastError): void;
  /** Rounds a rising mark may lag before it is written again. @default heldMarkStepRounds */
  heldMarkStepRounds?: number;
}

/** The store's failure as the disk order saw it (module comment: it lasts until the process restarts). */
export interface StoreFailure {
  /** ERR_STORE, with the store's own message. */
  error: StrongcastError;
  /** Height and start round of the block whose append failed. */
  height: number;
  t0: number;
  /** Blocks not stored since the failure, that one included: decided in memory, never reported. */
  blocksNotStored: number;
}

/** Appends, the reports that wait for them and the crash mark, in order. */
export class DiskOrder {
  readonly #store: ChainStore | null;
  readonly #log: Logger;
  readonly #onAppendFailed: (block: ChainBlock, error: StrongcastError) => void;
  readonly #stepRounds: number;
  /** Disk appends and the events that wait for them, in order. */
  #queue: Promise<void> = Promise.resolve();
  /** Height of the newest block on disk (a block reported twice, synced then decided, is written once). */
  #storedHeight: number;
  /** The crash mark last given to the store; undefined after a failed write, so the next call writes again. */
  #markGiven: number | null | undefined;
  /** The earliest start round of a block whose append failed: it is not on disk, so the mark stays at or below it. */
  #failedFrom: number | null = null;
  /** Set by close: the last mark is written, no other follows. */
  #closed = false;
  /** The first failed append, and the highest block not stored since; null while the store works. */
  #failure: { error: StrongcastError; height: number; t0: number; lastHeight: number } | null = null;

  constructor(o: DiskOrderOptions) {
    this.#store = o.store;
    this.#log = o.log;
    this.#onAppendFailed = o.onAppendFailed;
    this.#storedHeight = o.storedHeight;
    this.#markGiven = o.heldMark;
    this.#stepRounds = o.heldMarkStepRounds ?? heldMarkStepRounds;
    assert(Number.isSafeInteger(this.#stepRounds) && this.#stepRounds >= 1, 'heldMarkStepRounds must be a positive integer');
  }

  /**
   * Appends `block` to the store (when there is one and a block), then runs `then`, keeping order. `then`
   * runs outside the store's failure handling: an exception there (an event listener's) is no disk failure.
   */
  after(block: ChainBlock | null, then: () => void): void {
    this.#queue = this.#queue.then(async () => {
      if (await this.#append(block)) this.#report(block, then);
    });
  }

  /**
   * Stores `block` unless it is on disk already; false when it is not stored: the store failed now (told
   * once, to onAppendFailed) or before (module comment: nothing is written above a failed block).
   */
  async #append(block: ChainBlock | null): Promise<boolean> {
    const store = this.#store;
    if (!block || !store || block.height <= this.#storedHeight) return true;
    if (this.#failure) {
      this.#failure.lastHeight = Math.max(this.#failure.lastHeight, block.height);
      return false;
    }
    try {
      await store.appendBlock(block);
    } catch (e) {
      this.#fail(block, e);
      return false;
    }
    this.#storedHeight = block.height;
    return true;
  }

  /** The store failed `block`'s append: from now on it is broken (module comment); said once. */
  #fail(block: ChainBlock, e: unknown): void {
    // Not on disk: a crash would lose it, so no later mark may rise above it.
    if (this.#failedFrom === null || block.t0 < this.#failedFrom) this.#failedFrom = block.t0;
    const error = isStrongcastError(e, 'ERR_STORE') ? e : new StrongcastError('ERR_STORE', e instanceof Error ? e.message : String(e), { cause: e });
    this.#failure = { error, height: block.height, t0: block.t0, lastHeight: block.height };
    logError(this.#log, 'the chain store failed: this block and every later one are decided in memory only and not reported until the node is restarted', { height: block.height, t0: block.t0, error: error.message });
    this.#report(block, () => this.#onAppendFailed(block, error));
  }

  /** The store's failure, or null while it works. */
  failure(): StoreFailure | null {
    const f = this.#failure;
    return f && { error: f.error, height: f.height, t0: f.t0, blocksNotStored: f.lastHeight - f.height + 1 };
  }

  /**
   * Runs a report, which calls event listeners. A listener that throws has a bug of its own: it is logged as
   * that, and neither told as a failed append (the block is as durable as before) nor let out, where it would
   * reject the queue and stop every append and report after it.
   */
  #report(block: ChainBlock | null, run: () => void): void {
    try {
      run();
    } catch (e) {
      logError(this.#log, 'an event listener threw on a report of the disk order (a bug in the listener, not a disk failure)', { height: block?.height ?? null, error: (e as Error).message });
    }
  }

  /**
   * Keeps the store's crash mark at or below every decision a crash now would lose (module comment): the
   * earliest held decision `heldFrom` (null: none), the first start round still undecided `undecidedFrom`
   * (DolevStrong.decidedThrough + 1), and any block whose append failed. Queued behind the appends queued
   * before it, so a mark that rises past a decision is durable only once that decision is. A rising mark is
   * written only every heldMarkStepRounds; the first one, and one that falls, at once.
   */
  keepHeldMark(heldFrom: number | null, undecidedFrom: number): void {
    if (this.#closed || !this.#store) return;
    const mark = Math.min(heldFrom ?? Infinity, undecidedFrom, this.#failedFrom ?? Infinity);
    const given = this.#markGiven;
    if (mark === given) return;
    if (typeof given === 'number' && mark > given && mark - given < this.#stepRounds) return;
    this.#write(mark);
  }

  /**
   * A clean stop: nothing is decided after it, and every append is queued before this last mark, so it names
   * only the decisions still held (and blocks that could not be stored); null when there are none. No mark
   * is written after it; safe to call twice.
   */
  close(heldFrom: number | null): void {
    if (this.#closed) return;
    const failed = this.#failedFrom;
    const mark = heldFrom === null ? failed : failed === null ? heldFrom : Math.min(heldFrom, failed);
    if (this.#store && mark !== this.#markGiven) this.#write(mark);
    this.#closed = true;
  }

  /**
   * Height of the newest block on disk (Infinity without a store: nothing is kept, so nothing waits). What
   * leaves the node as proof of a block (a signed outcome, a block in a catch-up reply) must be at or below
   * it: a crash of every validator loses what is not, and the unanimity rule (catch-up.ts) then lets them
   * all go on without it, while a node that took it from them would keep it (a fork).
   */
  get durableHeight(): number {
    return this.#store ? this.#storedHeight : Infinity;
  }

  /** Resolves once every append, report and mark queued so far is done. */
  flushed(): Promise<void> {
    return this.#queue;
  }

  #write(mark: number | null): void {
    const store = this.#store!;
    this.#markGiven = mark;
    this.#queue = this.#queue
      .then(() => store.saveHeldFrom(mark))
      .catch((e: unknown) => {
        // Not stored: the store keeps the mark before it, still true; the next call writes again.
        if (this.#markGiven === mark) this.#markGiven = undefined;
        logError(this.#log, 'could not store the crash mark', { error: (e as Error).message });
      });
  }
}
