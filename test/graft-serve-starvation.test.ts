/**
 * GRAFT answers are bounded per peer only (graftServePerSec, graftServeBytesPerSec). A node-wide bound on
 * them (graftServeTotalBytesPerSec, 8 MiB/s, merged and then taken out the same day) let one Byzantine peer
 * spend the whole node-wide allowance by itself (its own allowance was as large), so an honest peer's GRAFT
 * of an honest broadcast was refused. A refused GRAFT gets no answer and its id is not announced again, so a
 * peer whose only announcer is this node asks once, waits graftRetryMs, finds no announcer left and gives
 * up: the broadcast was lost to it (15 of 15 honest 64-256 KiB broadcasts in this test).
 *
 * Two relays wired by hand: X holds an honest broadcast and announced it to H (H's only announcer); S, a
 * peer of X, asks X for a large frame X holds every millisecond. Time is virtual.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BroadcastRelay, packIds, type BroadcastRelayOptions } from '../src/gossip/broadcast-relay.ts';
import { HASH_BYTES, type GraftMessage } from '../src/wire/schema.ts';
import { toHex } from '../src/bytes.ts';
import { FakeRelayPort } from './helpers/fake-relay-port.ts';

const hexId = (n: number): string => n.toString(16).padStart(2 * HASH_BYTES, '0');
const graft = (ids: string[]): GraftMessage => ({ t: 'graft', ids: packIds(ids) });
const A = toHex(new Uint8Array(32).fill(0xa1));
const Z = toHex(new Uint8Array(32).fill(0x5b));
const none: ReadonlySet<string> = new Set();

interface Outcome {
  delivered: boolean;
  deliveredAtMs: number;
  gaveUp: number;
  servedToSybilBytes: number;
}

/**
 * X holds the honest broadcast (`honestBytes`) and a sybil broadcast of `sybilBytes`; H hears the honest id
 * from X only, at `announceAtMs`. With `sybil`, S GRAFTs its own `sybilBytes` frame every ms from t=0 (twice what X serves
 * node-wide, so X's burst is spent within a second and the bucket then stays below one frame). Runs 5 s.
 */
function run(honestBytes: number, sybil: boolean, announceAtMs: number, sybilBytes = 16 * 1024, options: BroadcastRelayOptions = {}): Outcome {
  const xPort = new FakeRelayPort();
  const x = new BroadcastRelay(options, xPort);
  for (const p of ['o', 's', 'h']) x.peerUp(p);
  const hPort = new FakeRelayPort();
  const h = new BroadcastRelay(options, hPort);
  h.peerUp('x');
  const honestId = hexId(1);
  const sybilId = hexId(2);
  // The honest broadcast came to X from 'o'; H is lazy for it here (skipped), so H hears only its id.
  x.relay(honestId, A, Buffer.alloc(honestBytes, 1), 'o', new Set(['o', 'h']), 0);
  x.relay(sybilId, Z, Buffer.alloc(sybilBytes, 2), 's', new Set(['s', 'o', 'h']), 0);
  let delivered = false;
  let deliveredAtMs = -1;
  let servedToSybilBytes = 0;
  const known = (id: string): boolean => delivered && id === honestId;
  for (let t = 0; t <= 5000; t++) {
    if (t === announceAtMs) h.onIhave('x', { t: 'ihave', ids: packIds([honestId]) }, t, known);
    if (sybil) x.onGraft('s', graft([sybilId]), t);
    if (t % 100 === 0) {
      hPort.clear();
      h.tick(t, known);
      // H's GRAFTs reach X at once (a delay of 0 is the honest peer's best case).
      for (const m of hPort.msgs) if (m.msg.t === 'graft') x.onGraft('h', m.msg, t);
    }
    for (const f of xPort.frames) {
      if (f.peer === 'h' && !delivered) {
        delivered = true;
        deliveredAtMs = t;
      }
      if (f.peer === 's') servedToSybilBytes += f.frame.byteLength;
    }
    xPort.clear();
  }
  return { delivered, deliveredAtMs, gaveUp: h.tree.counters.gaveUp, servedToSybilBytes };
}

test('control: with no sybil, a peer whose only announcer is X gets an honest 256 KiB broadcast by GRAFT', () => {
  const o = run(256 * 1024, false, 50);
  assert.ok(o.delivered, JSON.stringify(o));
  assert.is(o.gaveUp, 0);
});

test('one sybil GRAFTing a 16 KiB frame every ms (16 MiB/s asked) does not starve an honest peer\'s GRAFT of an honest 64-256 KiB broadcast at its only announcer', () => {
  const lost: string[] = [];
  for (const kib of [64, 128, 256]) {
    for (const at of [7, 33, 50, 81, 99]) {
      const o = run(kib * 1024, true, 1500 + at);
      if (!o.delivered) lost.push(`${kib} KiB announced at ${1500 + at} ms: gaveUp ${o.gaveUp}, sybil served ${(o.servedToSybilBytes / 2 ** 20).toFixed(1)} MiB in 5 s`);
    }
  }
  assert.equal(lost, [], `honest broadcasts lost to the honest peer:\n${lost.join('\n')}`);
});

test.run();
