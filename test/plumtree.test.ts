/** The broadcast tree core (Plumtree): per-origin eager/lazy sets, announcements, GRAFT timers, limits, flood mode. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertAllRefused } from './helpers/refused.ts';
import { Plumtree, plumtreeDefaults, resolvePlumtree, type PlumtreeOptions } from '../src/gossip/plumtree.ts';
import { schemaLimits } from '../src/wire/schema.ts';

const none: ReadonlySet<string> = new Set();
const unknown = (): boolean => false;
const T = plumtreeDefaults.graftTimeoutMs;
const R = plumtreeDefaults.graftRetryMs;
/** Origins (key hex in a node; any string to the core). */
const O = 'origin-o';
const A = 'origin-a';
const B = 'origin-b';

/**
 * The paper's single tree: once a peer has fed us a first copy, a duplicate from any other prunes it. These
 * tests are about the tree's mechanics (prune, announce, graft, limits), so they assume it; the redundancy
 * of the default (`treeRedundancy` 2) is tested in plumtree-redundancy.test.ts.
 */
const classic: PlumtreeOptions = { treeRedundancy: 1 };

/** A tree with `peers` added, all eager; classic pruning unless `options` say otherwise. */
function treeWith(peers: string[], options: PlumtreeOptions = {}): Plumtree {
  const t = new Plumtree({ ...classic, ...options });
  for (const p of peers) t.addPeer(p);
  return t;
}

/** Creates `origin`'s tree as our own broadcast would (no sender made eager, nothing missing). */
function plant(t: Plumtree, origin: string): void {
  t.received(`planted ${origin}`, origin, null, 0);
}

/** Creates `origin`'s tree as a first copy of its broadcast from `feeder` would. */
function plantVia(t: Plumtree, origin: string, feeder: string): void {
  t.received(`planted ${origin}`, origin, feeder, 0);
}

/**
 * Creates `origin`'s tree as a first copy from `feeder` would, then prunes `peers` from it as duplicates from
 * them would: in the classic tree the feeder is the one link kept, every later sender is pruned.
 */
function pruneIn(t: Plumtree, origin: string, feeder: string, ...peers: string[]): void {
  plantVia(t, origin, feeder);
  for (const p of peers) assert.ok(t.duplicate(p, origin, 0), `${p} pruned in ${origin}`);
}

/** Ids "m0".."m{n-1}". */
function ids(n: number, prefix = 'm'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

/** What `tick` flushed to each peer as IHAVE, batches concatenated. */
function announced(out: ReturnType<Plumtree['tick']>): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const { peer, ids } of out.ihave) m.set(peer, [...(m.get(peer) ?? []), ...ids]);
  return m;
}

test('a new peer is eager in every tree, existing or later; a peer that reconnects is eager again', () => {
  const t = treeWith(['a', 'b']);
  assert.ok(t.isEager('a', O) && t.isEager('b', O), 'eager before any tree exists');
  assert.equal(t.sizes, { peers: 2, origins: 0, eager: 0, lazy: 0, missing: 0 });
  pruneIn(t, O, 'b', 'a');
  assert.not.ok(t.isEager('a', O));
  assert.equal(t.sizes, { peers: 2, origins: 1, eager: 1, lazy: 1, missing: 0 });
  t.addPeer('c');
  assert.ok(t.isEager('c', O), 'a peer opened after the tree formed starts eager in it');
  t.removePeer('a');
  t.addPeer('a');
  assert.ok(t.isEager('a', O), 'a new connection of the same peer starts eager');
  assert.equal(t.sizes, { peers: 3, origins: 1, eager: 3, lazy: 0, missing: 0 });
  assert.not.ok(t.isEager('stranger', O), 'a peer that is not open is never eager');
});

test('broadcast returns the eager peers minus skip and queues the id for lazy peers that are not skipped', () => {
  const t = treeWith(['e1', 'e2', 'e3', 'l1', 'l2']);
  pruneIn(t, O, 'e1', 'l1', 'l2');
  const targets = t.broadcast('x', O, 'e1', new Set(['e1', 'e2', 'l2']), 0);
  assert.equal(targets, ['e3']);
  const out = t.tick(0);
  assert.equal(announced(out), new Map([['l1', ['x']]]), 'only the lazy peer that did not send it hears the id');
  assert.equal(t.tick(1).ihave, [], 'the queue is flushed once');
});

test('our own broadcast (from null) goes to every eager peer of our tree', () => {
  const t = treeWith(['a', 'b', 'c']);
  pruneIn(t, O, 'a', 'c');
  assert.equal(t.broadcast('own', O, null, none, 0).sort(), ['a', 'b']);
  assert.equal(announced(t.tick(0)), new Map([['c', ['own']]]));
});

test('duplicate() turns an eager link lazy and asks for a PRUNE; a repeat copy over the lazy link asks again after pruneRepeatMs', () => {
  const t = treeWith(['a', 'b']);
  plantVia(t, O, 'b');
  const repeatMs = t.settings.pruneRepeatMs;
  assert.is(repeatMs, 1000);
  assert.is(t.duplicate('a', O, 0), true);
  assert.equal(t.sizes, { peers: 2, origins: 1, eager: 1, lazy: 1, missing: 0 });
  // it reads our PRUNE only after what it sent before: copies meanwhile are not answered one by one
  assert.is(t.duplicate('a', O, repeatMs - 1), false, 'told 999 ms ago: not told again');
  // a full copy over a link we hold lazy after that means the peer still holds it eager: tell it again (paper, Algorithm 1)
  assert.is(t.duplicate('a', O, repeatMs), true, 'told 1000 ms ago: told again');
  assert.equal(t.sizes, { peers: 2, origins: 1, eager: 1, lazy: 1, missing: 0 }, 'the repeat changes no set');
  assert.is(t.duplicate('a', O, repeatMs - 5), true, 'a clock stepped back does not silence the peer for longer');
  assert.is(t.duplicate('stranger', O, 0), false, 'an unknown peer is never pruned');
  assert.equal(t.sizes, { peers: 2, origins: 1, eager: 1, lazy: 1, missing: 0 });
  assert.is(t.counters.prunesSent, 3);
});

test('a duplicate of an origin with no tree asks for no PRUNE and creates no tree', () => {
  const t = treeWith(['a', 'b']);
  plant(t, O);
  assert.is(t.duplicate('a', A, 0), false);
  assert.equal(t.sizes, { peers: 2, origins: 1, eager: 2, lazy: 0, missing: 0 });
  assert.ok(t.isEager('a', A) && t.isEager('a', O));
  assert.is(t.counters.prunesSent, 0);
});

test('onPrune moves an eager peer to lazy in that tree, and broadcasts of that origin then only announce to it', () => {
  const t = treeWith(['a', 'b']);
  plant(t, O);
  t.onPrune('a', O);
  assert.not.ok(t.isEager('a', O));
  assert.equal(t.sizes, { peers: 2, origins: 1, eager: 1, lazy: 1, missing: 0 });
  assert.equal(t.broadcast('x', O, null, none, 0), ['b']);
  assert.equal(announced(t.tick(0)), new Map([['a', ['x']]]));
  t.onPrune('stranger', O);
  assert.equal(t.sizes, { peers: 2, origins: 1, eager: 1, lazy: 1, missing: 0 }, 'a PRUNE from an unknown peer adds nothing');
  assert.is(t.counters.prunesReceived, 2);
});

test('a PRUNE for an origin with no tree creates nothing: the peer stays eager when that tree forms', () => {
  const t = treeWith(['a', 'b']);
  plant(t, O);
  for (let i = 0; i < 100; i++) t.onPrune('a', `unknown ${i}`);
  assert.equal(t.sizes, { peers: 2, origins: 1, eager: 2, lazy: 0, missing: 0 }, 'sizes.origins unchanged');
  assert.is(t.counters.treesDropped, 0);
  assert.equal(t.broadcast('x', 'unknown 0', null, none, 0).sort(), ['a', 'b'], 'the PRUNE was not remembered');
});

test('trees are per origin: a peer pruned for origin A stays eager for origin B', () => {
  const t = treeWith(['p', 'q']);
  pruneIn(t, A, 'q', 'p');
  plant(t, B);
  assert.not.ok(t.isEager('p', A));
  assert.ok(t.isEager('p', B));
  assert.equal(t.sizes, { peers: 2, origins: 2, eager: 3, lazy: 1, missing: 0 });
  assert.equal(t.broadcast('b1', B, null, none, 0).sort(), ['p', 'q'], "B's broadcast goes to p in full");
  assert.equal(t.broadcast('a1', A, null, none, 0), ['q'], "A's only to q");
  assert.equal(announced(t.tick(0)), new Map([['p', ['a1']]]), 'p hears only the id of A\'s');
  t.onPrune('q', B);
  assert.ok(t.isEager('q', A), "q's PRUNE for B leaves it eager for A");
  assert.not.ok(t.isEager('q', B));
});

test('a message received from a lazy peer makes that peer eager in its origin\'s tree only', () => {
  const t = treeWith(['a', 'b']);
  pruneIn(t, O, 'b', 'a');
  pruneIn(t, A, 'b', 'a');
  t.broadcast('x', O, 'a', new Set(['a']), 0);
  assert.ok(t.isEager('a', O));
  assert.not.ok(t.isEager('a', A), 'the other origin\'s tree keeps the prune');
  t.broadcast('y', O, 'stranger', new Set(['stranger']), 0);
  assert.not.ok(t.isEager('stranger', O), 'a sender that is not a peer is not added');
  assert.is(t.sizes.peers, 2);
});

test('an announced unknown id is asked for from its first announcer exactly at graftTimeoutMs; the link joins when the message comes over it', () => {
  const t = treeWith(['a', 'b', 'f']);
  pruneIn(t, O, 'f', 'a', 'b');
  t.onIhave('a', ['x'], 1000, unknown);
  t.onIhave('b', ['x'], 1010, unknown);
  assert.ok(t.isMissing('x'));
  assert.equal(t.tick(1000 + T - 1).graft, [], 'no GRAFT before the timeout');
  assert.equal(t.tick(1000 + T).graft, [{ peer: 'a', ids: ['x'] }], 'the timer runs from the first announcement');
  assert.not.ok(t.isEager('a', O), 'asking does not yet make the link eager');
  t.broadcast('x', O, 'a', new Set(['a']), 1000 + T);
  assert.ok(t.isEager('a', O), 'the grafted link joins the tree of the origin when the message arrives over it');
  assert.not.ok(t.isEager('b', O));
  assert.is(t.counters.grafts, 1);
});

test('the next announcer is asked graftRetryMs after the previous GRAFT, then the entry is given up', () => {
  const t = treeWith(['a', 'b']);
  t.onIhave('a', ['x'], 0, unknown);
  t.onIhave('b', ['x'], 0, unknown);
  assert.equal(t.tick(T).graft, [{ peer: 'a', ids: ['x'] }]);
  assert.equal(t.tick(T + R - 1).graft, []);
  assert.equal(t.tick(T + R).graft, [{ peer: 'b', ids: ['x'] }]);
  assert.ok(t.isMissing('x'), 'still waiting for the last announcer');
  assert.equal(t.tick(T + 2 * R - 1).graft, []);
  assert.ok(t.isMissing('x'));
  assert.equal(t.tick(T + 2 * R).graft, []);
  assert.not.ok(t.isMissing('x'), 'every announcer was asked: given up');
  assert.is(t.counters.gaveUp, 1);
  t.onIhave('a', ['x'], 1000, unknown);
  assert.ok(t.isMissing('x'), 'a later announcement starts over');
});

test('receiving the message (broadcast) cancels its timer', () => {
  const t = treeWith(['a', 'b']);
  t.onIhave('a', ['x'], 0, unknown);
  t.broadcast('x', O, 'b', new Set(['b']), 0);
  assert.not.ok(t.isMissing('x'));
  assert.equal(t.tick(T + R).graft, []);
});

test('a message that travels no further (received) also cancels its timer and makes its sender eager', () => {
  const t = treeWith(['a', 'b']);
  pruneIn(t, O, 'a', 'b');
  t.onIhave('a', ['x'], 0, unknown);
  t.received('x', O, 'b', 0);
  assert.not.ok(t.isMissing('x'));
  assert.ok(t.isEager('b', O));
  const out = t.tick(T + R);
  assert.equal(out, { ihave: [], graft: [] }, 'nothing is asked for and nothing announced');
});

test('known ids are not tracked, and IHAVE from a peer that is not connected is ignored', () => {
  const t = treeWith(['a']);
  t.onIhave('a', ['have', 'lack'], 0, (id) => id === 'have');
  assert.not.ok(t.isMissing('have'));
  assert.ok(t.isMissing('lack'));
  t.onIhave('stranger', ['other'], 0, unknown);
  assert.not.ok(t.isMissing('other'));
  assert.equal(t.tick(T).graft, [{ peer: 'a', ids: ['lack'] }]);
});

test('removePeer drops the peer from every tree, from announcer lists and its announcement queue', () => {
  const t = treeWith(['a', 'b', 'l']);
  pruneIn(t, O, 'b', 'l');
  pruneIn(t, A, 'b', 'l', 'a');
  t.broadcast('queued', O, null, none, 0);
  t.onIhave('a', ['x'], 0, unknown);
  t.onIhave('b', ['x'], 0, unknown);
  t.removePeer('a');
  t.removePeer('l');
  assert.equal(t.sizes, { peers: 1, origins: 2, eager: 2, lazy: 0, missing: 1 });
  const out = t.tick(T);
  assert.equal(out.ihave, [], 'the removed lazy peer is not announced to');
  assert.equal(out.graft, [{ peer: 'b', ids: ['x'] }], 'the removed announcer is skipped');
  t.removePeer('b');
  assert.equal(t.tick(T + R).graft, []);
  assert.not.ok(t.isMissing('x'), 'with every announcer gone the entry is given up');
});

test('treeOriginsMax: exactly the limit is kept; one more drops the least recently used tree and counts it', () => {
  const t = treeWith(['p', 'q'], { treeOriginsMax: 3 });
  pruneIn(t, 'o1', 'q', 'p');
  pruneIn(t, 'o2', 'q', 'p');
  pruneIn(t, 'o3', 'q', 'p');
  assert.equal(t.sizes, { peers: 2, origins: 3, eager: 3, lazy: 3, missing: 0 });
  assert.is(t.counters.treesDropped, 0);
  // o1 is touched by a new broadcast of it (a duplicate or PRUNE does not touch), so o2 is now the oldest
  t.broadcast('o1 again', 'o1', 'q', new Set(['q']), 0);
  t.duplicate('p', 'o2', 0);
  t.onPrune('p', 'o2');
  plant(t, 'o4');
  assert.equal(t.sizes, { peers: 2, origins: 3, eager: 4, lazy: 2, missing: 0 });
  assert.is(t.counters.treesDropped, 1);
  assert.not.ok(t.isEager('p', 'o1'), 'the touched tree is kept, with its prune');
  assert.not.ok(t.isEager('p', 'o3'));
  assert.ok(t.isEager('p', 'o2'), 'the least recently used tree is gone: its origin is flooded again');
  t.onPrune('p', 'o2');
  assert.ok(t.isEager('p', 'o2'), 'and a PRUNE for it does not bring it back');
  assert.is(t.sizes.origins, 3);
  plant(t, 'o5');
  assert.ok(t.isEager('p', 'o3'), 'next the oldest untouched tree goes');
  assert.not.ok(t.isEager('p', 'o1'));
  assert.is(t.counters.treesDropped, 2);
});

test('ihaveIdsMax: exactly the limit goes in one IHAVE, one more starts a second', () => {
  const max = 5;
  for (const [n, sizes] of [[max, [max]], [max + 1, [max, 1]], [2 * max, [max, max]]] as const) {
    const t = treeWith(['l', 'e'], { ihaveIdsMax: max });
    pruneIn(t, O, 'e', 'l');
    for (const id of ids(n)) t.broadcast(id, O, null, none, 0);
    const out = t.tick(0);
    assert.equal(out.ihave.map((b) => b.ids.length), sizes, `${n} ids`);
    assert.equal(out.ihave.flatMap((b) => b.ids), ids(n), 'in order, none lost');
  }
});

test('graftIdsMax: exactly the limit goes in one GRAFT, one more starts a second', () => {
  const max = 4;
  for (const [n, sizes] of [[max, [max]], [max + 1, [max, 1]]] as const) {
    const t = treeWith(['a'], { graftIdsMax: max });
    t.onIhave('a', ids(n), 0, unknown);
    const out = t.tick(T);
    assert.equal(out.graft.map((g) => g.ids.length), sizes, `${n} ids`);
    assert.ok(out.graft.every((g) => g.peer === 'a'));
    assert.equal(out.graft.flatMap((g) => g.ids), ids(n));
  }
});

test('lazyQueueIdsMax: the queue holds exactly the limit; one more drops the oldest and counts it', () => {
  const max = 3;
  const t = treeWith(['l', 'e'], { lazyQueueIdsMax: max });
  pruneIn(t, O, 'e', 'l');
  for (const id of ids(max)) t.broadcast(id, O, null, none, 0);
  assert.is(t.counters.lazyDropped, 0);
  t.broadcast('newest', O, null, none, 0);
  assert.is(t.counters.lazyDropped, 1);
  assert.equal(announced(t.tick(0)).get('l'), ['m1', 'm2', 'newest']);
});

test('announce queues an id for an eager peer (no room to push it), once however often asked, the tree unchanged; not for a peer that is gone, nor in flood mode', () => {
  const t = treeWith(['a', 'b']);
  t.broadcast('m1', O, null, none, 0);
  t.announce('a', 'm1');
  t.announce('a', 'm1');
  t.announce('gone', 'm1');
  assert.ok(t.isEager('a', O), 'still eager');
  assert.equal([...announced(t.tick(0))], [['a', ['m1']]], 'one IHAVE of the id, to a only');
  const flood = treeWith(['a'], { gossipMode: 'flood' });
  flood.announce('a', 'm1');
  assert.equal(flood.tick(0).ihave, []);
});

test('missingEntriesMax: exactly the limit is tracked, announcements beyond it are ignored and counted', () => {
  const max = 3;
  const t = treeWith(['a', 'b'], { missingEntriesMax: max });
  t.onIhave('a', ids(max), 0, unknown);
  assert.equal(t.sizes.missing, max);
  assert.is(t.counters.ihaveIgnored, 0);
  t.onIhave('a', ['over1', 'over2'], 0, unknown);
  assert.equal(t.sizes.missing, max);
  assert.is(t.counters.ihaveIgnored, 2);
  assert.not.ok(t.isMissing('over1'));
  t.onIhave('b', ['m0'], 0, unknown);
  assert.equal(t.tick(T).graft, [{ peer: 'a', ids: ids(max) }], 'a tracked id still gains announcers at the limit');
  assert.equal(t.tick(T + R).graft, [{ peer: 'b', ids: ['m0'] }]);
});

test('announcersPerIdMax: exactly the limit is remembered, later announcers are never asked', () => {
  const t = treeWith(['p0', 'p1', 'p2'], { announcersPerIdMax: 2 });
  for (const p of ['p0', 'p1', 'p2']) t.onIhave(p, ['x'], 0, unknown);
  t.onIhave('p0', ['x'], 0, unknown);
  const asked: string[] = [];
  for (let now = T; now <= T + 3 * R; now += R) for (const g of t.tick(now).graft) asked.push(g.peer);
  assert.equal(asked, ['p0', 'p1'], 'a repeated announcer counts once; the third is not remembered');
  assert.not.ok(t.isMissing('x'));
});

test('announcers that never serve ahead of an honest one: each ask doubles, so the honest one is asked within log2 of their number of retries', () => {
  const byz = Array.from({ length: 12 }, (_, i) => `byz${i}`);
  const t = treeWith([...byz, 'honest']);
  for (const p of [...byz, 'honest']) t.onIhave(p, ['x'], 0, unknown);
  const asks: string[][] = [];
  for (let now = T; t.isMissing('x'); now += R) asks.push(t.tick(now).graft.map((g) => g.peer));
  assert.equal(asks, [['byz0'], ['byz1', 'byz2'], ['byz3', 'byz4', 'byz5', 'byz6'], ['byz7', 'byz8', 'byz9', 'byz10', 'byz11', 'honest'], []]);
  assert.is(t.counters.grafts, 13, 'every announcer asked once');
});

test('the default remembers as many announcers as a node has peers: a fifth announcer after four that never serve is asked', () => {
  assert.is(plumtreeDefaults.announcersPerIdMax, 32);
  const t = treeWith(['b0', 'b1', 'b2', 'b3', 'honest'], { announcersPerIdMax: undefined });
  for (const p of ['b0', 'b1', 'b2', 'b3', 'honest']) t.onIhave(p, ['x'], 0, unknown);
  const asked: string[] = [];
  for (let now = T; t.isMissing('x'); now += R) for (const g of t.tick(now).graft) asked.push(g.peer);
  assert.ok(asked.includes('honest'), `the honest announcer is asked (asked: ${asked.join(', ')})`);
});

test('flood mode: broadcast goes to every peer, no tree is kept, duplicates and PRUNE keep links eager, IHAVE is ignored', () => {
  const t = treeWith(['a', 'b', 'c'], { gossipMode: 'flood' });
  assert.not.ok(t.lazyPush);
  assert.equal(t.broadcast('x', O, 'c', new Set(['c']), 0).sort(), ['a', 'b']);
  assert.is(t.duplicate('a', O, 0), false);
  t.onPrune('b', O);
  assert.ok(['a', 'b', 'c'].every((p) => t.isEager(p, O)));
  assert.is(t.sizes.origins, 0, 'no tree is kept');
  assert.is(t.sizes.lazy, 0);
  assert.equal(t.broadcast('y', O, null, none, 0).sort(), ['a', 'b', 'c']);
  t.onIhave('a', ['z'], 0, unknown);
  assert.not.ok(t.isMissing('z'));
  assert.equal(t.tick(T + R), { ihave: [], graft: [] });
  assert.is(t.counters.prunesSent, 0);
});

test('options: defaults (two feeds per origin), the wire caps accepted at their edge, a single tree accepted', () => {
  assert.equal(resolvePlumtree({}), { ...plumtreeDefaults });
  const s = resolvePlumtree({ ihaveIdsMax: schemaLimits.ihaveIdsMax, graftIdsMax: schemaLimits.graftIdsMax, gossipMode: 'flood' });
  assert.is(s.ihaveIdsMax, schemaLimits.ihaveIdsMax);
  assert.is(s.graftIdsMax, schemaLimits.graftIdsMax);
  assert.is(s.gossipMode, 'flood');
  const t = resolvePlumtree({ treeOriginsMax: 1, graftTimeoutMs: 5000 });
  assert.equal([t.treeOriginsMax, t.graftTimeoutMs], [1, 5000]);
  assert.is(plumtreeDefaults.treeRedundancy, 2, 'two peers may feed each origin by default');
  assert.is(resolvePlumtree({ treeRedundancy: 1 }).treeRedundancy, 1, "1, the paper's single tree, is accepted");
  assert.is(new Plumtree().settings.treeRedundancy, 2);
});

const invalid: [string, unknown, string][] = [
  ['not an object', 5, 'options must be an object'],
  ['gossipMode', { gossipMode: 'gossip' }, `options.gossipMode must be 'tree' or 'flood', got "gossip"`],
  ['gossipMode type', { gossipMode: 1 }, `options.gossipMode must be 'tree' or 'flood', got number`],
  ['lazyFlushMs', { lazyFlushMs: 0 }, 'options.lazyFlushMs must be a positive integer'],
  ['graftTimeoutMs', { graftTimeoutMs: -1 }, 'options.graftTimeoutMs must be a positive integer'],
  ['graftRetryMs', { graftRetryMs: 1.5 }, 'options.graftRetryMs must be a positive integer'],
  ['ihaveIdsMax', { ihaveIdsMax: 0 }, 'options.ihaveIdsMax must be a positive integer'],
  ['ihaveIdsMax wire cap', { ihaveIdsMax: schemaLimits.ihaveIdsMax + 1 }, `options.ihaveIdsMax must be at most ${schemaLimits.ihaveIdsMax} (the wire limit)`],
  ['graftIdsMax', { graftIdsMax: '8' }, 'options.graftIdsMax must be a positive integer'],
  ['graftIdsMax wire cap', { graftIdsMax: schemaLimits.graftIdsMax + 1 }, `options.graftIdsMax must be at most ${schemaLimits.graftIdsMax} (the wire limit)`],
  ['lazyQueueIdsMax', { lazyQueueIdsMax: NaN }, 'options.lazyQueueIdsMax must be a positive integer'],
  ['missingEntriesMax', { missingEntriesMax: 0 }, 'options.missingEntriesMax must be a positive integer'],
  ['announcersPerIdMax', { announcersPerIdMax: Infinity }, 'options.announcersPerIdMax must be a positive integer'],
  ['treeOriginsMax', { treeOriginsMax: 0 }, 'options.treeOriginsMax must be a positive integer'],
  ['treeOriginsMax type', { treeOriginsMax: '1024' }, 'options.treeOriginsMax must be a positive integer'],
  ['treeRedundancy', { treeRedundancy: 0 }, 'options.treeRedundancy must be a positive integer'],
  ['treeRedundancy fraction', { treeRedundancy: 1.5 }, 'options.treeRedundancy must be a positive integer'],
  ['treeRedundancy type', { treeRedundancy: '2' }, 'options.treeRedundancy must be a positive integer'],
];

test('every invalid option is refused with a message naming it', () => {
  assertAllRefused(invalid, (options) => new Plumtree(options as PlumtreeOptions));
});

test.run();
