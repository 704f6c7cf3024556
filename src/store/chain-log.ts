/**
 * DIR/chain.log, the decided chain: one msgpack ChainBlock per record of an append-only log (append-log.ts),
 * height 1 first. Every block is checked on load (heights, parent links, hashes) and before it is appended,
 * so a record that decodes but breaks the chain is refused as corruption, never returned as data.
 */
import { Packr, Unpackr } from 'msgpackr';
import { bytesEqual } from '../bytes.ts';
import { HASH_BYTES, schemaLimits } from '../wire/schema.ts';
import { blockHash, type ChainBlock } from '../consensus/block.ts';
import { nextTip, type ChainTip } from '../consensus/chain.ts';
import { AppendLog, type AppendLogOptions, type LogRecovery } from './append-log.ts';
import { storeError } from './store-error.ts';

/** The chain as it was on disk when the directory was opened. */
export interface LoadedChain {
  /** The newest blocks (at most chainBlocksKeptMax), oldest first, all checked. */
  blocks: ChainBlock[];
  /** The newest stored block: height 0 and the genesis hash when the chain is empty. */
  tip: ChainTip;
  /** The chain through the block before `blocks[0]` (the genesis when it is block 1 or there is none). */
  base: ChainTip;
  /** What the log cut from its end on open (a torn write), if anything. */
  recovery: LogRecovery;
}

/** What {@link openChain} needs of the data directory's resolved options. */
export interface ChainLogOptions {
  /** Most blocks kept in the LoadedChain (the newest). */
  chainBlocksKeptMax: number;
  /** Options of the underlying log; undefined for its defaults. */
  log: AppendLogOptions | undefined;
}

/** Chain records are plain msgpack maps: no records, no extensions, bin for bytes (as on the wire). */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false });
/** `copyBuffers` so a kept block does not pin its record; u64 timestamps come back as numbers. */
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: 'number' });

/** The open chain log: appends blocks that follow its tip. Use {@link openChain}. */
export class ChainLog {
  readonly #log: AppendLog;
  /** Height and hash the next appended block must follow, advanced when an append is queued. */
  #pendingTip: BlockPlace;

  constructor(log: AppendLog, tip: BlockPlace) {
    this.#log = log;
    this.#pendingTip = tip;
  }

  /**
   * Appends `block`; the promise resolves once it is durable. Appends may be issued without waiting for the
   * previous one; they are group-committed in order.
   * @throws StrongcastError ERR_STORE, synchronously, when the block does not follow the pending tip; the
   *   promise rejects with ERR_STORE when the log refuses or fails the write.
   */
  append(block: ChainBlock): Promise<void> {
    const problem = blockProblem(block, this.#pendingTip);
    if (problem) throw storeError(`${this.#log.path}: block refused: ${problem}`);
    const body = packr.pack({
      miner: block.miner,
      t0: block.t0,
      ts: block.ts,
      payload: block.payload,
      hash: block.hash,
      height: block.height,
      parent: block.parent,
    });
    const appended = this.#log.append(body);
    this.#pendingTip = { height: block.height, hash: block.hash };
    return appended;
  }

  /** Waits for pending appends and closes the log. */
  close(): Promise<void> {
    return this.#log.close();
  }
}

/** Where a block sits: what the next one must follow. */
type BlockPlace = Pick<ChainTip, 'height' | 'hash'>;

/** Why `b` cannot follow `tip`, or null. */
function blockProblem(b: ChainBlock, tip: BlockPlace): string | null {
  if (b.height !== tip.height + 1) return `height ${b.height} does not follow height ${tip.height}`;
  if (!bytesEqual(b.parent, tip.hash)) return `the parent of height ${b.height} is not the hash of height ${tip.height}`;
  if (!bytesEqual(blockHash(b), b.hash)) return `the hash of height ${b.height} is not the hash of its fields`;
  return null;
}

/** Decodes one chain record into a ChainBlock, checking every field; throws a message for ERR_STORE. */
function decodeBlock(body: Uint8Array): ChainBlock {
  let v: unknown;
  try {
    v = unpackr.unpack(body);
  } catch (e) {
    throw new Error(`not valid msgpack (${String(e).slice(0, 100)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a map');
  const o = v as Record<string, unknown>;
  const keys = ['miner', 't0', 'ts', 'payload', 'hash', 'height', 'parent'];
  if (Object.keys(o).length !== keys.length || !keys.every((k) => k in o)) throw new Error(`keys must be exactly ${keys.join(', ')}`);
  const uint = (k: string, max = Number.MAX_SAFE_INTEGER): number => {
    const n = o[k];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > max) throw new Error(`${k} must be an integer in 0..${max}`);
    return n;
  };
  const bytes = (k: string, len: number | null, max: number): Uint8Array => {
    const b = o[k];
    if (!(b instanceof Uint8Array) || (len !== null && b.byteLength !== len) || b.byteLength > max) throw new Error(`${k} must be ${len ?? `at most ${max}`} bytes`);
    return b;
  };
  return {
    miner: uint('miner', schemaLimits.validatorsMax - 1),
    t0: uint('t0'),
    ts: uint('ts'),
    payload: bytes('payload', null, schemaLimits.blockPayloadBytesMax),
    hash: bytes('hash', HASH_BYTES, HASH_BYTES),
    height: uint('height'),
    parent: bytes('parent', HASH_BYTES, HASH_BYTES),
  };
}

/**
 * Opens the chain log, checking every block as it is read and keeping the newest chainBlocksKeptMax.
 * @throws StrongcastError ERR_STORE when the log cannot be opened or a record is not the next block.
 */
export async function openChain(path: string, genesisHash: Uint8Array, opts: ChainLogOptions): Promise<{ log: ChainLog; chain: LoadedChain }> {
  const blocks: ChainBlock[] = [];
  // tips[i] is the chain through blocks[i]; base the chain through the block before blocks[0].
  const tips: ChainTip[] = [];
  let base: ChainTip = { height: 0, hash: genesisHash, digest: genesisHash };
  let tip = base;
  const { log, recovery } = await AppendLog.open(path, opts.log, (body, index, offset) => {
    let block: ChainBlock;
    try {
      block = decodeBlock(body);
    } catch (e) {
      throw storeError(`${path}: record ${index} at offset ${offset} is not a block: ${(e as Error).message}; the chain is corrupt, refusing to load it`);
    }
    const problem = blockProblem(block, tip);
    if (problem) throw storeError(`${path}: record ${index} at offset ${offset}: ${problem}; the chain is corrupt, refusing to load it`);
    tip = nextTip(tip, block.hash);
    blocks.push(block);
    tips.push(tip);
    // drop the oldest in bulk, so keeping a window costs O(1) per block
    if (blocks.length >= 2 * opts.chainBlocksKeptMax) base = dropOldest(blocks, tips, opts.chainBlocksKeptMax) ?? base;
  });
  base = dropOldest(blocks, tips, opts.chainBlocksKeptMax) ?? base;
  return { log: new ChainLog(log, tip), chain: { blocks, tip, base, recovery } };
}

/** Keeps the newest `keep` blocks and their tips; returns the tip through the last block dropped, if any. */
function dropOldest(blocks: ChainBlock[], tips: ChainTip[], keep: number): ChainTip | undefined {
  const drop = blocks.length - keep;
  if (drop <= 0) return undefined;
  const last = tips[drop - 1];
  blocks.splice(0, drop);
  tips.splice(0, drop);
  return last;
}
