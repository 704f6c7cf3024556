/**
 * How often inbound peers from each network group opened lately: a count that halves every halfLifeMs. It
 * breaks eviction's ties (eviction.ts). When every group among the candidates holds one peer, Bitcoin Core's
 * rule takes the group whose newest member came last, and that is whoever joined last: under a churn of
 * sybils spread one to a group, an honest node that just joined, or came back after a restart, was the next
 * to go each time another sybil arrived (issue 16, item 2; the attack suite's `eclipse`). A group whose
 * peers keep arriving is the one churning the table, so it loses the tie instead; an honest node arrives
 * once. To keep its sybils in, an attacker now needs a fresh network group for each arrival within a few
 * half-lives, not just a few groups. The table is bounded: beyond groupsMax the group that arrived least
 * recently is forgotten first. Time is passed in.
 */
import { positiveInt } from '../options.ts';

/** Defaults of {@link GroupArrivals}. */
export const groupArrivalsDefaults = { groupArrivalsHalfLifeMs: 600_000, groupArrivalsTrackedMax: 4096 } as const;

/** Decaying counts of inbound peers opened, per network group, in a bounded table. */
export class GroupArrivals {
  /** Each group's count at its latest arrival and when that was, least recently arrived first. */
  readonly #byGroup = new Map<string, { count: number; atMs: number }>();
  readonly #halfLifeMs: number;
  readonly #groupsMax: number;

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(halfLifeMs: number, groupsMax: number) {
    this.#halfLifeMs = positiveInt(halfLifeMs, 'groupArrivalsHalfLifeMs');
    this.#groupsMax = positiveInt(groupsMax, 'groupArrivalsTrackedMax');
  }

  /** Groups tracked. */
  get size(): number {
    return this.#byGroup.size;
  }

  /** An inbound peer from `group` opened at `nowMs`. */
  note(group: string, nowMs: number): void {
    const count = this.count(group, nowMs) + 1;
    this.#byGroup.delete(group);
    this.#byGroup.set(group, { count, atMs: nowMs });
    if (this.#byGroup.size > this.#groupsMax) this.#byGroup.delete(this.#byGroup.keys().next().value!);
  }

  /** The group's arrivals at `nowMs`, each weighted by half for every halfLifeMs since; 0 for a group not tracked. */
  count(group: string, nowMs: number): number {
    const e = this.#byGroup.get(group);
    if (!e) return 0;
    // A clock that stepped back decays nothing rather than growing the count.
    const elapsedMs = Math.max(0, nowMs - e.atMs);
    return e.count * 2 ** (-elapsedMs / this.#halfLifeMs);
  }
}
