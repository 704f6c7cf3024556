/**
 * Plumtree cores on a ring, wired by a seeded simulation: two origins broadcast concurrently and their
 * frames arrive interleaved. In the paper's single tree (treeRedundancy 1) with one tree per origin each
 * origin's first broadcast prunes only the one link where its own two waves meet, so after that first round
 * each origin's eager links reach every node and every later message costs exactly n-1 full frames. With one
 * tree shared by both origins (the control) the two meeting links together cut the ring, and the next round
 * needs IHAVE -> GRAFT. With the default treeRedundancy 2 a node keeps up to two peers feeding it each
 * origin: on the ring (two links a node) nothing is pruned, and on a ring with chords (four links a node),
 * after some rounds of pruning, each node receives one or two full copies of each message and none waits
 * for a GRAFT.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Plumtree, plumtreeDefaults, type PlumtreeOptions } from '../src/gossip/plumtree.ts';
import { Prng } from '../src/sim/prng.ts';

type Frame = { t: 'gossip'; id: string; origin: string } | { t: 'prune'; origin: string } | { t: 'ihave'; ids: string[] } | { t: 'graft'; ids: string[] };

/** One node: its tree core and the messages it holds (id -> origin). */
interface RingNode {
  name: string;
  tree: Plumtree;
  have: Map<string, string>;
}

/** Costs of one round, summed over every node. */
interface RoundCost {
  fullFrames: number;
  duplicates: number;
  grafts: number;
  undelivered: number;
  /** The most full copies of one message that one node received (the first included). */
  copiesMax: number;
}

/** How a ring is built: its tree options, extra links, and the key each origin's tree is kept under. */
interface RingOptions {
  tree?: PlumtreeOptions;
  /** Node i links to i+d for each d (1: a plain ring; [1, 2]: a ring with chords, four links a node). @default [1] */
  offsets?: number[];
  /** Maps an origin to the key its tree is kept under. @default identity: one tree per origin */
  treeKey?: (origin: string) => string;
}

/**
 * A ring of `n` nodes (with chords if `offsets` say so); each direction of a link is FIFO, and the next frame
 * delivered comes from a link picked at random (seeded), so broadcasts of different origins interleave as on
 * a real network.
 */
class Ring {
  readonly nodes: RingNode[];
  readonly cost: RoundCost = { fullFrames: 0, duplicates: 0, grafts: 0, undelivered: 0, copiesMax: 0 };
  private readonly links = new Map<string, Frame[]>();
  private readonly peersOf = new Map<string, string[]>();
  /** Full copies received this round, per `node|id`. */
  private readonly copies = new Map<string, number>();
  private readonly treeKey: (origin: string) => string;
  private nowMs = 0;
  private seq = 0;

  constructor(
    n: number,
    private readonly rng: Prng,
    options: RingOptions = {},
  ) {
    this.treeKey = options.treeKey ?? ((o) => o);
    this.nodes = Array.from({ length: n }, (_, i) => ({ name: `n${i}`, tree: new Plumtree(options.tree), have: new Map() }));
    for (const x of this.nodes) this.peersOf.set(x.name, []);
    for (let i = 0; i < n; i++) {
      for (const d of options.offsets ?? [1]) {
        const [a, b] = [this.nodes[i]!, this.nodes[(i + d) % n]!];
        a.tree.addPeer(b.name);
        b.tree.addPeer(a.name);
        this.peersOf.get(a.name)!.push(b.name);
        this.peersOf.get(b.name)!.push(a.name);
      }
    }
  }

  /** PRUNEs sent so far, all nodes together. */
  get prunesSent(): number {
    return this.nodes.reduce((a, x) => a + x.tree.counters.prunesSent, 0);
  }

  /** `origins` (node indexes) each broadcast `each` messages at once; everything is delivered, GRAFTs included. */
  round(origins: number[], each: number): RoundCost {
    Object.assign(this.cost, { fullFrames: 0, duplicates: 0, grafts: 0, undelivered: 0, copiesMax: 0 });
    this.copies.clear();
    const sent: string[] = [];
    for (let k = 0; k < each; k++) {
      for (const o of origins) {
        const node = this.nodes[o]!;
        const id = `m${this.seq++}`;
        sent.push(id);
        node.have.set(id, node.name);
        for (const p of node.tree.broadcast(id, this.treeKey(node.name), null, new Set(), this.nowMs)) this.send(node, p, { t: 'gossip', id, origin: node.name });
      }
    }
    this.drain();
    // Announcements go out every lazyFlushMs and overdue messages are grafted, until nothing is left to do.
    const startMs = this.nowMs;
    for (let busy = true; busy && this.nowMs - startMs < 10_000; ) {
      this.nowMs += plumtreeDefaults.lazyFlushMs;
      busy = false;
      for (const x of this.nodes) {
        const out = x.tree.tick(this.nowMs);
        for (const { peer, ids } of out.ihave) this.send(x, peer, { t: 'ihave', ids });
        for (const { peer, ids } of out.graft) (this.send(x, peer, { t: 'graft', ids }), (this.cost.grafts += ids.length));
        busy ||= out.ihave.length > 0 || out.graft.length > 0 || x.tree.sizes.missing > 0;
      }
      this.drain();
    }
    this.cost.undelivered = sent.reduce((a, id) => a + this.nodes.filter((x) => !x.have.has(id)).length, 0);
    this.cost.copiesMax = Math.max(0, ...this.copies.values());
    this.nowMs += 1000;
    return { ...this.cost };
  }

  /** Nodes reached from `origin` over directed eager links of its tree (i -> j when i sends j its messages in full). */
  eagerReach(origin: number): number {
    const key = this.treeKey(this.nodes[origin]!.name);
    const index = new Map(this.nodes.map((x, i) => [x.name, i]));
    const reached = new Set([origin]);
    const stack = [origin];
    while (stack.length) {
      const x = this.nodes[stack.pop()!]!;
      for (const peer of this.neighbours(x)) {
        const j = index.get(peer)!;
        if (x.tree.isEager(peer, key) && !reached.has(j)) (reached.add(j), stack.push(j));
      }
    }
    return reached.size;
  }

  /** Directed eager links of `origin`'s tree over the whole ring. */
  eagerEnds(origin: number): number {
    const key = this.treeKey(this.nodes[origin]!.name);
    return this.nodes.reduce((a, x) => a + this.neighbours(x).filter((p) => x.tree.isEager(p, key)).length, 0);
  }

  private neighbours(x: RingNode): string[] {
    return this.peersOf.get(x.name)!;
  }

  private send(from: RingNode, to: string, f: Frame): void {
    const key = `${from.name}>${to}`;
    const q = this.links.get(key) ?? [];
    q.push(f);
    this.links.set(key, q);
  }

  private drain(): void {
    for (;;) {
      const busy = [...this.links].filter(([, q]) => q.length > 0);
      if (busy.length === 0) return;
      const [key, q] = this.rng.pick(busy);
      const [from, to] = key.split('>') as [string, string];
      this.nowMs += 1;
      this.deliver(this.nodes.find((x) => x.name === to)!, from, q.shift()!);
    }
  }

  /** What a node does with a frame: node.ts's handlers, minus signatures and sockets. */
  private deliver(x: RingNode, from: string, f: Frame): void {
    if (f.t === 'prune') return x.tree.onPrune(from, this.treeKey(f.origin));
    if (f.t === 'ihave') return x.tree.onIhave(from, f.ids, this.nowMs, (id) => x.have.has(id));
    if (f.t === 'graft') {
      for (const id of f.ids) {
        const origin = x.have.get(id);
        if (origin === undefined) continue;
        x.tree.onGraft(from, this.treeKey(origin));
        this.send(x, from, { t: 'gossip', id, origin });
      }
      return;
    }
    this.cost.fullFrames++;
    const copy = `${x.name}|${f.id}`;
    this.copies.set(copy, (this.copies.get(copy) ?? 0) + 1);
    const key = this.treeKey(f.origin);
    if (x.have.has(f.id)) {
      this.cost.duplicates++;
      if (x.tree.duplicate(from, key, this.nowMs)) this.send(x, from, { t: 'prune', origin: f.origin });
      return;
    }
    x.have.set(f.id, f.origin);
    for (const p of x.tree.broadcast(f.id, key, from, new Set([from]), this.nowMs)) this.send(x, p, f);
  }
}

const n = 8;
/** Two origins on opposite sides of the ring: the waves of each meet near the other. */
const origins = [0, n / 2];
const seeds = Array.from({ length: 12 }, (_, i) => i + 1);
/** The paper's single tree: every duplicate prunes. */
const classic: PlumtreeOptions = { treeRedundancy: 1 };

test('single tree: two origins broadcasting concurrently on a ring do not cut each other\'s trees: each prunes one link of its own', () => {
  for (const seed of seeds) {
    const ring = new Ring(n, new Prng(seed), { tree: classic });
    const first = ring.round(origins, 1);
    assert.is(first.undelivered, 0, `seed ${seed}: every message delivered`);
    assert.ok(first.duplicates > 0, `seed ${seed}: the first broadcasts flood the cycle`);
    for (const o of origins) {
      assert.is(ring.eagerReach(o), n, `seed ${seed}: origin ${o}'s eager links reach every node`);
      assert.is(ring.eagerEnds(o), 2 * (n - 1), `seed ${seed}: origin ${o}'s tree is the ring minus one link (both ends lazy)`);
    }
    for (let r = 1; r <= 3; r++) {
      const cost = ring.round(origins, 3);
      const messages = 3 * origins.length;
      assert.equal(cost, { fullFrames: messages * (n - 1), duplicates: 0, grafts: 0, undelivered: 0, copiesMax: 1 }, `seed ${seed}, round ${r}: one full frame per delivery`);
    }
    assert.ok(ring.nodes.every((x) => x.tree.sizes.origins === origins.length), 'each node keeps one tree per origin');
  }
});

test('single tree, control: with one tree shared by both origins the same first round cuts the ring, and the next needs GRAFTs', () => {
  for (const seed of seeds) {
    const ring = new Ring(n, new Prng(seed), { tree: classic, treeKey: () => 'shared' });
    assert.is(ring.round(origins, 1).undelivered, 0);
    const reach = origins.map((o) => ring.eagerReach(o));
    assert.ok(reach.some((r) => r < n), `seed ${seed}: the shared tree is cut (reach ${reach.join(', ')} of ${n})`);
    assert.ok(ring.round(origins, 3).grafts > 0, `seed ${seed}: cut-off nodes graft`);
  }
});

test('treeRedundancy 2 on the plain ring (two links a node): only echoes back to an origin are pruned, each node gets each message at most twice, never by GRAFT', () => {
  for (const seed of seeds) {
    const ring = new Ring(n, new Prng(seed));
    for (let r = 0; r <= 3; r++) {
      const cost = ring.round(origins, r === 0 ? 1 : 3);
      assert.equal([cost.grafts, cost.undelivered], [0, 0], `seed ${seed}, round ${r}: every message delivered without GRAFT`);
      assert.ok(cost.copiesMax <= 2, `seed ${seed}, round ${r}: at most 2 full copies per node per message (${cost.copiesMax})`);
    }
    // No node has more than two feeds; only an origin prunes, a neighbour whose copy came back to it the long way.
    assert.ok(ring.prunesSent <= 2 * origins.length, `seed ${seed}: ${ring.prunesSent} PRUNEs, only echoes to origins`);
    for (const o of origins) assert.ok(ring.eagerEnds(o) >= 2 * n - 2, `seed ${seed}: every link of origin ${o}'s tree stays eager but echoes into ${o}`);
  }
});

test('treeRedundancy 2 on a ring with chords (four links a node): after settling each node gets each message once or twice, never by GRAFT', () => {
  /**
   * Rounds before measuring: the first broadcasts flood, and prunes go on while feeds sort out. Each node picks
   * its own feeds, so a neighbour is pruned the first time its copy comes third, which with random link
   * order can take a while for a rarely-fast neighbour.
   */
  const settleRounds = 12;
  let redundant = 0;
  for (const seed of seeds) {
    const ring = new Ring(n, new Prng(seed), { offsets: [1, 2] });
    for (let r = 0; r < settleRounds; r++) assert.is(ring.round(origins, r === 0 ? 1 : 3).undelivered, 0, `seed ${seed}, settling round ${r}`);
    for (let r = 0; r < 3; r++) {
      const cost = ring.round(origins, 3);
      const messages = 3 * origins.length;
      assert.equal([cost.grafts, cost.undelivered], [0, 0], `seed ${seed}, round ${r}: every message delivered without GRAFT`);
      assert.ok(cost.copiesMax <= 2, `seed ${seed}, round ${r}: at most 2 full copies per node per message (${cost.copiesMax})`);
      assert.ok(cost.fullFrames >= messages * (n - 1), `seed ${seed}, round ${r}: at least one per delivery`);
      if (cost.fullFrames > messages * (n - 1)) redundant++;
    }
    for (const o of origins) assert.is(ring.eagerReach(o), n, `seed ${seed}: origin ${o}'s eager links reach every node`);
  }
  assert.ok(redundant > 0, 'in some seeds some node keeps a second feed (with treeRedundancy 1 every round costs exactly n-1 per message)');
});

test('single tree on the same ring with chords: after its first round exactly n-1 full frames per message', () => {
  for (const seed of seeds) {
    const ring = new Ring(n, new Prng(seed), { tree: classic, offsets: [1, 2] });
    assert.is(ring.round(origins, 1).undelivered, 0);
    for (let r = 1; r <= 3; r++) {
      const cost = ring.round(origins, 3);
      assert.equal(cost, { fullFrames: 3 * origins.length * (n - 1), duplicates: 0, grafts: 0, undelivered: 0, copiesMax: 1 }, `seed ${seed}, round ${r}`);
    }
  }
});

test.run();
