/**
 * A StoreFs for tests: passes every call on to another one (the real file system by default), records each
 * call when it has completed, and can hold datasyncs back until the test releases them. Recording on
 * completion, not on call, matters: a datasync that was started but had not finished when an append
 * resolved must show up after that resolution.
 */
import { nodeStoreFs, type StoreFile, type StoreFs, type StoreOpenFlags } from '../../src/store/store-fs.ts';

/** One completed file-system call, or a mark the test made itself (`op` of its choosing, path ''). */
export interface FsCall {
  op: string;
  path: string;
  /** write: file offset; truncate: new length; open: unset. */
  position?: number;
  /** write: bytes written. */
  bytes?: number;
  /** open: the flags. */
  flags?: StoreOpenFlags;
}

/** Records completed calls (and the test's marks) in `calls`; can hold or fail datasyncs. */
export class RecordingFs implements StoreFs {
  /** Every completed call and mark, in the order they happened. */
  readonly calls: FsCall[] = [];
  #holding = false;
  #held: Array<() => void> = [];
  #failWith: string | null = null;

  constructor(private readonly inner: StoreFs = nodeStoreFs) {}

  /** From now on every datasync waits, before it reaches the inner file system, until release(). */
  holdDatasyncs(): void {
    this.#holding = true;
  }

  /** Lets every held datasync go on, and holds no more. */
  release(): void {
    this.#holding = false;
    for (const go of this.#held.splice(0)) go();
  }

  /** From now on every datasync fails with an fs error of errno `code` (EIO: the disk failed). */
  failDatasyncs(code = 'EIO'): void {
    this.#failWith = code;
  }

  /** Datasyncs waiting right now. */
  get heldDatasyncs(): number {
    return this.#held.length;
  }

  /** Adds the test's own event to the record, e.g. `resolved` when an append promise resolved. */
  mark(op: string, extra: Omit<FsCall, 'op' | 'path'> = {}): void {
    this.calls.push({ op, path: '', ...extra });
  }

  /** Waits before a datasync while holding; throws when datasyncs are to fail. */
  async gate(): Promise<void> {
    if (this.#holding) await new Promise<void>((go) => this.#held.push(go));
    if (this.#failWith !== null) throw Object.assign(new Error(`${this.#failWith}: injected datasync failure`), { code: this.#failWith });
  }

  async open(path: string, flags: StoreOpenFlags, mode?: number): Promise<StoreFile> {
    const file = await this.inner.open(path, flags, mode);
    this.calls.push({ op: 'open', path, flags });
    return recordingFile(this, path, file);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.inner.rename(from, to);
    this.calls.push({ op: 'rename', path: `${from} -> ${to}` });
  }
}

function recordingFile(fs: RecordingFs, path: string, file: StoreFile): StoreFile {
  const done = (op: string, extra: Omit<FsCall, 'op' | 'path'> = {}): void => void fs.calls.push({ op, path, ...extra });
  return {
    stat: async () => {
      const s = await file.stat();
      done('stat');
      return s;
    },
    read: async (buffer, offset, length, position) => {
      const r = await file.read(buffer, offset, length, position);
      done('read', { position, bytes: r.bytesRead });
      return r;
    },
    write: async (buffer, offset, length, position) => {
      const r = await file.write(buffer, offset, length, position);
      done('write', { position, bytes: r.bytesWritten });
      return r;
    },
    truncate: async (length) => {
      await file.truncate(length);
      done('truncate', { position: length });
    },
    datasync: async () => {
      await fs.gate();
      await file.datasync();
      done('datasync');
    },
    sync: async () => {
      await file.sync();
      done('sync');
    },
    close: async () => {
      await file.close();
      done('close');
    },
  };
}

/**
 * Checks that every `resolved` mark (whose `position` is the log size its record reached) comes after a
 * datasync that completed after writes covering that size: the append's bytes were written, then synced,
 * then it resolved. Returns a problem, or null when the order holds.
 */
export function durabilityOrderProblem(calls: readonly FsCall[], logPath: string): string | null {
  let writtenTo = 0;
  let syncedTo = 0;
  for (const [i, c] of calls.entries()) {
    if (c.path === logPath && c.op === 'write') writtenTo = Math.max(writtenTo, c.position! + c.bytes!);
    if (c.path === logPath && c.op === 'truncate') writtenTo = c.position!;
    if (c.path === logPath && c.op === 'datasync') syncedTo = writtenTo;
    if (c.op === 'resolved' && syncedTo < c.position!) {
      return `call ${i}: an append resolved at log size ${c.position} with only ${syncedTo} bytes synced (${writtenTo} written)`;
    }
  }
  return null;
}
