/**
 * Handshake slots on real sockets (issue 16, item 1): connections that never send a byte, or send a valid
 * first handshake message and then stall, from one IP, from many IPs of one network group, or from many
 * groups, cannot keep an honest node from joining; a connection that sends nothing is cut early; a timeout
 * marks its IP lightly, never bans it. Every 127.x.y.z address is loopback on Linux, so a client socket bound
 * to 127.0.0.2 or 127.3.0.1 models another IP or network group; the nodes here turn ipLimitsOnLoopback on,
 * since loopback is exempt from the per-IP and per-group caps by default.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StrongcastNode } from '../src/core/node.ts';
import { createNode } from '../src/create-node.ts';
import type { NodeOptions } from '../src/core/node-options.ts';
import { fastOptions, holdsFor, stopAll, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';
import { SecureSession } from './helpers/secure-session.ts';
import { generateIdentity } from '../src/crypto/keys.ts';

async function node(extra: NodeOptions = {}): Promise<StrongcastNode> {
  const n = createNode({ ...fastOptions, ...extra });
  await n.start();
  return n;
}

/** Long enough that no stalled connection times out during a test: what frees room is admission alone. */
const noTimeouts: NodeOptions = { handshakeTimeoutMs: 10_000, handshakeFirstMessageTimeoutMs: 10_000 };

type Behaviour = 'silent' | 'first message, then nothing';

/** Opens one connection per source address, each silent or sending a valid first handshake message only. */
async function flood(port: number, sources: string[], behaviour: Behaviour): Promise<RawPeer[]> {
  const peers: RawPeer[] = [];
  for (const from of sources) {
    const p = await RawPeer.open(port, generateIdentity(), from);
    if (behaviour !== 'silent') p.sendBytes(new SecureSession({ key: p.identity, networkId: 'strongcast-test', initiator: true }).start()[0]!);
    peers.push(p);
  }
  return peers;
}

const oneIp = Array.from({ length: 70 }, () => '127.0.0.2');
const oneGroup = Array.from({ length: 70 }, (_, i) => `127.0.1.${i + 1}`);
const tenGroups = Array.from({ length: 70 }, (_, i) => `127.${1 + (i % 10)}.0.${1 + Math.floor(i / 10)}`);

for (const behaviour of ['silent', 'first message, then nothing'] as const) {
  for (const [where, sources, held] of [['one IP', oneIp, 4], ['70 IPs of one network group', oneGroup, 16], ['70 IPs in ten network groups', tenGroups, 64]] as const) {
    test(`70 connections (${behaviour}) from ${where} hold at most ${held} handshake slots, and an honest node joins within 2 s`, async () => {
      const v = await node({ ...noTimeouts, ipLimitsOnLoopback: true });
      const honest = await node();
      let attackers: RawPeer[] = [];
      try {
        attackers = await flood(v.listenPort, sources, behaviour);
        await waitFor(() => v.handshakeCounters.refused + v.handshakeCounters.evicted + v.handshakingCount >= 70, 'every attacker connection taken or turned away');
        await waitFor(() => v.handshakingCount === held, `${held} attacker handshakes held`);
        const started = Date.now();
        await honest.connect(`127.0.0.1:${v.listenPort}`);
        assert.ok(Date.now() - started < 2000, `joined after ${Date.now() - started} ms`);
        await waitFor(() => v.peerIds().includes(honest.id), 'the victim opened its side too', 2000);
        assert.is(v.peers().length, 1, 'no attacker got further than its handshake');
        assert.is(v.handshakeCounters.timedOut, 0, 'room was made by admission, not by timeouts');
      } finally {
        for (const a of attackers) a.close();
        await stopAll([v, honest]);
      }
    });
  }
}

test('handshakesPendingPerIpMax and connectionsPerIpMax on sockets: at the cap the next connection from that IP is cut without a word, another IP still gets in', async () => {
  // Six connections from one IP within a second: its handshake rate is not what this test is about.
  const v = await node({ ...noTimeouts, ipLimitsOnLoopback: true, handshakesPendingPerIpMax: 2, connectionsPerIpMax: 3, handshakesPerIpPerSec: 1000 });
  const peers: RawPeer[] = [];
  try {
    peers.push(...(await flood(v.listenPort, ['127.0.0.9', '127.0.0.9'], 'silent')));
    await waitFor(() => v.handshakingCount === 2, 'two handshakes from one IP held');
    const third = (await flood(v.listenPort, ['127.0.0.9'], 'silent'))[0]!;
    peers.push(third);
    await third.waitClosed(2000);
    assert.equal(third.received, [], 'refused without a word: no handshake work spent on it');
    assert.is(v.handshakeCounters.refused, 1);
    // open connections count against connectionsPerIpMax (3), not against the pending share (2)
    peers[0]!.close();
    await waitFor(() => v.handshakingCount === 1, 'a pending slot freed');
    for (let i = 0; i < 2; i++) peers.push(await RawPeer.handshake(v.listenPort, 'strongcast-test', generateIdentity(), {}, '127.0.0.9'));
    assert.is(v.peers().length, 2, 'two handshakes within the IP\'s share completed beside its pending one');
    const fourth = (await flood(v.listenPort, ['127.0.0.9'], 'silent'))[0]!;
    peers.push(fourth);
    await fourth.waitClosed(2000);
    assert.is(v.handshakeCounters.refused, 2, 'two open and one pending from 127.0.0.9: a fourth connection is one too many');
    peers.push(...(await flood(v.listenPort, ['127.0.0.11'], 'silent')));
    await holdsFor(() => !peers.at(-1)!.closed, 200, 'another IP is not affected');
  } finally {
    for (const p of peers) p.close();
    await stopAll([v]);
  }
});

test('handshakesPerIpPerSec on sockets: an IP that closes its stalled handshakes and dials again starts handshakesPendingPerIpMax at once, then one a second; the rest are cut at once, with no connection made for them; another IP is not affected', async () => {
  const v = await node({ ...noTimeouts, ipLimitsOnLoopback: true, handshakesPendingPerIpMax: 4, handshakesPerIpPerSec: 1 });
  const peers: RawPeer[] = [];
  try {
    const started = Date.now();
    // Churn: each connection sends a first message and is closed before the next, so no share is ever full.
    for (let i = 0; i < 12; i++) {
      const [p] = await flood(v.listenPort, ['127.0.0.21'], 'first message, then nothing');
      peers.push(p!);
      await waitFor(() => v.handshakingCount > 0 || p!.closed, 'taken or cut');
      p!.close();
      await waitFor(() => v.handshakingCount === 0, 'gone');
    }
    const elapsedS = (Date.now() - started) / 1000;
    const { rateRefused } = v.handshakeCounters;
    const taken = 12 - rateRefused;
    assert.ok(taken >= 4 && taken <= 4 + Math.ceil(elapsedS), `${taken} of 12 started in ${elapsedS.toFixed(2)} s (a burst of 4, then 1 a second)`);
    assert.ok(peers.slice(taken).every((p) => p.received.length === 0), 'those refused got no handshake reply: no work spent on them');
    const other = (await flood(v.listenPort, ['127.0.0.22'], 'first message, then nothing'))[0]!;
    peers.push(other);
    await holdsFor(() => !other.closed, 200, 'another IP is not affected');
    await new Promise((r) => setTimeout(r, 1100));
    const later = (await flood(v.listenPort, ['127.0.0.21'], 'first message, then nothing'))[0]!;
    peers.push(later);
    await holdsFor(() => !later.closed, 200, 'a second later the IP may start one more');
  } finally {
    for (const p of peers) p.close();
    await stopAll([v]);
  }
});

test('handshakesPerIpPerSec counts only handshakes that do not complete: an IP whose handshakes complete connects again and again', async () => {
  const v = await node({ ...noTimeouts, ipLimitsOnLoopback: true, handshakesPendingPerIpMax: 2, handshakesPerIpPerSec: 1 });
  try {
    for (let i = 0; i < 6; i++) {
      const p = await RawPeer.handshake(v.listenPort, 'strongcast-test', generateIdentity(), {}, '127.0.0.23');
      await waitFor(() => v.peers().length === 1, `handshake ${i + 1} completed`);
      p.close();
      await waitFor(() => v.peers().length === 0, 'gone');
    }
    assert.is(v.handshakeCounters.rateRefused, 0, 'six whole handshakes within a second, with a burst of 2 and 1 a second');
  } finally {
    await stopAll([v]);
  }
});

test('a connection that sends nothing is cut after handshakeFirstMessageTimeoutMs; one that sent its first message waits for handshakeTimeoutMs', async () => {
  const v = await node({ handshakeTimeoutMs: 5000, handshakeFirstMessageTimeoutMs: 300 });
  const [silent, talker] = [...(await flood(v.listenPort, ['127.0.0.1'], 'silent')), ...(await flood(v.listenPort, ['127.0.0.1'], 'first message, then nothing'))];
  try {
    const started = Date.now();
    const r = await silent!.waitFor((m) => m.t === 'reject', 2000);
    assert.is(r.t === 'reject' && r.code, 'ERR_HANDSHAKE_TIMEOUT');
    assert.match(r.t === 'reject' ? r.reason : '', 'no first handshake message');
    assert.ok(Date.now() - started >= 250, 'not before the timeout');
    await holdsFor(() => !talker!.closed, 600, 'the connection that sent its first message is kept');
    assert.is(v.handshakingCount, 1);
  } finally {
    silent!.close();
    talker!.close();
    await stopAll([v]);
  }
});

test('a handshake timeout marks its IP for handshakeStrikeMs: one handshake at a time from it, never a ban, and an honest handshake from it still completes', async () => {
  const v = await node({ ipLimitsOnLoopback: true, handshakeTimeoutMs: 5000, handshakeFirstMessageTimeoutMs: 200, handshakeStrikeMs: 60_000 });
  const peers: RawPeer[] = [];
  try {
    const first = (await flood(v.listenPort, ['127.0.0.5'], 'silent'))[0]!;
    peers.push(first);
    await first.waitClosed(2000);
    await waitFor(() => v.handshakeCounters.timedOut === 1, 'the timeout counted');
    peers.push(...(await flood(v.listenPort, ['127.0.0.5', '127.0.0.5'], 'first message, then nothing')));
    await peers[2]!.waitClosed(2000);
    assert.not.ok(peers[1]!.closed, 'one handshake from the marked IP is held');
    assert.is(v.handshakeCounters.refused, 1, 'the second is refused');
    peers.push(...(await flood(v.listenPort, ['127.0.0.6', '127.0.0.6'], 'first message, then nothing')));
    await holdsFor(() => !peers[3]!.closed && !peers[4]!.closed, 200, 'an unmarked IP holds its usual share');
    peers[1]!.close();
    await waitFor(() => v.handshakingCount === 2, 'the marked IP\'s handshake gone');
    peers.push(await RawPeer.handshake(v.listenPort, 'strongcast-test', generateIdentity(), {}, '127.0.0.5'));
    assert.is(v.peers().length, 1, 'an honest handshake from the marked IP completes');
    assert.not.ok(v.isBanned('127.0.0.5'), 'a timeout never bans');
    assert.is(v.scoreOf('127.0.0.5'), 0, 'nor scores');
  } finally {
    for (const p of peers) p.close();
    await stopAll([v]);
  }
});

test('by default loopback is exempt from the per-IP caps: ten handshakes from 127.0.0.1 are all held (tests and testnets run many nodes on it)', async () => {
  const v = await node(noTimeouts);
  let peers: RawPeer[] = [];
  try {
    peers = await flood(v.listenPort, Array.from({ length: 10 }, () => '127.0.0.1'), 'silent');
    await waitFor(() => v.handshakingCount === 10, 'all ten held');
    assert.is(v.handshakeCounters.refused, 0);
  } finally {
    for (const p of peers) p.close();
    await stopAll([v]);
  }
});

test.run();
