/**
 * An in-memory StoreFs that can lose power, for tests of what a log keeps across a power loss.
 *
 * The model. Every file has the bytes on the disk (`synced`) and the bytes reads see (`live`, the page
 * cache), and remembers the writes and truncations made since its last sync, in order. `datasync` and
 * `sync` make the disk equal the live bytes. Names work the same way: creating or renaming a file changes
 * the live directory at once, but the entry reaches the disk only when its directory is fsynced (opened
 * with 'r' and synced), as POSIX asks; a file whose name never reached the disk is lost with its data.
 *
 * Losing power: every later call fails with EIO, and what survives is, per file reachable by a name on the
 * disk, its synced bytes plus a random prefix of the changes made since (the disk may have written some of
 * them back on its own): some whole, then possibly one write cut at a random byte (a torn write), and
 * sometimes that cut write left as zeros (a file size that reached the disk before its data). It does not
 * model reordered writeback (a later page reaching the disk before an earlier one) or bit rot.
 *
 * Writes may be short (fewer bytes than asked, as a real write may be), to exercise callers' write loops.
 */
import { dirname } from 'node:path';
import type { StoreFile, StoreFs, StoreOpenFlags } from '../../src/store/store-fs.ts';

type Change = { kind: 'write'; position: number; bytes: Buffer } | { kind: 'truncate'; length: number };

class SimFile {
  synced: Buffer = Buffer.alloc(0);
  live: Buffer = Buffer.alloc(0);
  changes: Change[] = [];

  constructor(content?: Buffer) {
    if (content) {
      this.synced = Buffer.from(content);
      this.live = Buffer.from(content);
    }
  }

  apply(change: Change): void {
    this.live = applyChange(this.live, change);
    this.changes.push(change);
  }

  sync(): void {
    this.synced = Buffer.from(this.live);
    this.changes = [];
  }
}

function applyChange(content: Buffer, c: Change): Buffer {
  if (c.kind === 'truncate') return c.length <= content.length ? content.subarray(0, c.length) : Buffer.concat([content, Buffer.alloc(c.length - content.length)]);
  const end = c.position + c.bytes.length;
  const out = end > content.length ? Buffer.concat([content, Buffer.alloc(end - content.length)]) : Buffer.from(content);
  c.bytes.copy(out, c.position);
  return out;
}

/** What one power loss did, summed over the files. */
export interface PowerLoss {
  /** Changed bytes not yet synced when power was lost (writes counted by length). */
  unsyncedBytes: number;
  /** Of those, bytes that survived anyway (whole writes and the kept part of a torn one). */
  keptBytes: number;
  /** A write was cut part way. */
  torn: boolean;
  /** The cut write survived as zeros. */
  zeroFilled: boolean;
  /** Files that were lost because their name had not reached the disk. */
  filesLost: number;
}

/** The error every call gets once the power is gone, shaped like node's fs errors. */
function fsError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** The in-memory file system of this module; see the model above. */
export class PowerLossFs implements StoreFs {
  readonly #dirs: ReadonlySet<string>;
  readonly #random: () => number;
  readonly #shortWrites: boolean;
  #live = new Map<string, SimFile>();
  #durable = new Map<string, SimFile>();
  #calls = 0;
  #cutAtCall = Infinity;
  #loss: PowerLoss | null = null;

  /**
   * @param dirs the directories that exist (files may be created only directly in them)
   * @param random the seeded source of every choice this file system makes
   */
  constructor(dirs: readonly string[], random: () => number, opts: { shortWrites?: boolean; files?: Map<string, Buffer> } = {}) {
    this.#dirs = new Set(dirs);
    this.#random = random;
    this.#shortWrites = opts.shortWrites ?? true;
    for (const [path, content] of opts.files ?? []) {
      const f = new SimFile(content);
      this.#live.set(path, f);
      this.#durable.set(path, f);
    }
  }

  /** Calls made so far (each open, rename and file call counts one). */
  get calls(): number {
    return this.#calls;
  }

  /** What the power loss did, once it happened; null while the power is on. */
  get loss(): PowerLoss | null {
    return this.#loss;
  }

  /** Loses power just before the call that would be number `calls + n` (n >= 1): that call already fails. */
  cutAfter(n: number): void {
    this.#cutAtCall = this.#calls + n;
  }

  /** Loses power now (if it is not already lost) and returns what that did. */
  loseNow(): PowerLoss {
    this.#loss ??= this.#losePower();
    return this.#loss;
  }

  /** A new file system holding exactly what survived the power loss, as a restarted machine would see it. */
  afterPowerLoss(opts: { shortWrites?: boolean } = {}): PowerLossFs {
    if (!this.#loss) throw new Error('the power is still on');
    const files = new Map([...this.#durable].map(([path, f]) => [path, f.synced] as const));
    return new PowerLossFs([...this.#dirs], this.#random, { ...opts, files });
  }

  /** The bytes of `path` as they would be read now, or undefined; for assertions only (counts no call). */
  peek(path: string): Buffer | undefined {
    const f = this.#live.get(path);
    return f ? Buffer.from(f.live) : undefined;
  }

  async open(path: string, flags: StoreOpenFlags, _mode?: number): Promise<StoreFile> {
    this.#call();
    if (this.#dirs.has(path)) {
      if (flags !== 'r') throw fsError('EISDIR', `${path} is a directory`);
      return this.#dirHandle(path);
    }
    if (!this.#dirs.has(dirname(path))) throw fsError('ENOENT', `no directory ${dirname(path)}`);
    let f = this.#live.get(path);
    if (flags === 'w') {
      if (f) f.apply({ kind: 'truncate', length: 0 });
      else this.#live.set(path, (f = new SimFile()));
    }
    if (!f) throw fsError('ENOENT', `no such file ${path}`);
    return this.#fileHandle(f, flags !== 'r');
  }

  async rename(from: string, to: string): Promise<void> {
    this.#call();
    const f = this.#live.get(from);
    if (!f) throw fsError('ENOENT', `no such file ${from}`);
    if (!this.#dirs.has(dirname(to))) throw fsError('ENOENT', `no directory ${dirname(to)}`);
    this.#live.delete(from);
    this.#live.set(to, f);
  }

  /** Counts a call, loses power when the cut is due, and fails every call after the loss. */
  #call(): void {
    this.#calls++;
    if (!this.#loss && this.#calls >= this.#cutAtCall) this.#loss = this.#losePower();
    if (this.#loss) throw fsError('EIO', 'the power is gone');
  }

  #losePower(): PowerLoss {
    const loss: PowerLoss = { unsyncedBytes: 0, keptBytes: 0, torn: false, zeroFilled: false, filesLost: 0 };
    const survivors = new Set(this.#durable.values());
    for (const f of new Set(this.#live.values())) if (!survivors.has(f)) loss.filesLost++;
    for (const f of survivors) {
      for (const c of f.changes) loss.unsyncedBytes += c.kind === 'write' ? c.bytes.length : 0;
      const whole = Math.floor(this.#random() * (f.changes.length + 1));
      let disk = f.synced;
      for (const c of f.changes.slice(0, whole)) {
        disk = applyChange(disk, c);
        loss.keptBytes += c.kind === 'write' ? c.bytes.length : 0;
      }
      const next = f.changes[whole];
      if (next?.kind === 'write' && this.#random() < 0.5) {
        const kept = Math.floor(this.#random() * next.bytes.length);
        const zeros = this.#random() < 0.25;
        disk = applyChange(disk, { kind: 'write', position: next.position, bytes: zeros ? Buffer.alloc(kept) : next.bytes.subarray(0, kept) });
        loss.keptBytes += kept;
        loss.torn ||= kept > 0;
        loss.zeroFilled ||= zeros && kept > 0;
      }
      f.synced = disk;
    }
    return loss;
  }

  #dirHandle(dir: string): StoreFile {
    const notAFile = async (): Promise<never> => {
      this.#call();
      throw fsError('EISDIR', `${dir} is a directory`);
    };
    return {
      stat: notAFile,
      read: notAFile,
      write: notAFile,
      truncate: notAFile,
      datasync: notAFile,
      sync: async () => {
        this.#call();
        // the directory's entries reach the disk: names made or moved in it, and names removed from it
        for (const path of [...this.#durable.keys()]) if (dirname(path) === dir && !this.#live.has(path)) this.#durable.delete(path);
        for (const [path, f] of this.#live) if (dirname(path) === dir) this.#durable.set(path, f);
      },
      close: async () => this.#call(),
    };
  }

  #fileHandle(f: SimFile, writable: boolean): StoreFile {
    let closed = false;
    const use = (write: boolean): void => {
      this.#call();
      if (closed) throw fsError('EBADF', 'the file is closed');
      if (write && !writable) throw fsError('EBADF', 'the file is open for reading');
    };
    return {
      stat: async () => {
        use(false);
        return { size: f.live.length };
      },
      read: async (buffer, offset, length, position) => {
        use(false);
        const n = Math.max(0, Math.min(length, f.live.length - position));
        f.live.copy(buffer, offset, position, position + n);
        return { bytesRead: n };
      },
      write: async (buffer, offset, length, position) => {
        use(true);
        // a short write now and then, never an empty one (a real write to a file makes progress)
        const n = this.#shortWrites && length > 1 && this.#random() < 0.2 ? 1 + Math.floor(this.#random() * (length - 1)) : length;
        f.apply({ kind: 'write', position, bytes: Buffer.from(buffer.subarray(offset, offset + n)) });
        return { bytesWritten: n };
      },
      truncate: async (length) => {
        use(true);
        f.apply({ kind: 'truncate', length });
      },
      datasync: async () => {
        use(false);
        f.sync();
      },
      sync: async () => {
        use(false);
        f.sync();
      },
      close: async () => {
        use(false);
        closed = true;
      },
    };
  }
}
