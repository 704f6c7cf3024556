/**
 * The address book across a restart of a real data directory, on loopback: an address the node reached
 * stays tried, in the same bucket under the same key, so the tried table protects the start-up dials too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode } from '../src/create-node.ts';
import type { StrongcastNode } from '../src/core/node.ts';
import { keepPeersSaved, withDataDir } from '../src/cli/data.ts';
import type { DataDir } from '../src/store/data-dir.ts';
import { fastOptions, stopAll, waitFor } from './helpers/net.ts';

let root = '';

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'strongcast-book-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('an address the node reached stays tried across a restart of its data directory, under the same key', async () => {
  const dir = join(root, 'a');
  const nodes: StrongcastNode[] = [];
  const stores: DataDir[] = [];
  try {
    const reached = createNode({ ...fastOptions, peerExchange: false });
    nodes.push(reached);
    await reached.start();
    const first = await withDataDir(dir, fastOptions);
    stores.push(first.store);
    const a = createNode({ ...first.options, peers: [`127.0.0.1:${reached.listenPort}`] });
    nodes.push(a);
    const stopSaving = keepPeersSaved(a, first.store);
    await a.start();
    await waitFor(() => a.peerIds().includes(reached.id), 'the node reached its peer');
    assert.equal(a.addressBookSnapshot().entries.map((e) => `${e.port} ${e.table}`), [`${reached.listenPort} tried`]);
    await stopSaving();
    const before = a.addressBookSnapshot();
    await a.stop();
    await first.store.close();

    // The restart: the same directory, and no configured peers this time.
    const second = await withDataDir(dir, fastOptions);
    stores.push(second.store);
    const b = createNode(second.options);
    nodes.push(b);
    const after = b.addressBookSnapshot();
    assert.equal(after.entries.map((e) => `${e.port} ${e.table}`), [`${reached.listenPort} tried`], 'still tried');
    assert.equal(after, before, 'the same key, source, attempts and last success');
    // And it is where a restarted node dials first: it reaches the peer from the book alone.
    await b.start();
    await waitFor(() => b.peerIds().includes(reached.id), 'the restarted node reached its peer from the book');
  } finally {
    await stopAll(nodes);
    await Promise.allSettled(stores.map((s) => s.close()));
  }
});

test.run();
