/**
 * The lock of a data directory, DIR/LOCK, so that one directory serves one node at a time.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from './store-fs.ts';
import { DATA_DIR_FILES } from './dir-files.ts';
import { errnoOf, storeError } from './store-error.ts';

/** Directories this process holds the lock of, to tell our own live lock from one a previous run left. */
const heldLocks = new Set<string>();

/**
 * Takes DIR/LOCK, holding this process's id. A lock left by a process that is gone (a crash, `kill -9`) is
 * taken over. This guards against starting two nodes on one directory by mistake, whose appends would
 * interleave; it is not a defence against a hostile process.
 * @throws StrongcastError ERR_STORE when a live process holds the lock, or the lock file cannot be created.
 */
export async function takeLock(dir: string): Promise<void> {
  const path = join(dir, DATA_DIR_FILES.lock);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(path, 'wx', 0o600);
      try {
        await h.writeFile(`${process.pid}\n`);
      } finally {
        await h.close();
      }
      heldLocks.add(dir);
      return;
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw storeError(`${path}: cannot be created (${errnoOf(e)})`, e);
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(holder) && holder > 0 && lockHolderAlive(holder, dir)) {
      throw storeError(`${dir} is in use by process ${holder}; stop it first, or remove ${path} if that process is not a strongcast node`);
    }
    await rm(path, { force: true });
  }
  throw storeError(`${path}: another process took the lock while this one was taking it over`);
}

function lockHolderAlive(pid: number, dir: string): boolean {
  // Our own pid in a lock we do not hold: a previous run that had the same pid (containers start at pid 1).
  if (pid === process.pid) return heldLocks.has(dir);
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

/** Removes DIR/LOCK when this process holds it; does nothing otherwise, so it is safe to call twice. */
export async function releaseLock(dir: string): Promise<void> {
  if (!heldLocks.delete(dir)) return;
  await rm(join(dir, DATA_DIR_FILES.lock), { force: true });
  // not needed for correctness (a stale lock is taken over), but keeps the directory listing honest
  await syncDirectory(dir).catch(() => undefined);
}
