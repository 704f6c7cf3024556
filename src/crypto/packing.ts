/**
 * The batch buffer: how a task for a verification worker is laid out in ONE ArrayBuffer, so a task is a
 * single transfer (no structured cloning of many small objects, which costs more than the verifying).
 * Pure code: the main thread packs, the worker unpacks into views over the same buffer without copying.
 *
 * ```
 * batch (all integers little-endian)
 * +---------+---------+-------------+----------+---- items, back to back ----+
 * | magic   | items   | resultSlots | reserved | item 0 | item 1 | ...         |
 * | u32     | u32     | u32         | u32      |        |        |             |
 * +---------+---------+-------------+----------+--------+--------+-------------+
 *
 * sig item (one gossip check, 1 result slot)
 * +------+-----+-----------+-----------------+------------------+-----------------+
 * | kind | pad | msgBytes  | publicKey (32)  | signature (64)   | message (msgBytes) |
 * | u8=1 | 3   | u32       |                 |                  |                 |
 * +------+-----+-----------+-----------------+------------------+-----------------+
 *
 * chain item (part of a Dolev-Strong chain, 1 + count result slots)
 * +------+-----+-------+-----+----------------+-------+----------+-------------+
 * | kind | pad | miner | t0  | blockHash (32) | round | maskBytes| mask        |
 * | u8=2 | 3   | u32   | u64 |                | u32   | u32      | (maskBytes) |
 * +------+-----+-------+-----+----------------+-------+----------+-------------+
 * +--------------+--------------------------+-------+---------------------+-------------------+
 * | signerCount  | signers (u32 each)       | count | positions (u32 each)| signatures (64 each) |
 * | u32          | (signerCount)            | u32   | (count)             | (count)           |
 * +--------------+--------------------------+-------+---------------------+-------------------+
 * ```
 *
 * A chain item carries the whole chain structure (miner, mask, every signer) so the worker re-applies the
 * structural rules to exactly what it received, but only the signatures at `positions` (those not already
 * known valid). Validator keys are not in the buffer: workers got them once, at creation.
 *
 * The result is a Uint8Array of `resultSlots` bytes, 1 = valid, 0 = not: one slot per sig item; for a chain
 * item, slot 0 is the structure check and then one slot per position, in item order.
 */
import { assert } from '../errors.ts';
import { HASH_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../wire/schema.ts';

/** 'SVB1' read as a little-endian u32: guards against a buffer of another layout or version. */
export const BATCH_MAGIC = 0x31425653;
/** Bytes before the first item. */
export const BATCH_HEADER_BYTES = 16;

const KIND_SIG = 1;
const KIND_CHAIN = 2;
const SIG_ITEM_FIXED_BYTES = 4 + 4 + PUBLIC_KEY_BYTES + SIGNATURE_BYTES;
const CHAIN_ITEM_FIXED_BYTES = 4 + 4 + 8 + HASH_BYTES + 4 + 4 + 4 + 4;

/** One gossip signature check. */
export interface SigItem {
  kind: 'sig';
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/** Main-thread side of a chain item: the chain's signatures, and which positions to send. */
export interface ChainItemInput {
  kind: 'chain';
  miner: number;
  t0: number;
  blockHash: Uint8Array;
  round: number;
  mask: Uint8Array;
  signers: readonly number[];
  /** All signatures of the chain, 64 bytes each, in signer order. */
  sigs: Uint8Array;
  /** Indices into `signers` whose signatures go into the batch. */
  positions: readonly number[];
}

/** Worker side of a chain item: views into the batch buffer. */
export interface ChainItemView {
  kind: 'chain';
  miner: number;
  t0: number;
  blockHash: Uint8Array;
  round: number;
  mask: Uint8Array;
  signers: number[];
  positions: number[];
  /** positions.length signatures of 64 bytes, in the order of `positions`. */
  signatures: Uint8Array;
}

/** What packBatch takes. */
export type BatchItemInput = SigItem | ChainItemInput;
/** What unpackBatch gives. */
export type BatchItemView = SigItem | ChainItemView;

/** Result bytes an item needs. */
export function itemResultSlots(item: BatchItemInput | BatchItemView): number {
  return item.kind === 'sig' ? 1 : 1 + item.positions.length;
}

/** Signatures an item asks a worker to verify. */
export function itemSignatures(item: BatchItemInput | BatchItemView): number {
  return item.kind === 'sig' ? 1 : item.positions.length;
}

/** Bytes a sig item of a `messageBytes`-byte message takes in the buffer. */
export function sigItemBytes(messageBytes: number): number {
  return SIG_ITEM_FIXED_BYTES + messageBytes;
}

/** Bytes an item takes in the buffer. */
export function itemBytes(item: BatchItemInput): number {
  if (item.kind === 'sig') return sigItemBytes(item.message.byteLength);
  return CHAIN_ITEM_FIXED_BYTES + item.mask.byteLength + 4 * item.signers.length + (4 + SIGNATURE_BYTES) * item.positions.length;
}

/** Packs `items` into one fresh ArrayBuffer, ready to transfer. Lengths are asserted: a wrong one is our bug. */
export function packBatch(items: readonly BatchItemInput[]): ArrayBuffer {
  let total = BATCH_HEADER_BYTES;
  let slots = 0;
  for (const item of items) {
    total += itemBytes(item);
    slots += itemResultSlots(item);
  }
  const buffer = new ArrayBuffer(total);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, BATCH_MAGIC, true);
  view.setUint32(4, items.length, true);
  view.setUint32(8, slots, true);
  let at = BATCH_HEADER_BYTES;
  for (const item of items) at = item.kind === 'sig' ? packSig(item, bytes, view, at) : packChain(item, bytes, view, at);
  assert(at === total, 'packed batch length');
  return buffer;
}

function packSig(item: SigItem, bytes: Uint8Array, view: DataView, at: number): number {
  assert(item.publicKey.byteLength === PUBLIC_KEY_BYTES && item.signature.byteLength === SIGNATURE_BYTES, 'sig item lengths');
  view.setUint8(at, KIND_SIG);
  view.setUint32(at + 4, item.message.byteLength, true);
  bytes.set(item.publicKey, at + 8);
  bytes.set(item.signature, at + 8 + PUBLIC_KEY_BYTES);
  bytes.set(item.message, at + SIG_ITEM_FIXED_BYTES);
  return at + SIG_ITEM_FIXED_BYTES + item.message.byteLength;
}

function packChain(item: ChainItemInput, bytes: Uint8Array, view: DataView, at: number): number {
  assert(item.blockHash.byteLength === HASH_BYTES, 'chain item block hash');
  assert(item.sigs.byteLength === item.signers.length * SIGNATURE_BYTES, 'chain item signatures');
  view.setUint8(at, KIND_CHAIN);
  view.setUint32(at + 4, item.miner, true);
  view.setBigUint64(at + 8, BigInt(item.t0), true);
  bytes.set(item.blockHash, at + 16);
  let p = at + 16 + HASH_BYTES;
  view.setUint32(p, item.round, true);
  view.setUint32(p + 4, item.mask.byteLength, true);
  bytes.set(item.mask, p + 8);
  p += 8 + item.mask.byteLength;
  view.setUint32(p, item.signers.length, true);
  p += 4;
  for (const s of item.signers) {
    view.setUint32(p, s, true);
    p += 4;
  }
  view.setUint32(p, item.positions.length, true);
  p += 4;
  for (const pos of item.positions) {
    view.setUint32(p, pos, true);
    p += 4;
  }
  for (const pos of item.positions) {
    bytes.set(item.sigs.subarray(pos * SIGNATURE_BYTES, (pos + 1) * SIGNATURE_BYTES), p);
    p += SIGNATURE_BYTES;
  }
  return p;
}

/** The items of a batch, as views into `buffer` (nothing is copied). */
export function unpackBatch(buffer: ArrayBuffer): { items: BatchItemView[]; resultSlots: number } {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  assert(view.getUint32(0, true) === BATCH_MAGIC, 'batch magic');
  const count = view.getUint32(4, true);
  const resultSlots = view.getUint32(8, true);
  const items: BatchItemView[] = [];
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const kind = view.getUint8(at);
    if (kind === KIND_SIG) {
      const len = view.getUint32(at + 4, true);
      items.push({
        kind: 'sig',
        publicKey: bytes.subarray(at + 8, at + 8 + PUBLIC_KEY_BYTES),
        signature: bytes.subarray(at + 8 + PUBLIC_KEY_BYTES, at + SIG_ITEM_FIXED_BYTES),
        message: bytes.subarray(at + SIG_ITEM_FIXED_BYTES, at + SIG_ITEM_FIXED_BYTES + len),
      });
      at += SIG_ITEM_FIXED_BYTES + len;
    } else {
      assert(kind === KIND_CHAIN, 'batch item kind');
      at = unpackChain(bytes, view, at, items);
    }
  }
  assert(at === buffer.byteLength, 'batch length');
  return { items, resultSlots };
}

function unpackChain(bytes: Uint8Array, view: DataView, at: number, items: BatchItemView[]): number {
  const miner = view.getUint32(at + 4, true);
  const t0 = Number(view.getBigUint64(at + 8, true));
  const blockHash = bytes.subarray(at + 16, at + 16 + HASH_BYTES);
  let p = at + 16 + HASH_BYTES;
  const round = view.getUint32(p, true);
  const maskLen = view.getUint32(p + 4, true);
  const mask = bytes.subarray(p + 8, p + 8 + maskLen);
  p += 8 + maskLen;
  const signerCount = view.getUint32(p, true);
  p += 4;
  const signers: number[] = [];
  for (let i = 0; i < signerCount; i++, p += 4) signers.push(view.getUint32(p, true));
  const count = view.getUint32(p, true);
  p += 4;
  const positions: number[] = [];
  for (let i = 0; i < count; i++, p += 4) positions.push(view.getUint32(p, true));
  const signatures = bytes.subarray(p, p + count * SIGNATURE_BYTES);
  items.push({ kind: 'chain', miner, t0, blockHash, round, mask, signers, positions, signatures });
  return p + count * SIGNATURE_BYTES;
}
