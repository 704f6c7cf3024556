/** A validator's own consensus signatures enter the cache when it signs, so they are never verified. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { createGenesis, genesisHash } from '../src/consensus/genesis.ts';
import { blockHash } from '../src/consensus/block.ts';
import { testKeys } from './sim/keys.ts';
import { buildChain, signedBytes, testNet } from './sim/chains.ts';

test('rememberOwn makes a chain carrying our signature cost one verification less', async () => {
  const keys = testKeys(4);
  const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), faults: 1, roundMs: 100, startMs: 0 });
  const net = testNet(genesis, keys);
  const consensus = { networkId: genesis.networkId, genesisHash: genesisHash(genesis), validatorKeys: keys.map((k) => k.publicKey) };
  const block = { miner: 1, t0: 3, ts: 0, payload: new Uint8Array([5]) };
  const chain = buildChain(net, block, [1, 0, 2]);
  const hash = blockHash(block);

  const plain = createMainThreadVerifier({ consensus });
  assert.equal(await plain.checkChain({ msg: chain, blockHash: hash, round: 2 }), { ok: true });
  assert.is(plain.stats().signaturesVerified, 3);

  const own = createMainThreadVerifier({ consensus });
  own.rememberOwn(0, signedBytes(net, block, hash), chain.sigs.subarray(64, 128));
  assert.equal(await own.checkChain({ msg: chain, blockHash: hash, round: 2 }), { ok: true });
  assert.is(own.stats().signaturesVerified, 2, 'our own signature was not verified');
  assert.is(own.stats().cacheHits, 1);

  // Remembering a signature for other bytes does not vouch for a different one.
  const wrong = createMainThreadVerifier({ consensus });
  wrong.rememberOwn(0, signedBytes(net, { ...block, payload: new Uint8Array([6]) }), chain.sigs.subarray(64, 128));
  await wrong.checkChain({ msg: chain, blockHash: hash, round: 2 });
  assert.is(wrong.stats().signaturesVerified, 3);
  await Promise.all([plain.close(), own.close(), wrong.close()]);
});

test.run();
