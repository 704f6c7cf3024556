/**
 * treeRedundancy: how many peers may keep feeding us each origin's broadcasts in full. A duplicate from a peer
 * is kept while the peers that sent copies of that origin within the feed window (5000 ms) number at most
 * treeRedundancy; one more is pruned. Feeds age out, a closed peer frees its slot, and a dropped tree drops
 * its feeds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Plumtree, type PlumtreeOptions } from '../src/gossip/plumtree.ts';

const O = 'origin-o';
const none: ReadonlySet<string> = new Set();
/** How long a copy keeps its sender counted as a feed, in ms (plumtree.ts's feedWindowMs). */
const feedWindowMs = 5000;

/** A tree with `peers` added, all eager, and O's tree created by a first copy from `first` at `atMs`. */
function fedBy(peers: string[], first: string, atMs = 0, options: PlumtreeOptions = {}): Plumtree {
  const t = new Plumtree(options);
  for (const p of peers) t.addPeer(p);
  t.received('m0', O, first, atMs);
  return t;
}

test('treeRedundancy k: duplicates from k-1 more peers are kept (no PRUNE, still eager), one more is pruned', () => {
  for (const k of [1, 2, 3, 4]) {
    const peers = Array.from({ length: k + 2 }, (_, i) => `p${i}`);
    const t = fedBy(peers, 'p0', 0, { treeRedundancy: k });
    for (const p of peers.slice(1, k)) {
      assert.is(t.duplicate(p, O, 1), false, `k=${k}: ${p} is kept`);
      assert.ok(t.isEager(p, O), `k=${k}: ${p} stays eager`);
    }
    assert.is(t.counters.prunesSent, 0, `k=${k}: no PRUNE while ${k} peers feed us`);
    assert.is(t.duplicate(peers[k]!, O, 1), true, `k=${k}: the copy from a peer beyond ${k} feeds asks for a PRUNE`);
    if (k === 1) {
      // the paper's single tree: the pruned link is lazy both ways at once
      assert.not.ok(t.isEager(peers[k]!, O));
      assert.equal(t.sizes, { peers: k + 2, origins: 1, eager: k + 1, lazy: 1, missing: 0 }, `k=${k}: only that peer left the tree`);
      assert.equal(t.broadcast('m1', O, null, none, 2), peers.filter((_, i) => i !== k), `k=${k}: the kept feeds still get our copies in full`);
    } else {
      // with more feeds each side picks its own: what we send changes only when that peer prunes us
      assert.ok(t.isEager(peers[k]!, O), `k=${k}: our PRUNE does not take away what the peer gets from us`);
      assert.equal(t.broadcast('m1', O, null, none, 2), peers, `k=${k}: every peer still gets our copies in full`);
      t.onPrune(peers[k]!, O);
      assert.not.ok(t.isEager(peers[k]!, O), `k=${k}: its own PRUNE does`);
    }
  }
});

test('with the default (2): the first duplicate from a second peer is kept, a third peer is pruned, a feed sending again stays', () => {
  const t = fedBy(['a', 'b', 'c', 'd'], 'a');
  assert.is(t.settings.treeRedundancy, 2);
  assert.is(t.duplicate('b', O, 10), false, 'b becomes the second feed');
  assert.ok(t.isEager('b', O));
  assert.is(t.duplicate('b', O, 20), false, 'a feed that sends again takes no new slot');
  assert.is(t.duplicate('c', O, 30), true, 'c would be a third');
  assert.is(t.counters.prunesSent, 1);
  assert.equal(t.broadcast('m1', O, 'b', new Set(['b']), 40), ['a', 'c', 'd'], 'our PRUNE to c changes only what c sends us');
  t.onPrune('c', O);
  assert.equal(t.broadcast('m2', O, 'b', new Set(['b']), 41), ['a', 'd'], "c's own PRUNE makes it lazy on our side");
  assert.equal(t.tick(41).ihave, [{ peer: 'c', ids: ['m2'] }], 'c hears only its id');
  assert.is(t.duplicate('a', O, 42), false, 'a and b still feed');
});

test('a feed counts while its last copy is less than 5000 ms old: 4999 ms counts, 5000 ms does not', () => {
  const young = fedBy(['a', 'b', 'c'], 'a', 1000);
  assert.is(young.duplicate('b', O, 1000), false);
  assert.is(young.duplicate('c', O, 1000 + feedWindowMs - 1), true, 'a and b sent 4999 ms ago: both still count, c is a third');

  const old = fedBy(['a', 'b', 'c'], 'a', 1000);
  assert.is(old.duplicate('b', O, 1000), false);
  assert.is(old.duplicate('c', O, 1000 + feedWindowMs), false, 'a and b sent 5000 ms ago: neither counts, c is kept');
  assert.ok(old.isEager('a', O) && old.isEager('b', O), 'a feed that aged out is not pruned, it just stops counting');
  assert.is(old.duplicate('b', O, 1000 + feedWindowMs), false, 'b sends again: it counts again, c and b are two');
  assert.is(old.duplicate('a', O, 1000 + feedWindowMs), true, 'and a is now a third');
});

test('a first copy refreshes its sender\'s feed, so only the silent feed ages out', () => {
  const t = fedBy(['a', 'b', 'c'], 'a', 0);
  assert.is(t.duplicate('b', O, 0), false);
  t.broadcast('m1', O, 'a', new Set(['a']), 3000);
  assert.is(t.duplicate('c', O, feedWindowMs + 1), false, 'b aged out, a (3000) did not: a and c are two');
  assert.is(t.duplicate('b', O, feedWindowMs + 2), true, 'b is now a third');
});

test('removePeer frees its feed slot; a pruned peer still sending is told again after pruneRepeatMs and takes no slot', () => {
  const t = fedBy(['a', 'b', 'c', 'd', 'e'], 'a');
  const repeatMs = t.settings.pruneRepeatMs;
  assert.is(t.duplicate('b', O, 1), false);
  assert.is(t.duplicate('c', O, 2), true);
  assert.is(t.duplicate('c', O, 3), false, 'c has not read our PRUNE yet: one PRUNE per pruneRepeatMs, not one per copy');
  assert.is(t.duplicate('c', O, 2 + repeatMs), true, 'c still sends in full a second later: it is told again');
  assert.is(t.counters.prunesSent, 2);
  t.removePeer('b');
  assert.is(t.duplicate('d', O, 1004), false, "b's slot is free: a and d are two (c's repeats did not take it)");
  assert.is(t.duplicate('e', O, 1005), true, 'both slots taken again');
  t.addPeer('b');
  assert.is(t.duplicate('b', O, 1006), true, 'a reconnected peer starts with no feed: its copy would be a third');
  t.removePeer('c');
  t.addPeer('c');
  assert.is(t.duplicate('c', O, 1007), true, 'a reconnected peer was never told on this connection: told at once');
});

test('a told peer is told again at once only after a copy we asked for (a GRAFT answer), not after one it raced in', () => {
  const t = fedBy(['a', 'b', 'c'], 'a');
  assert.is(t.duplicate('b', O, 1), false);
  assert.is(t.duplicate('c', O, 2), true);
  t.received('m1', O, 'c', 3);
  assert.is(t.duplicate('c', O, 4), false, 'a first copy c sent before reading our PRUNE: c stays silenced');
  t.onIhave('c', ['m2'], 5, () => false);
  t.received('m2', O, 'c', 6);
  assert.is(t.duplicate('c', O, 7), true, 'a copy we asked for: a, b and c feed, and c is told at once');
  assert.is(t.duplicate('c', O, 8), false, 'and then not again for pruneRepeatMs');
});

test('pruneRepeatMs must be a positive integer', () => {
  for (const bad of [0, -1, 2.5, Number.NaN]) assert.throws(() => new Plumtree({ pruneRepeatMs: bad }), /pruneRepeatMs/);
  assert.is(new Plumtree({ pruneRepeatMs: 1 }).settings.pruneRepeatMs, 1);
});

test('a first copy from a pruned peer (a GRAFT answer) makes it eager and a feed again; the next sender beyond the limit is pruned', () => {
  const t = fedBy(['a', 'b', 'c'], 'a');
  assert.is(t.duplicate('b', O, 1), false);
  assert.is(t.duplicate('c', O, 2), true);
  t.received('m1', O, 'c', 3);
  assert.ok(t.isEager('c', O));
  assert.is(t.duplicate('b', O, 4), true, 'a, c and b would be three');
  assert.is(t.duplicate('a', O, 5), false, 'a and c feed');
});

test("a dropped tree (treeOriginsMax) drops its feeds: the origin's next tree counts from scratch", () => {
  const t = fedBy(['a', 'b', 'c'], 'a', 0, { treeOriginsMax: 1 });
  assert.is(t.duplicate('b', O, 1), false);
  t.received('other', 'origin-other', null, 2);
  assert.is(t.counters.treesDropped, 1);
  t.received('m1', O, 'c', 3);
  assert.is(t.duplicate('a', O, 4), false, "c and a are two: b's old feed went with the tree");
  assert.is(t.duplicate('b', O, 5), true);
});

test('feeds are per origin: peers feeding one origin take no slot in another', () => {
  const t = fedBy(['a', 'b', 'c'], 'a');
  assert.is(t.duplicate('b', O, 1), false);
  t.received('x0', 'origin-x', 'c', 2);
  assert.is(t.duplicate('a', 'origin-x', 3), false, "a and b feed O, yet c and a are only two for origin-x's tree");
  assert.is(t.duplicate('b', 'origin-x', 4), true);
  assert.ok(t.isEager('b', O), "and b's prune in origin-x's tree leaves it feeding O");
});

test('copies of our own broadcasts are echoes: the first one is pruned, with one feed or several', () => {
  for (const k of [1, 2]) {
    const t = new Plumtree({ treeRedundancy: k });
    t.addPeer('a');
    t.addPeer('b');
    t.broadcast('m0', O, null, none, 0);
    assert.is(t.duplicate('a', O, 1), true, `k=${k}: an origin needs no feed of its own messages`);
  }
});

test('single tree: a peer that pruned us (the link lazy both ways) is no feed any more; with more feeds it still is', () => {
  const t = fedBy(['a', 'b'], 'a', 0, { treeRedundancy: 1 });
  t.onPrune('a', O);
  assert.is(t.duplicate('b', O, 1), false, 'a stopped counting when it pruned us, so b is kept');
  const u = fedBy(['a', 'b', 'c'], 'a', 0, { treeRedundancy: 2 });
  u.onPrune('a', O);
  assert.is(u.duplicate('b', O, 1), false);
  assert.is(u.duplicate('c', O, 2), true, "a's PRUNE stopped only what we send it: a and b still feed us");
});

test('a copy from a peer that closed while it was being verified records no feed', () => {
  const t = new Plumtree({ treeRedundancy: 2 });
  for (const p of ['a', 'b', 'gone']) t.addPeer(p);
  t.removePeer('gone');
  t.received('m0', O, 'gone', 0);
  assert.is(t.duplicate('a', O, 1), false);
  assert.is(t.duplicate('b', O, 2), false, 'the closed peer took no slot');
});

test.run();
