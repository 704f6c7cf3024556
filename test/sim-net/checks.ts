/**
 * What a fault run must satisfy, as uvu assertions whose messages start with `seed=N`:
 *  - no node incarnation delivered a gossip message twice;
 *  - every honest broadcast reached every honest node that stayed connected to its origin (alive, not cut
 *    off, linked through such nodes) for the delivery window after it was sent; a paused node is not out,
 *    it must deliver what queued up once it resumes (the load test's delivery rule, bench/load/checks.ts);
 *  - the honest validators' chains are identical (paused, cut and restarted ones included), a node still
 *    catching up holds a prefix, every node that started catching up (after a restart, a pause or a cut)
 *    finished, and each durable store holds exactly its node's chain;
 *  - every block an honest miner proposed while it and its instance were fault-free was decided.
 */
import * as assert from 'uvu/assert';
import { toHex } from '../../src/bytes.ts';
import type { Outcome } from './scenario.ts';
import type { SimValidator } from './world.ts';

/** Per-seed figures, summed by the test to show the fault paths were really taken. */
export interface RunFigures {
  blocks: number;
  owedDeliveries: number;
  validityChecked: number;
  catchUps: number;
  syncedBlocks: number;
}

/** Runs every check on one outcome. */
export function checkOutcome(o: Outcome): RunFigures {
  const owedDeliveries = checkGossip(o);
  const { ref, catchUps, syncedBlocks } = checkChains(o);
  const validityChecked = checkValidity(o, new Set(ref));
  return { blocks: ref.length, owedDeliveries, validityChecked, catchUps, syncedBlocks };
}

function checkGossip(o: Outcome): number {
  const { world, seed } = { world: o.world, seed: o.world.seed };
  for (const node of world.incarnations) {
    for (const [id, count] of node.delivered) {
      assert.is(count, 1, `seed=${seed} ${node.id} delivered gossip ${id.slice(0, 12)} ${count} times`);
    }
  }
  const links = new Map<string, Array<{ at: number; up: boolean }>>();
  for (const e of world.links) {
    const key = `${e.node}>${e.peer}`;
    let list = links.get(key);
    if (!list) links.set(key, (list = []));
    list.push({ at: e.at, up: e.up });
  }
  const upThroughout = (a: number, b: number, from: number, to: number): boolean => {
    let up = false;
    for (const e of links.get(`${a}>v${b}`) ?? []) {
      if (e.at <= from) up = e.up;
      else if (e.at <= to) return false;
    }
    return up;
  };
  const byz = new Set(o.byzantine.map((b) => b.index));
  const reconnectMs = 4 * world.opts.delayMaxMs + 400;
  // A paused node keeps its links and relays late, so it only has to resume well inside the window.
  const steady = (v: number, from: number, to: number): boolean =>
    !byz.has(v) &&
    !o.faults.some((x) => {
      if (x.node !== v) return false;
      if (x.kind === 'short-pause' || x.kind === 'long-pause') return x.atMs + x.ms > to - reconnectMs;
      return x.atMs <= to && from <= x.atMs + x.ms + reconnectMs;
    });
  let owed = 0;
  for (const b of o.broadcasts) {
    const from = b.atMs;
    const to = b.atMs + o.deliveryWindowMs;
    if (!steady(b.origin, from, to)) continue;
    const got = world.deliveries.get(b.id) ?? new Set<number>();
    const seen = new Set([b.origin]);
    const queue = [b.origin];
    while (queue.length > 0) {
      const a = queue.shift()!;
      for (const c of o.mesh[a]!) {
        if (seen.has(c) || !steady(c, from, to) || !upThroughout(a, c, from, to) || !upThroughout(c, a, from, to)) continue;
        seen.add(c);
        queue.push(c);
        owed++;
        assert.ok(got.has(c), `seed=${seed} gossip ${b.id.slice(0, 12)} from v${b.origin} at ${b.atMs} never reached v${c}, which stayed connected to it`);
      }
    }
  }
  return owed;
}

function checkChains(o: Outcome): { ref: string[]; catchUps: number; syncedBlocks: number } {
  const { world } = o;
  const seed = world.seed;
  const honest = world.nodes.filter((x): x is SimValidator => x !== null);
  const show = (): string => world.nodes.map((x) => (x ? `${x.id}${x.validator.syncing ? '(syncing)' : ''}: ${x.chainHashes().map((h) => h.slice(0, 6)).join(' ')}` : '-')).join('\n');
  assert.is(honest.length, o.n - o.byzantine.length, `seed=${seed} honest validators alive at the end`);
  // The reference is the chain most caught-up nodes hold, so a failure names the odd one out.
  const votes = new Map<string, number>();
  for (const x of honest) if (!x.validator.syncing) votes.set(x.chainHashes().join(','), (votes.get(x.chainHashes().join(',')) ?? 0) + 1);
  const [refKey] = [...votes].reduce((a, c) => (c[1] > a[1] || (c[1] === a[1] && c[0].length > a[0].length) ? c : a), ['', 0]);
  const ref = refKey === '' ? [] : refKey.split(',');
  assert.ok(ref.length >= 3, `seed=${seed} only ${ref.length} blocks decided:\n${show()}`);
  const refLine = ref.join(',');
  for (const node of honest) {
    const mine = node.chainHashes();
    const line = mine.join(',');
    if (!node.validator.syncing) assert.is(line, refLine, `seed=${seed} ${node.id} chain differs from the others:\n${show()}`);
    else assert.ok(refLine.startsWith(line), `seed=${seed} ${node.id} (catching up) is not a prefix of the honest chain:\n${show()}`);
    assert.ok(node.caughtUp, `seed=${seed} ${node.id} began catching up and never finished:\n${show()}`);
    const stored = world.stores[node.index]!.map((b) => toHex(b.hash)).join(',');
    assert.is(stored, line, `seed=${seed} ${node.id} durable store differs from its chain`);
  }
  const catchUps = world.incarnations.filter((x) => x.beganCatchUp).length;
  return { ref, catchUps, syncedBlocks: world.incarnations.reduce((t, x) => t + x.counters.synced, 0) };
}

/** `decided`: the hashes of the honest chain. */
function checkValidity(o: Outcome, decided: ReadonlySet<string>): number {
  const { world } = o;
  const roundMs = world.opts.roundMs;
  let checked = 0;
  for (const p of o.proposals) {
    const from = world.T0(p.t0) - roundMs;
    const to = world.T0(p.t0) + (o.k + 1) * roundMs;
    if (o.faults.some((x) => x.node === p.miner && x.atMs <= to && from <= x.countsUntilMs)) continue;
    checked++;
    assert.ok(decided.has(p.hashHex), `seed=${world.seed} block ${p.hashHex.slice(0, 12)} of honest miner v${p.miner} for t0=${p.t0} was not decided`);
  }
  return checked;
}
