/**
 * The bounded cache of consensus signatures known valid. In Dolev-Strong every relay of a block carries the
 * signatures of the relays before it, so without a cache a node would verify the miner's signature once per
 * relay it receives. Only valid results are stored: an invalid signature costs its sender a verification
 * every time, which is what the peer scoring is for.
 *
 * The key is a SHA-256 digest of (signer index, consensus signed bytes, signature bytes): the signature bytes
 * are part of it, so a forged signature can never ride on a cached valid one by the same signer for the same
 * block, and the signed bytes carry network id, genesis, miner, t0 and block hash.
 */
import { createHash } from 'node:crypto';
import { u32be } from '../bytes.ts';

/**
 * A least-recently-used set of keys with a hard entry limit. Each entry is a 32-character string plus Map
 * overhead, roughly 100 bytes, so the default 65536 entries take about 6.5 MB.
 */
export class SigCache {
  readonly entriesMax: number;
  readonly #entries = new Map<string, true>();

  constructor(entriesMax: number) {
    this.entriesMax = entriesMax;
  }

  /** True when `key` is known valid; a hit makes it the most recently used. */
  has(key: string): boolean {
    if (!this.#entries.has(key)) return false;
    this.#entries.delete(key);
    this.#entries.set(key, true);
    return true;
  }

  /** Records `key` as valid, dropping the least recently used entry at the limit. */
  add(key: string): void {
    if (this.entriesMax === 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.entriesMax) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, true);
  }

  /** Entries held now (never above entriesMax). */
  get size(): number {
    return this.#entries.size;
  }
}

/** The cache key of one consensus signature (module comment says what it binds). */
export function signatureCacheKey(signer: number, signedBytes: Uint8Array, signature: Uint8Array): string {
  return createHash('sha256').update(u32be(signer)).update(signedBytes).update(signature).digest().toString('latin1');
}
