/**
 * DIR/held.json, the crash mark: a start round (t0) at or below every decision of this validator that a crash
 * could lose, held for catch-up and not appended, or appended and not yet durable. core/disk-order.ts writes
 * it ahead of the decisions it covers (the earliest held decision, or the first instance still undecided,
 * rising every few rounds), and at a clean stop the decisions still held alone (null when none). A validator
 * that decided a block, and then died before the block reached its disk, must not come back and state a chain
 * without that block as if it had never decided it: its statements would then count towards another
 * validator's catch-up quorum (consensus/catch-up.ts, the quorum rule), which assumes that a validator
 * without a block was out when it was decided. With the mark its statements say from where it may have lost
 * decisions (`heldFrom`), and they do not count where that matters. Opening the chain store (data-dir.ts)
 * writes 0 over a file that holds null or is absent, before the validator starts, and still tells the
 * validator null: until the first mark the validator writes is durable, a crash must leave a mark at or below
 * whatever it decided.
 *
 *   { "format": 1, "heldFrom": 42 }   or   { "format": 1, "heldFrom": null }
 */
import { join } from 'node:path';
import { DATA_DIR_FILES, DATA_DIR_FORMAT, readJson } from './dir-files.ts';
import { writeFileDurably } from './store-fs.ts';
import { errnoOf, storeError } from './store-error.ts';

/** Largest held.json read, in bytes: it holds one number. */
export const heldMarkFileBytesMax = 256;

/**
 * The stored mark, or null when the file is absent or holds null.
 * @throws StrongcastError ERR_STORE when the file is corrupt (not a JSON object of format 1 with a
 *   non-negative safe integer or null `heldFrom`)
 */
export async function readHeldMark(dir: string): Promise<number | null> {
  const path = join(dir, DATA_DIR_FILES.held);
  const o = await readJson(path, heldMarkFileBytesMax);
  if (o === null) return null;
  const v = o['heldFrom'];
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw storeError(`${path}: "heldFrom" must be a non-negative integer or null`);
  return v;
}

/**
 * Replaces held.json atomically (write, fsync, rename, directory fsync) with `heldFrom`.
 * @throws StrongcastError ERR_STORE when it cannot be written
 */
export async function writeHeldMark(dir: string, heldFrom: number | null): Promise<void> {
  const path = join(dir, DATA_DIR_FILES.held);
  try {
    await writeFileDurably(path, JSON.stringify({ format: DATA_DIR_FORMAT, heldFrom }) + '\n');
  } catch (e) {
    throw storeError(`${path}: cannot be written (${errnoOf(e)})`, e);
  }
}
