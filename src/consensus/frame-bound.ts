/**
 * The largest frames consensus sends, for a network of n validators: a chain carrying a largest block
 * payload signed by all n (Dolev-Strong's round-n chain), and a catch-up reply filled to its limits. A node
 * whose frameBytesMax is below either would refuse to encode its own relays or replies (ERR_FRAME_TOO_LARGE)
 * and its peers would refuse them as too large, so the validator checks it once at construction (issue 18:
 * every limit consistent with the largest n). Computed by encoding the worst case, so it follows the schema.
 */
import { FRAME_HEADER_BYTES, encodeFrame } from '../wire/framing.ts';
import { schemaLimits, type ChainMessage, type ConsensusMessage } from '../wire/schema.ts';
import { chainReplyBytesMax } from './catch-up.ts';

const hash = (): Uint8Array => new Uint8Array(32).fill(0xff);
const bodyBytes = (msg: ChainMessage | ConsensusMessage): number => encodeFrame(msg, Number.MAX_SAFE_INTEGER).byteLength - FRAME_HEADER_BYTES;

/** Body bytes of a consensus chain with a largest block payload signed by all n validators. */
export function largestChainBodyBytes(n: number): number {
  const mask = new Uint8Array(Math.ceil(n / 8)).fill(0xff);
  const signers = Array.from({ length: n }, (_, i) => n - 1 - i);
  const block = { miner: n - 1, t0: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER, payload: new Uint8Array(schemaLimits.blockPayloadBytesMax) };
  return bodyBytes({ t: 'ds', block, mask, signers, sigs: new Uint8Array(64 * n), hops: 255 });
}

/**
 * Body bytes of the largest catch-up reply: chainReplyBytesMax of payload in largest blocks, then empty
 * blocks up to chainBlocksPerReplyMax (the reply's own rule, validator-sync.ts), and a statement.
 */
export function largestChainReplyBodyBytes(n: number): number {
  const big = Math.floor(chainReplyBytesMax / schemaLimits.blockPayloadBytesMax);
  const blocks = Array.from({ length: schemaLimits.chainBlocksPerReplyMax }, (_, i) => ({
    miner: n - 1,
    t0: Number.MAX_SAFE_INTEGER,
    ts: Number.MAX_SAFE_INTEGER,
    payload: new Uint8Array(i < big ? schemaLimits.blockPayloadBytesMax : 0),
    height: Number.MAX_SAFE_INTEGER,
    parent: hash(),
  }));
  const statement = { signer: n - 1, round: Number.MAX_SAFE_INTEGER, height: Number.MAX_SAFE_INTEGER, tip: hash(), digest: hash(), syncing: true, heldFrom: Number.MAX_SAFE_INTEGER, sig: new Uint8Array(64) };
  // The same payload bytes split otherwise give the blocks wider length headers (msgpack bin8, 2 bytes; bin16,
  // 3; bin32, 5): at most 3 bytes more per block than the two largest and the empty ones above.
  return bodyBytes({ t: 'chain', statement, blocks }) + payloadHeaderSlackBytes * schemaLimits.chainBlocksPerReplyMax;
}

/** Most bytes a block's payload length header can take beyond the ones the model above gives it. */
const payloadHeaderSlackBytes = 3;

/** The smallest frameBytesMax with which a validator of an n-validator network can send all it must. */
export function consensusFrameBytesMin(n: number): number {
  return Math.max(largestChainBodyBytes(n), largestChainReplyBodyBytes(n));
}
