/**
 * Blocks: the hash of a block as it travels (miner, instance start round, timestamp, payload) and the shape
 * it takes once appended to a chain (plus height and parent). The hash is the block's identity everywhere: in
 * the signed bytes of signing.ts, in a pool, on disk and in logs.
 */
import { createHash } from 'node:crypto';
import { lengthPrefixed, u32be, u64be, utf8 } from '../bytes.ts';
import type { WireBlock } from '../wire/schema.ts';

/** Domain tag of block hashes, so a block hash can never equal the hash of another strongcast structure. */
export const BLOCK_DOMAIN = 'strongcast/block/v1';

/** Domain tag of chain digests. */
export const CHAIN_DIGEST_DOMAIN = 'strongcast/chain-digest/v1';

/** A Dolev-Strong instance: one per (miner, start round t0). */
export interface InstanceId {
  miner: number;
  t0: number;
}

/** A block appended to a chain: the wire block plus its hash, height and parent hash. */
export interface ChainBlock extends WireBlock {
  /** blockHash of the wire fields. */
  hash: Uint8Array;
  /** 1 for the first block after genesis (genesis itself is height 0). */
  height: number;
  /** Hash of the block before it; the genesis hash for height 1. */
  parent: Uint8Array;
}

/**
 * SHA-256 of len-prefixed domain tag || miner (u32 BE) || t0 (u64 BE) || ts (u64 BE) || len-prefixed payload.
 * Fixed-size fields and one length prefix on the only variable field give every block exactly one encoding.
 */
export function blockHash(b: WireBlock): Uint8Array {
  const h = createHash('sha256');
  h.update(lengthPrefixed(utf8(BLOCK_DOMAIN)));
  h.update(u32be(b.miner));
  h.update(u64be(b.t0));
  h.update(u64be(b.ts));
  h.update(lengthPrefixed(b.payload));
  return new Uint8Array(h.digest());
}

/**
 * The running digest of a chain through the block at `height`: SHA-256 of len-prefixed domain tag ||
 * digest through height - 1 (32) || height (u64 BE) || block hash (32); through height 0 it is the genesis
 * hash. A block hash covers neither the block's height nor its parent, so two chains of one length can end
 * in the same block; their digests differ wherever the chains do, which is what a chain statement must name
 * (catch-up.ts).
 */
export function chainDigest(previous: Uint8Array, height: number, hash: Uint8Array): Uint8Array {
  const h = createHash('sha256');
  h.update(lengthPrefixed(utf8(CHAIN_DIGEST_DOMAIN)));
  h.update(previous);
  h.update(u64be(height));
  h.update(hash);
  return new Uint8Array(h.digest());
}
