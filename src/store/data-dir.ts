/**
 * The data directory of `--data DIR`: the node key, the known peer addresses, the genesis it belongs to and
 * the decided chain. Small files (key, peers, meta) are replaced atomically; the chain is an append-only log
 * (append-log.ts) whose every block is checked on load (heights, parent links, hashes), so a record that
 * decodes but breaks the chain is refused as corruption, never returned as data.
 *
 *   DIR/node.key    the key file (crypto/keys.ts), mode 0600
 *   DIR/meta.json   { format, genesisHash }: which network's chain this directory holds
 *   DIR/peers.json  { format, peers: [{ id, host, port }] }
 *   DIR/chain.log   one msgpack ChainBlock per record, height 1 first
 *   DIR/LOCK        the process id of the node using the directory
 */
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Packr, Unpackr } from 'msgpackr';
import { bytesEqual, fromHex, toHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { optionsObject, positiveInt } from '../options.ts';
import { HASH_BYTES, PUBLIC_KEY_BYTES, schemaLimits, type PeerAddress } from '../schema.ts';
import { generateIdentity, readKeyFile, writeKeyFile, type Identity } from '../crypto/keys.ts';
import { blockHash, type ChainBlock } from '../consensus/block.ts';
import { chainDefaults, type ChainTip } from '../consensus/chain.ts';
import { AppendLog, syncDirectory, writeFileDurably, type AppendLogOptions, type LogRecovery } from './append-log.ts';

/** Names of the files in a data directory. */
export const DATA_DIR_FILES = {
  key: 'node.key',
  meta: 'meta.json',
  peers: 'peers.json',
  chain: 'chain.log',
  lock: 'LOCK',
} as const;

/** Format version of meta.json and peers.json; a file of another version is refused. */
export const DATA_DIR_FORMAT = 1;

/** Largest meta.json read, in bytes: it holds one hash. */
export const metaFileBytesMax = 4096;

/** Largest peers.json entry, in bytes: 64 hex id, a host of hostCharsMax UTF-8 characters, a port, JSON. */
export const peerEntryBytesMax = 64 + 4 * schemaLimits.hostCharsMax + 64;

/** Defaults of {@link DataDirOptions}. */
export const dataDirDefaults = { peersMax: 1000, chainBlocksKeptMax: chainDefaults.blocksKeptMax } as const;

/** Options of {@link openDataDir}. */
export interface DataDirOptions {
  /**
   * Hash of the genesis whose chain this directory holds. The first open with it records it in meta.json;
   * a later open with another hash is refused, so two networks' chains never mix. Without it the directory
   * serves the key and peers only, and the chain is not opened.
   * @default undefined (no chain)
   */
  genesisHash?: Uint8Array;
  /** Most peer addresses kept; savePeers keeps the first peersMax. @default 1000 */
  peersMax?: number;
  /**
   * Most blocks loadChain returns (the newest); every block is still checked on load. Matches the in-memory
   * Chain, which keeps no more than this either.
   * @default 10000
   */
  chainBlocksKeptMax?: number;
  /** Options of the chain log (recordBytesMax, batchBytesMax, queuedBytesMax). @default the log's defaults */
  log?: AppendLogOptions;
}

/** The chain as it was on disk when the directory was opened. */
export interface LoadedChain {
  /** The newest blocks (at most chainBlocksKeptMax), oldest first, all checked. */
  blocks: ChainBlock[];
  /** The newest stored block: height 0 and the genesis hash when the chain is empty. */
  tip: ChainTip;
  /** What the log cut from its end on open (a torn write), if anything. */
  recovery: LogRecovery;
}

interface ResolvedOptions {
  genesisHash: Uint8Array | null;
  peersMax: number;
  chainBlocksKeptMax: number;
  log: AppendLogOptions | undefined;
}

/** Chain records are plain msgpack maps: no records, no extensions, bin for bytes (as on the wire). */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false });
/** `copyBuffers` so a kept block does not pin its record; u64 timestamps come back as numbers. */
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: 'number' });

/** Directories this process holds the lock of, to tell our own live lock from one a previous run left. */
const heldLocks = new Set<string>();

function storeError(message: string, cause?: unknown): StrongcastError {
  return new StrongcastError('ERR_STORE', message, cause === undefined ? undefined : { cause });
}

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

function resolveOptions(options: DataDirOptions | undefined): ResolvedOptions {
  optionsObject(options);
  const g = options?.genesisHash;
  if (g !== undefined && (!(g instanceof Uint8Array) || g.byteLength !== HASH_BYTES)) {
    throw new StrongcastError('ERR_INVALID_OPTION', `options.genesisHash must be ${HASH_BYTES} bytes`);
  }
  optionsObject(options?.log, 'options.log');
  return {
    genesisHash: g ?? null,
    peersMax: positiveInt(options?.peersMax ?? dataDirDefaults.peersMax, 'peersMax'),
    chainBlocksKeptMax: positiveInt(options?.chainBlocksKeptMax ?? dataDirDefaults.chainBlocksKeptMax, 'chainBlocksKeptMax'),
    log: options?.log,
  };
}

/**
 * Opens (creating when needed) the data directory `dir`: takes its lock, checks the genesis binding, reads
 * the peer list and, when `options.genesisHash` is given, reads and checks the whole chain.
 * @throws StrongcastError ERR_STORE when the directory is in use by another live process, bound to another
 *   genesis, or holds a corrupt file or chain; ERR_INVALID_OPTION for a bad option.
 */
export async function openDataDir(dir: string, options?: DataDirOptions): Promise<DataDir> {
  const opts = resolveOptions(options);
  const root = resolve(dir);
  try {
    // 0700: the directory holds the node's secret key.
    const created = await mkdir(root, { recursive: true, mode: 0o700 });
    // A new directory's entry lives in its parent: sync each parent up to the first directory created, so
    // a crash cannot lose the whole directory after its files were synced.
    if (created !== undefined) {
      for (let d = root; d !== dirname(created); d = dirname(d)) await syncDirectory(dirname(d));
    }
  } catch (e) {
    throw storeError(`${root}: the data directory cannot be created (${errnoOf(e)})`, e);
  }
  await takeLock(root);
  let log: AppendLog | null = null;
  try {
    await bindGenesis(root, opts.genesisHash);
    const peers = await readPeers(join(root, DATA_DIR_FILES.peers), opts.peersMax);
    let chain: LoadedChain | null = null;
    if (opts.genesisHash) {
      const opened = await openChain(join(root, DATA_DIR_FILES.chain), opts.genesisHash, opts);
      log = opened.log;
      chain = opened.chain;
    }
    return new DataDir(root, opts, peers, log, chain);
  } catch (e) {
    await log?.close().catch(() => undefined);
    await releaseLock(root);
    throw e;
  }
}

/** An open data directory. Call close() when done; it releases the directory's lock. */
export class DataDir {
  /** The directory, as an absolute path. */
  readonly dir: string;
  readonly #opts: ResolvedOptions;
  #peers: PeerAddress[];
  readonly #log: AppendLog | null;
  readonly #chain: LoadedChain | null;
  /** Height and hash the next appended block must follow, advanced when an append is queued. */
  #pendingTip: ChainTip | null;
  #identity: Identity | null = null;
  /** Serialises key and peer file operations, which share temporary file names. */
  #serial: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | null = null;

  /** Use {@link openDataDir}. */
  constructor(dir: string, opts: ResolvedOptions, peers: PeerAddress[], log: AppendLog | null, chain: LoadedChain | null) {
    this.dir = dir;
    this.#opts = opts;
    this.#peers = peers;
    this.#log = log;
    this.#chain = chain;
    this.#pendingTip = chain ? chain.tip : null;
  }

  /**
   * The node key in DIR/node.key, generated and written (atomically, mode 0600) the first time.
   * @throws StrongcastError ERR_KEY_FILE when the file exists but is not a valid key file; ERR_STORE when it
   *   cannot be written.
   */
  identity(): Promise<Identity> {
    return this.#exclusive(async () => {
      const existing = await this.#readIdentity();
      if (existing) return existing;
      const fresh = generateIdentity();
      await this.#writeIdentity(fresh);
      return fresh;
    });
  }

  /**
   * Makes `identity` (e.g. from `--key` or a validator key) the node key: written when the directory has
   * none, accepted when it already holds the same key.
   * @throws StrongcastError ERR_STORE when the directory already holds a different key: a directory belongs
   *   to one node, and silently replacing its key would change the node's identity.
   */
  adoptIdentity(identity: Identity): Promise<void> {
    return this.#exclusive(async () => {
      const existing = await this.#readIdentity();
      if (existing) {
        if (bytesEqual(existing.publicKey, identity.publicKey)) return;
        throw storeError(
          `${join(this.dir, DATA_DIR_FILES.key)} holds the key of node ${toHex(existing.publicKey)}, not the given key ` +
            `${toHex(identity.publicKey)}; use another data directory, or remove that file to give this one a new identity`,
        );
      }
      await this.#writeIdentity(identity);
    });
  }

  /** The known peer addresses as read at open or last saved (a copy). */
  loadPeers(): PeerAddress[] {
    return this.#peers.map((p) => ({ ...p }));
  }

  /**
   * Replaces the stored peer addresses atomically (write, fsync, rename), keeping the first peersMax: list
   * the best first.
   * @throws StrongcastError ERR_STORE when an address is malformed or the file cannot be written.
   */
  savePeers(addrs: readonly PeerAddress[]): Promise<void> {
    return this.#exclusive(async () => {
      const kept = addrs.slice(0, this.#opts.peersMax).map((a, i) => checkPeer(a, `savePeers: address ${i}`, this.dir));
      const path = join(this.dir, DATA_DIR_FILES.peers);
      const json = { format: DATA_DIR_FORMAT, peers: kept.map((p) => ({ id: toHex(p.id), host: p.host, port: p.port })) };
      try {
        await writeFileDurably(path, JSON.stringify(json) + '\n');
      } catch (e) {
        throw storeError(`${path}: cannot be written (${errnoOf(e)})`, e);
      }
      this.#peers = kept;
    });
  }

  /**
   * The chain as it was on disk at open: its newest blocks (at most chainBlocksKeptMax), its tip, and what
   * recovery cut from the log's end. Blocks appended since are not included: the caller has them.
   * @throws StrongcastError ERR_STORE when the directory was opened without options.genesisHash.
   */
  loadChain(): LoadedChain {
    const chain = this.#requireChain();
    return { blocks: [...chain.blocks], tip: chain.tip, recovery: chain.recovery };
  }

  /**
   * Appends a decided block; resolves once it is durable (written and fdatasync'ed), so a node reports the
   * block decided only after this resolves. Blocks must follow one another: height tip + 1, parent = tip
   * hash, hash = blockHash of its wire fields; anything else would make the stored chain unloadable.
   * Appends may be issued without waiting for the previous one; they are group-committed in order.
   * @throws StrongcastError ERR_STORE (as a rejection) when the block does not follow the tip, the directory
   *   was opened without options.genesisHash or is closed, or the write fails.
   */
  appendBlock(block: ChainBlock): Promise<void> {
    try {
      const log = this.#requireLog();
      const tip = this.#pendingTip!;
      const problem = blockProblem(block, tip);
      if (problem) throw storeError(`${log.path}: block refused: ${problem}`);
      const body = packr.pack({
        miner: block.miner,
        t0: block.t0,
        ts: block.ts,
        payload: block.payload,
        hash: block.hash,
        height: block.height,
        parent: block.parent,
      });
      const appended = log.append(body);
      this.#pendingTip = { height: block.height, hash: block.hash };
      return appended;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Waits for pending writes, closes the chain log and releases the lock. Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#serial.catch(() => undefined);
      try {
        await this.#log?.close();
      } finally {
        await releaseLock(this.dir);
      }
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) throw storeError(`${this.dir}: the data directory is closed`);
  }

  #requireChain(): LoadedChain {
    if (!this.#chain) throw storeError(`${this.dir}: opened without options.genesisHash, so its chain is not open`);
    return this.#chain;
  }

  #requireLog(): AppendLog {
    this.#requireChain();
    this.#assertOpen();
    return this.#log!;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(() => {
      this.#assertOpen();
      return fn();
    });
    this.#serial = run.catch(() => undefined);
    return run;
  }

  async #readIdentity(): Promise<Identity | null> {
    if (this.#identity) return this.#identity;
    const path = join(this.dir, DATA_DIR_FILES.key);
    if (!(await exists(path))) return null;
    this.#identity = await readKeyFile(path);
    return this.#identity;
  }

  async #writeIdentity(identity: Identity): Promise<void> {
    const path = join(this.dir, DATA_DIR_FILES.key);
    const tmp = `${path}.tmp`;
    try {
      // written aside and renamed into place: a crash leaves no key or the whole key, never half of one
      await writeKeyFile(tmp, identity);
      await fsyncFile(tmp);
      await rename(tmp, path);
      await syncDirectory(this.dir);
    } catch (e) {
      throw storeError(`${path}: cannot be written (${errnoOf(e)})`, e);
    }
    this.#identity = identity;
  }
}

/** Why `b` cannot follow `tip`, or null. */
function blockProblem(b: ChainBlock, tip: ChainTip): string | null {
  if (b.height !== tip.height + 1) return `height ${b.height} does not follow height ${tip.height}`;
  if (!bytesEqual(b.parent, tip.hash)) return `the parent of height ${b.height} is not the hash of height ${tip.height}`;
  if (!bytesEqual(blockHash(b), b.hash)) return `the hash of height ${b.height} is not the hash of its fields`;
  return null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw storeError(`${path}: cannot be read (${errnoOf(e)})`, e);
  }
}

async function fsyncFile(path: string): Promise<void> {
  const h = await open(path, 'r+');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Reads a small JSON file, or null when it does not exist. */
async function readJson(path: string, bytesMax: number): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > bytesMax) throw storeError(`${path}: ${info.size} bytes, above the ${bytesMax} such a file may have`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof StrongcastError) throw e;
    if (errnoOf(e) === 'ENOENT') return null;
    throw storeError(`${path}: cannot be read (${errnoOf(e)})`, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw storeError(`${path}: not valid JSON; the file is corrupt`, e);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw storeError(`${path}: must hold a JSON object`);
  const o = parsed as Record<string, unknown>;
  if (o['format'] !== DATA_DIR_FORMAT) throw storeError(`${path}: "format" must be ${DATA_DIR_FORMAT}`);
  return o;
}

/** Checks meta.json against `genesisHash`, recording it on first use. */
async function bindGenesis(dir: string, genesisHash: Uint8Array | null): Promise<void> {
  const path = join(dir, DATA_DIR_FILES.meta);
  const meta = await readJson(path, metaFileBytesMax);
  const stored = meta?.['genesisHash'];
  if (stored !== undefined && (typeof stored !== 'string' || !/^[0-9a-f]{64}$/.test(stored))) {
    throw storeError(`${path}: "genesisHash" must be 64 lower-case hex characters`);
  }
  if (genesisHash === null) return;
  if (stored === undefined) {
    try {
      await writeFileDurably(path, JSON.stringify({ ...meta, format: DATA_DIR_FORMAT, genesisHash: toHex(genesisHash) }) + '\n');
    } catch (e) {
      throw storeError(`${path}: cannot be written (${errnoOf(e)})`, e);
    }
    return;
  }
  if (stored !== toHex(genesisHash)) {
    throw storeError(`${dir} holds the chain of genesis ${stored}, not of genesis ${toHex(genesisHash)}; use another data directory for this network`);
  }
}

/** Checks one peer address; `where` names it in the message. */
function checkPeer(x: unknown, where: string, dir: string): PeerAddress {
  const bad = (what: string): never => {
    throw storeError(`${dir}: ${where}: ${what}`);
  };
  if (typeof x !== 'object' || x === null) bad('must be an object');
  const o = x as Record<string, unknown>;
  let id = o['id'];
  if (typeof id === 'string' && /^[0-9a-f]{64}$/.test(id)) id = fromHex(id);
  if (!(id instanceof Uint8Array) || id.byteLength !== PUBLIC_KEY_BYTES) bad(`id must be a ${PUBLIC_KEY_BYTES}-byte key`);
  const host = o['host'];
  if (typeof host !== 'string' || host.length === 0 || host.length > schemaLimits.hostCharsMax) {
    bad(`host must be a string of 1..${schemaLimits.hostCharsMax} characters`);
  }
  const port = o['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) bad('port must be an integer in 1..65535');
  return { id: new Uint8Array(id as Uint8Array), host: host as string, port: port as number };
}

async function readPeers(path: string, peersMax: number): Promise<PeerAddress[]> {
  const o = await readJson(path, 256 + peersMax * peerEntryBytesMax);
  if (o === null) return [];
  const peers = o['peers'];
  if (!Array.isArray(peers)) throw storeError(`${path}: "peers" must be an array`);
  return peers.slice(0, peersMax).map((p, i) => checkPeer(p, `peers[${i}]`, path));
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

/** Opens the chain log, checking every block as it is read and keeping the newest chainBlocksKeptMax. */
async function openChain(path: string, genesisHash: Uint8Array, opts: ResolvedOptions): Promise<{ log: AppendLog; chain: LoadedChain }> {
  const blocks: ChainBlock[] = [];
  let tip: ChainTip = { height: 0, hash: genesisHash };
  const { log, recovery } = await AppendLog.open(path, opts.log, (body, index, offset) => {
    let block: ChainBlock;
    try {
      block = decodeBlock(body);
    } catch (e) {
      throw storeError(`${path}: record ${index} at offset ${offset} is not a block: ${(e as Error).message}; the chain is corrupt, refusing to load it`);
    }
    const problem = blockProblem(block, tip);
    if (problem) throw storeError(`${path}: record ${index} at offset ${offset}: ${problem}; the chain is corrupt, refusing to load it`);
    tip = { height: block.height, hash: block.hash };
    blocks.push(block);
    // drop the oldest in bulk, so keeping a window costs O(1) per block
    if (blocks.length >= 2 * opts.chainBlocksKeptMax) blocks.splice(0, blocks.length - opts.chainBlocksKeptMax);
  });
  if (blocks.length > opts.chainBlocksKeptMax) blocks.splice(0, blocks.length - opts.chainBlocksKeptMax);
  return { log, chain: { blocks, tip, recovery } };
}

/**
 * Takes DIR/LOCK, holding this process's id. A lock left by a process that is gone (a crash, `kill -9`) is
 * taken over. This guards against starting two nodes on one directory by mistake, whose appends would
 * interleave; it is not a defence against a hostile process.
 */
async function takeLock(dir: string): Promise<void> {
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

async function releaseLock(dir: string): Promise<void> {
  if (!heldLocks.delete(dir)) return;
  await rm(join(dir, DATA_DIR_FILES.lock), { force: true });
  // not needed for correctness (a stale lock is taken over), but keeps the directory listing honest
  await syncDirectory(dir).catch(() => undefined);
}
