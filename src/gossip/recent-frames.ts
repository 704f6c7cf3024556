/**
 * The encoded frames of recently relayed broadcasts (and validators' outcomes, which ride the same trees),
 * kept so a peer that asks for one (a Plumtree GRAFT) gets it without re-encoding. Bounded by count, bytes and age; time is passed in.
 */
import { optionsObject, positiveInt } from '../options.ts';

/** Options of RecentFrames. */
export interface RecentFramesOptions {
  /** Frames held; adding one more drops the oldest. @default 8192 */
  recentFramesMax?: number;
  /** Bytes of frames held; adding beyond it drops the oldest. @default 4194304 (4 MiB) */
  recentFrameBytesMax?: number;
  /** How long a frame can be asked for, in ms. @default 30000 */
  recentFramesTtlMs?: number;
}

/** Defaults of RecentFramesOptions. */
export const recentFramesDefaults = { recentFramesMax: 8192, recentFrameBytesMax: 4 * 1024 * 1024, recentFramesTtlMs: 30_000 } as const;

/** The messages that travel down an origin's broadcast tree: broadcasts, and validators' signed outcomes. */
export type TreeMessageType = 'gossip' | 'outcome';

/** A kept frame, the origin (key hex) of the broadcast it carries, and its message type. */
export interface RecentFrame {
  frame: Buffer;
  origin: string;
  type: TreeMessageType;
}

interface Entry extends RecentFrame {
  atMs: number;
}

/** An insertion-ordered, bounded id -> frame map. */
export class RecentFrames {
  readonly #max: number;
  readonly #bytesMax: number;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Ids in insertion order from #head on (a FIFO without shifting the array on every drop). */
  #order: string[] = [];
  #head = 0;
  #bytes = 0;

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(options: RecentFramesOptions = {}) {
    optionsObject(options);
    this.#max = positiveInt(options.recentFramesMax ?? recentFramesDefaults.recentFramesMax, 'recentFramesMax');
    this.#bytesMax = positiveInt(options.recentFrameBytesMax ?? recentFramesDefaults.recentFrameBytesMax, 'recentFrameBytesMax');
    this.#ttlMs = positiveInt(options.recentFramesTtlMs ?? recentFramesDefaults.recentFramesTtlMs, 'recentFramesTtlMs');
  }

  /** The byte limit. */
  get bytesMax(): number {
    return this.#bytesMax;
  }

  /** Frames held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of frames held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps `frame` (a message of `type`) under `id` (a frame already held keeps its first copy). */
  add(id: string, frame: Buffer, origin: string, nowMs: number, type: TreeMessageType = 'gossip'): void {
    // Expire first: an expired copy of this id must not block the new one.
    this.#expire(nowMs);
    if (this.#entries.has(id) || frame.byteLength > this.#bytesMax) return;
    while (this.#entries.size >= this.#max || this.#bytes + frame.byteLength > this.#bytesMax) this.#dropOldest();
    this.#entries.set(id, { frame, origin, type, atMs: nowMs });
    this.#order.push(id);
    this.#bytes += frame.byteLength;
  }

  /** The frame under `id`, if held and not older than the time-to-live. */
  get(id: string, nowMs: number): RecentFrame | undefined {
    const e = this.#entries.get(id);
    if (!e || nowMs - e.atMs >= this.#ttlMs) return undefined;
    return e;
  }

  #expire(nowMs: number): void {
    while (this.#head < this.#order.length) {
      const e = this.#entries.get(this.#order[this.#head] as string);
      if (e && nowMs - e.atMs < this.#ttlMs) return;
      this.#dropOldest();
    }
  }

  #dropOldest(): void {
    const id = this.#order[this.#head++];
    if (id === undefined) return;
    const e = this.#entries.get(id);
    if (e) {
      this.#entries.delete(id);
      this.#bytes -= e.frame.byteLength;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}
