/**
 * How often one source address (its exact address, IPv4 or IPv6) may start an inbound handshake that does not
 * complete: a token bucket per source, `handshakesPerIpPerSec` refilled, its burst the IP's share of the
 * handshake pool (handshakesPendingPerIpMax); a start is paid when it is taken and given back when its
 * handshake completes. The shares of the pool bound how many handshakes a source holds at once, not
 * how fast it replaces them: a newcomer takes the place of its own group's oldest handshake, so an attacker
 * that connects and stalls churns its share as fast as it can dial (the load test's suite: 2,600 connections
 * in 4 s from 32 addresses). Each one the node takes is a connection's objects and a Noise reply, and being
 * replaced within seconds, they die after V8 promoted them: the attacked node's heap grew by 36 MB of them
 * before its next full collection. An honest node dials a peer once and again only after a backoff. Time
 * is passed in; the table is bounded, the source that started a handshake least recently forgotten first.
 *
 * Per exact address, not per IPv6 /64 as eviction's arrival counts are: a start is paid before any check, by
 * a connection dropped at once too, so a /64-wide bucket let anyone elsewhere in an honest node's /64 (a
 * home or office network, a hosting provider's shared /64) spend it with two TCP connects a second and have
 * every handshake of the honest node refused (test/handshake-rate-shared-source.test.ts: 0 of 11 in 60 s).
 * An attacker with a /64 of its own gets a bucket per address; the per-IP and per-group shares of the
 * handshake pool (handshake-slots.ts) still bound how many handshakes its addresses hold at once.
 */
import { TokenBucket } from '../token-bucket.ts';
import { positiveInt, positiveNumber } from '../options.ts';
import { normalizeHost } from './net-group.ts';

/** The source a handshake start is counted against: the exact address (see the module comment). */
export function handshakeRateSource(host: string): string {
  return normalizeHost(host).toLowerCase();
}

/** Defaults of {@link HandshakeRate}. */
export const handshakeRateDefaults = { handshakesPerIpPerSec: 1, handshakeRateSourcesMax: 4096 } as const;

/** A bucket of handshake starts per source, in a bounded table. */
export class HandshakeRate {
  /** Each source's bucket, the source that started a handshake least recently first. */
  readonly #bySource = new Map<string, TokenBucket>();
  readonly #perSec: number;
  readonly #burst: number;
  readonly #sourcesMax: number;

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(perSec: number, burst: number, sourcesMax: number) {
    this.#perSec = positiveNumber(perSec, 'handshakesPerIpPerSec');
    this.#burst = positiveInt(burst, 'handshakesPendingPerIpMax');
    this.#sourcesMax = positiveInt(sourcesMax, 'handshakeRateSourcesMax');
  }

  /** Sources with a bucket. */
  get size(): number {
    return this.#bySource.size;
  }

  /**
   * A handshake `source` started completed: it no longer counts. What the rate bounds is handshakes that do
   * not complete (stalled, refused, cut for a newer one), so an honest source, and peers that come and go
   * with whole handshakes (eviction's own rules judge those, source-churn.ts), are never held up by it.
   */
  completed(source: string, nowMs: number): void {
    this.#bySource.get(source)?.refund(1, nowMs);
  }

  /** Whether `source` may start a handshake at `nowMs`; if so, the start is counted. */
  take(source: string, nowMs: number): boolean {
    let bucket = this.#bySource.get(source);
    if (bucket) this.#bySource.delete(source);
    else {
      bucket = new TokenBucket({ ratePerSec: this.#perSec, burst: this.#burst }, nowMs);
      if (this.#bySource.size >= this.#sourcesMax) this.#bySource.delete(this.#bySource.keys().next().value!);
    }
    this.#bySource.set(source, bucket);
    return bucket.take(1, nowMs);
  }
}
