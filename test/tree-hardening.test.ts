/**
 * The broadcast tree against peers that announce what they never serve, ask for the same frame over and over,
 * or relay forgeries: each limit at its edge, and a genuine broadcast shadowed by a forgery is still fetched.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BroadcastRelay, packIds } from '../src/gossip/broadcast-relay.ts';
import { FakeRelayPort } from './helpers/fake-relay-port.ts';
import { assertRefused } from './helpers/refused.ts';
import { Plumtree, plumtreeDefaults } from '../src/gossip/plumtree.ts';
import { HASH_BYTES } from '../src/wire/schema.ts';
import { resolveLimits } from '../src/core/node-options.ts';

class FakePort extends FakeRelayPort {}

const hexId = (n: number): string => n.toString(16).padStart(2 * HASH_BYTES, '0');
const O = 'a1'.repeat(32);
const T = plumtreeDefaults.graftTimeoutMs;
const never = (): boolean => false;

const refused = assertRefused;

test('missingPerPeerMax: one peer opens at most that many missing entries; others still can; a fetched one frees its slot', () => {
  const t = new Plumtree({ missingPerPeerMax: 2 });
  for (const p of ['liar', 'honest']) t.addPeer(p);
  t.onIhave('liar', [hexId(1), hexId(2), hexId(3)], 0, never);
  assert.ok(t.isMissing(hexId(1)) && t.isMissing(hexId(2)), 'exactly the limit is tracked');
  assert.not.ok(t.isMissing(hexId(3)), 'one more is ignored');
  assert.is(t.counters.ihaveIgnored, 1);
  t.onIhave('honest', [hexId(4)], 0, never);
  assert.ok(t.isMissing(hexId(4)), "the liar's flood does not crowd out an honest announcement");
  t.onIhave('liar', [hexId(4)], 0, never);
  t.received(hexId(1), O, 'honest', 1);
  t.onIhave('liar', [hexId(5)], 1, never);
  assert.ok(t.isMissing(hexId(5)), 'an entry it opened was fetched: its slot is free again');
});

test('tick asks for no id that already arrived and is being verified, and forgets it', () => {
  const t = new Plumtree();
  t.addPeer('a');
  t.onIhave('a', [hexId(1), hexId(2)], 0, never);
  const out = t.tick(T, (id) => id === hexId(1));
  assert.equal(out.graft, [{ peer: 'a', ids: [hexId(2)] }]);
  assert.not.ok(t.isMissing(hexId(1)));
});

test('a GRAFT naming one id many times is served once', () => {
  const port = new FakePort();
  const r = new BroadcastRelay({}, port);
  r.peerUp('a');
  r.relay(hexId(1), O, Buffer.from('frame 1'), null, new Set(), 0);
  port.frames = [];
  r.onGraft('a', { t: 'graft', ids: packIds(Array(256).fill(hexId(1))) }, 1);
  assert.is(port.frames.length, 1);
});

test('an outcome rides the tree as its type: sent in full as an outcome, and a GRAFT for it is answered as an outcome', () => {
  const port = new FakePort();
  const r = new BroadcastRelay({}, port);
  for (const p of ['a', 'b']) r.peerUp(p);
  r.relay(hexId(1), O, Buffer.from('outcome frame'), null, new Set(), 0, 'outcome');
  r.relay(hexId(2), O, Buffer.from('gossip frame'), null, new Set(), 0);
  assert.equal(port.frames.map((f) => f.type), ['outcome', 'outcome', 'gossip', 'gossip'], 'the outbox puts an outcome with the consensus frames');
  port.frames = [];
  r.onGraft('a', { t: 'graft', ids: packIds([hexId(1), hexId(2)]) }, 1);
  assert.equal(port.frames.map((f) => [f.peer, f.type, f.frame.toString()]), [['a', 'outcome', 'outcome frame'], ['a', 'gossip', 'gossip frame']]);
});

test('graftServeBytesPerSec: frames are served to one peer up to exactly that many bytes a second', () => {
  const port = new FakePort();
  const frameBytesMax = 1024;
  const r = new BroadcastRelay({ frameBytesMax, graftServeBytesPerSec: 3 * frameBytesMax }, port);
  r.peerUp('a');
  for (let i = 1; i <= 4; i++) r.relay(hexId(i), O, Buffer.alloc(frameBytesMax, i), null, new Set(), 0);
  port.frames = [];
  r.onGraft('a', { t: 'graft', ids: packIds([1, 2, 3, 4].map(hexId)) }, 0);
  assert.is(port.frames.length, 3, 'three frames fill the byte budget; the fourth is refused');
  assert.is(r.counters.graftRefused, 1);
  r.onGraft('a', { t: 'graft', ids: packIds([hexId(4)]) }, 1000);
  assert.is(port.frames.length, 4, 'a second later the budget has refilled');
});

test('ids whose frame the store no longer holds are not announced', () => {
  const port = new FakePort();
  const r = new BroadcastRelay({ recentFramesMax: 1, treeRedundancy: 1 }, port);
  for (const p of ['feed', 'lazy']) r.peerUp(p);
  r.relay(hexId(9), O, Buffer.from('first'), 'feed', new Set(['feed']), 0);
  r.onPrune('lazy', { t: 'prune', origin: Buffer.from(O, 'hex') });
  r.relay(hexId(1), O, Buffer.from('one'), 'feed', new Set(['feed']), 1);
  r.relay(hexId(2), O, Buffer.from('two'), 'feed', new Set(['feed']), 2);
  r.tick(3);
  const ihaves = port.msgs.filter((m) => m.msg.t === 'ihave');
  assert.equal(ihaves.length, 1);
  const m = ihaves[0]!.msg;
  assert.ok(m.t === 'ihave' && Buffer.from(m.ids).toString('hex') === hexId(2), 'only the id still held is announced');
});

test('a forgery verified first: the other peers that sent copies meanwhile are asked for the genuine one', () => {
  const port = new FakePort();
  const r = new BroadcastRelay({}, port);
  for (const p of ['forger', 'honest']) r.peerUp(p);
  r.verifyFailed(hexId(7), new Set(['forger', 'honest']), 'forger', 0);
  r.tick(T - 1);
  assert.equal(port.msgs.filter((m) => m.msg.t === 'graft'), [], 'not before graftTimeoutMs');
  r.tick(T);
  const grafts = port.msgs.filter((m) => m.msg.t === 'graft');
  assert.equal(grafts.map((g) => g.peer), ['honest'], 'the honest sender is asked, never the forger');
});

test('options: the frame store and the serve budget must hold a largest frame; writeCoalesceMs below pingIntervalMs', () => {
  const port = new FakePort();
  refused(() => new BroadcastRelay({ frameBytesMax: 4096, recentFrameBytesMax: 4095 }, port), 'options.recentFrameBytesMax must be at least options.frameBytesMax (4096)');
  refused(() => new BroadcastRelay({ frameBytesMax: 4096, graftServeBytesPerSec: 4095 }, port), 'options.graftServeBytesPerSec must be at least options.frameBytesMax (4096)');
  new BroadcastRelay({ frameBytesMax: 4096, recentFrameBytesMax: 4096, graftServeBytesPerSec: 4096 }, port);
  refused(() => new Plumtree({ missingPerPeerMax: 0 }), 'options.missingPerPeerMax must be a positive integer');
  refused(() => resolveLimits({ pingIntervalMs: 100, writeCoalesceMs: 100 }), 'options.writeCoalesceMs must be below options.pingIntervalMs');
  assert.is(resolveLimits({ pingIntervalMs: 100, writeCoalesceMs: 99 }).writeCoalesceMs, 99);
});

test.run();
