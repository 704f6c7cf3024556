/**
 * The exact bytes every Dolev-Strong signature covers. They name the instance and the block and nothing
 * else: never the round, the relay time or the bitmask, so every signer of a block signs the same bytes and a
 * signature is checked once per (signer, block) however many relays carry it. The network id and genesis hash
 * stop a signature being replayed into another network; miner and t0 stop replay into another instance.
 */
import { concatBytes, lengthPrefixed, u32be, u64be, utf8 } from '../bytes.ts';
import { HASH_BYTES } from '../wire/schema.ts';
import { assert } from '../errors.ts';

/** Domain tag: no other strongcast signature can be mistaken for a consensus one. */
export const CONSENSUS_DOMAIN = 'strongcast/dolev-strong/v1';

/** What a consensus signature is about. */
export interface ConsensusSigningInput {
  networkId: string;
  genesisHash: Uint8Array;
  miner: number;
  t0: number;
  blockHash: Uint8Array;
}

/**
 * len-prefixed domain tag || len-prefixed network id || genesis hash (32) || miner (u32 BE) || t0 (u64 BE) ||
 * block hash (32); length prefixes are u32 BE.
 */
export function consensusSignedBytes(input: ConsensusSigningInput): Uint8Array {
  assert(input.genesisHash.byteLength === HASH_BYTES, 'genesis hash is 32 bytes');
  assert(input.blockHash.byteLength === HASH_BYTES, 'block hash is 32 bytes');
  return concatBytes(
    lengthPrefixed(utf8(CONSENSUS_DOMAIN)),
    lengthPrefixed(utf8(input.networkId)),
    input.genesisHash,
    u32be(input.miner),
    u64be(input.t0),
    input.blockHash,
  );
}
