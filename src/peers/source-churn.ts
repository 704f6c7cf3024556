/**
 * How often inbound peers from each source (an IPv4 address, an IPv6 /64: what one host holds) opened
 * lately: a count that halves every halfLifeMs. It breaks eviction's ties (eviction.ts). When every group
 * among the candidates holds one peer, Bitcoin Core's rule takes the group whose newest member came last,
 * and that is whoever joined last: under a churn of sybils spread one to a group, an honest node that just
 * joined, or came back after a restart, was the next to go each time another sybil arrived (issue 16, item
 * 2; the attack suite's `eclipse`). A sybil cut and replaced comes back from an address it used before, so
 * its source's count grows; an honest node arrives once, or a few times when its link drops, and those first
 * `freeArrivals` never count against it. Counting the source rather than its network group keeps an attacker
 * with one address in an honest peer's /16 from pumping arrivals to get that peer evicted; counting only a
 * new peer taking a slot (not a connection replacing one we had) keeps simultaneous dials out of it. To keep
 * its sybils in, an attacker now needs a fresh address for each arrival within a few half-lives. The table
 * is bounded: beyond sourcesMax the source that arrived least recently is forgotten first. Time is passed in.
 */
import { positiveInt } from '../options.ts';
import { expandV6, normalizeHost } from './net-group.ts';

/** Defaults of {@link SourceChurn}. */
export const sourceChurnDefaults = { arrivalsHalfLifeMs: 600_000, arrivalsSourcesMax: 4096, arrivalsFree: 2 } as const;

/** The source of a host: the address itself for IPv4 (and names), its first 64 bits for IPv6. */
export function arrivalSource(host: string): string {
  const h = normalizeHost(host).toLowerCase();
  return h.includes(':') ? `${expandV6(h).slice(0, 4).join(':')}::/64` : h;
}

/** Decaying counts of inbound peers opened, per source, in a bounded table. */
export class SourceChurn {
  /** Each source's count at its latest arrival and when that was, least recently arrived first. */
  readonly #bySource = new Map<string, { count: number; atMs: number }>();
  readonly #halfLifeMs: number;
  readonly #sourcesMax: number;
  readonly #free: number;

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(halfLifeMs: number, sourcesMax: number, free: number) {
    this.#halfLifeMs = positiveInt(halfLifeMs, 'arrivalsHalfLifeMs');
    this.#sourcesMax = positiveInt(sourcesMax, 'arrivalsSourcesMax');
    this.#free = positiveInt(free, 'arrivalsFree');
  }

  /** Sources tracked. */
  get size(): number {
    return this.#bySource.size;
  }

  /** A new inbound peer from `source` (arrivalSource) took a slot at `nowMs`. */
  note(source: string, nowMs: number): void {
    const count = this.count(source, nowMs) + 1;
    this.#bySource.delete(source);
    this.#bySource.set(source, { count, atMs: nowMs });
    if (this.#bySource.size > this.#sourcesMax) this.#bySource.delete(this.#bySource.keys().next().value!);
  }

  /** The source's arrivals at `nowMs`, each weighted by half for every halfLifeMs since; 0 for one not tracked. */
  count(source: string, nowMs: number): number {
    const e = this.#bySource.get(source);
    if (!e) return 0;
    // A clock that stepped back decays nothing rather than growing the count.
    return e.count * 2 ** (-Math.max(0, nowMs - e.atMs) / this.#halfLifeMs);
  }

  /** Whole arrivals beyond the free ones: 0 for a source that came at most `arrivalsFree` times lately. */
  churn(source: string, nowMs: number): number {
    return Math.max(0, Math.round(this.count(source, nowMs)) - this.#free);
  }
}
