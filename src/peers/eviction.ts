/**
 * Which inbound peer makes room when the table is full, after Bitcoin Core's SelectNodeToEvict
 * (src/node/eviction.cpp): peers an attacker finds hard to imitate all at once are protected (a keyed hash
 * of the network group, the lowest ping time, the latest useful delivery, the longest connection), and
 * among the rest the youngest peer of the network group holding the most is evicted. An attacker who fills
 * our inbound slots from a few groups so evicts itself first; to protect its sybils it would have to beat
 * honest peers on every count at once. Among groups of one size, the group holding a peer whose address keeps
 * coming back loses first (source-churn.ts), and within a group that peer goes, before the plain rule of the
 * newest member: otherwise sybils spread one to a group, replaced as soon as they are cut, evict whichever
 * honest node joined last. Pure: the node describes its peers, this picks.
 */

/** What eviction knows of one open inbound peer. */
export interface EvictionCandidate {
  id: string;
  /** Its network group (net-group.ts). */
  netGroup: string;
  /** A keyed hash of the network group, secret to peers: which groups are protected is unpredictable. */
  netGroupRank: number;
  /** Lowest ping round trip seen, in ms; Infinity before the first pong. */
  minRttMs: number;
  /** When it last sent us a broadcast, chain or outcome that was new and valid, in ms; 0 never. */
  lastUsefulMs: number;
  /** When its connection opened, in ms. */
  openedAtMs: number;
  /** Whole arrivals from its address lately beyond the free ones (source-churn.ts); 0 for an honest newcomer. */
  sourceChurn: number;
}

/**
 * Shares of the inbound peers protected by each rule, in the order applied. Bitcoin Core protects fixed
 * counts (4 by group, 8 by ping, 4 + 4 by recent transactions and blocks, then half the rest by age) sized
 * for 115 inbound slots; shares keep the same proportions in a table of any size and always leave at least
 * one peer to evict.
 */
export const evictionProtectShares = { netGroup: 1 / 8, rtt: 1 / 4, useful: 1 / 8, ageOfRest: 1 / 2 } as const;

/** The id of the inbound peer to disconnect so another may join, or null when there is none. */
export function selectEvictionVictim(peers: readonly EvictionCandidate[]): string | null {
  const n = peers.length;
  let rest = [...peers];
  rest = protect(rest, Math.floor(n * evictionProtectShares.netGroup), (a, b) => b.netGroupRank - a.netGroupRank);
  rest = protect(rest, Math.floor(n * evictionProtectShares.rtt), (a, b) => a.minRttMs - b.minRttMs, (p) => Number.isFinite(p.minRttMs));
  rest = protect(rest, Math.floor(n * evictionProtectShares.useful), (a, b) => b.lastUsefulMs - a.lastUsefulMs, (p) => p.lastUsefulMs > 0);
  rest = protect(rest, Math.floor(rest.length * evictionProtectShares.ageOfRest), (a, b) => a.openedAtMs - b.openedAtMs);
  if (rest.length === 0) return null;
  const groups = new Map<string, EvictionCandidate[]>();
  for (const p of rest) groups.set(p.netGroup, [...(groups.get(p.netGroup) ?? []), p]);
  let pick: EvictionCandidate[] = [];
  for (const g of groups.values()) if (pick.length === 0 || losesTo(g, pick)) pick = g;
  return first(pick).id;
}

/** The member of `g` that goes first: the one whose address churns most, then the one that opened last. */
function first(g: EvictionCandidate[]): EvictionCandidate {
  return g.reduce((a, b) => (b.sourceChurn > a.sourceChurn || (b.sourceChurn === a.sourceChurn && b.openedAtMs > a.openedAtMs) ? b : a));
}

/**
 * Whether group `g` gives up a peer before group `other`: the larger; on a tie, the one holding the peer
 * whose address churns most; then the one whose newest member came last (Bitcoin Core's tie-break).
 */
function losesTo(g: EvictionCandidate[], other: EvictionCandidate[]): boolean {
  if (g.length !== other.length) return g.length > other.length;
  const churn = first(g).sourceChurn - first(other).sourceChurn;
  if (churn !== 0) return churn > 0;
  const newest = (x: EvictionCandidate[]): number => Math.max(...x.map((p) => p.openedAtMs));
  return newest(g) > newest(other);
}

/** `list` without the `count` best by `order` among those `eligible` (ties: the order given). */
function protect(
  list: EvictionCandidate[],
  count: number,
  order: (a: EvictionCandidate, b: EvictionCandidate) => number,
  eligible: (p: EvictionCandidate) => boolean = () => true,
): EvictionCandidate[] {
  if (count <= 0) return list;
  const kept = new Set(list.filter(eligible).sort(order).slice(0, count));
  return list.filter((p) => !kept.has(p));
}
