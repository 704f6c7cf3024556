/**
 * The block payload cap of a network: a consensus rule derived from the genesis (its n validators), so every
 * validator agrees on which blocks are valid, and with every other limit consistent with the largest n
 * (issue 18).
 *
 * Why a cap that shrinks with n: Dolev-Strong runs one instance per miner and several miners may start one in
 * the same round. In a round where all n mine, every validator sends every one of the n blocks to every peer:
 * its own proposal in round 1, and its relay of each other block, signed, on first sight (dolev-strong.ts).
 * One link therefore carries n chains in that round, within a few ms of each other. With the schema's 256 KiB
 * per payload that is n × 259 KiB: 8.3 MB at n = 32, 16.6 MB at n = 64, while a connection holds at most
 * writeQueueBytesMax (8 MiB by default) beyond what the kernel's send buffer (about 4 MB) takes, and then the
 * sender closes it as ERR_SLOW_PEER and scores the peer. So at n ≳ 48 honest validators would cut honest
 * peers in an all-mine round, and chains would be lost: on the simulator, before this rule, at n = 56 and 64
 * (test/payload-cap-sim.test.ts runs that round at the cap).
 *
 * The cap, min(blockPayloadBytesMax, floor(roundPayloadBytesMax / n)), bounds the payload of a whole
 * all-mine round on one link at roundPayloadBytesMax whatever n is. The chains add their signatures, at most
 * k = f + 1 per relay (a validator relays in rounds r < k, with r + 1 signatures), the mask and framing:
 * frame-bound.ts consensusWriteQueueBytesMin, which the validator checks writeQueueBytesMax against. With the
 * default f = floor((n - 1) / 3) that comes to 4.0 MiB at n = 16, 4.1 MiB at n = 64 and 4.4 MiB at n = 128:
 * about half of the default writeQueueBytesMax, the other half left for what shares the link (broadcasts,
 * outcomes, catch-up replies of up to 512 KiB, forwards of chains with more signatures, the next round's
 * blocks while these drain), and the kernel's buffer not counted at all.
 *
 * Up to n = 16 the cap is the schema's 256 KiB, so small networks are unchanged.
 */
import { schemaLimits } from '../wire/schema.ts';

/**
 * Block payload bytes of one round in which every validator mines, summed over its n blocks: what one link
 * carries of them (the cap below divides it among the miners).
 */
export const roundPayloadBytesMax = 4 * 1024 * 1024;

/**
 * The largest block payload, in bytes, of a network of n validators: min(256 KiB, floor(4 MiB / n)).
 * 262,144 up to n = 16; 131,072 at 32; 65,536 at 64; 32,768 at 128; 4,096 at 1,024.
 */
export function blockPayloadBytesCap(n: number): number {
  return Math.min(schemaLimits.blockPayloadBytesMax, Math.floor(roundPayloadBytesMax / n));
}

/** Why a payload of `bytes` is not a valid block payload in a network of n validators, or null. */
export function payloadCapViolation(bytes: number, n: number): string | null {
  const cap = blockPayloadBytesCap(n);
  if (bytes <= cap) return null;
  return `block payload of ${bytes} bytes is above the cap of ${cap} bytes of a network of ${n} validators (min(${schemaLimits.blockPayloadBytesMax}, floor(${roundPayloadBytesMax} / n)))`;
}
