/**
 * The random mesh of a simulated run. Not a full mesh, so gossip and consensus chains travel several hops;
 * but chosen so the assumptions the protocol rests on hold whichever f validators are faulty at a time:
 *  - with any f nodes removed, every two remaining nodes are at most 2 hops apart, so with one-way delays
 *    below Δ/3 a chain reaches every honest node well within Δ (Dolev-Strong's synchrony bound);
 *  - every node has at least 2f+1 neighbours, so a restarted node always has f+1 honest, live peers to
 *    answer its catch-up requests (statements are asked of direct peers only).
 */
import type { Prng } from '../../src/sim/prng.ts';

/** Neighbour lists by node index. */
export type Mesh = ReadonlyArray<ReadonlySet<number>>;

function diameterAtMost2(adj: Mesh, removed: ReadonlySet<number>): boolean {
  const n = adj.length;
  for (let a = 0; a < n; a++) {
    if (removed.has(a)) continue;
    for (let b = a + 1; b < n; b++) {
      if (removed.has(b) || adj[a]!.has(b)) continue;
      let linked = false;
      for (const c of adj[a]!) if (!removed.has(c) && adj[c]!.has(b)) { linked = true; break; }
      if (!linked) return false;
    }
  }
  return true;
}

/** Every subset of 0..n-1 with at most `k` elements. */
function* subsets(n: number, k: number, from = 0, acc: number[] = []): Generator<number[]> {
  yield acc;
  if (acc.length === k) return;
  for (let i = from; i < n; i++) yield* subsets(n, k, i + 1, [...acc, i]);
}

/** Whether the mesh keeps diameter 2 with any `f` nodes removed. */
export function tolerates(adj: Mesh, f: number): boolean {
  for (const s of subsets(adj.length, f)) if (!diameterAtMost2(adj, new Set(s))) return false;
  return true;
}

/**
 * A random mesh over n nodes with degree >= 2f+1 that tolerates f removals (see above) and leaves at least
 * n/2 pairs unconnected. Throws if none is found, which would be a wrong choice of n and f.
 */
export function randomMesh(rng: Prng, n: number, f: number): Mesh {
  const degree = 2 * f + 1;
  if (degree > n - 1) throw new Error(`mesh: n=${n} is too small for degree ${degree}`);
  for (let attempt = 0; attempt < 2000; attempt++) {
    const adj = Array.from({ length: n }, () => new Set<number>());
    for (const a of rng.shuffle([...Array(n).keys()])) {
      const others = rng.shuffle([...Array(n).keys()].filter((b) => b !== a && !adj[a]!.has(b)));
      for (const b of others) {
        if (adj[a]!.size >= degree) break;
        if (adj[b]!.size >= degree + 1) continue;
        adj[a]!.add(b);
        adj[b]!.add(a);
      }
    }
    if (adj.some((s) => s.size < degree)) continue;
    const edges = adj.reduce((t, s) => t + s.size, 0) / 2;
    if ((n * (n - 1)) / 2 - edges < n / 2) continue;
    if (tolerates(adj, f)) return adj;
  }
  throw new Error(`mesh: no mesh of ${n} nodes tolerates ${f} removals`);
}
