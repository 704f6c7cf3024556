/**
 * Eclipse by a full peer table (issue 16, item 2), on loopback with sybils from other 127.x network groups:
 * outbound slots are reserved, and a full table lets an inbound newcomer in by evicting an inbound peer,
 * chosen as Bitcoin Core does (protected: some by group, lowest ping, latest useful delivery, age).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import type { StrongcastNode } from '../src/core/node.ts';
import { fastOptions, stopAll, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';

/**
 * `n` sybils that try to complete the handshake with `port` and answer pings, from `groups` 127.g network
 * groups; those the node accepted.
 */
async function sybils(port: number, n: number, groups: number): Promise<RawPeer[]> {
  const out: RawPeer[] = [];
  for (let i = 0; i < n; i++) {
    const p = await RawPeer.handshake(port, 'strongcast-test', undefined, {}, `127.${10 + (i % groups)}.0.${1 + i}`).catch(() => null);
    if (p) out.push(p.answerPings());
  }
  return out;
}

async function victim(): Promise<StrongcastNode> {
  // 8 slots, 2 of them reserved for our own dials (the default quarter); pings often, so round trips are known.
  const v = createNode({ ...fastOptions, maxPeers: 8, targetPeers: 2, pingIntervalMs: 100, peerExchange: false });
  await v.start();
  return v;
}

test('sybils that fill every inbound slot do not keep out a restarted honest node, nor an honest peer that was useful', async () => {
  const v = await victim();
  const h1 = createNode({ ...fastOptions, peerExchange: false });
  const h2 = createNode({ ...fastOptions, peerExchange: false });
  await h1.start();
  await h2.start();
  let attackers: RawPeer[] = [];
  try {
    await h1.connect(`127.0.0.1:${v.listenPort}`);
    const { id } = await h1.broadcast('chat', 'useful');
    await waitFor(() => v.counters.delivered === 1, `the victim took ${id.slice(0, 8)} from h1`);
    attackers = await sybils(v.listenPort, 12, 3);
    await waitFor(() => v.peers().length >= 6, 'the inbound share (8 - 2 reserved) is full');
    const started = Date.now();
    await h2.connect(`127.0.0.1:${v.listenPort}`);
    await waitFor(() => v.peerIds().includes(h2.id), 'the victim opened its side too', 2000);
    assert.ok(Date.now() - started < 2000, `joined in ${Date.now() - started} ms`);
    assert.ok(v.peerIds().includes(h1.id), 'the honest peer that brought a broadcast was not evicted');
    assert.ok(v.peers().length <= 6, 'inbound peers stay within their share');
    assert.ok(v.evictions >= 1);
  } finally {
    for (const a of attackers) a.close();
    await stopAll([v, h1, h2]);
  }
});

test('with every inbound slot held by sybils, the victim still dials out to an honest node (reserved outbound slots)', async () => {
  const v = await victim();
  const h = createNode({ ...fastOptions, peerExchange: false });
  await h.start();
  let attackers: RawPeer[] = [];
  try {
    attackers = await sybils(v.listenPort, 10, 1);
    await waitFor(() => v.peers().length >= 6, 'the inbound share is full');
    assert.is(v.peers().length, 6, 'inbound peers hold 8 - 2 reserved slots');
    const info = await v.connect(`127.0.0.1:${h.listenPort}`);
    assert.is(info.id, h.id);
    assert.ok(info.outbound);
    assert.is(v.peers().length, 7);
  } finally {
    for (const a of attackers) a.close();
    await stopAll([v, h]);
  }
});

test.run();
