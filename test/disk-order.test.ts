/**
 * The validator's disk order (core/disk-order.ts) against a store whose appends and mark saves resolve only
 * when the test releases them: a block is reported only once its append resolved, reports keep the blocks'
 * order, a block already stored is not written again, and a failed append is told, never reported. The crash
 * mark is written ahead of the decisions it covers: the earliest of the held decisions, the first start round
 * still undecided and any block not stored, saved behind the appends queued before it, at once when it falls
 * and every heldMarkStepRounds when it rises; a clean stop writes the held decisions alone and ends the marks,
 * and a failed mark write is written again. A report whose listener throws is the listener's bug, not the
 * store's: it is logged as such and never told as a failed append. A failed append breaks the store for the
 * rest of the process: told once, and no block above it is written or reported.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChainBlock } from '../src/consensus/block.ts';
import type { ChainTip } from '../src/consensus/chain.ts';
import { silentLogger, type Logger } from '../src/log.ts';
import { DiskOrder, heldMarkStepRounds } from '../src/core/disk-order.ts';
import type { ChainStore } from '../src/core/validator-types.ts';

/** A store that records each call and holds every append and save until `release` (or `fail`) is called. */
class GatedStore implements ChainStore {
  readonly calls: string[] = [];
  readonly #held: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  loadChain(): { blocks: ChainBlock[]; base: ChainTip } {
    throw new Error('not used');
  }

  loadHeldFrom(): number | null {
    return null;
  }

  appendBlock(block: ChainBlock): Promise<void> {
    this.calls.push(`append ${block.height}`);
    return this.#hold();
  }

  saveHeldFrom(heldFrom: number | null): Promise<void> {
    this.calls.push(`mark ${heldFrom}`);
    return this.#hold();
  }

  /** Calls waiting to be released. */
  get waiting(): number {
    return this.#held.length;
  }

  /** Resolves the oldest waiting call, then lets the queue move on. */
  async release(): Promise<void> {
    this.#held.shift()!.resolve();
    await turns();
  }

  /** Rejects the oldest waiting call, then lets the queue move on. */
  async fail(message: string): Promise<void> {
    this.#held.shift()!.reject(new Error(message));
    await turns();
  }

  #hold(): Promise<void> {
    return new Promise((resolve, reject) => this.#held.push({ resolve, reject }));
  }
}

/** Releases every call as it comes, until none waits. */
async function drain(store: GatedStore): Promise<void> {
  await turns();
  while (store.waiting > 0) await store.release();
}

/** Lets queued promise callbacks run. */
async function turns(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

function block(height: number): ChainBlock {
  return { miner: 0, t0: height, ts: 0, payload: new Uint8Array(), height, hash: new Uint8Array(32), parent: new Uint8Array(32) };
}

function order(store: ChainStore | null, storedHeight = 0, heldMark: number | null = null, logger: Logger = silentLogger): { disk: DiskOrder; log: string[]; failed: string[] } {
  const log: string[] = [];
  const failed: string[] = [];
  const onAppendFailed = (b: ChainBlock | null, e: Error) => failed.push(`${b?.height ?? null}: ${e.message}`);
  const disk = new DiskOrder({ store, storedHeight, heldMark, log: logger, onAppendFailed });
  return { disk, log, failed };
}

/** A logger that keeps its error lines, message and error field. */
function errorLines(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  return { logger: { ...silentLogger, error: (msg, fields) => void errors.push(`${msg}: ${String(fields?.['error'])}`) }, errors };
}

test('a block is reported only after its append resolved; the next append waits for it, and reports keep the order', async () => {
  const store = new GatedStore();
  const { disk, log } = order(store);
  disk.after(block(1), () => log.push('reported 1'));
  disk.after(block(2), () => log.push('reported 2'));
  await turns();
  assert.equal(store.calls, ['append 1'], 'the second append waits for the first');
  assert.equal(log, [], 'nothing reported while the append is held');
  await store.release();
  assert.equal(log, ['reported 1']);
  assert.equal(store.calls, ['append 1', 'append 2']);
  await store.release();
  assert.equal(log, ['reported 1', 'reported 2']);
});

test('a block at or below the stored height is not written again, and is still reported in its turn', async () => {
  const store = new GatedStore();
  const { disk, log } = order(store, 3);
  disk.after(block(3), () => log.push('synced 3'));
  disk.after(block(4), () => log.push('synced 4'));
  disk.after(block(4), () => log.push('decided 4'));
  disk.after(null, () => log.push('caught-up'));
  await turns();
  assert.equal(log, ['synced 3'], 'the stored block is reported at once, the next waits for its append');
  await store.release();
  await disk.flushed();
  assert.equal(store.calls, ['append 4'], 'height 4 written once');
  assert.equal(log, ['synced 3', 'synced 4', 'decided 4', 'caught-up']);
});

test('the crash mark is saved only behind the appends queued before it, and only when it changed', async () => {
  const store = new GatedStore();
  const { disk, log } = order(store);
  disk.after(block(1), () => log.push('reported 1'));
  disk.keepHeldMark(null, 2);
  disk.keepHeldMark(null, 2);
  disk.after(block(2), () => log.push('reported 2'));
  disk.keepHeldMark(null, 2 + heldMarkStepRounds);
  await turns();
  assert.equal(store.calls, ['append 1'], 'the mark waits for the append before it');
  await drain(store);
  assert.equal(store.calls, ['append 1', 'mark 2', 'append 2', `mark ${2 + heldMarkStepRounds}`]);
  assert.equal(log, ['reported 1', 'reported 2']);
});

test('the mark is the earliest held decision or the first undecided round; it falls at once and rises every heldMarkStepRounds', async () => {
  const store = new GatedStore();
  const { disk } = order(store);
  disk.keepHeldMark(4, 20);
  disk.keepHeldMark(6, 20);
  disk.keepHeldMark(3, 20);
  disk.keepHeldMark(null, 3 + heldMarkStepRounds - 1);
  disk.keepHeldMark(null, 3 + heldMarkStepRounds);
  disk.keepHeldMark(5, 40);
  await drain(store);
  assert.equal(store.calls, ['mark 4', 'mark 3', `mark ${3 + heldMarkStepRounds}`, 'mark 5'], 'a later held decision is already covered; a lag below the step is not written');
});

test('a clean stop writes the held decisions alone, null when none, behind every append; no mark follows it', async () => {
  const store = new GatedStore();
  const { disk, log } = order(store);
  disk.keepHeldMark(null, 30);
  disk.after(block(1), () => log.push('reported 1'));
  disk.close(null);
  disk.close(null);
  disk.keepHeldMark(null, 60);
  await drain(store);
  await disk.flushed();
  assert.equal(store.calls, ['mark 30', 'append 1', 'mark null']);

  const held = new GatedStore();
  const second = order(held);
  second.disk.keepHeldMark(12, 30);
  second.disk.close(12);
  await drain(held);
  assert.equal(held.calls, ['mark 12'], 'a mark already naming the held decisions is not written again');
});

test('a mark write that failed is written again on the next call, though the mark did not change', async () => {
  const store = new GatedStore();
  const { disk } = order(store);
  disk.keepHeldMark(null, 5);
  await turns();
  await store.fail('disk full');
  disk.keepHeldMark(null, 5);
  disk.keepHeldMark(null, 5);
  await drain(store);
  assert.equal(store.calls, ['mark 5', 'mark 5'], 'written again once, then it is on disk');
});

test('a block whose append failed keeps the mark at or below its start round, through a clean stop', async () => {
  const store = new GatedStore();
  const { disk, failed } = order(store);
  disk.keepHeldMark(null, 1);
  disk.after({ ...block(1), t0: 7 }, () => undefined);
  await turns();
  await store.release();
  await store.fail('disk full');
  disk.keepHeldMark(null, 40);
  disk.close(null);
  await drain(store);
  assert.equal(failed, ['1: disk full']);
  assert.equal(store.calls, ['mark 1', 'append 1', 'mark 7']);
});

test('without a store nothing is written and reports still keep their order', async () => {
  const { disk, log } = order(null);
  disk.after(block(1), () => log.push('reported 1'));
  disk.keepHeldMark(7, 9);
  disk.close(null);
  disk.after(null, () => log.push('caught-up'));
  await disk.flushed();
  assert.equal(log, ['reported 1', 'caught-up']);
});

test('a failed append is told once and its block is never reported; flushed still resolves', async () => {
  const store = new GatedStore();
  const { disk, log, failed } = order(store);
  disk.after(block(1), () => log.push('reported 1'));
  await turns();
  await store.fail('disk full');
  await disk.flushed();
  assert.equal(log, []);
  assert.equal(failed, ['1: disk full']);
});

test('a report whose listener throws is logged as the listener\'s error, not told as a failed append; later blocks are stored and reported', async () => {
  const store = new GatedStore();
  const { logger, errors } = errorLines();
  const { disk, log, failed } = order(store, 0, null, logger);
  disk.after(block(1), () => {
    throw new Error('listener bug');
  });
  disk.after(block(2), () => log.push('reported 2'));
  await drain(store);
  await disk.flushed();
  assert.equal(failed, [], 'a listener\'s exception was told as a failed append');
  assert.equal(store.calls, ['append 1', 'append 2'], 'both blocks stored');
  assert.equal(log, ['reported 2'], 'the next block is reported in its turn');
  assert.is(errors.length, 1, errors.join('; '));
  assert.match(errors[0]!, /listener/);
  assert.match(errors[0]!, /listener bug/);
  assert.not.match(errors[0]!, /could not store/);
});

test('a listener that throws on a failed append does not stop the queue', async () => {
  const store = new GatedStore();
  const log: string[] = [];
  const disk = new DiskOrder({
    store,
    storedHeight: 0,
    heldMark: null,
    log: silentLogger,
    onAppendFailed: () => {
      throw new Error('rejected listener bug');
    },
  });
  disk.after(block(1), () => log.push('reported 1'));
  disk.after(null, () => log.push('caught-up'));
  await turns();
  await store.fail('disk full');
  await disk.flushed();
  assert.equal(log, ['caught-up'], 'the report queued after it still ran');
});

test('a failed append breaks the store for good: told once, no later block written or reported, and the store says so', async () => {
  // A store that would take the next append (this one does) must not get it: block 2 on disk over a missing
  // block 1 is a hole, and reporting it would call durable a chain that is not.
  const store = new GatedStore();
  const { disk, log, failed } = order(store);
  assert.is(disk.failure(), null);
  disk.after(block(1), () => log.push('reported 1'));
  disk.after(block(2), () => log.push('reported 2'));
  await turns();
  await store.fail('disk full');
  disk.after(block(3), () => log.push('reported 3'));
  disk.after(null, () => log.push('caught-up'));
  await drain(store);
  await disk.flushed();
  assert.equal(store.calls, ['append 1'], 'no append after the failed one');
  assert.equal(failed, ['1: disk full'], 'told once, for the block that failed');
  assert.equal(log, ['caught-up'], 'no block above the failed one reported; a report without a block still runs');
  const f = disk.failure();
  assert.ok(f);
  assert.is(f.error.code, 'ERR_STORE');
  assert.match(f.error.message, 'disk full');
  assert.is(f.height, 1);
  assert.is(f.t0, 1);
  assert.is(f.blocksNotStored, 3, 'the failed block and the two after it');
});

test('after a failed append a block already on disk is still reported, and the crash mark is still kept', async () => {
  const store = new GatedStore();
  const { disk, log } = order(store, 2);
  disk.after({ ...block(3), t0: 9 }, () => log.push('decided 3'));
  await turns();
  await store.fail('EIO');
  disk.after(block(2), () => log.push('decided 2'));
  disk.keepHeldMark(null, 30);
  await drain(store);
  await disk.flushed();
  assert.equal(log, ['decided 2']);
  assert.equal(store.calls, ['append 3', 'mark 9'], 'the mark stays at or below the block not stored');
});

test.run();
