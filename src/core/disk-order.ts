/**
 * The validator's disk order: one queue through which every block it appends reaches the store and every
 * report of one waits for it. A block is reported (`decided`, `synced`, `caught-up`) only once it is durable,
 * and in the order the blocks came, so a crash never leaves a reported block off the disk. The held-decision
 * mark (DolevStrong.heldFrom, catch-up.ts's quorum rule) goes through the same queue, so it is saved only after
 * the appends queued before it: a mark cleared by catch-up's end is cleared on disk only once the blocks that
 * catch-up appended are durable.
 */
import type { ChainBlock } from '../consensus/block.ts';
import { logError, type Logger } from '../log.ts';
import type { ChainStore } from './validator-types.ts';

/** What the disk order starts from, and whom it tells of a failed append. */
export interface DiskOrderOptions {
  /** Where blocks and the mark are kept; null keeps nothing (reports still wait their turn). */
  store: ChainStore | null;
  /** Height of the newest block already in the store. */
  storedHeight: number;
  /** The held-decision mark the store holds now. */
  heldMark: number | null;
  log: Logger;
  /** An append (or the report after it) failed: the block is not reported. */
  onAppendFailed(block: ChainBlock | null, error: Error): void;
}

/** Appends and the reports that wait for them, in order. */
export class DiskOrder {
  readonly #store: ChainStore | null;
  readonly #log: Logger;
  readonly #onAppendFailed: (block: ChainBlock | null, error: Error) => void;
  /** Disk appends and the events that wait for them, in order. */
  #queue: Promise<void> = Promise.resolve();
  /** Height of the newest block on disk (a block reported twice, synced then decided, is written once). */
  #storedHeight: number;
  /** The held-decision mark last given to the store (DolevStrong.heldFrom, store/held-mark.ts). */
  #heldMark: number | null;

  constructor(o: DiskOrderOptions) {
    this.#store = o.store;
    this.#log = o.log;
    this.#onAppendFailed = o.onAppendFailed;
    this.#storedHeight = o.storedHeight;
    this.#heldMark = o.heldMark;
  }

  /** Appends `block` to the store (when there is one and a block), then runs `then`, keeping order. */
  after(block: ChainBlock | null, then: () => void): void {
    const store = this.#store;
    this.#queue = this.#queue
      .then(async () => {
        if (block && store && block.height > this.#storedHeight) {
          await store.appendBlock(block);
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
   * Gives the store the held-decision mark when it changed: a decision held for catch-up must survive a
   * restart as a mark, so the restarted node does not state a chain without it as if it had never decided it
   * (catch-up.ts, the quorum rule). Queued behind the disk appends, so the mark is cleared only once the
   * blocks catch-up appended are durable. A decision counts as made once its mark is durable: a crash before
   * that is a crash during its instance.
   */
  keepHeldMark(mark: number | null): void {
    const store = this.#store;
    if (mark === this.#heldMark || !store) return;
    this.#heldMark = mark;
    this.#queue = this.#queue
      .then(() => store.saveHeldFrom(mark))
      .catch((e: unknown) => logError(this.#log, 'could not store the held-decision mark', { error: (e as Error).message }));
  }

  /** Resolves once every append and report queued so far is done. */
  flushed(): Promise<void> {
    return this.#queue;
  }
}
