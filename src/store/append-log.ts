/**
 * An append-only log of opaque records, each written and fdatasync'ed before its append resolves.
 *
 * Why an append-only log of our own rather than an embedded database: the decided chain is append-only by
 * nature (a block, once decided, is never changed or deleted), so a log is the whole data structure a database
 * would wrap, and it adds no native dependency to build on every platform we run on. Its durability rule is
 * one line: `append` resolves only after the bytes are written and fdatasync'ed, so a node reports a block
 * decided only once the block is on disk. Its recovery rules are explicit and tested byte by byte: every
 * record carries its length and a CRC-32, a torn or corrupt tail is cut and reported, never loaded, and
 * corruption with valid records after it refuses to load rather than silently dropping acknowledged data.
 * The node key, peer list and genesis binding are small files replaced atomically (write, fsync, rename).
 *
 * File format: an 8-byte header (magic `SCLOG`, format version u8, two zero bytes), then records of
 * `[u32 BE body length][u32 BE CRC-32 of body][body]`. Bodies are never empty: a zero-filled tail, which a
 * crash can leave on some filesystems, would otherwise read as valid records (the CRC-32 of nothing is 0).
 *
 * Recovery rule, applied on open. Records are read from the header on. The first record that is incomplete
 * (header or body cut short), has a length of 0 or above recordBytesMax, or fails its CRC is the first bad
 * record, at offset B. Everything from B to the end of the file is a torn tail, cut off and reported, when
 * both hold:
 *   1. the file ends at most batchBytesMax bytes after B: appends are serialised and each group commit is
 *      synced before the next is written, so a crash can leave at most one unsynced batch, and a longer
 *      bad stretch is damage to acknowledged data;
 *   2. no offset after B starts a chain of valid records that ends exactly at the end of the file: such a
 *      chain is most likely records written after the bad one, which were acknowledged.
 * Otherwise open throws ERR_STORE naming the file and offset: the log is corrupt in the middle, and the
 * operator decides, because cutting it would drop records that were reported durable. Rule 2 can, in
 * theory, refuse a log whose last, torn record carries inside its body bytes that form a valid record
 * ending exactly where the tear happened; that refusal is safe (nothing is lost) and rare enough to leave to
 * the operator. A bit flip in the very last record is indistinguishable from a torn write and is cut.
 */
import { crc32 } from 'node:zlib';
import { StrongcastError } from '../errors.ts';
import { optionsObject, positiveInt } from '../options.ts';
import { errnoOf, storeError } from './store-error.ts';
import { nodeStoreFs, writeAll, writeFileDurably, type StoreFile, type StoreFs } from './store-fs.ts';

// Kept exported from here, where they were first defined, so existing importers keep working.
export { syncDirectory, writeFileDurably } from './store-fs.ts';
export type { StoreFile, StoreFs } from './store-fs.ts';

/** First bytes of every log file. */
export const LOG_MAGIC = 'SCLOG';
/** Format version written in the header; a file of another version is refused, not guessed at. */
export const LOG_FORMAT_VERSION = 1;
/** Bytes of the file header: magic, version, two reserved zero bytes. */
export const LOG_HEADER_BYTES = 8;
/** Bytes in front of every record body: length and CRC-32, both u32 big-endian. */
export const RECORD_HEADER_BYTES = 8;
/** Largest recordBytesMax accepted: a record is read into one buffer, and lengths are u32 on disk. */
export const RECORD_BYTES_LIMIT = 1024 * 1024 * 1024;

/** Defaults of {@link AppendLogOptions}; batchBytesMax defaults to 2 x (recordBytesMax + 8). */
export const appendLogDefaults = {
  recordBytesMax: 4 * 1024 * 1024,
  queuedBytesMax: 64 * 1024 * 1024,
} as const;

/** Options of an {@link AppendLog}. Use the same values every time a given log is opened. */
export interface AppendLogOptions {
  /**
   * Largest record body, in bytes. Appends above it are refused; on open, a length above it is a bad record.
   * @default 4194304 (4 MiB)
   */
  recordBytesMax?: number;
  /**
   * Most bytes one group commit writes before its fdatasync. Also the longest torn tail open accepts (see
   * the recovery rule). At least recordBytesMax + 8, so any single record fits.
   * @default 2 * (recordBytesMax + 8)
   */
  batchBytesMax?: number;
  /**
   * Most bytes of appends waiting for the disk; an append beyond it is refused with ERR_STORE, because a
   * caller outpacing the disk must slow down rather than grow memory. At least recordBytesMax + 8.
   * @default 67108864 (64 MiB)
   */
  queuedBytesMax?: number;
  /**
   * The file system the log goes through. Tests pass one that records the order of calls or simulates a
   * power loss; nothing else should need it.
   * @default the real one, `node:fs/promises`
   */
  fs?: StoreFs;
}

/** What open found at the end of the file. */
export interface LogRecovery {
  /** Bytes cut from the end of the file as a torn or corrupt tail; 0 when the log ended cleanly. */
  tornTailBytes: number;
  /** File offset where the cut tail started; null when nothing was cut. */
  offset: number | null;
  /** Why the tail was cut, naming the file and offset; null when nothing was cut. */
  reason: string | null;
}

/** The result of {@link AppendLog.open}. */
export interface OpenedLog {
  log: AppendLog;
  /** Every good record, oldest first; empty when an `onRecord` visitor was given. */
  records: Uint8Array[];
  recovery: LogRecovery;
}

/** Receives each good record during open, oldest first; `index` counts from 0. May throw to refuse the log. */
export type RecordVisitor = (body: Uint8Array, index: number, offset: number) => void;

interface ResolvedOptions {
  recordBytesMax: number;
  batchBytesMax: number;
  queuedBytesMax: number;
  fs: StoreFs;
}

interface PendingAppend {
  framed: Buffer;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function resolveOptions(options: AppendLogOptions | undefined): ResolvedOptions {
  optionsObject(options);
  const recordBytesMax = positiveInt(options?.recordBytesMax ?? appendLogDefaults.recordBytesMax, 'recordBytesMax');
  if (recordBytesMax > RECORD_BYTES_LIMIT) {
    throw new StrongcastError('ERR_INVALID_OPTION', `options.recordBytesMax must be at most ${RECORD_BYTES_LIMIT}`);
  }
  const recordFits = recordBytesMax + RECORD_HEADER_BYTES;
  const batchBytesMax = positiveInt(options?.batchBytesMax ?? 2 * recordFits, 'batchBytesMax');
  const queuedBytesMax = positiveInt(options?.queuedBytesMax ?? Math.max(appendLogDefaults.queuedBytesMax, recordFits), 'queuedBytesMax');
  for (const [name, value] of [['batchBytesMax', batchBytesMax], ['queuedBytesMax', queuedBytesMax]] as const) {
    if (value < recordFits) {
      throw new StrongcastError('ERR_INVALID_OPTION', `options.${name} must be at least recordBytesMax + ${RECORD_HEADER_BYTES} (${recordFits})`);
    }
  }
  return { recordBytesMax, batchBytesMax, queuedBytesMax, fs: resolveFs(options?.fs) };
}

/** The `fs` option: checked for the two calls the log makes on it, so a wrong object fails at open, by name. */
function resolveFs(fs: unknown): StoreFs {
  if (fs === undefined) return nodeStoreFs;
  const f = fs as Partial<StoreFs> | null;
  if (typeof f !== 'object' || f === null || typeof f.open !== 'function' || typeof f.rename !== 'function') {
    throw new StrongcastError('ERR_INVALID_OPTION', 'options.fs must be an object with open and rename functions');
  }
  return f as StoreFs;
}

function logHeader(): Buffer {
  const h = Buffer.alloc(LOG_HEADER_BYTES);
  h.write(LOG_MAGIC, 0, 'latin1');
  h.writeUInt8(LOG_FORMAT_VERSION, LOG_MAGIC.length);
  return h;
}

/** Reads a file through a chunk buffer, so a log of many small records costs few reads. */
class ChunkReader {
  static readonly chunkBytes = 1024 * 1024;
  #buf = Buffer.alloc(0);
  #start = 0;

  constructor(
    private readonly handle: StoreFile,
    readonly size: number,
  ) {}

  /** `n` bytes at `offset` (the caller checked they exist); a view, valid until the next call. */
  async view(offset: number, n: number): Promise<Buffer> {
    if (offset < this.#start || offset + n > this.#start + this.#buf.byteLength) {
      const want = Math.min(Math.max(n, ChunkReader.chunkBytes), this.size - offset);
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await this.handle.read(buf, got, want - got, offset + got);
        if (bytesRead === 0) throw storeError(`the file shrank while it was read (at offset ${offset + got})`);
        got += bytesRead;
      }
      this.#buf = buf;
      this.#start = offset;
    }
    return this.#buf.subarray(offset - this.#start, offset - this.#start + n);
  }
}

/**
 * Why the record at `offset` of `bytes` is bad, or its end offset when it is good. Shared by the main scan
 * and the tail scan so both apply exactly the same rules.
 */
function checkRecord(bytes: Uint8Array, offset: number, recordBytesMax: number): { end: number } | { problem: string } {
  const remaining = bytes.byteLength - offset;
  if (remaining < RECORD_HEADER_BYTES) return { problem: `incomplete record header (${remaining} of ${RECORD_HEADER_BYTES} bytes)` };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_HEADER_BYTES);
  const length = view.getUint32(0);
  if (length === 0) return { problem: 'record length 0' };
  if (length > recordBytesMax) return { problem: `record length ${length} above recordBytesMax ${recordBytesMax}` };
  if (length > remaining - RECORD_HEADER_BYTES) return { problem: `incomplete record body (${remaining - RECORD_HEADER_BYTES} of ${length} bytes)` };
  const body = bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
  if (crc32(body) !== view.getUint32(4)) return { problem: 'record CRC-32 mismatch' };
  return { end: offset + RECORD_HEADER_BYTES + length };
}

/**
 * The bytes of the record at `offset`: its header and, when the length is plausible, its body, cut short
 * where the file ends so checkRecord can tell an incomplete record from a bad one.
 */
async function recordSpan(reader: ChunkReader, offset: number, recordBytesMax: number): Promise<Buffer> {
  const remaining = reader.size - offset;
  if (remaining < RECORD_HEADER_BYTES) return reader.view(offset, remaining);
  const length = (await reader.view(offset, RECORD_HEADER_BYTES)).readUInt32BE(0);
  const plausible = length >= 1 && length <= recordBytesMax;
  return reader.view(offset, plausible ? Math.min(remaining, RECORD_HEADER_BYTES + length) : RECORD_HEADER_BYTES);
}

/**
 * The first offset after the first one in `tail` that starts a chain of valid records ending exactly at the
 * end of `tail`, or null. Computed backwards so each offset is judged once: `chains[p]` says whether a chain
 * from p reaches the end, and a record's CRC is computed only when the chain after it already does. `tail`
 * is at most batchBytesMax long, which bounds the work; bytes crafted so that many offsets pass the length
 * test could still make it quadratic in that bound, a cost paid only on open after a crash.
 */
function laterValidChain(tail: Uint8Array, recordBytesMax: number): number | null {
  const n = tail.byteLength;
  const chains = new Uint8Array(n + 1);
  chains[n] = 1;
  let found: number | null = null;
  const view = new DataView(tail.buffer, tail.byteOffset, n);
  for (let p = n - RECORD_HEADER_BYTES - 1; p >= 1; p--) {
    const length = view.getUint32(p);
    if (length === 0 || length > recordBytesMax || length > n - p - RECORD_HEADER_BYTES) continue;
    if (chains[p + RECORD_HEADER_BYTES + length] !== 1) continue;
    if ('end' in checkRecord(tail, p, recordBytesMax)) {
      chains[p] = 1;
      found = p;
    }
  }
  return found;
}

/**
 * An append-only log file of opaque records. `append` resolves once the record is durable; appends are
 * serialised, and those queued while a write is in flight are group-committed with one fdatasync.
 */
export class AppendLog {
  readonly path: string;
  readonly #handle: StoreFile;
  readonly #opts: ResolvedOptions;
  #size: number;
  #queue: PendingAppend[] = [];
  #queuedBytes = 0;
  #flushing: Promise<void> | null = null;
  #failed: StrongcastError | null = null;
  #closing: Promise<void> | null = null;

  private constructor(path: string, handle: StoreFile, size: number, opts: ResolvedOptions) {
    this.path = path;
    this.#handle = handle;
    this.#size = size;
    this.#opts = opts;
  }

  /**
   * Opens (or creates) the log at `path`, reads every record and applies the recovery rule of this module:
   * a torn tail is cut off, reported in `recovery` and not returned.
   * @param onRecord when given, receives each good record as it is read instead of `records` collecting
   *   them, so a long log need not be held in memory at once; an exception it throws closes the log and
   *   propagates.
   * @throws StrongcastError ERR_STORE when the file cannot be opened, is not a strongcast log, has another
   *   format version, or is corrupt other than at its tail; ERR_INVALID_OPTION for a bad option.
   */
  static async open(path: string, options?: AppendLogOptions, onRecord?: RecordVisitor): Promise<OpenedLog> {
    const opts = resolveOptions(options);
    const handle = await openOrCreate(path, opts.fs);
    try {
      const size = (await handle.stat()).size;
      if (size < LOG_HEADER_BYTES && (await isHeaderPrefix(handle, size))) {
        // We create logs atomically, header included, so only a file made by hand (or an adopted empty file
        // whose header write was torn) is empty or part of a header: it holds no records, so adopt it.
        await writeAll(handle, logHeader(), 0);
        await handle.datasync();
        return { log: new AppendLog(path, handle, LOG_HEADER_BYTES, opts), records: [], recovery: clean() };
      }
      const reader = new ChunkReader(handle, size);
      await checkHeader(path, reader);
      const records: Uint8Array[] = [];
      let offset = LOG_HEADER_BYTES;
      let index = 0;
      let problem: string | null = null;
      while (offset < size) {
        const r = checkRecord(await recordSpan(reader, offset, opts.recordBytesMax), 0, opts.recordBytesMax);
        if ('problem' in r) {
          problem = r.problem;
          break;
        }
        // a copy, so a kept record never pins a whole read chunk
        const body = new Uint8Array((await reader.view(offset, r.end)).subarray(RECORD_HEADER_BYTES));
        if (onRecord) onRecord(body, index, offset);
        else records.push(body);
        offset += r.end;
        index++;
      }
      const recovery = problem === null ? clean() : await cutTail(path, handle, reader, offset, problem, opts);
      return { log: new AppendLog(path, handle, size - recovery.tornTailBytes, opts), records, recovery };
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
  }

  /** Bytes of the file holding durable records (header included). */
  get sizeBytes(): number {
    return this.#size;
  }

  /**
   * Appends one record; resolves once it is written and fdatasync'ed. The body is copied at once, so the
   * caller may reuse its buffer. After a failed write or sync every later append is refused: the state of
   * the file's end is then unknown, and only a reopen (which applies the recovery rule) can tell.
   * @throws StrongcastError ERR_STORE (as a rejection) when the body is empty or above recordBytesMax, the
   *   queue is above queuedBytesMax, the log is closed, or the write or sync failed.
   */
  append(body: Uint8Array): Promise<void> {
    if (this.#closing) return Promise.reject(storeError(`${this.path}: the log is closed`));
    if (this.#failed) return Promise.reject(this.#failed);
    const n = body.byteLength;
    if (n === 0) return Promise.reject(storeError(`${this.path}: empty records are refused (a zero-filled tail would read as them)`));
    if (n > this.#opts.recordBytesMax) {
      return Promise.reject(storeError(`${this.path}: a record of ${n} bytes is above recordBytesMax ${this.#opts.recordBytesMax}`));
    }
    const framed = Buffer.allocUnsafe(RECORD_HEADER_BYTES + n);
    framed.writeUInt32BE(n, 0);
    framed.writeUInt32BE(crc32(body), 4);
    framed.set(body, RECORD_HEADER_BYTES);
    if (this.#queuedBytes + framed.byteLength > this.#opts.queuedBytesMax) {
      return Promise.reject(storeError(`${this.path}: ${this.#queuedBytes} bytes already wait for the disk; queuedBytesMax is ${this.#opts.queuedBytesMax}`));
    }
    this.#queuedBytes += framed.byteLength;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ framed, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** Waits for queued appends to finish, then closes the file. Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#flushing) await this.#flushing;
      await this.#handle.close();
    })();
    return this.#closing;
  }

  /** Writes queued records in batches of at most batchBytesMax, one write and one fdatasync per batch. */
  async #flush(): Promise<void> {
    while (this.#queue.length > 0 && !this.#failed) {
      const batch = this.#takeBatch();
      const buf = batch.length === 1 ? batch[0]!.framed : Buffer.concat(batch.map((p) => p.framed));
      try {
        await writeAll(this.#handle, buf, this.#size);
        await this.#handle.datasync();
      } catch (e) {
        this.#failed = storeError(`${this.path}: write failed (${errnoOf(e)}); no more appends until the log is reopened`, e);
        for (const p of [...batch, ...this.#queue]) p.reject(this.#failed);
        this.#queue = [];
        this.#queuedBytes = 0;
        break;
      }
      this.#size += buf.byteLength;
      this.#queuedBytes -= buf.byteLength;
      for (const p of batch) p.resolve();
    }
    this.#flushing = null;
  }

  #takeBatch(): PendingAppend[] {
    const batch: PendingAppend[] = [];
    let bytes = 0;
    for (const p of this.#queue) {
      if (batch.length > 0 && bytes + p.framed.byteLength > this.#opts.batchBytesMax) break;
      batch.push(p);
      bytes += p.framed.byteLength;
    }
    this.#queue.splice(0, batch.length);
    return batch;
  }
}

function clean(): LogRecovery {
  return { tornTailBytes: 0, offset: null, reason: null };
}

async function openOrCreate(path: string, fs: StoreFs): Promise<StoreFile> {
  try {
    return await fs.open(path, 'r+');
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw storeError(`${path}: cannot be opened (${errnoOf(e)})`, e);
  }
  try {
    // Header written to a temporary file and renamed into place: a crash never leaves a half-made log.
    await writeFileDurably(path, logHeader(), 0o644, fs);
    return await fs.open(path, 'r+');
  } catch (e) {
    throw storeError(`${path}: cannot be created (${errnoOf(e)})`, e);
  }
}

/** True when the `size` bytes of a file shorter than a header are the start of one (or nothing). */
async function isHeaderPrefix(handle: StoreFile, size: number): Promise<boolean> {
  const buf = Buffer.alloc(size);
  if (size > 0) await handle.read(buf, 0, size, 0);
  return buf.equals(logHeader().subarray(0, size));
}

async function checkHeader(path: string, reader: ChunkReader): Promise<void> {
  if (reader.size < LOG_HEADER_BYTES) {
    throw storeError(`${path}: ${reader.size} bytes, shorter than a log header; not a strongcast log`);
  }
  const h = await reader.view(0, LOG_HEADER_BYTES);
  if (h.toString('latin1', 0, LOG_MAGIC.length) !== LOG_MAGIC || h[6] !== 0 || h[7] !== 0) {
    throw storeError(`${path}: bad magic; not a strongcast log`);
  }
  const version = h[LOG_MAGIC.length];
  if (version !== LOG_FORMAT_VERSION) {
    throw storeError(`${path}: log format version ${version}, this build reads version ${LOG_FORMAT_VERSION}`);
  }
}

/** Applies the recovery rule to the bad record at `offset`: cuts the tail, or refuses the log. */
async function cutTail(path: string, handle: StoreFile, reader: ChunkReader, offset: number, problem: string, opts: ResolvedOptions): Promise<LogRecovery> {
  const tailBytes = reader.size - offset;
  if (tailBytes > opts.batchBytesMax) {
    throw storeError(
      `${path}: ${problem} at offset ${offset}, with ${tailBytes} bytes after it; a torn write leaves at most ` +
        `batchBytesMax ${opts.batchBytesMax}, so this is damage to acknowledged records; refusing to load the log`,
    );
  }
  const later = laterValidChain(await reader.view(offset, tailBytes), opts.recordBytesMax);
  if (later !== null) {
    throw storeError(
      `${path}: ${problem} at offset ${offset}, but valid records follow from offset ${offset + later}; ` +
        'the log is corrupt in the middle, not torn at its end; refusing to load it',
    );
  }
  await handle.truncate(offset);
  await handle.datasync();
  return { tornTailBytes: tailBytes, offset, reason: `${path}: torn tail at offset ${offset}: ${problem}; ${tailBytes} bytes cut` };
}
