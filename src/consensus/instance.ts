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

/** One instance at one node. */
export class Instance {
  readonly id: InstanceId;
  readonly #pool: PoolEntry[] = [];
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
