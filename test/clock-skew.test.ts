/**
 * Real sockets, in-process validators whose clocks differ as separate machines' do (each validator and its
 * node read the wall clock plus an offset of its own). Regression for issue 13, bug 1: a miner whose clock
 * ran 40 ms ahead had its proposal refused by the other three as "instance starts in the future", scored
 * (ERR_BAD_CHAIN), and never sent again, so only the miner decided its block.
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

interface Net {
  nodes: StrongcastNode[];
  vs: Validator[];
  rejected: string[][];
  offences: string[][];
}

/** Four validators (f = 1, Δ = 300 ms) in a full mesh; validator i's clock reads wall time + offsetsMs[i]. */
async function startNet(offsetsMs: readonly number[], roundMs = 300): Promise<Net> {
  const ids = offsetsMs.map(() => generateIdentity());
  const genesis = createGenesis({ publicKeys: ids.map((i) => i.publicKey), faults: 1, roundMs, startMs: Date.now() + 200, networkId: 'skew-test' });
  const consensus = { networkId: genesis.networkId, genesisHash: genesisHash(genesis), validatorKeys: ids.map((i) => i.publicKey) };
  const net: Net = { nodes: [], vs: [], rejected: ids.map(() => []), offences: ids.map(() => []) };
  for (let i = 0; i < ids.length; i++) {
    const offset = offsetsMs[i]!;
    const now = () => Date.now() + offset;
    const verifier = createMainThreadVerifier({ consensus });
    const node = createNode({ ...fastOptions, networkId: genesis.networkId, identity: ids[i], verifier, peerExchange: false, now });
    await node.start();
    for (const other of net.nodes) await node.connect(`127.0.0.1:${other.listenPort}`);
    const v = new Validator({ node, genesis, identity: ids[i]!, verifier, now });
    v.on('rejected', (r) => net.rejected[i]!.push(`${r.code}: ${r.reason}`));
    node.on('offence', (o) => net.offences[i]!.push(o.code));
    v.start();
    net.nodes.push(node);
    net.vs.push(v);
  }
  await waitFor(() => net.nodes.every((n) => n.peers().length === ids.length - 1), 'full mesh');
  return net;
}

async function stopNet(net: Net): Promise<void> {
  for (const v of net.vs) v.stop();
  await stopAll(net.nodes);
}

/** Mines one block on `miner` and waits until every validator has decided it; returns each one's chain. */
async function mineEverywhere(net: Net, miner: number, text: string): Promise<string[]> {
  const mined = await net.vs[miner]!.mine(new TextEncoder().encode(text));
  const decided = net.vs.map(() => false);
  net.vs.forEach((v, i) =>
    v.on('decided', (d) => {
      if (d.instance.miner === mined.instance.miner && d.instance.t0 === mined.instance.t0) decided[i] = true;
    }),
  );
  await waitFor(() => decided.every(Boolean), `every validator decided ${miner}@${mined.instance.t0}`, 4000);
  return net.vs.map((v) => v.chain().map((b) => toHex(b.hash)).join(','));
}

test('a miner whose clock runs 40 ms ahead gets its block decided by every validator, and is not scored', async () => {
  const net = await startNet([40, 0, 0, 0]);
  try {
    const chains = await mineEverywhere(net, 0, 'early miner');
    assert.is(new Set(chains).size, 1, `identical chains: ${chains.join(' | ')}`);
    assert.is(net.vs[1]!.chain().length, 1, 'the block is in the chain');
    assert.equal(net.rejected.slice(1), [[], [], []], 'no honest chain refused');
    assert.equal(net.offences, [[], [], [], []], 'no honest peer scored');
  } finally {
    await stopNet(net);
  }
});

test('clocks spread both ways within the bound: a miner behind, one ahead, receivers on either side all agree', async () => {
  const net = await startNet([-35, 35, 0, -20]);
  try {
    for (const [miner, text] of [[0, 'miner behind'], [1, 'miner ahead']] as const) {
      const chains = await mineEverywhere(net, miner, text);
      assert.is(new Set(chains).size, 1, `identical chains after '${text}': ${chains.join(' | ')}`);
    }
    assert.is(net.vs[2]!.chain().length, 2, 'both blocks decided');
    assert.equal(net.offences, [[], [], [], []], 'no honest peer scored');
  } finally {
    await stopNet(net);
  }
});

test.run();
