/**
 * A bounded, expiring set of message ids: gossip and consensus relays use it to deliver and forward each
 * message once. Time is passed in by the caller, so the cache never reads a clock and tests are exact.
 */
import { nonNegativeInt, optionsObject, positiveInt } from '../options.ts';

/** Defaults of {@link SeenCacheOptions}. */
export const seenCacheDefaults = { seenEntriesMax: 100_000, seenTtlMs: 120_000 } as const;

/** Options of {@link SeenCache}. */
export interface SeenCacheOptions {
  /**
   * Most ids held; adding one more evicts the oldest. Bounds memory whatever rate peers send at.
   * @default 100_000
   */
  seenEntriesMax?: number;
  /**
   * How long an id counts as seen, in ms after it was added. An entry added at `t` is seen while
   * `nowMs < t + seenTtlMs`. 0 makes nothing stick.
   * @default 120_000
   */
  seenTtlMs?: number;
}

/**
 * Expired entries removed per `add`, beyond the one it may evict. Two per insert is enough for pruning to
 * outrun insertion, so expired entries never pile up, and each call stays O(1).
 */
const prunePerAdd = 2;

/**
 * Insertion-ordered set of ids with a size limit and a time-to-live.
 *
 * A Map answers `has`; a FIFO queue beside it remembers insertion order, so eviction and expiry both take
 * from the front in amortised O(1). (Iterating a Map from its front after many deletions is not O(1) in V8:
 * it walks the deleted slots, which made a full 100k cache 50x slower.) A queue slot whose id was since
 * deleted or re-added is stale and skipped when it reaches the front.
 */
export class SeenCache {
  readonly #entriesMax: number;
  readonly #ttlMs: number;
  /** id -> time added, in ms. */
  readonly #addedAtMs = new Map<string, number>();
  /** Ids and their times in insertion order, from #head on; slots before #head are consumed. */
  #queueIds: string[] = [];
  #queueAtMs: number[] = [];
  #head = 0;

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(options: SeenCacheOptions = {}) {
    optionsObject(options);
    this.#entriesMax = positiveInt(options.seenEntriesMax ?? seenCacheDefaults.seenEntriesMax, 'seenEntriesMax');
    this.#ttlMs = nonNegativeInt(options.seenTtlMs ?? seenCacheDefaults.seenTtlMs, 'seenTtlMs');
  }

  /** Entries held, which may include expired ones not yet pruned (they already count as absent). */
  get size(): number {
    return this.#addedAtMs.size;
  }

  /** True when `id` was added less than seenTtlMs before `nowMs` and has not been evicted. */
  has(id: string, nowMs: number): boolean {
    const at = this.#addedAtMs.get(id);
    if (at === undefined) return false;
    if (this.#expired(at, nowMs)) {
      this.#addedAtMs.delete(id);
      return false;
    }
    return true;
  }

  /**
   * Marks `id` seen at `nowMs`. Adding an id that is still live keeps its first time (a message that keeps
   * circulating must not stay in the cache forever); adding an expired one starts it afresh.
   */
  add(id: string, nowMs: number): void {
    const at = this.#addedAtMs.get(id);
    if (at !== undefined && !this.#expired(at, nowMs)) return;
    this.#pruneFront(nowMs, prunePerAdd);
    // delete first so a re-added id moves to the back of the Map's order too
    this.#addedAtMs.delete(id);
    this.#addedAtMs.set(id, nowMs);
    this.#queueIds.push(id);
    this.#queueAtMs.push(nowMs);
    while (this.#addedAtMs.size > this.#entriesMax) this.#shift(true);
    this.#compact();
  }

  /** Removes every expired entry now; costs O(expired). Callers may use it on an idle timer. */
  prune(nowMs: number): void {
    this.#pruneFront(nowMs, Infinity);
    this.#compact();
  }

  #expired(atMs: number, nowMs: number): boolean {
    return nowMs - atMs >= this.#ttlMs;
  }

  /** Removes up to `limit` expired or stale slots from the front, stopping at the first live one. */
  #pruneFront(nowMs: number, limit: number): void {
    for (let removed = 0; removed < limit && this.#head < this.#queueIds.length; removed++) {
      const at = this.#queueAtMs[this.#head]!;
      const stale = this.#addedAtMs.get(this.#queueIds[this.#head]!) !== at;
      if (!stale && !this.#expired(at, nowMs)) return;
      this.#shift(false);
    }
  }

  /**
   * Consumes the front slot and deletes its id from the Map unless the slot is stale. With `untilLive`,
   * keeps consuming stale slots until one live entry has been removed (eviction by size).
   */
  #shift(untilLive: boolean): void {
    while (this.#head < this.#queueIds.length) {
      const id = this.#queueIds[this.#head]!;
      const at = this.#queueAtMs[this.#head]!;
      this.#head++;
      if (this.#addedAtMs.get(id) === at) {
        this.#addedAtMs.delete(id);
        return;
      }
      if (!untilLive) return;
    }
  }

  /**
   * Drops consumed slots once they are the larger half of the queue (amortised O(1)), and rebuilds the queue
   * from the Map if stale slots ever outnumber live entries, which can only happen when callers pass times
   * that go backwards. Either way the queue stays within a constant factor of seenEntriesMax.
   */
  #compact(): void {
    const length = this.#queueIds.length - this.#head;
    if (length > 2 * this.#addedAtMs.size + 16) {
      this.#queueIds = [...this.#addedAtMs.keys()];
      this.#queueAtMs = [...this.#addedAtMs.values()];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queueIds.length) {
      this.#queueIds = this.#queueIds.slice(this.#head);
      this.#queueAtMs = this.#queueAtMs.slice(this.#head);
      this.#head = 0;
    }
  }
}
