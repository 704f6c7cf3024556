/**
 * Topologies for the agreement runs, over validators and observers: full mesh, random sparse mesh, line,
 * ring, two cliques joined at one cut vertex, and validators that reach each other only through a line of
 * observers. Byzantine validators are chosen so that the honest nodes stay connected without them (an
 * adversary on every path would be a partition, which no synchronous protocol survives), and the honest
 * diameter (most hops between two honest nodes over honest nodes) is what the timing rule is sized on.
 */
import type { Prng } from '../../src/sim/prng.ts';
import type { Mesh } from './topology.ts';

/** Names of the shapes, in the order the runs cycle through them. */
export const shapes = ['mesh', 'sparse', 'line', 'ring', 'cut-vertex', 'via-observers'] as const;
export type Shape = (typeof shapes)[number];

/** An undirected graph over `total` nodes from an edge list. */
function graph(total: number, edges: Array<[number, number]>): Set<number>[] {
  const adj = Array.from({ length: total }, () => new Set<number>());
  for (const [a, b] of edges) {
    if (a === b) continue;
    adj[a]!.add(b);
    adj[b]!.add(a);
  }
  return adj;
}

/** Edges of a path through `order`. */
function path(order: readonly number[]): Array<[number, number]> {
  return order.slice(1).map((b, i) => [order[i]!, b]);
}

/** Edges of a clique over `nodes`. */
function clique(nodes: readonly number[]): Array<[number, number]> {
  return nodes.flatMap((a, i) => nodes.slice(i + 1).map((b) => [a, b] as [number, number]));
}

/**
 * The shape over n validators (0..n-1) and `observers` observers (n..). `via-observers` needs at least one
 * observer; the others place observers like any node.
 */
export function buildShape(shape: Shape, n: number, observers: number, rng: Prng): Set<number>[] {
  const total = n + observers;
  const all = rng.shuffle([...Array(total).keys()]);
  switch (shape) {
    case 'mesh':
      return graph(total, clique(all));
    case 'line':
      return graph(total, path(all));
    case 'ring':
      return graph(total, [...path(all), [all[all.length - 1]!, all[0]!]]);
    case 'cut-vertex': {
      const [hub, ...rest] = all;
      const half = Math.ceil(rest.length / 2);
      return graph(total, [...clique([hub!, ...rest.slice(0, half)]), ...clique([hub!, ...rest.slice(half)])]);
    }
    case 'via-observers': {
      const obs = rng.shuffle([...Array(observers).keys()].map((j) => n + j));
      const edges = path(obs);
      for (let v = 0; v < n; v++) edges.push([v, rng.pick(obs)]);
      return graph(total, edges);
    }
    case 'sparse': {
      // A random spanning tree plus a few extra edges: connected, mostly 2-4 neighbours each.
      const edges: Array<[number, number]> = all.slice(1).map((b, i) => [b, all[rng.int(0, i)]!]);
      for (let e = rng.int(0, total); e > 0; e--) edges.push([rng.int(0, total - 1), rng.int(0, total - 1)]);
      return graph(total, edges);
    }
  }
}

/** Hops between every two of `nodes` over `nodes` only; Infinity when some pair is not connected. */
export function diameterOver(adj: Mesh, nodes: ReadonlySet<number>): number {
  let worst = 0;
  for (const start of nodes) {
    const dist = new Map([[start, 0]]);
    const queue = [start];
    while (queue.length > 0) {
      const a = queue.shift()!;
      for (const b of adj[a]!) {
        if (!nodes.has(b) || dist.has(b)) continue;
        dist.set(b, dist.get(a)! + 1);
        queue.push(b);
      }
    }
    if (dist.size < nodes.size) return Infinity;
    worst = Math.max(worst, ...dist.values());
  }
  return worst;
}

/**
 * Up to `count` Byzantine validators (from 0..n-1) whose removal leaves the rest connected; fewer when no
 * more can be taken without cutting the honest nodes apart.
 */
export function pickByzantine(adj: Mesh, n: number, count: number, rng: Prng): number[] {
  const chosen: number[] = [];
  for (const v of rng.shuffle([...Array(n).keys()])) {
    if (chosen.length >= count) break;
    const honest = new Set([...Array(adj.length).keys()].filter((x) => x !== v && !chosen.includes(x)));
    if (honest.size > 0 && diameterOver(adj, honest) < Infinity) chosen.push(v);
  }
  return chosen.sort((a, b) => a - b);
}
