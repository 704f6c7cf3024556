/**
 * The data directory of `--data DIR`: the node key, the known peer addresses, the genesis it belongs to and
 * the decided chain. Small files (key, peers, meta) are replaced atomically; the chain is an append-only log
 * (append-log.ts) whose every block is checked on load (heights, parent links, hashes), so a record that
 * decodes but breaks the chain is refused as corruption, never returned as data.
 *
 * This file opens the directory and holds the node key; the parts live beside it: the file layout, JSON
 * reading and genesis binding in dir-files.ts, the lock in dir-lock.ts, the address book in peers-file.ts and
 * the chain in chain-log.ts. Everything other modules use is exported from here.
 */
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { bytesEqual, toHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { optionsObject, positiveInt } from '../options.ts';
import { HASH_BYTES, type PeerAddress } from '../wire/schema.ts';
import type { AddressBookSnapshot } from '../peers/address-book-snapshot.ts';
import { generateIdentity, readKeyFile, writeKeyFile, type Identity } from '../crypto/keys.ts';
import type { ChainBlock } from '../consensus/block.ts';
import { chainDefaults } from '../consensus/chain.ts';
import type { AppendLogOptions } from './append-log.ts';
import { openChain, type ChainLog, type LoadedChain } from './chain-log.ts';
import { bindGenesis, DATA_DIR_FILES, exists, fsyncFile } from './dir-files.ts';
import { releaseLock, takeLock } from './dir-lock.ts';
import { readHeldMark, writeHeldMark } from './held-mark.ts';
import { readPeers, writePeers, type StoredPeers } from './peers-file.ts';
import { syncDirectory } from './store-fs.ts';
import { errnoOf, storeError } from './store-error.ts';

export { DATA_DIR_FILES, DATA_DIR_FORMAT, metaFileBytesMax } from './dir-files.ts';
export { PEERS_FILE_FORMAT, peerEntryBytesMax } from './peers-file.ts';
export type { LoadedChain } from './chain-log.ts';

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
  /** Most peer addresses kept, read and written; saveAddressBook keeps the first peersMax. @default 1000 */
  peersMax?: number;
  /**
   * Most blocks loadChain returns (the newest); every block is still checked on load. Matches the in-memory
   * Chain, which keeps no more than this either.
   * @default 10000
   */
  chainBlocksKeptMax?: number;
  /**
   * Options of the chain log (recordBytesMax, batchBytesMax, queuedBytesMax, and the file system `fs` it goes
   * through, which tests replace; the key, peer, meta and lock files always use the real one).
   * @default the log's defaults
   */
  log?: AppendLogOptions;
}

interface ResolvedOptions {
  genesisHash: Uint8Array | null;
  peersMax: number;
  chainBlocksKeptMax: number;
  log: AppendLogOptions | undefined;
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
 * the peer list and, when `options.genesisHash` is given, reads and checks the whole chain and reads the
 * crash mark, writing 0 in its place when it is null (held-mark.ts: a validator's first decisions are covered
 * before its own first mark is durable).
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
  let log: ChainLog | null = null;
  try {
    await bindGenesis(root, opts.genesisHash);
    const peers = await readPeers(join(root, DATA_DIR_FILES.peers), opts.peersMax);
    let chain: LoadedChain | null = null;
    let held: number | null = null;
    if (opts.genesisHash) {
      const opened = await openChain(join(root, DATA_DIR_FILES.chain), opts.genesisHash, opts);
      log = opened.log;
      chain = opened.chain;
      held = await readHeldMark(root);
      // Claimed before the validator starts: until its own first mark is durable, a crash leaves 0, at or
      // below whatever it decided (held-mark.ts). The validator is told what the process before it left.
      if (held === null) await writeHeldMark(root, 0);
    }
    return new DataDir(root, opts, peers, log, chain, held);
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
  #peers: StoredPeers;
  readonly #log: ChainLog | null;
  readonly #chain: LoadedChain | null;
  #heldFrom: number | null;
  #identity: Identity | null = null;
  /** Serialises key and peer file operations, which share temporary file names. */
  #serial: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | null = null;

  /** Use {@link openDataDir}. */
  constructor(dir: string, opts: ResolvedOptions, peers: StoredPeers, log: ChainLog | null, chain: LoadedChain | null, heldFrom: number | null) {
    this.dir = dir;
    this.#opts = opts;
    this.#peers = peers;
    this.#log = log;
    this.#chain = chain;
    this.#heldFrom = heldFrom;
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

  /** The known peer addresses as read at open or last saved, tried ones first (a copy). */
  loadPeers(): PeerAddress[] {
    return this.#peers.peers.map((p) => ({ ...p, id: new Uint8Array(p.id) }));
  }

  /**
   * The address book (its key and tables) as read at open or last saved, a copy; null when the directory has
   * none yet or holds an older peers.json of addresses only (loadPeers has those).
   */
  loadAddressBook(): AddressBookSnapshot | null {
    const book = this.#peers.book;
    return book && { key: new Uint8Array(book.key), entries: book.entries.map((e) => ({ ...e, id: new Uint8Array(e.id) })) };
  }

  /**
   * Replaces the stored address book atomically (write, fsync, rename) with its key and the first peersMax
   * of its entries (a node's snapshot lists the tried table first).
   * @throws StrongcastError ERR_STORE when the key or an entry is malformed or the file cannot be written.
   */
  saveAddressBook(book: AddressBookSnapshot): Promise<void> {
    return this.#exclusive(async () => {
      this.#peers = await writePeers(this.dir, book, this.#opts.peersMax);
    });
  }

  /**
   * The chain as it was on disk at open: its newest blocks (at most chainBlocksKeptMax), its tip, and what
   * recovery cut from the log's end. Blocks appended since are not included: the caller has them.
   * @throws StrongcastError ERR_STORE when the directory was opened without options.genesisHash.
   */
  loadChain(): LoadedChain {
    const chain = this.#requireChain();
    return { blocks: [...chain.blocks], tip: chain.tip, base: chain.base, recovery: chain.recovery };
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
      return this.#requireLog().append(block);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The crash mark as read at open (before the 0 written in place of null) or last saved (held-mark.ts): a
   * start round at or below every decision a crash could have lost, or null.
   * @throws StrongcastError ERR_STORE when the directory was opened without options.genesisHash.
   */
  loadHeldFrom(): number | null {
    this.#requireChain();
    return this.#heldFrom;
  }

  /**
   * Replaces the crash mark atomically; resolves once it is durable.
   * @throws StrongcastError ERR_STORE (as a rejection) when the chain is not open or the file cannot be written.
   */
  saveHeldFrom(heldFrom: number | null): Promise<void> {
    return this.#exclusive(async () => {
      this.#requireChain();
      await writeHeldMark(this.dir, heldFrom);
      this.#heldFrom = heldFrom;
    });
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

  #requireLog(): ChainLog {
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
