/**
 * Random meshes for the gossip benchmark: a connected random regular graph (every node has exactly the
 * stated degree), built from a seed so a run can be repeated with the same shape.
 */
import { Prng } from '../load/prng.ts';

/** Attempts at a random regular graph before giving up (each attempt is O(n * degree)). */
const meshAttemptsMax = 10_000;

/** One attempt: pair free endpoints at random, never a loop or a second edge between two nodes. */
function tryRegular(n: number, degree: number, rnd: () => number): Array<[number, number]> | null {
  const left = new Array<number>(n).fill(degree);
  const adjacent = Array.from({ length: n }, () => new Set<number>());
  const edges: Array<[number, number]> = [];
  for (let e = 0; e < (n * degree) / 2; e++) {
    // The node with the most free endpoints goes first (ties broken at random): it is the hardest to place.
    let u = -1;
    let best = -1;
    for (let i = 0; i < n; i++) {
      const score = (left[i] ?? 0) + rnd() * 0.5;
      if ((left[i] ?? 0) > 0 && score > best) (best = score), (u = i);
    }
    const candidates: number[] = [];
    for (let v = 0; v < n; v++) if (v !== u && (left[v] ?? 0) > 0 && !adjacent[u]?.has(v)) candidates.push(v);
    if (u < 0 || candidates.length === 0) return null;
    const v = candidates[Math.floor(rnd() * candidates.length)] as number;
    adjacent[u]?.add(v);
    adjacent[v]?.add(u);
    left[u] = (left[u] ?? 0) - 1;
    left[v] = (left[v] ?? 0) - 1;
    edges.push(u < v ? [u, v] : [v, u]);
  }
  return edges;
}

function connected(n: number, edges: ReadonlyArray<readonly [number, number]>): boolean {
  const adj = Array.from({ length: n }, () => [] as number[]);
  for (const [a, b] of edges) adj[a]?.push(b), adj[b]?.push(a);
  const seen = new Set<number>([0]);
  const stack = [0];
  while (stack.length > 0) {
    for (const v of adj[stack.pop() as number] ?? []) if (!seen.has(v)) seen.add(v), stack.push(v);
  }
  return seen.size === n;
}

/**
 * The edges (a < b) of a connected random graph on `n` nodes where every node has exactly `degree` peers.
 * @throws Error when no such graph exists (degree >= n, or n * degree odd) or none was found.
 */
export function randomRegularMesh(n: number, degree: number, seed: number): Array<[number, number]> {
  if (!Number.isInteger(n) || !Number.isInteger(degree) || degree < 1 || degree >= n || (n * degree) % 2 !== 0) {
    throw new Error(`no ${degree}-regular graph on ${n} nodes (need 1 <= degree < nodes and nodes x degree even)`);
  }
  const p = new Prng(seed);
  const rnd = () => p.next();
  for (let attempt = 0; attempt < meshAttemptsMax; attempt++) {
    const edges = tryRegular(n, degree, rnd);
    if (edges && connected(n, edges)) return edges;
  }
  throw new Error(`no connected ${degree}-regular mesh on ${n} nodes found in ${meshAttemptsMax} attempts (seed ${seed})`);
}
