/**
 * Real sockets on loopback: in the paper's single tree (treeRedundancy 1) each origin's broadcast tree
 * settles on a mesh with cycles, costs clearly fewer full frames than flooding the same mesh, and repairs
 * itself through IHAVE -> GRAFT when an interior node stops. With the default treeRedundancy 2 a node keeps
 * up to two feeds per origin, so a delivery costs at most about two full copies, and every broadcast still
 * arrives when an interior node stops. A node serves GRAFTs at most graftServePerSec.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { holdsFor, hopSettleMs, recordDeliveries, sleep, startNodes, staysTrue, stopAll, treeSettleMs, waitFor, waitQuiet } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';
import { packIds, unpackIds } from '../src/gossip/broadcast-relay.ts';
import { toHex } from '../src/bytes.ts';
import { encodeFrame } from '../src/wire/framing.ts';
import { plumtreeDefaults, type GossipMode } from '../src/gossip/plumtree.ts';
import type { StrongcastNode } from '../src/core/node.ts';

const n = 8;
/** Ring plus chords: node i dials i+1 and i+2, so every node has 4 links and the mesh has many cycles. */
const meshLinks = 2 * n;
const ringWithChords = (i: number, ports: number[]): number[] => [ports[(i + 1) % n]!, ports[(i + 2) % n]!];

/**
 * The tree-shape and repair tests check the paper's single tree, whose settled eager links form exactly a
 * spanning tree and whose only repair path is GRAFT: they run every node with `treeRedundancy: 1`.
 */
const singleTree = 1;

async function startMesh(mode: GossipMode, treeRedundancy = singleTree): Promise<StrongcastNode[]> {
  const nodes = await startNodes(n, ringWithChords, () => ({ peerExchange: false, gossipMode: mode, treeRedundancy }));
  try {
    await waitFor(() => nodes.every((x) => x.peers().length === 4), `${mode} mesh formed`);
  } catch (e) {
    await stopAll(nodes);
    throw e;
  }
  return nodes;
}

/** Publishes `count` broadcasts alternating between `origins`; returns their ids and who sent each. */
async function publish(nodes: StrongcastNode[], origins: number[], count: number, tag: string): Promise<Array<{ id: string; origin: number }>> {
  const out: Array<{ id: string; origin: number }> = [];
  for (let k = 0; k < count; k++) {
    const origin = origins[k % origins.length]!;
    out.push({ id: (await nodes[origin]!.broadcast('chat', `${tag} ${k}`)).id, origin });
    await sleep(5); // pacing, not a wait: broadcasts spread over turns, as from a live application
  }
  return out;
}

/** Whether every node in `live` except a message's origin delivered it. */
function allDelivered(seen: { ids: string[][] }, sent: Array<{ id: string; origin: number }>, live: number[]): boolean {
  return sent.every(({ id, origin }) => live.every((i) => i === origin || seen.ids[i]!.includes(id)));
}

/** Whether every node in `live` except a message's origin delivered it exactly once. */
function exactlyOnce(seen: { ids: string[][] }, sent: Array<{ id: string; origin: number }>, live: number[]): boolean {
  return sent.every(({ id, origin }) => live.every((i) => seen.ids[i]!.filter((x) => x === id).length === (i === origin ? 0 : 1)));
}

/** Full copies of broadcasts sent by all nodes: down the tree (or flooded) and in answer to GRAFTs. */
const fullFrames = (nodes: StrongcastNode[]): number => nodes.reduce((a, x) => a + x.broadcastRelay.counters.fullFrames + x.broadcastRelay.counters.graftServed, 0);
/** Directed eager links of `origin`'s tree among `nodes`: i -> peer when i sends peer that origin's broadcasts in full. */
const eagerEnds = (nodes: StrongcastNode[], origin: string): number =>
  nodes.reduce((a, x) => a + x.peerIds().filter((p) => nodes.some((y) => y.id === p) && x.broadcastRelay.tree.isEager(p, origin)).length, 0);
const graftFrames = (nodes: StrongcastNode[]): number => nodes.reduce((a, x) => a + x.stats().tree.graftFrames, 0);
const duplicates = (nodes: StrongcastNode[]): number => nodes.reduce((a, x) => a + x.stats().duplicates, 0);
const deliveries = (seen: { ids: string[][] }): number => seen.ids.reduce((a, l) => a + l.length, 0);

/**
 * Sends single broadcasts from `origin` until one reaches every node with no duplicate and no GRAFT, which
 * means the eager links of its tree form a spanning tree with no cycle; returns the probes that took.
 * Concurrent broadcasts of one origin can prune its tree into pieces (each prunes the cycles it saw), so the
 * first probe may need a repair.
 */
async function settle(nodes: StrongcastNode[], seen: { ids: string[][] }, origin: number, live: number[]): Promise<number> {
  for (let probe = 1; probe <= 5; probe++) {
    const [dups, grafts] = [duplicates(nodes), graftFrames(nodes)];
    const sent = await publish(nodes, [origin], 1, `probe ${probe}`);
    await waitFor(() => allDelivered(seen, sent, live), `probe ${probe} delivered`, 3000);
    // A late duplicate or GRAFT for the probe shows within treeSettleMs of its last delivery (see there).
    if (await staysTrue(() => duplicates(nodes) === dups && graftFrames(nodes) === grafts, treeSettleMs)) return probe;
  }
  return Infinity;
}

/** Runs 40 broadcasts from 2 origins on a fresh mesh; checks exactly-once delivery; returns the costs and each origin's tree. */
async function measure(mode: GossipMode): Promise<{ framesPerDelivery: number; trees: Array<{ eager: number; reach: number; probes: number }> }> {
  const nodes = await startMesh(mode);
  try {
    const seen = recordDeliveries(nodes);
    const sent = await publish(nodes, [0, 4], 40, mode);
    const all = nodes.map((_, i) => i);
    await waitFor(() => allDelivered(seen, sent, all), `${mode}: every node delivers every broadcast`, 5000);
    // Late duplicates, IHAVE flushes and GRAFT timers: counted until the traffic has been still for treeSettleMs.
    await waitQuiet(() => `${deliveries(seen)} ${fullFrames(nodes)} ${duplicates(nodes)} ${graftFrames(nodes)}`, treeSettleMs, `${mode}: late copies`);
    for (let i = 0; i < n; i++) {
      const expected = sent.filter((s) => s.origin !== i).map((s) => s.id).sort();
      const got = seen.ids[i]!.filter((id) => sent.some((s) => s.id === id)).sort();
      assert.equal(got, expected, `${mode}: node ${i} delivers each broadcast exactly once`);
    }
    const framesPerDelivery = fullFrames(nodes) / (sent.length * (n - 1));
    const trees = [];
    for (const o of [0, 4]) {
      const probes = mode === 'tree' ? await settle(nodes, seen, o, all) : 0;
      const origin = nodes[o]!.id;
      trees.push({ eager: eagerEnds(nodes, origin), reach: reachable(eagerGraph(nodes, new Set(all), origin, true), o).size, probes });
    }
    return { framesPerDelivery, trees };
  } finally {
    await stopAll(nodes);
  }
}

test('on a mesh with cycles each origin\'s eager links settle into a spanning tree and full frames fall well below flooding', async () => {
  const tree = await measure('tree');
  const flood = await measure('flood');
  for (const [k, t] of flood.trees.entries()) assert.equal(t, { eager: 2 * meshLinks, reach: n, probes: 0 }, `flooding keeps every link eager (origin ${k})`);
  for (const [k, t] of tree.trees.entries()) {
    assert.ok(t.probes <= 3, `origin ${k}: a broadcast crossed its tree with no duplicate and no GRAFT after ${t.probes} probes`);
    assert.is(t.reach, n, `origin ${k}: its eager links reach every node`);
    // A spanning tree of n nodes has n-1 links, each eager at both ends.
    assert.is(t.eager, 2 * (n - 1), `origin ${k}: eager link-ends settle at a tree's ${2 * (n - 1)} (the mesh has ${2 * meshLinks})`);
  }
  assert.ok(flood.framesPerDelivery > 2.5, `flooding this mesh costs ${flood.framesPerDelivery.toFixed(2)} full frames per delivery`);
  assert.ok(tree.framesPerDelivery < 0.6 * flood.framesPerDelivery, `tree ${tree.framesPerDelivery.toFixed(2)} vs flood ${flood.framesPerDelivery.toFixed(2)} full frames per delivery`);
});

/** Eager links of `origin`'s tree (eager on either side; only i -> j when `directed`), as index pairs. */
function eagerGraph(nodes: StrongcastNode[], live: Set<number>, origin: string, directed = false): Map<number, Set<number>> {
  const index = new Map(nodes.map((x, i) => [x.id, i]));
  const g = new Map<number, Set<number>>([...live].map((i) => [i, new Set<number>()]));
  for (const i of live) {
    for (const peer of nodes[i]!.peerIds()) {
      const j = index.get(peer);
      if (j === undefined || !live.has(j) || !nodes[i]!.broadcastRelay.tree.isEager(peer, origin)) continue;
      g.get(i)!.add(j);
      if (!directed) g.get(j)!.add(i);
    }
  }
  return g;
}

/** Nodes of `g` reachable from `start` without passing through `without`. */
function reachable(g: Map<number, Set<number>>, start: number, without?: number): Set<number> {
  const reached = new Set([start]);
  const stack = [start];
  while (stack.length) for (const j of g.get(stack.pop()!)!) if (j !== without && !reached.has(j)) (reached.add(j), stack.push(j));
  return reached;
}

/** Whether removing `v` splits the eager graph of the others. */
function isCutVertex(g: Map<number, Set<number>>, v: number): boolean {
  const rest = [...g.keys()].filter((i) => i !== v);
  return reachable(g, rest[0]!, v).size < rest.length;
}

const isConnected = (g: Map<number, Set<number>>): boolean => reachable(g, [...g.keys()][0]!).size === g.size;

test('when an interior tree node stops, every remaining node still gets every new broadcast through IHAVE -> GRAFT', async () => {
  const nodes = await startMesh('tree');
  try {
    const seen = recordDeliveries(nodes);
    const all = nodes.map((_, i) => i);
    const warm = await publish(nodes, [0, 4], 20, 'warm-up');
    await waitFor(() => allDelivered(seen, warm, all), 'warm-up delivered');
    assert.ok((await settle(nodes, seen, 0, all)) <= 3, 'the tree settled');
    const origin = nodes[0]!.id;
    const g = eagerGraph(nodes, new Set(all), origin);
    const victim = all.find((v) => v !== 0 && g.get(v)!.size >= 2 && isCutVertex(g, v));
    assert.ok(victim !== undefined, `an interior node of the eager tree exists: ${JSON.stringify([...g].map(([i, s]) => [i, [...s]]))}`);
    const victimId = nodes[victim!]!.id;
    await nodes[victim!]!.stop();
    const live = all.filter((i) => i !== victim);
    await waitFor(() => live.every((i) => !nodes[i]!.peerIds().includes(victimId)), 'neighbours noticed the stop');
    const graftsBefore = graftFrames(nodes);
    const after = await publish(nodes, [0], 10, 'after');
    await waitFor(() => allDelivered(seen, after, live), 'every remaining node delivers every new broadcast', 3000);
    assert.ok(graftFrames(nodes) > graftsBefore, 'the cut-off part of the tree asked for the broadcasts (GRAFT)');
    await holdsFor(() => exactlyOnce(seen, after, live), treeSettleMs, 'no second delivery of a new broadcast');
    for (const i of live.filter((i) => i !== 0)) {
      const got = seen.ids[i]!.filter((id) => after.some((s) => s.id === id));
      assert.is(got.length, after.length, `node ${i} delivers each new broadcast exactly once`);
    }
    // Grafts from several cut-off nodes at once can add cycles, and pruning those while broadcasts are in
    // flight can cut a piece off again for a moment; a quiet probe shows the tree whole again.
    assert.ok((await settle(nodes, seen, 0, live)) <= 3, 'the tree settled again');
    assert.ok(isConnected(eagerGraph(nodes, new Set(live), origin)), 'the eager links span the remaining nodes again');
    assert.is(reachable(eagerGraph(nodes, new Set(live), origin, true), 0).size, live.length, 'and reach them all from the origin');
    assert.is(eagerEnds(live.map((i) => nodes[i]!), origin), 2 * (live.length - 1), 'and form a tree');
  } finally {
    await stopAll(nodes);
  }
});

test('with the default treeRedundancy (2) a delivery costs at most about two full copies, and with an interior node stopped every broadcast still arrives', async () => {
  const nodes = await startMesh('tree', plumtreeDefaults.treeRedundancy);
  try {
    const seen = recordDeliveries(nodes);
    const all = nodes.map((_, i) => i);
    const sentBy = (): number[] => nodes.map((x) => x.broadcastRelay.counters.fullFrames + x.broadcastRelay.counters.graftServed);
    // Late copies, the PRUNEs they cause and repairs: a round is over once these have been still for treeSettleMs.
    const traffic = (): string => `${sentBy().join(',')} ${duplicates(nodes)} ${nodes.reduce((a, x) => a + x.stats().tree.pruneFrames, 0)} ${deliveries(seen)}`;
    // The first round floods the mesh; duplicates prune the feeds beyond two over the next.
    for (const round of [1, 2]) {
      const warm = await publish(nodes, [0, 4], 40, `warm-up ${round}`);
      await waitFor(() => allDelivered(seen, warm, all), `warm-up ${round} delivered`);
      await waitQuiet(traffic, treeSettleMs, `warm-up ${round} traffic`);
    }
    const before = sentBy();
    const sent = await publish(nodes, [0, 4], 40, 'settled');
    await waitFor(() => allDelivered(seen, sent, all), 'the settled round delivered');
    await waitQuiet(traffic, treeSettleMs, 'the settled round traffic');
    const relayed = sentBy().map((f, i) => f - before[i]!);
    const perDelivery = relayed.reduce((a, b) => a + b, 0) / (sent.length * (n - 1));
    // Flooding this mesh costs (4 + 7 * 3) / 7 = 3.6 full frames per delivery, the single tree 1.
    assert.ok(perDelivery < 2.5, `about two full copies per delivery at most, below flooding's 3.6: ${perDelivery.toFixed(2)}`);

    // The busiest relay other than the two origins feeds the most nodes: stop it.
    const victim = all.filter((i) => i !== 0 && i !== 4).reduce((a, b) => (relayed[b]! > relayed[a]! ? b : a));
    assert.ok(relayed[victim]! > 0, 'the victim relayed broadcasts');
    const victimId = nodes[victim]!.id;
    await nodes[victim]!.stop();
    const live = all.filter((i) => i !== victim);
    await waitFor(() => live.every((i) => !nodes[i]!.peerIds().includes(victimId)), 'neighbours noticed the stop');
    const graftsBefore = graftFrames(nodes);
    const gaveUp = (): number => nodes.reduce((a, x) => a + x.broadcastRelay.tree.counters.gaveUp, 0);
    const gaveUpBefore = gaveUp();
    const after = await publish(nodes, [0], 10, 'after');
    await waitFor(() => allDelivered(seen, after, live), 'every remaining node delivers every new broadcast', 3000);
    // Speed is the gossip benchmark's to hold; here the bound is on the repair work. A node lacking a broadcast
    // asks its announcers (GRAFT: one, then two, four ..., graftRetryMs apart) and gives up once it has asked
    // them all. No node gave up, so each broadcast came by a remaining feed or from an announcer asked: within
    // one IHAVE flush, graftTimeoutMs and log2(announcers) retries of protocol time (this replaces a bound of
    // 1500 ms on the slowest delivery, wall-clock).
    assert.is(gaveUp(), gaveUpBefore, `no node ran out of announcers to ask (GRAFT frames ${graftFrames(nodes) - graftsBefore})`);
    await holdsFor(() => exactlyOnce(seen, after, live), treeSettleMs, 'no second delivery of a new broadcast');
    for (const i of live.filter((i) => i !== 0)) {
      const got = seen.ids[i]!.filter((id) => after.some((s) => s.id === id));
      assert.is(got.length, after.length, `node ${i} delivers each new broadcast exactly once`);
    }
  } finally {
    await stopAll(nodes);
  }
});

test('a pruned peer hears only ids, and its GRAFT for many of them is served at most graftServePerSec', async () => {
  const servePerSec = 5;
  const nodes = await startNodes(2, (i, ports) => (i === 1 ? [ports[0]!] : []), () => ({ peerExchange: false, graftServePerSec: servePerSec }));
  let raw: RawPeer | null = null;
  try {
    const [a, b] = nodes as [StrongcastNode, StrongcastNode];
    raw = await RawPeer.handshake(a.listenPort);
    const rawId = toHex(raw.identity.publicKey);
    await waitFor(() => a.peerIds().includes(rawId) && a.peerIds().includes(b.id), 'both peers open at a');
    // a keeps a tree only for origins it relayed: b's first broadcast makes one, in which the raw peer is eager
    const first = (await b.broadcast('chat', 'first')).id;
    const gossipFrames = (): number => raw!.received.filter((m) => m.t === 'gossip').length;
    await waitFor(() => gossipFrames() === 1, 'the first broadcast reached the raw peer in full');
    raw.send({ t: 'prune', origin: Buffer.from(b.id, 'hex') });
    await waitFor(() => !a.broadcastRelay.tree.isEager(rawId, b.id), "a moved the raw peer to lazy in b's tree");
    assert.ok(a.broadcastRelay.tree.isEager(rawId, a.id), "a PRUNE names one origin's tree and changes no other");
    const count = 4 * servePerSec;
    const sent: string[] = [];
    for (let k = 0; k < count; k++) sent.push((await b.broadcast('chat', `m${k}`)).id);
    const announced = (): string[] => raw!.received.flatMap((m) => (m.t === 'ihave' ? unpackIds(m.ids) : []));
    await waitFor(() => sent.every((id) => announced().includes(id)), 'every broadcast announced to the pruned peer');
    assert.is(gossipFrames(), 1, 'a pruned peer gets no full copies');
    assert.not.ok(announced().includes(first), 'the broadcast sent in full is not announced too');
    // Two GRAFTs in one write: the second finds the bucket empty.
    raw.sendSealed(Buffer.concat([graftFrame(sent), graftFrame(sent)]));
    const graftIdsHandled = (): number => a.broadcastRelay.counters.graftServed + a.broadcastRelay.counters.graftRefused + a.broadcastRelay.counters.graftUnknown;
    await waitFor(() => gossipFrames() >= 1 + servePerSec && graftIdsHandled() === 2 * count, 'both GRAFTs handled, the first burst served');
    // a serves as it handles a GRAFT; a copy served beyond the limit would reach the raw peer one hop later.
    await holdsFor(() => gossipFrames() === 1 + servePerSec, hopSettleMs, `no more than graftServePerSec (${servePerSec}) served`);
    assert.is(gossipFrames(), 1 + servePerSec, `exactly graftServePerSec (${servePerSec}) broadcasts served for ${2 * count} ids asked`);
    assert.is(a.stats().tree.graftServed, servePerSec);
    assert.is(a.broadcastRelay.counters.graftRefused, 2 * count - servePerSec);
    assert.is(a.stats().offences, 0, 'asking is not an offence');
  } finally {
    raw?.close();
    await stopAll(nodes);
  }
});

function graftFrame(ids: string[]): Buffer {
  return encodeFrame({ t: 'graft', ids: packIds(ids) });
}

test.run();
