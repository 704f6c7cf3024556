/**
 * A man in the middle on loopback, between two real nodes: node b dials a relay that forwards to node a. The
 * relay flips one byte of a sealed frame, replays one, or only records; and a man in the middle that ends the
 * handshake itself cannot pass for a. Real sockets, short timeouts, teardown that always runs.
 */
import { createServer, type Server } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type StrongcastNode } from '../src/core/node.ts';
import { createNode } from '../src/create-node.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { isStrongcastError } from '../src/errors.ts';
import { toHex } from '../src/bytes.ts';
import { fastOptions, recordDeliveries, sleep, stopAll, waitFor } from './helpers/net.ts';
import { MitmRelay, type FrameHook } from './helpers/mitm-relay.ts';
import { RawPeer } from './helpers/raw-peer.ts';
import { SecureSession, type SecureSessionOptions } from './helpers/secure-session.ts';

/** Handshake frames of the dialer: its first and its last message; every later frame is sealed. */
const dialerHandshakeFrames = 2;
/** A frame this large from the dialer, after the handshake, is the broadcast (pings and tree messages are smaller). */
const broadcastFrameBytesMin = 300;
const text = (tag: string): string => `${tag}: ${'the quick brown fox jumps over the lazy dog, '.repeat(8)}`;

async function node(): Promise<StrongcastNode> {
  const n = createNode({ ...fastOptions });
  await n.start();
  return n;
}

/** Nodes a and b, with b connected to a through a relay applying `hook`. */
async function throughRelay(hook: FrameHook): Promise<{ a: StrongcastNode; b: StrongcastNode; relay: MitmRelay; offencesAtA: string[] }> {
  const a = await node();
  const b = await node();
  const relay = await MitmRelay.start(a.listenPort, hook);
  const offencesAtA: string[] = [];
  a.on('offence', (o) => void offencesAtA.push(o.code));
  await b.connect(`127.0.0.1:${relay.port}`);
  await waitFor(() => a.peers().length === 1, 'a sees b');
  return { a, b, relay, offencesAtA };
}

/** The dialer's first sealed broadcast frame, matched by size. */
const isBroadcast = (frame: Buffer, index: number, dir: string): boolean => dir === 'toTarget' && index >= dialerHandshakeFrames && frame.length >= broadcastFrameBytesMin;

test('a byte flipped in a sealed frame: the receiver closes that connection with ERR_BAD_CIPHERTEXT and delivers nothing of it', async () => {
  let flipped = 0;
  const { a, b, relay, offencesAtA } = await throughRelay((frame, index, dir) => {
    if (flipped > 0 || !isBroadcast(frame, index, dir)) return [frame];
    flipped++;
    const bad = Buffer.from(frame);
    bad[bad.length - 40]! ^= 0x01; // inside the ciphertext, not the length
    return [bad];
  });
  try {
    const seen = recordDeliveries([a]);
    const { id } = await b.broadcast('chat', text('tampered'));
    await waitFor(() => offencesAtA.includes('ERR_BAD_CIPHERTEXT'), 'a scores b for the frame that does not authenticate');
    await waitFor(() => a.peers().length === 0 && b.peers().length === 0, 'the connection is closed on both ends');
    assert.is(flipped, 1);
    await sleep(100);
    assert.not.ok(seen.ids[0]!.includes(id), 'the tampered broadcast is not delivered');
    assert.is(seen.ids[0]!.length, 0, 'nothing delivered');
  } finally {
    relay.close();
    await stopAll([a, b]);
  }
});

test('a sealed frame replayed: the copy closes the connection with ERR_BAD_CIPHERTEXT; the original is delivered once', async () => {
  let replayed = 0;
  const { a, b, relay, offencesAtA } = await throughRelay((frame, index, dir) => {
    if (replayed > 0 || !isBroadcast(frame, index, dir)) return [frame];
    replayed++;
    return [frame, frame];
  });
  try {
    const seen = recordDeliveries([a]);
    const { id } = await b.broadcast('chat', text('replayed'));
    await waitFor(() => offencesAtA.includes('ERR_BAD_CIPHERTEXT'), 'a refuses the replayed copy');
    await waitFor(() => a.peers().length === 0, 'a closed the connection');
    assert.equal(seen.ids[0], [id], 'the genuine frame delivered, once');
  } finally {
    relay.close();
    await stopAll([a, b]);
  }
});

test('an eavesdropper records every byte of a broadcast and its handshake: no payload text, no topic, no node id in them', async () => {
  const { a, b, relay } = await throughRelay((frame) => [frame]);
  try {
    const seen = recordDeliveries([a]);
    const payload = text('eavesdropped secret');
    const { id } = await b.broadcast('eavesdrop-topic', payload);
    await waitFor(() => seen.ids[0]!.includes(id), 'a delivered the broadcast through the relay');
    const { id: back } = await a.broadcast('eavesdrop-topic', payload);
    const seenB = recordDeliveries([b]);
    await waitFor(() => seenB.ids[0]!.includes(back), 'b delivered the answer');
    const wire = relay.allBytes();
    assert.ok(wire.length > 2 * payload.length, `the relay saw the traffic (${wire.length} bytes)`);
    assert.is(wire.indexOf(Buffer.from(payload)), -1, 'payload text on the wire');
    assert.is(wire.indexOf(Buffer.from('eavesdropped secret')), -1, 'a fragment of the payload on the wire');
    assert.is(wire.indexOf(Buffer.from('eavesdrop-topic')), -1, 'topic on the wire');
    // Noise XX sends static keys encrypted and the ids travel in encrypted payloads: a passive observer sees neither id.
    assert.is(wire.indexOf(Buffer.from(a.id, 'hex')), -1, "a's id on the wire");
    assert.is(wire.indexOf(Buffer.from(b.id, 'hex')), -1, "b's id on the wire");
  } finally {
    relay.close();
    await stopAll([a, b]);
  }
});

/** A listener that runs the handshake itself as `options` say (a man in the middle ending the channel). */
function impostor(options: Omit<SecureSessionOptions, 'initiator'>): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      const session = new SecureSession({ ...options, initiator: false });
      socket.on('data', (chunk: Buffer) => {
        const { out } = session.push(chunk);
        for (const o of out) socket.write(o);
      });
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

test("identity binding: a man in the middle with its own Noise key cannot pass for a, even holding a's genuine signature; with its own id it is seen as itself", async () => {
  const a = await node();
  const b = await node();
  const mitm = generateIdentity();
  // a's genuine signature over a's Noise static key, as a man in the middle could hold it.
  const probe = await RawPeer.handshake(a.listenPort);
  const stolen = probe.session!.peerProof!;
  probe.close();
  assert.is(toHex(stolen.publicKey), a.id);
  const liar = await impostor({ key: mitm, networkId: fastOptions.networkId!, local: { publicKey: Buffer.from(a.id, 'hex'), noiseStaticSig: stolen.signature } });
  const honest = await impostor({ key: mitm, networkId: fastOptions.networkId! });
  try {
    let refusal: unknown;
    await b.connect(`127.0.0.1:${liar.port}`).catch((e) => void (refusal = e));
    assert.ok(isStrongcastError(refusal, 'ERR_BAD_PROOF'), `b refuses the impostor: ${String(refusal)}`);
    assert.not.ok(b.peers().some((p) => p.id === a.id), 'b never counts a as a peer');
    const info = await b.connect(`127.0.0.1:${honest.port}`);
    assert.is(info.id, toHex(mitm.publicKey), 'the id b sees is the key the channel authenticates: the man in the middle');
    assert.is.not(info.id, a.id);
  } finally {
    liar.server.close();
    honest.server.close();
    await stopAll([a, b]);
  }
});

test.run();
