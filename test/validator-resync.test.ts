/**
 * Real sockets, in-process validators: one is cut off while a block is decided without it; when it is back
 * it notices the outage, catches up the missed block, and its next blocks get the same heights as everyone's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type StrongcastNode } from '../src/core/node.ts';
import { createNode } from '../src/create-node.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { createGenesis, genesisHash } from '../src/consensus/genesis.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { Validator } from '../src/core/validator.ts';
import { toHex } from '../src/bytes.ts';
import { fastOptions, stopAll, waitFor } from './helpers/net.ts';

test('an isolated validator re-syncs the block it missed and stays on the same chain', async () => {
  const ids = Array.from({ length: 4 }, () => generateIdentity());
  const genesis = createGenesis({ publicKeys: ids.map((i) => i.publicKey), faults: 1, roundMs: 200, startMs: Date.now() + 400, networkId: 'resync-test' });
  const consensus = { networkId: genesis.networkId, genesisHash: genesisHash(genesis), validatorKeys: ids.map((i) => i.publicKey) };
  const nodes: StrongcastNode[] = [];
  const vs: Validator[] = [];
  const events: string[][] = ids.map(() => []);
  try {
    for (let i = 0; i < 4; i++) {
      const verifier = createMainThreadVerifier({ consensus });
      // Each node listens where the system puts it (port 0) and dials the ones started before it.
      const peers = nodes.map((n) => `127.0.0.1:${n.listenPort}`);
      const node = createNode({ ...fastOptions, port: 0, networkId: genesis.networkId, identity: ids[i], verifier, peerExchange: false, peers });
      await node.start();
      const v = new Validator({ node, genesis, identity: ids[i]!, verifier, syncIntervalMs: 100 });
      for (const ev of ['resync', 'caught-up', 'synced', 'decided'] as const) v.on(ev, () => events[i]!.push(ev));
      v.start();
      nodes.push(node);
      vs.push(v);
    }
    await waitFor(() => nodes.every((n) => n.peers().length === 3), 'full mesh');

    nodes[3]!.isolate(1500);
    await vs[0]!.mine(new TextEncoder().encode('while 3 is away'));
    await waitFor(() => vs.slice(0, 3).every((v) => v.chain().length === 1), 'first block on 0..2', 5000);
    assert.is(vs[3]!.chain().length, 0, 'the isolated validator did not get it');

    await waitFor(() => events[3]!.includes('resync') && events[3]!.includes('caught-up'), 'validator 3 re-synced', 8000);
    assert.ok(events[3]!.includes('synced'), 'the missed block came through catch-up');
    assert.equal(vs[3]!.chain().map((b) => toHex(b.hash)), vs[0]!.chain().map((b) => toHex(b.hash)));

    await vs[1]!.mine(new TextEncoder().encode('after the outage'));
    await waitFor(() => vs.every((v) => v.chain().length === 2), 'second block everywhere', 5000);
    const heads = vs.map((v) => `${v.chain()[1]!.height}:${toHex(v.chain()[1]!.hash)}`);
    assert.is(new Set(heads).size, 1, `same height and hash everywhere: ${heads.join(' ')}`);
  } finally {
    for (const v of vs) v.stop();
    await stopAll(nodes);
  }
});

test.run();
