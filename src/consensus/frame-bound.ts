/**
 * What consensus needs of a node's limits, for a network of n validators (issue 18: every limit consistent
 * with the largest n). Computed by encoding the worst cases, so it follows the schema.
 *
 * The largest frames consensus sends: a chain carrying a largest block payload (the network's cap,
 * payload-cap.ts) signed by all n (Dolev-Strong's round-n chain), and a catch-up reply filled to its limits.
 * A node whose frameBytesMax is below either would refuse to encode its own relays or replies
 * (ERR_FRAME_TOO_LARGE) and its peers would refuse them as too large.
 *
 * The most a link must queue: the chains of one round in which all n validators mine, each with a largest
 * payload and k signatures (payload-cap.ts says why a link carries n chains then). A node whose
 * writeQueueBytesMax is below it would close honest peers' links as ERR_SLOW_PEER in such a round.
 *
 * The validator checks both once, at construction.
 */
import { FRAME_HEADER_BYTES, encodeFrame, sealedFrameBytes } from '../wire/framing.ts';
import { schemaLimits, type ChainMessage, type ConsensusMessage } from '../wire/schema.ts';
import { chainReplyBytesMax } from './catch-up.ts';
import { blockPayloadBytesCap } from './payload-cap.ts';

const hash = (): Uint8Array => new Uint8Array(32).fill(0xff);
const bodyBytes = (msg: ChainMessage | ConsensusMessage): number => encodeFrame(msg, Number.MAX_SAFE_INTEGER).byteLength - FRAME_HEADER_BYTES;

/**
 * Body bytes of a consensus chain of an n-validator network with a largest block payload and `signatures`
 * signatures (the highest indices: their msgpack integers are the widest).
 */
export function chainBodyBytes(n: number, signatures: number): number {
  const mask = new Uint8Array(Math.ceil(n / 8)).fill(0xff);
  const signers = Array.from({ length: signatures }, (_, i) => n - 1 - i);
  const block = { miner: n - 1, t0: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER, payload: new Uint8Array(blockPayloadBytesCap(n)) };
  return bodyBytes({ t: 'ds', block, mask, signers, sigs: new Uint8Array(64 * signatures), hops: 255 });
}

/** Body bytes of a consensus chain with a largest block payload signed by all n validators. */
export function largestChainBodyBytes(n: number): number {
  return chainBodyBytes(n, n);
}

/**
 * Body bytes of the largest catch-up reply: chainReplyBytesMax of payload in largest blocks (the network's
 * cap) and one with the rest, then empty blocks up to chainBlocksPerReplyMax (the reply's own rule,
 * validator-sync.ts), and a statement whose decided run names decidedBlocksPerStatementMax blocks.
 */
export function largestChainReplyBodyBytes(n: number): number {
  const cap = blockPayloadBytesCap(n);
  const big = Math.floor(chainReplyBytesMax / cap);
  const payloadBytes = (i: number): number => (i < big ? cap : i === big ? chainReplyBytesMax % cap : 0);
  const blocks = Array.from({ length: schemaLimits.chainBlocksPerReplyMax }, (_, i) => ({
    miner: n - 1,
    t0: Number.MAX_SAFE_INTEGER,
    ts: Number.MAX_SAFE_INTEGER,
    payload: new Uint8Array(payloadBytes(i)),
    height: Number.MAX_SAFE_INTEGER,
    parent: hash(),
  }));
  // The per-instance evidence filled to its limit too (decided-run.ts), with the widest integers.
  const decided = {
    from: Number.MAX_SAFE_INTEGER,
    through: Number.MAX_SAFE_INTEGER,
    blocks: Array.from({ length: schemaLimits.decidedBlocksPerStatementMax }, () => ({ miner: n - 1, t0: Number.MAX_SAFE_INTEGER, hash: hash() })),
  };
  const statement = { signer: n - 1, round: Number.MAX_SAFE_INTEGER, height: Number.MAX_SAFE_INTEGER, tip: hash(), digest: hash(), syncing: true, heldFrom: Number.MAX_SAFE_INTEGER, appendsFrom: Number.MAX_SAFE_INTEGER, decided, sig: new Uint8Array(64) };
  // The same payload bytes split otherwise give the blocks wider length headers (msgpack bin8, 2 bytes; bin16,
  // 3; bin32, 5): at most 3 bytes more per block than the largest, the rest and the empty ones above.
  return bodyBytes({ t: 'chain', statement, blocks }) + payloadHeaderSlackBytes * schemaLimits.chainBlocksPerReplyMax;
}

/** Most bytes a block's payload length header can take beyond the ones the model above gives it. */
const payloadHeaderSlackBytes = 3;

/** The smallest frameBytesMax with which a validator of an n-validator network can send all it must. */
export function consensusFrameBytesMin(n: number): number {
  return Math.max(largestChainBodyBytes(n), largestChainReplyBodyBytes(n));
}

/**
 * The smallest writeQueueBytesMax with which a validator of an n-validator network with k rounds per
 * instance keeps its links through a round in which all n mine: n sealed chains, each with a largest payload
 * and k signatures (an honest relay carries at most k: it is made in a round r < k, with r + 1), and never
 * less than one largest consensus frame, sealed.
 */
export function consensusWriteQueueBytesMin(n: number, k: number): number {
  const chain = sealedFrameBytes(FRAME_HEADER_BYTES + chainBodyBytes(n, Math.min(k, n)));
  return Math.max(n * chain, sealedFrameBytes(FRAME_HEADER_BYTES + consensusFrameBytesMin(n)));
}
