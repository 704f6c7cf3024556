/**
 * The state of one Dolev-Strong instance (miner, t0) at one node: the blocks in its pool, and for each the
 * largest signature chain the node has put on the wire (its own signed relay or someone else's chain it
 * forwarded). Pure bookkeeping; the rules that use it live in dolev-strong.ts.
 */
import { toHex } from '../bytes.ts';
import type { WireBlock } from '../wire/schema.ts';
import type { InstanceId } from './block.ts';
import type { ConsensusAction } from './dolev-strong-options.ts';

/**
 * Blocks a node accepts, relays and forwards per instance. Two distinct blocks signed by one miner already
 * prove it equivocated and make every honest node decide "no block", so a third changes no outcome
 * (Dolev-Strong 1983: an honest node relays at most two values). This is a protocol constant, not an option:
 * every honest node must apply the same cap.
 */
export const POOL_BLOCKS_MAX = 2;

/** One block in an instance's pool. */
export interface PoolEntry {
  block: WireBlock;
  hash: Uint8Array;
  hashHex: string;
  /** Round (1..k) in which it entered the pool. */
  round: number;
  /** Most signatures on any chain for this block this node sent or forwarded (0 when none). */
  wireSignatures: number;
}

/** A block an observer tracks in one instance: what it has put on the wire for it. */
interface ObservedBlock {
  /** Signers of chains for it that this node sent on. */
  sent: Set<number>;
  /** Most signatures on a chain for it that this node sent on. */
  sentCount: number;
}

/**
 * A validator that signs more distinct blocks of one instance than an honest one ever does (it relays at most
 * POOL_BLOCKS_MAX) has shown itself Byzantine: its signatures no longer earn a chain a forward at an observer.
 */
const SIGNED_BLOCKS_HONEST_MAX = POOL_BLOCKS_MAX;

/** One instance at one node. */
export class Instance {
  readonly id: InstanceId;
  readonly #pool: PoolEntry[] = [];
  /** Observers only: blocks seen, and per signer the blocks it signed (more than two: Byzantine). */
  readonly #observed = new Map<string, ObservedBlock>();
  readonly #signed = new Map<number, Set<string>>();
  /**
   * Sends (relays, forwards) decided before the instance started by this node's clock, for a chain that came
   * early within the clock skew bound: they go out at T0. At most one relay per pooled block and one forward
   * per rise in its signature count, so at most POOL_BLOCKS_MAX · (n + 1) actions.
   */
  readonly held: ConsensusAction[] = [];

  constructor(id: InstanceId) {
    this.id = id;
  }

  /** The pool, in the order blocks entered it (at most POOL_BLOCKS_MAX). */
  get pool(): readonly PoolEntry[] {
    return this.#pool;
  }

  /** The pool entry of the block with this hash, if any. */
  entry(hashHex: string): PoolEntry | undefined {
    return this.#pool.find((e) => e.hashHex === hashHex);
  }

  /** True when the pool holds POOL_BLOCKS_MAX blocks and will take no other. */
  get full(): boolean {
    return this.#pool.length >= POOL_BLOCKS_MAX;
  }

  /** Adds a block the caller checked is not in the pool, while the pool is not full. */
  add(block: WireBlock, hash: Uint8Array, round: number): PoolEntry {
    const e: PoolEntry = { block, hash, hashHex: toHex(hash), round, wireSignatures: 0 };
    this.#pool.push(e);
    return e;
  }

  /**
   * An observer's forwarding rule for a verified chain (it signs nothing, so unlike a validator it cannot
   * make a chain valid for the next round; what it forwards must carry what others need as it is):
   *  - a chain with a signer not yet sent on for that block, or more signatures than any sent, is forwarded,
   *    for any number of blocks, not only the first two: the adversary can fill an observer with two blocks
   *    that validators behind it refuse (a forward arrives a round later with no more signatures), and the
   *    honest block after them must still get through;
   *  - signatures of a validator that signed more than two blocks of the instance count for nothing, and a
   *    new block is tracked only while fewer than `blocksMax` are: every forward adds a (signer, block) pair
   *    or a longer chain, so an observer puts at most O(n²) chains per instance on the wire, and honest
   *    validators' (at most two blocks each) always pass.
   * Returns whether to forward it, and whether the block is new here (its content can then be kept).
   */
  observe(msg: { signers: readonly number[] }, hashHex: string, blocksMax: number): { forward: boolean; isNew: boolean } {
    for (const s of msg.signers) {
      let set = this.#signed.get(s);
      if (!set) this.#signed.set(s, (set = new Set()));
      if (set.size <= SIGNED_BLOCKS_HONEST_MAX) set.add(hashHex);
    }
    const counts = (s: number): boolean => (this.#signed.get(s)?.size ?? 0) <= SIGNED_BLOCKS_HONEST_MAX;
    if (!msg.signers.some(counts)) return { forward: false, isNew: false };
    let entry = this.#observed.get(hashHex);
    const isNew = entry === undefined;
    if (!entry) {
      if (this.#observed.size >= blocksMax) return { forward: false, isNew: false };
      entry = { sent: new Set(), sentCount: 0 };
      this.#observed.set(hashHex, entry);
    }
    const adds = msg.signers.some((s) => counts(s) && !entry.sent.has(s)) || msg.signers.length > entry.sentCount;
    if (!adds) return { forward: false, isNew };
    for (const s of msg.signers) entry.sent.add(s);
    entry.sentCount = Math.max(entry.sentCount, msg.signers.length);
    return { forward: true, isNew };
  }

  /**
   * The decision once round k has ended: the block when the pool holds exactly one, else null ("no block":
   * the miner was silent, or it equivocated and two blocks reached the pool).
   */
  decision(): PoolEntry | null {
    return this.#pool.length === 1 ? (this.#pool[0] ?? null) : null;
  }
}

/** Map key of an instance, ordered nowhere: sorting uses the numbers. */
export function instanceKey(id: InstanceId): string {
  return `${id.t0}/${id.miner}`;
}
