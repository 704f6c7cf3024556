/**
 * What a validator checks once, as it is made, so that a setting that could only fail mid-round fails at the
 * start with a message naming it: its key is one of the genesis's, its node's frame and write-queue limits
 * carry the largest consensus traffic of the genesis (consensus/frame-bound.ts), and its stored chain holds
 * no block above the network's payload cap (consensus/payload-cap.ts).
 */
import { toHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { consensusFrameBytesMin, consensusWriteQueueBytesMin } from '../consensus/frame-bound.ts';
import { blockPayloadBytesCap, payloadCapViolation } from '../consensus/payload-cap.ts';
import { roundsPerInstance, validatorIndex, type Genesis } from '../consensus/genesis.ts';
import type { ChainBlock } from '../consensus/block.ts';
import type { Identity } from '../crypto/keys.ts';
import type { ConsensusNodePort } from './node-types.ts';

/**
 * The index of `identity` among the genesis's validators; null for an observer (no key).
 * @throws StrongcastError ERR_NOT_VALIDATOR when the key is not a validator's of this genesis.
 */
export function selfIndex(genesis: Genesis, identity: Identity | null): number | null {
  const index = identity === null ? null : validatorIndex(genesis, identity.publicKey);
  if (identity !== null && index === null) {
    throw new StrongcastError('ERR_NOT_VALIDATOR', `key ${toHex(identity.publicKey).slice(0, 16)} is not a validator of network '${genesis.networkId}'`);
  }
  return index;
}

/**
 * The node's frame and write-queue limits against what the genesis needs of them, in that order.
 * @throws StrongcastError ERR_INVALID_OPTION naming the first limit that is too low.
 */
export function checkNodeLimits(limits: ConsensusNodePort['limits'], genesis: Genesis): void {
  checkFrameLimit(limits.frameBytesMax, genesis.validators.length);
  checkWriteQueueLimit(limits.writeQueueBytesMax, genesis);
}

/**
 * A validator must be able to send a chain of every validator's signature over a largest payload, and a
 * full catch-up reply: below that, its own relays and replies would fail to encode mid-round.
 * @throws StrongcastError ERR_INVALID_OPTION naming frameBytesMax, what it is and what the genesis needs.
 */
function checkFrameLimit(frameBytesMax: number, n: number): void {
  const need = consensusFrameBytesMin(n);
  if (frameBytesMax < need) {
    throw new StrongcastError('ERR_INVALID_OPTION', `options.frameBytesMax (${frameBytesMax}) is below the ${need} bytes of the largest consensus frame of this genesis (${n} validators): a chain of all ${n} signatures over a largest block, or a full catch-up reply`);
  }
}

/**
 * A validator must keep its links through a round in which all n validators mine: each link then carries n
 * chains of up to the network's largest payload and k signatures (payload-cap.ts). Below that, the node would
 * close honest peers' links as ERR_SLOW_PEER in such a round.
 * @throws StrongcastError ERR_INVALID_OPTION naming writeQueueBytesMax, what it is and what the genesis needs.
 */
function checkWriteQueueLimit(writeQueueBytesMax: number, genesis: Genesis): void {
  const n = genesis.validators.length;
  const k = roundsPerInstance(genesis);
  const need = consensusWriteQueueBytesMin(n, k);
  if (writeQueueBytesMax < need) {
    throw new StrongcastError('ERR_INVALID_OPTION', `options.writeQueueBytesMax (${writeQueueBytesMax}) is below the ${need} bytes one link must queue in a round in which all ${n} validators of this genesis mine: ${n} chains of a largest block (${blockPayloadBytesCap(n)} bytes) with ${k} signatures`);
  }
}

/**
 * A stored chain holds only blocks within the network's payload cap: this node decides no other and catch-up
 * takes no other. A block above it was decided before the cap existed (protocol version 5 or earlier); served
 * in catch-up replies, every peer would refuse it, so the node says so at start rather than leave peers
 * catching up for ever.
 * @throws StrongcastError ERR_STORE naming the block's height, its size and the cap.
 */
export function checkStoredPayloads(blocks: readonly ChainBlock[], n: number): void {
  for (const b of blocks) {
    const tooLarge = payloadCapViolation(b.payload.byteLength, n);
    if (tooLarge) throw new StrongcastError('ERR_STORE', `the stored chain's block at height ${b.height}: ${tooLarge}; it was decided under an earlier protocol version, and peers of this one refuse it: start from a new genesis and data directory`);
  }
}
