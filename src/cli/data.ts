/**
 * `--data DIR` for the CLI: the node key, the address book (its key and its new and tried tables), and (for a
 * validator) the decided chain survive restarts. The book is saved every peersSaveIntervalMs and on shutdown.
 */
import { openDataDir, type DataDir } from '../store/data-dir.ts';
import type { NodeOptions } from '../core/node-options.ts';
import type { StrongcastNode } from '../core/node.ts';

/** How often the address book is written to the data directory, in ms. */
export const peersSaveIntervalMs = 30_000;

/**
 * Opens the data directory and fills the node options from it: the stored key (or adopts --key, refusing a
 * different one) and the remembered address book (a peers.json of the older format gives addresses only,
 * which the node takes as new). `genesisHash` binds the directory to a validator's network.
 */
export async function withDataDir(dir: string, options: NodeOptions, genesisHash?: Uint8Array): Promise<{ store: DataDir; options: NodeOptions }> {
  const store = await openDataDir(dir, genesisHash ? { genesisHash } : {});
  try {
    let identity = options.identity;
    if (identity) await store.adoptIdentity(identity);
    else identity = await store.identity();
    const book = store.loadAddressBook();
    return { store, options: { ...options, identity, ...(book ? { addressBook: book } : { knownPeers: store.loadPeers() }) } };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/**
 * Saves the node's address book every peersSaveIntervalMs (the directory keeps its first peersMax entries,
 * tried ones first); the returned function saves once more and stops. Nothing is written at start: the
 * book then holds only what was just loaded.
 */
export function keepPeersSaved(node: StrongcastNode, store: DataDir): () => Promise<void> {
  const save = () => store.saveAddressBook(node.addressBookSnapshot());
  const timer = setInterval(() => void save().catch(() => undefined), peersSaveIntervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await save();
  };
}
