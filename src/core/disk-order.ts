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
 */
import type { ChainBlock } from '../consensus/block.ts';
import { assert } from '../errors.ts';
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
  /** An append (or the report after it) failed: the block is not reported. */
  onAppendFailed(block: ChainBlock | null, error: Error): void;
  /** Rounds a rising mark may lag before it is written again. @default heldMarkStepRounds */
  heldMarkStepRounds?: number;
}

/** Appends, the reports that wait for them and the crash mark, in order. */
export class DiskOrder {
  readonly #store: ChainStore | null;
  readonly #log: Logger;
  readonly #onAppendFailed: (block: ChainBlock | null, error: Error) => void;
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

  constructor(o: DiskOrderOptions) {
    this.#store = o.store;
    this.#log = o.log;
    this.#onAppendFailed = o.onAppendFailed;
    this.#storedHeight = o.storedHeight;
    this.#markGiven = o.heldMark;
    this.#stepRounds = o.heldMarkStepRounds ?? heldMarkStepRounds;
    assert(Number.isSafeInteger(this.#stepRounds) && this.#stepRounds >= 1, 'heldMarkStepRounds must be a positive integer');
  }

  /** Appends `block` to the store (when there is one and a block), then runs `then`, keeping order. */
  after(block: ChainBlock | null, then: () => void): void {
    const store = this.#store;
    this.#queue = this.#queue
      .then(async () => {
        if (block && store && block.height > this.#storedHeight) {
          await store.appendBlock(block).catch((e: unknown) => {
            // Not on disk: a crash would lose it, so no later mark may rise above it.
            if (this.#failedFrom === null || block.t0 < this.#failedFrom) this.#failedFrom = block.t0;
            throw e;
          });
          this.#storedHeight = block.height;
        }
        then();
      })
      .catch((e: unknown) => {
        logError(this.#log, 'could not store a decided block; not reported', { error: (e as Error).message });
        this.#onAppendFailed(block, e as Error);
      });
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
