/**
 * Listening addresses learned through peer exchange, keyed by node id and bounded in size. Pure: time is
 * passed in. A node dials from here to reach its target degree, so a network forms from one seed address.
 */
import { toHex } from '../bytes.ts';
import type { PeerAddress } from '../wire/schema.ts';

/** An address is not redialed sooner than this after an attempt, in ms. */
export const addressRetryMs = 10_000;

interface Entry {
  addr: PeerAddress;
  addedMs: number;
  lastAttemptMs: number;
}

/** IPv4-mapped IPv6 addresses ('::ffff:1.2.3.4') name the same host as the plain IPv4 form. */
export function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

/** A bounded set of known peer addresses. */
export class AddressBook {
  private readonly entries = new Map<string, Entry>();

  constructor(readonly knownAddressesMax: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Adds or refreshes an address; beyond the limit the oldest entry goes. */
  add(addr: PeerAddress, nowMs: number): void {
    const key = toHex(addr.id);
    const old = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, { addr: { ...addr, host: normalizeHost(addr.host) }, addedMs: nowMs, lastAttemptMs: old?.lastAttemptMs ?? 0 });
    while (this.entries.size > this.knownAddressesMax) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Records a dial attempt, so the address rests for addressRetryMs. */
  attempted(id: Uint8Array, nowMs: number): void {
    const e = this.entries.get(toHex(id));
    if (e) e.lastAttemptMs = nowMs;
  }

  /** Addresses worth dialing now, least recently tried first. */
  candidates(nowMs: number): PeerAddress[] {
    return [...this.entries.values()]
      .filter((e) => nowMs - e.lastAttemptMs >= addressRetryMs)
      .sort((a, b) => a.lastAttemptMs - b.lastAttemptMs)
      .map((e) => e.addr);
  }

  /** Every address, oldest first (for saving). */
  all(): PeerAddress[] {
    return [...this.entries.values()].map((e) => e.addr);
  }

  /** Up to `n` addresses, newest first, to share with a peer. */
  sample(n: number, _nowMs: number): PeerAddress[] {
    const all = [...this.entries.values()];
    const out: PeerAddress[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < n; i--) out.push(all[i]!.addr);
    return out;
  }
}
