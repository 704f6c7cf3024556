/**
 * The file system the chain log goes through: the few calls of `node:fs/promises` it makes, behind a small
 * interface passed in as an option (default: the real one).
 *
 * Why a seam here: the log's promise is that an append resolves only after its bytes are fdatasync'ed. A
 * real crash test cannot see that promise broken, because `kill -9` leaves the page cache intact and the
 * unsynced bytes reach the disk anyway. A test that hands in its own file system can: it can record the
 * order of writes, syncs and resolutions, hold a sync back, or drop every byte not yet synced, as a power
 * loss would. The interface is only what the log uses, so such a file system stays small.
 */
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How the store opens a file: read a directory (to fsync it), read and write a file, or create/truncate one. */
export type StoreOpenFlags = 'r' | 'r+' | 'w';

/** An open file, as the store uses it (a subset of node's FileHandle, with the same meaning). */
export interface StoreFile {
  /** Size of the file in bytes. */
  stat(): Promise<{ size: number }>;
  /** Reads up to `length` bytes at `position` into `buffer` from `offset`; 0 bytes read means end of file. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Writes up to `length` bytes of `buffer` from `offset` at `position`; may write fewer (see writeAll). */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  /** Cuts or extends the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** fdatasync: the file's data (and the size needed to read it back) is on the disk when this resolves. */
  datasync(): Promise<void>;
  /** fsync: data and metadata; on a directory, its entries (files created or renamed in it). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file-system calls of the chain log. Errors must be thrown as node's are (an `Error` with an errno
 * `code` such as ENOENT), because the log tells a missing file from a failing one by that code.
 */
export interface StoreFs {
  open(path: string, flags: StoreOpenFlags, mode?: number): Promise<StoreFile>;
  rename(from: string, to: string): Promise<void>;
}

/** The real file system, `node:fs/promises`: the default everywhere. */
export const nodeStoreFs: StoreFs = {
  open: (path, flags, mode) => open(path, flags, mode),
  rename: (from, to) => rename(from, to),
};

/** Writes all of `buf` at `position`, looping over short writes (a write may store fewer bytes than asked). */
export async function writeAll(file: StoreFile, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesWritten } = await file.write(buf, done, buf.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Fsyncs a directory, so a file created or renamed in it survives a crash (the entry lives in the
 * directory, not the file). Windows cannot open a directory for this and orders renames itself: skipped.
 */
export async function syncDirectory(dir: string, fs: StoreFs = nodeStoreFs): Promise<void> {
  if (process.platform === 'win32') return;
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Replaces `path` with `data` atomically and durably: writes `path.tmp`, fsyncs it, renames it over `path`,
 * fsyncs the directory. After a crash the file holds either its old or its new content, never a mix.
 */
export async function writeFileDurably(path: string, data: Uint8Array | string, mode = 0o644, fs: StoreFs = nodeStoreFs): Promise<void> {
  const tmp = `${path}.tmp`;
  const h = await fs.open(tmp, 'w', mode);
  try {
    await writeAll(h, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, 0);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(tmp, path);
  await syncDirectory(dirname(path), fs);
}
