/**
 * Relay-rate bans (issue 16, item 3), on loopback: sybils that each stay under the per-peer message rate
 * make an honest relay V pass on more per second than its honest neighbour H allows one peer. H must not
 * ban V for it: over the rate, H stops reading V (backpressure) and still takes every broadcast.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import { fastOptions, sleep, stopAll, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';

test('an honest relay above its neighbour\'s per-peer message rate is slowed, never scored or banned, and loses nothing', async () => {
  const v = createNode({ ...fastOptions });
  const h = createNode({ ...fastOptions, peerMsgsPerSec: 100, peerMsgsBurst: 50, peerExchange: false });
  await v.start();
  await h.start();
  const sybils: RawPeer[] = [];
  try {
    await h.connect(`127.0.0.1:${v.listenPort}`);
    for (let i = 0; i < 3; i++) sybils.push(await RawPeer.handshake(v.listenPort));
    const offencesAtH: string[] = [];
    h.on('offence', (o) => offencesAtH.push(o.code));
    let delivered = 0;
    h.on('message', () => delivered++);
    // 3 sybils x 100 broadcasts in 1 s: 100/s each, 300/s through V to H, whose limit per peer is 100/s.
    const perSybil = 100;
    for (let burst = 0; burst < 10; burst++) {
      for (const s of sybils) for (let k = 0; k < 10; k++) s.send(s.gossip(burst * 10 + k + 1, `b${burst}-${k}`));
      await sleep(100);
    }
    await waitFor(() => delivered === 3 * perSybil, `H took every broadcast (${delivered})`, 8000);
    assert.equal(offencesAtH, [], 'H never scored V');
    assert.not.ok(h.isBanned(v.id), 'V is not banned');
    assert.ok(h.peerIds().includes(v.id), 'V is still H\'s peer');
    assert.ok(h.peers()[0]!.rateHolds > 0, 'H held V back to its rate');
  } finally {
    for (const s of sybils) s.close();
    await stopAll([v, h]);
  }
});

test.run();
