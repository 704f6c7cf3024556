/**
 * DIR/held.json: the earliest start round (t0) of a decision this validator held for catch-up and has not
 * appended, kept across restarts. A validator that decided a block while catching up, and then died before
 * appending it, must not come back and state a chain without that block as if it had never decided it: its
 * statements would then count towards another validator's catch-up quorum (consensus/catch-up.ts, the
 * quorum rule), which assumes that a validator without a block was out when it was decided. With the mark
 * its statements say what it held (`heldFrom`), and they do not count where that matters.
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
