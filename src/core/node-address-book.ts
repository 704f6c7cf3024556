/**
 * A node's address book as it starts: a saved one (options.addressBook) restored under its own key, then the
 * knownPeers added. The node's own id is never an entry.
 */
import { toHex } from '../bytes.ts';
import type { Random } from '../io/random.ts';
import { AddressBook } from '../peers/address-book.ts';
import type { Logger } from '../log.ts';
import { checkAddressBookOption, type NodeOptions } from './node-options.ts';

/** What the book is made from besides the options. */
export interface AddressBookStart {
  /** The node's id (public key hex). */
  readonly selfId: string;
  /** How many addresses the book holds (knownAddressesMax). */
  readonly knownAddressesMax: number;
  /** The node's eviction key: the book's key when no saved book comes with one. */
  readonly evictionKey: Uint8Array;
  readonly random: Random;
  readonly log: Logger;
}

/**
 * The address book: a saved one restored under its own key (the same key puts every address back in the
 * bucket it had, and tried ones stay tried), then the knownPeers added as new. The eviction key is not
 * kept: it ranks the peers connected now, all of them new after a restart, so keeping it would buy
 * nothing, and a fresh one makes a ranking learned by probing us worthless once we restart. Without a
 * saved book the address key is the eviction key's draw, so a run draws the same randomness as before
 * books were saved (seeded simulations stay as recorded); the book's hashes are tagged, so the two uses
 * of one key never hash the same input.
 * @throws StrongcastError ERR_INVALID_OPTION when options.addressBook is malformed
 */
export function startAddressBook(options: NodeOptions, s: AddressBookStart): AddressBook {
  const saved = checkAddressBookOption(options.addressBook);
  const book = new AddressBook(s.knownAddressesMax, { secret: saved ? new Uint8Array(saved.key) : s.evictionKey, random: () => s.random.next() });
  if (saved) {
    const counts = book.restore(saved.entries.filter((e) => toHex(e.id) !== s.selfId));
    s.log.info('address book restored', { ...counts, entries: saved.entries.length });
  }
  // Addresses saved by an earlier run were vetted then: each is its own source, so they spread over buckets.
  for (const a of options.knownPeers ?? []) if (toHex(a.id) !== s.selfId) book.add(a, a.host, 0);
  return book;
}
