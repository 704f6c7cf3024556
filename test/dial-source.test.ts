/**
 * A node listening on one specific address dials from it, so the address its peers see (and count per IP
 * and per network group, and tell others of) is the one it listens on. On a wildcard listen, or toward an
 * address it could not reach from there (loopback to elsewhere, another family), the system picks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import { dialSourceFor } from '../src/io/tcp-transport.ts';
import { fastOptions, stopAll, waitFor } from './helpers/net.ts';

test('a node listening on 127.0.0.7 reaches a peer from 127.0.0.7', async () => {
  const b = createNode({ ...fastOptions, host: '127.0.0.1' });
  await b.start();
  const a = createNode({ ...fastOptions, host: '127.0.0.7', peers: [`127.0.0.1:${b.listenPort}`] });
  try {
    await a.start();
    await waitFor(() => b.peers().some((p) => p.id === a.id), 'a connects to b', 3000);
    const seen = b.peers().find((p) => p.id === a.id)!;
    assert.match(seen.addr, /^127\.0\.0\.7:/, `b sees a from ${seen.addr}`);
  } finally {
    await stopAll([a, b]);
  }
});

test('the source address is the listen host only where it can reach the destination', () => {
  assert.is(dialSourceFor('10.1.2.3', '8.8.8.8'), '10.1.2.3', 'a specific IPv4 address, to any IPv4 destination');
  assert.is(dialSourceFor('127.0.0.7', '127.0.0.1'), '127.0.0.7', 'loopback to loopback');
  assert.is(dialSourceFor('127.0.0.7', '10.0.0.2'), undefined, 'loopback cannot reach another host');
  assert.is(dialSourceFor('0.0.0.0', '10.0.0.2'), undefined, 'a wildcard listen: the system picks');
  assert.is(dialSourceFor('::', '::1'), undefined);
  assert.is(dialSourceFor('10.1.2.3', '::1'), undefined, 'another family');
  assert.is(dialSourceFor('10.1.2.3', 'node.example'), undefined, 'a name: its family is not known yet');
  assert.is(dialSourceFor('', '10.0.0.2'), undefined);
});

test.run();
