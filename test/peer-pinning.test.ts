/**
 * Dialing a peer whose id we know pins it: an address with an id (`ID@HOST:PORT`, a validator's address from
 * the genesis, an address a peer announced with its id) opens only if the node there proves that id in the
 * handshake. Without the pin, whoever answers at the address becomes the peer (a moved address, or one
 * announced for another node), which the encrypted channel alone does not prevent.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import { isStrongcastError } from '../src/errors.ts';
import { parsePeerAddress } from '../src/core/node-options.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { toHex } from '../src/bytes.ts';
import { fastOptions, sleep, stopAll, waitFor } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';
import { fromHex } from '../src/bytes.ts';
import { tcpTransport } from '../src/io/tcp-transport.ts';
import type { Transport } from '../src/io/transport.ts';

test('parsePeerAddress reads HOST:PORT and ID@HOST:PORT, and names what is wrong', () => {
  const id = 'ab'.repeat(32);
  assert.equal(parsePeerAddress('10.0.0.1:7001'), { host: '10.0.0.1', port: 7001, id: null });
  assert.equal(parsePeerAddress(`${id}@10.0.0.1:7001`), { host: '10.0.0.1', port: 7001, id });
  assert.equal(parsePeerAddress(`${id.toUpperCase()}@[::1]:7001`), { host: '::1', port: 7001, id }, 'hex in either case, IPv6 in brackets');
  for (const bad of [`${id.slice(2)}@h:1`, `zz${id.slice(2)}@h:1`, '@h:1', `${id}@h`]) {
    assert.throws(() => parsePeerAddress(bad), (e: unknown) => isStrongcastError(e, 'ERR_INVALID_OPTION') && (e as Error).message.includes(bad), bad);
  }
});

test('a dial pinned to an id opens with the node that proves it, and is refused with ERR_WRONG_PEER by another', async () => {
  const a = createNode({ ...fastOptions });
  const b = createNode({ ...fastOptions });
  try {
    await a.start();
    await b.start();
    const wrong = toHex(generateIdentity().publicKey);
    const err = await b.connect(`${wrong}@127.0.0.1:${a.listenPort}`).then(() => null, (e: unknown) => e);
    assert.ok(isStrongcastError(err, 'ERR_WRONG_PEER'), `refused as the wrong peer, got ${String(err)}`);
    assert.ok((err as Error).message.includes(wrong.slice(0, 16)), 'the error names the id expected');
    assert.is(b.peers().length, 0, 'nothing opened');
    assert.is(a.scoreOf(b.id), 0, 'a node that is not the one expected did nothing wrong: no score');
    const peer = await b.connect(`${a.id}@127.0.0.1:${a.listenPort}`);
    assert.is(peer.id, a.id, 'the right id opens');
  } finally {
    await stopAll([a, b]);
  }
});

test('a bootstrap peer pinned to another id is never kept, one with the right id is', async () => {
  const a = createNode({ ...fastOptions });
  await a.start();
  const wrong = toHex(generateIdentity().publicKey);
  const b = createNode({ ...fastOptions, peers: [`${wrong}@127.0.0.1:${a.listenPort}`] });
  const c = createNode({ ...fastOptions, peers: [`${a.id}@127.0.0.1:${a.listenPort}`] });
  try {
    await b.start();
    await c.start();
    await waitFor(() => c.peers().some((p) => p.id === a.id), 'c reaches a', 3000);
    assert.is(b.peers().length, 0, 'b never opens with a node that is not the one it was told of');
  } finally {
    await stopAll([a, b, c]);
  }
});

test('an address learned with an id is dialed pinned: announcing a node under another id opens nothing', async () => {
  const tcp = tcpTransport();
  const dials: string[] = [];
  const transport: Transport = { listen: (...a) => tcp.listen(...a), dial: (host, port, ms, done) => (dials.push(`${host}:${port}`), tcp.dial(host, port, ms, done)) };
  const target = createNode({ ...fastOptions });
  const other = createNode({ ...fastOptions });
  const v = createNode({ ...fastOptions, transport, maintainIntervalMs: 100 });
  await target.start();
  await other.start();
  await v.start();
  const raw = await RawPeer.handshake(v.listenPort);
  const at = `127.0.0.1:${target.listenPort}`;
  try {
    await raw.waitFor((m) => m.t === 'getpeers');
    const asks = () => raw.received.filter((m) => m.t === 'getpeers').length;
    const asked = asks();
    raw.send({ t: 'peers', addrs: [{ id: generateIdentity().publicKey, host: '127.0.0.1', port: target.listenPort }] });
    await waitFor(() => dials.includes(at), 'v dials the address', 3000);
    await sleep(300);
    assert.not.ok(v.peers().some((p) => p.id === target.id), 'the node at the address proved another id: not kept');
    // v asks again (it is below targetPeers); this time an address comes with the id of the node there.
    await waitFor(() => asks() > asked, 'v asks again', 3000);
    raw.send({ t: 'peers', addrs: [{ id: fromHex(other.id), host: '127.0.0.1', port: other.listenPort }] });
    await waitFor(() => v.peers().some((p) => p.id === other.id), 'announced with its own id, it opens', 3000);
  } finally {
    raw.close();
    await stopAll([v, target, other]);
  }
});

test.run();
