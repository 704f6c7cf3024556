/**
 * The attack suite's attacker speaks the node's real protocol (bench/attack/attack-peer.ts): against a node
 * on loopback, its handshake is accepted and its sealed frames are read, a forged identity proof is refused,
 * a frame sealed behind the last handshake message is read, and a replayed first message gets an answer.
 * If the protocol drifted from what the attacker speaks, every attack would measure refusals instead.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AttackPeer } from '../bench/attack/attack-peer.ts';
import { encodeFrame } from '../src/wire/framing.ts';
import type { StrongcastNode } from '../src/core/node.ts';
import { startNodes, stopAll, waitFor } from './helpers/net.ts';

const networkId = 'strongcast-test';

test('a handshake is accepted, a sealed getpeers is answered, and the node counts the attacker as a peer', async () => {
  const [node] = await startNodes(1, () => []);
  const n = node as StrongcastNode;
  try {
    const p = await AttackPeer.open('127.0.0.1', n.listenPort, '127.16.0.9');
    const got: string[] = [];
    assert.ok(await p.handshake({ networkId, read: true, waitAccepted: true }), 'accepted');
    p.onMessage = (m) => void got.push(m.t);
    await waitFor(() => n.peers().length === 1, 'the node counts the attacker as a peer');
    assert.is(n.peers()[0]!.addr.split(':')[0], '127.16.0.9', 'from the address the attacker chose');
    assert.ok(p.send({ t: 'getpeers' }));
    await waitFor(() => got.includes('peers'), 'the node answers a sealed getpeers');
    p.close();
  } finally {
    await stopAll([n]);
  }
});

test('a forged identity proof is refused; a frame sealed behind it was read and nothing opened', async () => {
  const [node] = await startNodes(1, () => []);
  const n = node as StrongcastNode;
  const offences: string[] = [];
  n.on('offence', (o) => void offences.push(o.code));
  try {
    const p = await AttackPeer.open('127.0.0.1', n.listenPort);
    const sent = await p.handshake({ networkId, forgeProof: true, waitAccepted: false, behindLast: [encodeFrame({ t: 'getpeers' })] });
    assert.ok(sent, 'our last message and the frame behind it were written');
    assert.ok(await p.waitClosed(3000), 'the node closes the connection');
    assert.equal(offences, ['ERR_BAD_PROOF']);
    assert.is(n.peers().length, 0);
  } finally {
    await stopAll([n]);
  }
});

test('a replayed first handshake message is answered on every connection', async () => {
  const [node] = await startNodes(1, () => []);
  const n = node as StrongcastNode;
  try {
    const first = AttackPeer.firstMessage(networkId);
    for (let i = 0; i < 3; i++) {
      const p = await AttackPeer.open('127.0.0.1', n.listenPort);
      assert.ok(p.write(first));
      assert.ok(await p.waitAnswer(2000), `connection ${i} answered`);
      assert.ok(p.bytesIn > 0 && !p.closed, 'an answer, not a close');
      p.close();
    }
  } finally {
    await stopAll([n]);
  }
});

test.run();
