/**
 * The decided chain: blocks appended in the deterministic order every honest node applies, each linked to the
 * one before by height and parent hash. The chain keeps the last `blocksKeptMax` blocks in memory; persisting
 * older blocks is the shell's job, so memory stays bounded however long a node runs.
 */
import { bytesEqual } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { HASH_BYTES, type WireBlock } from '../wire/schema.ts';
import { chainDigest, type ChainBlock } from './block.ts';

/** The newest block of a chain: what the next block is linked to. */
export interface ChainTip {
  /** 0 for the genesis. */
  height: number;
  /** The genesis hash at height 0. */
  hash: Uint8Array;
  /** Running digest of the chain through `height` (block.ts chainDigest); the genesis hash at height 0. */
  digest: Uint8Array;
}

/** Options of a Chain. */
export interface ChainOptions {
  /** Hash of the genesis, the parent of block 1. */
  genesisHash: Uint8Array;
  /** Where to continue from, e.g. the last block stored on disk. @default genesis (height 0, genesisHash) */
  tip?: ChainTip;
  /** Most blocks kept in memory; older ones are dropped from `blocks()`, never from the linkage. @default 10000 */
  blocksKeptMax?: number;
}

/** Default of ChainOptions.blocksKeptMax. */
export const chainDefaults = { blocksKeptMax: 10_000 } as const;

/** An append-only chain of decided blocks. */
export class Chain {
  readonly #blocks: ChainBlock[] = [];
  /** The running digest through each kept block, by the same index. */
  readonly #digests: Uint8Array[] = [];
  readonly #blocksKeptMax: number;
  #tip: ChainTip;

  constructor(opts: ChainOptions) {
    const keep = opts.blocksKeptMax ?? chainDefaults.blocksKeptMax;
    if (!Number.isSafeInteger(keep) || keep < 1) {
      throw new StrongcastError('ERR_INVALID_OPTION', 'options.blocksKeptMax must be a positive integer');
    }
    if (!(opts.genesisHash instanceof Uint8Array) || opts.genesisHash.byteLength !== HASH_BYTES) {
      throw new StrongcastError('ERR_INVALID_OPTION', `options.genesisHash must be ${HASH_BYTES} bytes`);
    }
    const tip = opts.tip ?? { height: 0, hash: opts.genesisHash, digest: opts.genesisHash };
    if (!Number.isSafeInteger(tip.height) || tip.height < 0 || tip.hash.byteLength !== HASH_BYTES || tip.digest.byteLength !== HASH_BYTES) {
      throw new StrongcastError('ERR_INVALID_OPTION', `options.tip must have a height >= 0, a ${HASH_BYTES}-byte hash and a ${HASH_BYTES}-byte digest`);
    }
    this.#blocksKeptMax = keep;
    this.#tip = { height: tip.height, hash: tip.hash, digest: tip.digest };
  }

  /** The newest block's height and hash. */
  get tip(): ChainTip {
    return this.#tip;
  }

  /** Appends a decided block on top of the tip and returns it with its height and parent. */
  append(block: WireBlock, hash: Uint8Array): ChainBlock {
    const appended: ChainBlock = {
      miner: block.miner,
      t0: block.t0,
      ts: block.ts,
      payload: block.payload,
      hash,
      height: this.#tip.height + 1,
      parent: this.#tip.hash,
    };
    this.#keep(appended);
    return appended;
  }

  /**
   * Appends a block that already carries its height and parent (catch-up, or blocks loaded from disk).
   * @throws StrongcastError ERR_BAD_CHAIN when it does not sit on the tip
   */
  appendLinked(b: ChainBlock): ChainBlock {
    if (b.height !== this.#tip.height + 1 || !bytesEqual(b.parent, this.#tip.hash)) {
      throw new StrongcastError('ERR_BAD_CHAIN', `block at height ${b.height} does not sit on the tip at height ${this.#tip.height}`);
    }
    this.#keep(b);
    return b;
  }

  #keep(b: ChainBlock): void {
    this.#tip = nextTip(this.#tip, b.hash);
    this.#blocks.push(b);
    this.#digests.push(this.#tip.digest);
    if (this.#blocks.length > this.#blocksKeptMax) {
      this.#blocks.shift();
      this.#digests.shift();
    }
  }

  /**
   * The running digest of this chain through `height` (block.ts chainDigest): the tip's, or a kept block's;
   * null for a height above the tip or below the blocks kept in memory.
   */
  digestAt(height: number): Uint8Array | null {
    if (height === this.#tip.height) return this.#tip.digest;
    const i = height - (this.#blocks[0]?.height ?? this.#tip.height + 1);
    return i >= 0 && i < this.#digests.length ? this.#digests[i]! : null;
  }

  /** The newest block kept, if any. */
  last(): ChainBlock | undefined {
    return this.#blocks[this.#blocks.length - 1];
  }

  /** The blocks kept in memory, oldest first. */
  blocks(): readonly ChainBlock[] {
    return this.#blocks;
  }
}

/** The tip after appending the block with hash `hash` on top of `tip`. */
export function nextTip(tip: ChainTip, hash: Uint8Array): ChainTip {
  const height = tip.height + 1;
  return { height, hash, digest: chainDigest(tip.digest, height, hash) };
}
