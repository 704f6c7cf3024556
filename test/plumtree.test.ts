/** The broadcast tree core (Plumtree): eager/lazy sets, announcements, GRAFT timers, limits, flood mode. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Plumtree, plumtreeDefaults, resolvePlumtree, type PlumtreeOptions } from '../src/plumtree.ts';
import { schemaLimits } from '../src/schema.ts';
import { isStrongcastError } from '../src/errors.ts';

const none: ReadonlySet<string> = new Set();
const unknown = (): boolean => false;
const T = plumtreeDefaults.graftTimeoutMs;
const R = plumtreeDefaults.graftRetryMs;

/** A tree with `peers` added, all eager. */
function treeWith(peers: string[], options: PlumtreeOptions = {}): Plumtree {
  const t = new Plumtree(options);
  for (const p of peers) t.addPeer(p);
  return t;
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

test('a new peer is eager, and re-adding a lazy peer makes it eager again', () => {
  const t = treeWith(['a', 'b']);
  assert.ok(t.isEager('a') && t.isEager('b'));
  assert.equal(t.sizes, { eager: 2, lazy: 0, missing: 0 });
  t.duplicate('a');
  assert.not.ok(t.isEager('a'));
  t.addPeer('a');
  assert.ok(t.isEager('a'));
  assert.equal(t.sizes, { eager: 2, lazy: 0, missing: 0 });
});

test('broadcast returns the eager peers minus skip and queues the id for lazy peers that are not skipped', () => {
  const t = treeWith(['e1', 'e2', 'e3', 'l1', 'l2']);
  t.duplicate('l1');
  t.duplicate('l2');
  const targets = t.broadcast('x', 'e1', new Set(['e1', 'e2', 'l2']));
  assert.equal(targets, ['e3']);
  const out = t.tick(0);
  assert.equal(announced(out), new Map([['l1', ['x']]]), 'only the lazy peer that did not send it hears the id');
  assert.equal(t.tick(1).ihave, [], 'the queue is flushed once');
});

test('our own broadcast (from null) goes to every eager peer', () => {
  const t = treeWith(['a', 'b', 'c']);
  t.duplicate('c');
  assert.equal(t.broadcast('own', null, none).sort(), ['a', 'b']);
  assert.equal(announced(t.tick(0)), new Map([['c', ['own']]]));
});

test('duplicate() turns an eager link lazy and asks for a PRUNE; a repeat copy over the lazy link asks again', () => {
  const t = treeWith(['a', 'b']);
  assert.is(t.duplicate('a'), true);
  assert.equal(t.sizes, { eager: 1, lazy: 1, missing: 0 });
  // a full copy over a link we hold lazy means the peer still holds it eager: tell it again (paper, Algorithm 1)
  assert.is(t.duplicate('a'), true);
  assert.equal(t.sizes, { eager: 1, lazy: 1, missing: 0 }, 'the repeat changes no set');
  assert.is(t.duplicate('stranger'), false, 'an unknown peer is never pruned');
  assert.equal(t.sizes, { eager: 1, lazy: 1, missing: 0 });
  assert.is(t.counters.prunesSent, 2);
});

test('onPrune moves an eager peer to lazy, and broadcasts then only announce to it', () => {
  const t = treeWith(['a', 'b']);
  t.onPrune('a');
  assert.not.ok(t.isEager('a'));
  assert.equal(t.sizes, { eager: 1, lazy: 1, missing: 0 });
  assert.equal(t.broadcast('x', null, none), ['b']);
  assert.equal(announced(t.tick(0)), new Map([['a', ['x']]]));
  t.onPrune('stranger');
  assert.equal(t.sizes, { eager: 1, lazy: 1, missing: 0 }, 'a PRUNE from an unknown peer adds nothing');
});

test('a message received from a lazy peer makes that peer eager', () => {
  const t = treeWith(['a', 'b']);
  t.duplicate('a');
  t.broadcast('x', 'a', new Set(['a']));
  assert.ok(t.isEager('a'));
  t.broadcast('y', 'stranger', new Set(['stranger']));
  assert.not.ok(t.isEager('stranger'), 'a sender that is not a peer is not added');
});

test('an announced unknown id is asked for from its first announcer exactly at graftTimeoutMs, which becomes eager', () => {
  const t = treeWith(['a', 'b']);
  t.duplicate('a');
  t.duplicate('b');
  t.onIhave('a', ['x'], 1000, unknown);
  t.onIhave('b', ['x'], 1010, unknown);
  assert.ok(t.isMissing('x'));
  assert.equal(t.tick(1000 + T - 1).graft, [], 'no GRAFT before the timeout');
  assert.not.ok(t.isEager('a'));
  assert.equal(t.tick(1000 + T).graft, [{ peer: 'a', ids: ['x'] }], 'the timer runs from the first announcement');
  assert.ok(t.isEager('a'), 'the grafted link joins the tree');
  assert.not.ok(t.isEager('b'));
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
  t.broadcast('x', 'b', new Set(['b']));
  assert.not.ok(t.isMissing('x'));
  assert.equal(t.tick(T + R).graft, []);
});

test('a message that travels no further (received) also cancels its timer and makes its sender eager', () => {
  const t = treeWith(['a', 'b']);
  t.duplicate('b');
  t.onIhave('a', ['x'], 0, unknown);
  t.received('x', 'b');
  assert.not.ok(t.isMissing('x'));
  assert.ok(t.isEager('b'));
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

test('removePeer drops the peer from both sets, from announcer lists and its announcement queue', () => {
  const t = treeWith(['a', 'b', 'l']);
  t.duplicate('l');
  t.broadcast('queued', null, none);
  t.onIhave('a', ['x'], 0, unknown);
  t.onIhave('b', ['x'], 0, unknown);
  t.removePeer('a');
  t.removePeer('l');
  assert.equal(t.sizes, { eager: 1, lazy: 0, missing: 1 });
  const out = t.tick(T);
  assert.equal(out.ihave, [], 'the removed lazy peer is not announced to');
  assert.equal(out.graft, [{ peer: 'b', ids: ['x'] }], 'the removed announcer is skipped');
  t.removePeer('b');
  assert.equal(t.tick(T + R).graft, []);
  assert.not.ok(t.isMissing('x'), 'with every announcer gone the entry is given up');
});

test('ihaveIdsMax: exactly the limit goes in one IHAVE, one more starts a second', () => {
  const max = 5;
  for (const [n, sizes] of [[max, [max]], [max + 1, [max, 1]], [2 * max, [max, max]]] as const) {
    const t = treeWith(['l'], { ihaveIdsMax: max });
    t.duplicate('l');
    for (const id of ids(n)) t.broadcast(id, null, none);
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
  const t = treeWith(['l'], { lazyQueueIdsMax: max });
  t.duplicate('l');
  for (const id of ids(max)) t.broadcast(id, null, none);
  assert.is(t.counters.lazyDropped, 0);
  t.broadcast('newest', null, none);
  assert.is(t.counters.lazyDropped, 1);
  assert.equal(announced(t.tick(0)).get('l'), ['m1', 'm2', 'newest']);
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

test('flood mode: broadcast goes to every peer, nothing is queued, duplicates and PRUNE keep links eager, IHAVE is ignored', () => {
  const t = treeWith(['a', 'b', 'c'], { gossipMode: 'flood' });
  assert.not.ok(t.lazyPush);
  assert.is(t.duplicate('a'), false);
  t.onPrune('b');
  assert.equal(t.sizes, { eager: 3, lazy: 0, missing: 0 });
  assert.equal(t.broadcast('x', 'c', new Set(['c'])).sort(), ['a', 'b']);
  t.onIhave('a', ['y'], 0, unknown);
  assert.not.ok(t.isMissing('y'));
  assert.equal(t.tick(T + R), { ihave: [], graft: [] });
  assert.is(t.counters.prunesSent, 0);
});

test('options: defaults, the wire caps accepted at their edge', () => {
  assert.equal(resolvePlumtree({}), { ...plumtreeDefaults });
  const s = resolvePlumtree({ ihaveIdsMax: schemaLimits.ihaveIdsMax, graftIdsMax: schemaLimits.graftIdsMax, gossipMode: 'flood' });
  assert.is(s.ihaveIdsMax, schemaLimits.ihaveIdsMax);
  assert.is(s.graftIdsMax, schemaLimits.graftIdsMax);
  assert.is(s.gossipMode, 'flood');
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
];

test('every invalid option is refused with a message naming it', () => {
  for (const [name, options, message] of invalid) {
    try {
      new Plumtree(options as PlumtreeOptions);
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), `${name}: expected ERR_INVALID_OPTION, got ${String(e)}`);
      assert.is((e as Error).message, message, name);
      continue;
    }
    assert.unreachable(`${name}: accepted`);
  }
});

test.run();
