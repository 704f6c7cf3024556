/** The relay behind a fake port: full frames down the tree, PRUNE, IHAVE, GRAFT answers and their limit. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BroadcastRelay, broadcastRelayDefaults, packIds, unpackIds, type BroadcastRelayOptions, type RelayPort } from '../src/gossip/broadcast-relay.ts';
import { plumtreeDefaults } from '../src/gossip/plumtree.ts';
import { decodeMessage, HASH_BYTES, type GraftMessage, type IhaveMessage, type Message, type PruneMessage } from '../src/wire/schema.ts';
import { toHex } from '../src/bytes.ts';
import { isStrongcastError } from '../src/errors.ts';
import { encodeBody, encodeFrame, sealedFrameBytes } from '../src/wire/framing.ts';
import { FakeRelayPort } from './helpers/fake-relay-port.ts';
import { assertAllRefused } from './helpers/refused.ts';

class FakePort extends FakeRelayPort {}

/** A 32-byte id in hex, distinct per `n`. */
const hexId = (n: number): string => n.toString(16).padStart(2 * HASH_BYTES, '0');
const frameOf = (n: number): Buffer => Buffer.from(`frame ${n}`);
const graft = (ids: string[]): GraftMessage => ({ t: 'graft', ids: packIds(ids) });
const ihave = (ids: string[]): IhaveMessage => ({ t: 'ihave', ids: packIds(ids) });
const none: ReadonlySet<string> = new Set();
/** Origins of broadcasts: the 32-byte key a PRUNE carries and its hex, which the tree is kept under. */
const keyA = new Uint8Array(32).fill(0xa1);
const keyB = new Uint8Array(32).fill(0xb2);
const A = toHex(keyA);
const B = toHex(keyB);
const prune = (origin: Uint8Array): PruneMessage => ({ t: 'prune', origin });

function relayWith(peers: string[], options: BroadcastRelayOptions = {}): { r: BroadcastRelay; port: FakePort } {
  const port = new FakePort();
  const r = new BroadcastRelay(options, port);
  for (const p of peers) r.peerUp(p);
  return { r, port };
}

test('packIds and unpackIds round-trip, and the wire form is the ids concatenated', () => {
  const ids = [hexId(1), hexId(0xabcdef), 'ff'.repeat(HASH_BYTES)];
  const packed = packIds(ids);
  assert.is(packed.byteLength, 3 * HASH_BYTES);
  assert.is(Buffer.from(packed).subarray(HASH_BYTES, 2 * HASH_BYTES).toString('hex'), hexId(0xabcdef));
  assert.equal(unpackIds(packed), ids);
  // a view into a larger buffer (as a decoder hands out) unpacks only its own bytes
  const big = Buffer.concat([Buffer.alloc(5, 9), Buffer.from(packed), Buffer.alloc(7, 9)]);
  assert.equal(unpackIds(big.subarray(5, 5 + packed.byteLength)), ids);
});

test('relay sends the frame to the eager peers not skipped, and keeps it for GRAFTs', () => {
  const { r, port } = relayWith(['a', 'b', 'c']);
  const sent = r.relay(hexId(1), A, frameOf(1), 'a', new Set(['a']), 0);
  assert.is(sent, 2);
  assert.equal(port.frames.map((f) => f.peer).sort(), ['b', 'c']);
  assert.ok(port.frames.every((f) => f.frame.equals(frameOf(1))));
  assert.is(r.counters.fullFrames, 2);
  const kept = r.frames.get(hexId(1), 0);
  assert.ok(kept?.frame.equals(frameOf(1)));
  assert.is(kept?.origin, A, 'with its origin, for the tree a GRAFT of it joins');
});

test('relay counts only the frames the port accepted', () => {
  const { r, port } = relayWith(['a', 'b']);
  port.closed.add('b');
  assert.is(r.relay(hexId(1), A, frameOf(1), null, none, 0), 1);
  assert.is(r.counters.fullFrames, 1);
});

test('each duplicate sends exactly one PRUNE naming its origin, and the pruned peer then only hears ids of that origin', () => {
  // the paper's single tree: the first copy came from b, so a's copy is one too many
  const { r, port } = relayWith(['a', 'b'], { treeRedundancy: 1 });
  r.relay(hexId(1), A, frameOf(1), 'b', new Set(['b']), 0);
  port.clear();
  r.duplicate('a', keyA, 0);
  assert.equal(port.msgs, [{ peer: 'a', msg: { t: 'prune', origin: keyA } }]);
  assert.equal(decodeMessage(port.msgs[0]!.msg), port.msgs[0]!.msg, 'a valid message');
  r.duplicate('a', keyA, 500);
  assert.equal(port.msgs.length, 1, 'a copy it sent before reading our PRUNE is not answered again');
  r.duplicate('a', keyA, 1000);
  assert.equal(port.msgs.length, 2, 'a full copy over a link still lazy here a pruneRepeatMs later: the peer still sends eagerly, so it is told again');
  assert.is(r.counters.pruneFrames, 2);
  r.duplicate('stranger', keyA, 0);
  assert.is(r.counters.pruneFrames, 2, 'no PRUNE to a peer that is not connected');
  port.clear();
  r.relay(hexId(7), A, frameOf(7), null, none, 10);
  assert.equal(port.frames.map((f) => f.peer), ['b']);
  r.tick(10);
  assert.is(port.msgs.length, 1);
  assert.is(port.msgs[0]!.peer, 'a');
  assert.equal(unpackIds((port.msgs[0]!.msg as IhaveMessage).ids), [hexId(7)]);
  port.clear();
  r.relay(hexId(8), B, frameOf(8), null, none, 20);
  assert.equal(port.frames.map((f) => f.peer).sort(), ['a', 'b'], 'another origin\'s broadcast still goes to the pruned peer in full');
});

test('with the default treeRedundancy (2) a second feeding peer gets no PRUNE, a third does; the times passed in age feeds out', () => {
  const { r, port } = relayWith(['a', 'b', 'c', 'd']);
  r.relay(hexId(1), A, frameOf(1), 'a', new Set(['a']), 0);
  port.clear();
  r.duplicate('b', keyA, 4000);
  assert.equal(port.msgs, [], 'a and b feed us');
  r.duplicate('c', keyA, 4999);
  assert.equal(port.msgs, [{ peer: 'c', msg: { t: 'prune', origin: keyA } }], "a's copy of 0 ms still counts at 4999 ms: c is a third");
  r.duplicate('d', keyA, 5000);
  assert.is(port.msgs.length, 1, "at 5000 ms a's copy no longer counts: b and d feed us");
  assert.ok(r.tree.isEager('d', A) && r.tree.isEager('c', A), 'with two feeds our PRUNE changes only what c sends us, not what we send it');
  assert.is(r.counters.pruneFrames, 1);
});

test('a duplicate of an origin we keep no tree for sends no PRUNE', () => {
  const { r, port } = relayWith(['a', 'b']);
  r.relay(hexId(1), A, frameOf(1), null, none, 0);
  port.clear();
  r.duplicate('a', keyB, 0);
  assert.equal(port.msgs, []);
  assert.is(r.counters.pruneFrames, 0);
  assert.is(r.tree.sizes.origins, 1, 'and keeps none');
});

test('onPrune prunes the peer from the tree of the origin the PRUNE names, and only if that tree exists', () => {
  const { r, port } = relayWith(['a', 'b']);
  r.relay(hexId(1), A, frameOf(1), null, none, 0);
  r.relay(hexId(2), B, frameOf(2), null, none, 0);
  r.onPrune('a', prune(keyA));
  assert.not.ok(r.tree.isEager('a', A));
  assert.ok(r.tree.isEager('a', B));
  r.onPrune('a', prune(new Uint8Array(32).fill(0xcc)));
  assert.is(r.tree.sizes.origins, 2, 'a PRUNE for an unknown origin creates no tree');
  port.clear();
  r.relay(hexId(3), A, frameOf(3), null, none, 1);
  r.relay(hexId(4), B, frameOf(4), null, none, 1);
  assert.equal(port.framesTo('a'), [frameOf(4)]);
});

test('tick sends IHAVE frames whose ids unpack to what was queued, split at ihaveIdsMax, each a valid message', () => {
  const { r, port } = relayWith(['lazy', 'eager'], { ihaveIdsMax: 3 });
  r.relay(hexId(100), A, frameOf(100), null, none, 0);
  r.tick(0);
  r.onPrune('lazy', prune(keyA));
  const ids = [1, 2, 3, 4].map(hexId);
  for (const [i, id] of ids.entries()) r.relay(id, A, frameOf(i), null, none, 0);
  port.clear();
  r.tick(0);
  assert.ok(port.msgs.every((m) => m.peer === 'lazy' && m.msg.t === 'ihave'));
  const batches = port.msgs.map((m) => unpackIds((decodeMessage(m.msg) as IhaveMessage).ids));
  assert.equal(batches, [ids.slice(0, 3), ids.slice(3)]);
  assert.is(r.counters.ihaveFrames, 2);
});

test('an announced id is asked for by GRAFT once graftTimeoutMs passes, unless it arrived; the link joins the tree when it comes', () => {
  // the single tree: a first copy makes its link eager both ways
  const { r, port } = relayWith(['a', 'b'], { treeRedundancy: 1 });
  r.relay(hexId(100), A, frameOf(100), null, none, 0);
  r.onPrune('a', prune(keyA));
  r.onIhave('a', ihave([hexId(1), hexId(2)]), 0, () => false);
  r.relay(hexId(2), A, frameOf(2), 'b', new Set(['b']), 10);
  port.clear();
  const grafts = (): Array<{ peer: string; msg: Message }> => port.msgs.filter((m) => m.msg.t === 'graft');
  r.tick(plumtreeDefaults.graftTimeoutMs - 1);
  assert.equal(grafts(), []);
  r.tick(plumtreeDefaults.graftTimeoutMs);
  assert.is(grafts().length, 1);
  assert.is(grafts()[0]!.peer, 'a');
  assert.equal(unpackIds((grafts()[0]!.msg as GraftMessage).ids), [hexId(1)]);
  assert.is(r.counters.graftFrames, 1);
  assert.not.ok(r.tree.isEager('a', A), 'asking alone does not make the link eager');
  r.relay(hexId(1), A, frameOf(1), 'a', new Set(['a']), plumtreeDefaults.graftTimeoutMs + 5);
  assert.ok(r.tree.isEager('a', A), 'the answer over it does');
});

test('a GRAFT is answered from the store; unknown and expired ids are counted, not sent', () => {
  const { r, port } = relayWith(['a', 'b'], { recentFramesTtlMs: 1000 });
  r.relay(hexId(1), A, frameOf(1), null, none, 0);
  r.relay(hexId(2), A, frameOf(2), null, none, 500);
  r.onPrune('b', prune(keyA));
  port.clear();
  r.onGraft('b', graft([hexId(1), hexId(2), hexId(3)]), 1000);
  assert.equal(port.framesTo('b'), [frameOf(2)], 'id 1 expired exactly at its time-to-live, id 3 was never held');
  assert.is(r.counters.graftServed, 1);
  assert.is(r.counters.graftUnknown, 2);
  assert.ok(r.tree.isEager('b', A), 'the grafting peer rejoins the tree');
});

test('a served GRAFT makes the peer eager in the tree of each served frame\'s origin only; ids not served change no tree', () => {
  const { r } = relayWith(['a', 'b'], { graftServePerSec: 1 });
  r.relay(hexId(1), A, frameOf(1), null, none, 0);
  r.relay(hexId(2), B, frameOf(2), null, none, 0);
  r.onPrune('b', prune(keyA));
  r.onPrune('b', prune(keyB));
  r.onGraft('b', graft([hexId(9)]), 0);
  assert.ok(!r.tree.isEager('b', A) && !r.tree.isEager('b', B), 'an unknown id grafts nothing');
  r.onGraft('b', graft([hexId(2), hexId(1)]), 0);
  assert.is(r.counters.graftServed, 1, 'the serve limit (1 per second) lets only the first through');
  assert.ok(r.tree.isEager('b', B), "B's frame was served: b rejoins B's tree");
  assert.not.ok(r.tree.isEager('b', A), "A's frame was refused: b stays out of A's tree");
});

test('GRAFT serving is limited per peer: exactly graftServePerSec at once, then one more per 1/rate seconds', () => {
  const rate = 10;
  const { r, port } = relayWith(['a', 'b'], { graftServePerSec: rate });
  const ids = Array.from({ length: 3 * rate }, (_, i) => hexId(i + 1));
  ids.forEach((id, i) => r.relay(id, A, frameOf(i), null, none, 0));
  port.clear();
  r.onGraft('a', graft(ids), 0);
  assert.is(port.framesTo('a').length, rate, 'the burst is exactly graftServePerSec');
  assert.is(r.counters.graftRefused, 2 * rate);
  r.onGraft('a', graft(ids.slice(0, 1)), 1000 / rate - 1);
  assert.is(port.framesTo('a').length, rate, 'nothing refills before 1/rate seconds');
  r.onGraft('a', graft(ids.slice(0, 2)), 1000 / rate);
  assert.is(port.framesTo('a').length, rate + 1, 'one token refilled after 1/rate seconds');
  r.onGraft('b', graft(ids.slice(0, rate)), 1000 / rate);
  assert.is(port.framesTo('b').length, rate, 'another peer has its own limit');
  r.onGraft('a', graft(ids), 1000 / rate + 10_000);
  assert.is(port.framesTo('a').length, 2 * rate + 1, 'after a long pause the bucket holds the burst, no more');
  assert.is(r.counters.graftServed, 3 * rate + 1);
});

test('the serve limit is per connection: an exhausted bucket stays empty, a reconnected peer starts full', () => {
  const rate = 2;
  const { r, port } = relayWith(['a'], { graftServePerSec: rate });
  const ids = [1, 2, 3].map(hexId);
  ids.forEach((id, i) => r.relay(id, A, frameOf(i), null, none, 0));
  port.clear();
  r.onGraft('a', graft(ids), 0);
  assert.is(port.framesTo('a').length, rate);
  r.onGraft('a', graft(ids), 0);
  assert.is(port.framesTo('a').length, rate, 'an exhausted bucket serves nothing more at the same time');
  r.peerDown('a');
  r.peerUp('a');
  r.onGraft('a', graft(ids), 0);
  assert.is(port.framesTo('a').length, 2 * rate, 'a new connection starts with a full bucket');
});

test('a broadcast flood does not push a validator\'s outcome out before it is announced or asked for: outcomes are kept apart', () => {
  // The default store holds 4 MiB; four broadcasts of the largest frame (1 MiB) fill it. Shared, anyone with a
  // key could push every outcome out of every node's store within one IHAVE flush, and a node that lost its
  // eager feed of an outcome could then neither hear of it nor get it (tick announces only frames held).
  const { r, port } = relayWith(['a', 'b', 'c']);
  r.relay(hexId(1), A, frameOf(1), 'a', new Set(['a']), 0, 'outcome');
  r.onPrune('b', prune(keyA));
  r.tick(0);
  port.clear();
  const outcome = hexId(2);
  r.relay(outcome, A, frameOf(2), 'a', new Set(['a']), 10, 'outcome');
  const big = Buffer.alloc(1024 * 1024 - 64, 7);
  for (let i = 0; i < 5; i++) r.relay(hexId(100 + i), B, big, 'a', new Set(['a']), 20 + i);
  port.clear();
  r.tick(100);
  const announced = port.msgs.filter((m) => m.peer === 'b' && m.msg.t === 'ihave').flatMap((m) => unpackIds((m.msg as IhaveMessage).ids));
  assert.ok(announced.includes(outcome), 'the lazy peer hears of the outcome');
  port.clear();
  r.onGraft('c', graft([outcome]), 300);
  assert.equal(port.frames.map((f) => [f.peer, f.type, f.frame.toString()]), [['c', 'outcome', 'frame 2']], 'and a GRAFT for it is served, as an outcome');
});

/** What a relay's frame of `n` costs in the write queues: its sealed size. */
const sealedOf = (n: number): number => sealedFrameBytes(frameOf(n).byteLength);
/** The ids each peer was announced at a flush, by peer. */
const announcedAt = (port: FakePort): Map<string, string[]> => {
  const out = new Map<string, string[]>();
  for (const { peer, msg } of port.msgs) if (msg.t === 'ihave') out.set(peer, [...(out.get(peer) ?? []), ...unpackIds(msg.ids)]);
  return out;
};

test('writeQueuedBytesTotalMax: full frames go to the eager peers while they fit the room exactly; one byte less, a peer with bytes queued hears the id (IHAVE) instead, and one with nothing queued still gets the frame', () => {
  const { r, port } = relayWith(['a', 'b', 'c']);
  for (const p of ['a', 'b', 'c']) port.queued.set(p, 1);
  port.room = 3 * sealedOf(1);
  assert.is(r.relay(hexId(1), A, frameOf(1), null, none, 0), 3, 'room for exactly three frames: three sent');
  port.clear();
  port.room = 3 * sealedOf(2) - 1;
  assert.is(r.relay(hexId(2), A, frameOf(2), null, none, 0), 2, 'one byte short of three frames: the third does not fit');
  assert.equal(port.frames.map((f) => f.peer), ['a', 'b']);
  assert.is(r.counters.eagerDeferred, 1);
  assert.ok(r.tree.isEager('c', A), 'the tree is left as it was');
  r.tick(0);
  assert.equal([...announcedAt(port)], [['c', [hexId(2)]]], 'c hears the id at the next flush, and no one else');
  port.clear();
  port.queued.set('c', 0);
  port.room = 0;
  assert.is(r.relay(hexId(3), A, frameOf(3), null, none, 0), 1, 'no room at all');
  assert.equal(port.frames.map((f) => f.peer), ['c'], 'the peer with nothing queued still gets the frame: slow peers do not make every link lazy');
  assert.is(r.counters.eagerDeferred, 3);
});

test('writeQueuedBytesTotalMax: a GRAFT is answered while the frame fits the room, held (announced again, the serve limit untouched) when it does not, and answered once there is room', () => {
  const { r, port } = relayWith(['a', 'b'], { graftServePerSec: 1 });
  r.relay(hexId(1), A, frameOf(1), null, none, 0);
  port.clear();
  port.queued.set('b', 1);
  port.room = sealedOf(1) - 1;
  r.onGraft('b', graft([hexId(1)]), 10);
  assert.equal(port.framesTo('b'), [], 'no room: not sent');
  assert.equal([r.counters.graftHeld, r.counters.graftServed, r.counters.graftRefused], [1, 0, 0]);
  r.tick(10);
  assert.equal([...announcedAt(port)], [['b', [hexId(1)]]], 'announced again, so b asks again later');
  port.room = sealedOf(1);
  r.onGraft('b', graft([hexId(1)]), 20);
  assert.equal(port.framesTo('b'), [frameOf(1)], 'room for exactly the frame: served, with the one token of the serve limit the held answer did not take');
  assert.equal([r.counters.graftHeld, r.counters.graftServed], [1, 1]);
});

test('writeQueuedBytesTotalMax: in flood mode (no IHAVE to fall back on) the room is not consulted', () => {
  const { r, port } = relayWith(['a', 'b'], { gossipMode: 'flood' });
  port.queued.set('a', 1).set('b', 1);
  port.room = 0;
  assert.is(r.relay(hexId(1), A, frameOf(1), null, none, 0), 2);
  assert.is(r.counters.eagerDeferred, 0);
});

test('peerDown removes the peer from every tree', () => {
  const { r } = relayWith(['a', 'b']);
  r.relay(hexId(100), A, frameOf(100), null, none, 0);
  r.onPrune('a', prune(keyA));
  r.peerDown('a');
  assert.equal(r.tree.sizes, { peers: 1, origins: 1, eager: 1, lazy: 0, missing: 0 });
  assert.equal(r.relay(hexId(1), B, frameOf(1), null, none, 0), 1);
});

test('frameBytesMax: IHAVE and GRAFT batch sizes must fit one frame; the largest that fits is accepted and sent', () => {
  // the body of a full batch, for the largest id count it allows
  const bodyOf = (t: 'ihave' | 'graft', n: number): number => encodeBody({ t, ids: new Uint8Array(n * HASH_BYTES) }).byteLength;
  const frameBytesMax = bodyOf('ihave', 100);
  let sentOk = 0;
  const port: RelayPort = {
    sendFrame: () => true,
    // like the node: encoding above frameBytesMax throws ERR_FRAME_TOO_LARGE
    send: (_peer, msg) => (encodeFrame(msg, frameBytesMax), ++sentOk > 0),
  };
  const r = new BroadcastRelay({ frameBytesMax, ihaveIdsMax: 100, graftIdsMax: 100 }, port);
  r.peerUp('lazy');
  r.relay(hexId(1000), A, frameOf(1000), null, none, 0);
  r.onPrune('lazy', prune(keyA));
  for (let i = 0; i < 100; i++) r.relay(hexId(i), A, frameOf(i), null, none, 0);
  r.tick(0);
  assert.is(sentOk, 1, 'one IHAVE of exactly the limit was encoded and sent');
  const unset = new BroadcastRelay({ frameBytesMax }, port).tree.settings;
  assert.equal([unset.ihaveIdsMax, unset.graftIdsMax], [100, plumtreeDefaults.graftIdsMax], 'left unset, a batch size defaults to what fits');
  const roomy = new BroadcastRelay({}, port).tree.settings;
  assert.equal([roomy.ihaveIdsMax, roomy.graftIdsMax], [plumtreeDefaults.ihaveIdsMax, plumtreeDefaults.graftIdsMax]);
  for (const k of ['ihaveIdsMax', 'graftIdsMax'] as const) {
    const t = k === 'ihaveIdsMax' ? 'ihave' : 'graft';
    try {
      new BroadcastRelay({ frameBytesMax, ihaveIdsMax: 100, graftIdsMax: 100, [k]: 101 }, port);
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'));
      assert.is((e as Error).message, `options.${k} must be at most 100, so that one ${t} fits in options.frameBytesMax (${frameBytesMax} bytes)`);
      assert.ok(bodyOf(t, 101) > frameBytesMax, 'the refused size really would not fit');
      continue;
    }
    assert.unreachable(`${k} of 101 accepted with frameBytesMax ${frameBytesMax}`);
  }
});

const invalid: [string, unknown, string][] = [
  ['not an object', 'x', 'options must be an object'],
  ['graftServePerSec', { graftServePerSec: 0 }, 'options.graftServePerSec must be a positive number'],
  ['graftServePerSec NaN', { graftServePerSec: NaN }, 'options.graftServePerSec must be a positive number'],
  ['a tree option', { graftTimeoutMs: 0 }, 'options.graftTimeoutMs must be a positive integer'],
  ['a store option', { recentFramesMax: 0 }, 'options.recentFramesMax must be a positive integer'],
  ['frameBytesMax', { frameBytesMax: 0 }, 'options.frameBytesMax must be a positive integer'],
  ['newOriginEagerPeersMax', { newOriginEagerPeersMax: 0 }, 'options.newOriginEagerPeersMax must be a positive integer'],
  ['newOriginLazyFrameBytesMin', { newOriginLazyFrameBytesMin: 1.5 }, 'options.newOriginLazyFrameBytesMin must be a positive integer'],
  ['a frame too small for one id', { frameBytesMax: 40 }, 'options.frameBytesMax must be at least 48, so that one ihave fits'],
];

test('defaults, and every invalid option is refused with a message naming it', () => {
  assert.is(broadcastRelayDefaults.graftServePerSec, 2000);
  assert.is(broadcastRelayDefaults.newOriginEagerPeersMax, 4);
  assert.is(broadcastRelayDefaults.newOriginLazyFrameBytesMin, 16 * 1024);
  assertAllRefused(invalid, (options) => new BroadcastRelay(options as BroadcastRelayOptions, new FakePort()));
});

test('writeQueuedBytesTotalMax: an outcome is a consensus frame, never held for room: sent in full to every eager peer, and a GRAFT for it answered, with no room at all', () => {
  const { r, port } = relayWith(['a', 'b']);
  port.queued.set('a', 1).set('b', 1);
  port.room = 0;
  assert.is(r.relay(hexId(1), A, frameOf(1), null, none, 0, 'outcome'), 2);
  assert.is(r.counters.eagerDeferred, 0);
  assert.is(r.relay(hexId(2), A, frameOf(2), null, none, 0), 0, 'a broadcast beside it is deferred');
  port.clear();
  r.onGraft('b', graft([hexId(1)]), 10);
  assert.equal(port.frames.map((f) => [f.peer, f.type]), [['b', 'outcome']]);
  assert.is(r.counters.graftHeld, 0);
});

test('newOriginEagerPeersMax: a first broadcast of a new origin from newOriginLazyFrameBytesMin bytes goes in full to exactly that many peers, its id to the rest; one byte smaller, to all', () => {
  const peers = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const bytesMin = 1000;
  const options = { newOriginEagerPeersMax: 3, newOriginLazyFrameBytesMin: bytesMin };
  const { r, port } = relayWith(peers, options);
  assert.is(r.relay(hexId(1), A, Buffer.alloc(bytesMin, 1), 'a', new Set(['a']), 0), 3, 'exactly newOriginEagerPeersMax full frames');
  const full = port.frames.map((f) => f.peer);
  assert.not.ok(full.includes('a'), 'never to the sender');
  assert.is(r.counters.newOriginAnnounced, 3, 'the other eager peers (all but the sender and the three) hear its id');
  r.tick(plumtreeDefaults.lazyFlushMs);
  const told = port.msgs.filter((m) => m.msg.t === 'ihave').map((m) => m.peer);
  assert.equal([...told].sort(), peers.filter((p) => p !== 'a' && !full.includes(p)).sort(), 'announced to every eager peer that got no frame');
  port.clear();
  r.onGraft(told[0]!, graft([hexId(1)]), 200);
  assert.equal(port.frames.map((f) => f.peer), [told[0]], 'and served to one that asks');

  port.clear();
  assert.is(r.relay(hexId(2), A, Buffer.alloc(bytesMin, 2), null, none, 300), peers.length, 'the origin has a tree now: its next broadcast goes to every eager peer');
  const { r: r2 } = relayWith(peers, options);
  assert.is(r2.relay(hexId(3), B, Buffer.alloc(bytesMin - 1, 3), null, none, 0), peers.length, 'a frame one byte below newOriginLazyFrameBytesMin goes to every peer');
  assert.is(r2.counters.newOriginAnnounced, 0);
  const { r: r3 } = relayWith(peers, options);
  assert.is(r3.relay(hexId(4), B, Buffer.alloc(bytesMin, 4), null, none, 0, 'outcome'), peers.length, 'an outcome, a consensus frame, goes to every eager peer');
});

test('newOriginEagerPeersMax: which peers get the full frame depends on the id, so first copies spread over the links; in flood mode every peer gets it', () => {
  const peers = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const options = { newOriginEagerPeersMax: 2, newOriginLazyFrameBytesMin: 10 };
  const chosen = new Set<string>();
  for (let i = 0; i < 16; i++) {
    const { r, port } = relayWith(peers, options);
    r.relay(toHex(new Uint8Array(32).fill(i * 17)), A, Buffer.alloc(10), null, none, 0);
    for (const f of port.frames) chosen.add(f.peer);
  }
  assert.is(chosen.size, peers.length, 'every peer is among the few for some id');
  const { r } = relayWith(peers, { ...options, gossipMode: 'flood' });
  assert.is(r.relay(hexId(1), A, Buffer.alloc(10), null, none, 0), peers.length, 'no IHAVE to fall back on in flood mode');
});

test.run();
