/**
 * The structural rules of a Dolev-Strong signature chain, checked before any signature: pure, cheap and
 * shared by the worker pool, the main-thread verifier and the state machine, so every path applies the same
 * rules in the same order (the order is part of the protocol: docs/PROTOCOL.md "Validation order").
 */
import { hasBit, maskBytes, popcount } from './bitmask.ts';
import { payloadCapViolation } from './payload-cap.ts';
import type { ConsensusMessage } from '../wire/schema.ts';

/** Why a chain is structurally invalid, or null when it is well formed for the given round. */
export interface ChainRuleViolation {
  code: 'ERR_BAD_CHAIN' | 'ERR_TOO_FEW_SIGNATURES';
  reason: string;
}

/**
 * Checks, in order: miner index below n, block payload within the network's cap (payload-cap.ts; a worker,
 * which is sent no payload, passes it, the main thread having checked it), mask length ceil(n/8), every signer index below n, no duplicate
 * signer, signers[0] is the miner, the mask has exactly the signers' bits (so popcount = number of
 * signatures and no stray high bits), and at least `round` signatures (the miner plus round-1 others).
 */
export function checkChainStructure(
  msg: Pick<ConsensusMessage, 'block' | 'mask' | 'signers'>,
  n: number,
  round: number,
): ChainRuleViolation | null {
  const { block, mask, signers } = msg;
  if (block.miner >= n) return { code: 'ERR_BAD_CHAIN', reason: `miner index ${block.miner} is not below n=${n}` };
  const tooLarge = payloadCapViolation(block.payload.byteLength, n);
  if (tooLarge) return { code: 'ERR_BAD_CHAIN', reason: tooLarge };
  if (mask.byteLength !== maskBytes(n)) {
    return { code: 'ERR_BAD_CHAIN', reason: `bitmask is ${mask.byteLength} bytes, expected ${maskBytes(n)}` };
  }
  const seen = new Set<number>();
  for (const s of signers) {
    if (s >= n) return { code: 'ERR_BAD_CHAIN', reason: `signer index ${s} is not below n=${n}` };
    if (seen.has(s)) return { code: 'ERR_BAD_CHAIN', reason: `signer ${s} appears twice` };
    seen.add(s);
  }
  if (signers[0] !== block.miner) return { code: 'ERR_BAD_CHAIN', reason: 'the chain does not start with the miner' };
  for (const s of signers) {
    if (!hasBit(mask, s)) return { code: 'ERR_BAD_CHAIN', reason: `bitmask lacks the bit of signer ${s}` };
  }
  if (popcount(mask) !== signers.length) {
    return { code: 'ERR_BAD_CHAIN', reason: 'bitmask has bits set for validators that did not sign' };
  }
  if (signers.length < round) {
    return { code: 'ERR_TOO_FEW_SIGNATURES', reason: `round ${round} needs ${round} signatures, the chain has ${signers.length}` };
  }
  return null;
}
