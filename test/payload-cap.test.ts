/**
 * The block payload cap of a network, min(256 KiB, floor(4 MiB / n)) (consensus/payload-cap.ts), at its edge
 * in every pure place that applies it: the structural chain rules every verifier and the state machine share,
 * the state machine's own proposals, catch-up's blocks from peers, and the chain a validator loads from its
 * store. A payload exactly at the cap passes, one byte more does not, for several n.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blockHash } from '../src/consensus/block.ts';
import { CatchUp } from '../src/consensus/catch-up.ts';
import { checkChainStructure } from '../src/consensus/chain-rules.ts';
import { DolevStrong, type ConsensusAction } from '../src/consensus/dolev-strong.ts';
import { createGenesis, genesisHash } from '../src/consensus/genesis.ts';
import { blockPayloadBytesCap, roundPayloadBytesMax } from '../src/consensus/payload-cap.ts';
import { maskOf } from '../src/consensus/bitmask.ts';
import { prepareChain } from '../src/crypto/chain-check.ts';
import { schemaLimits, type WireChainBlock } from '../src/wire/schema.ts';
import { testKeys } from './sim/keys.ts';
import { createNode } from '../src/create-node.ts';
import { Validator } from '../src/core/validator.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { isStrongcastError } from '../src/errors.ts';

const kib = 1024;

test('the cap per n: 256 KiB up to 16 validators, then 4 MiB shared among them (the README table)', () => {
  assert.is(roundPayloadBytesMax, 4 * 1024 * kib);
  const table: Array<[number, number]> = [
    [1, 256 * kib],
    [4, 256 * kib],
    [16, 256 * kib],
    [17, 246_723],
    [32, 128 * kib],
    [64, 64 * kib],
    [128, 32 * kib],
    [1024, 4 * kib],
  ];
  for (const [n, cap] of table) assert.is(blockPayloadBytesCap(n), cap, `n = ${n}`);
  assert.is(blockPayloadBytesCap(schemaLimits.validatorsMax), 4 * kib, 'still a useful block at the largest n');
});

test('the chain rules take a payload exactly at the cap and refuse one byte more as ERR_BAD_CHAIN, whatever the round', () => {
  for (const n of [4, 17, 32, 64, 1024]) {
    const cap = blockPayloadBytesCap(n);
    const chain = (bytes: number) => ({ block: { miner: 1, t0: 9, ts: 0, payload: new Uint8Array(bytes) }, mask: maskOf(n, [1]), signers: [1] });
    assert.is(checkChainStructure(chain(cap), n, 1), null, `n = ${n}: ${cap} bytes`);
    const over = checkChainStructure(chain(cap + 1), n, 1);
    assert.is(over?.code, 'ERR_BAD_CHAIN', `n = ${n}: ${cap + 1} bytes`);
    assert.ok(over?.reason.includes(`block payload of ${cap + 1} bytes is above the cap of ${cap} bytes of a network of ${n} validators`), over?.reason);
  }
});

test("the verifier's main-thread half refuses a chain over the cap before any signature", () => {
  const n = 32;
  const keys = testKeys(n);
  const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId: 'cap', faults: 1, roundMs: 1000, startMs: 0 });
  const config = { networkId: 'cap', genesisHash: genesisHash(genesis), validatorKeys: keys.map((k) => k.publicKey) };
  const block = { miner: 1, t0: 3, ts: 0, payload: new Uint8Array(blockPayloadBytesCap(n) + 1) };
  const msg = { t: 'ds' as const, block, mask: maskOf(n, [1]), signers: [1], sigs: new Uint8Array(64), hops: 0 };
  const out = prepareChain(config, { msg, blockHash: blockHash(block), round: 1 });
  assert.ok('ok' in out && !out.ok && out.code === 'ERR_BAD_CHAIN' && out.reason.includes('above the cap'), JSON.stringify(out));
});

test('a miner proposes a payload exactly at the cap; one byte more is refused with ERR_PAYLOAD_TOO_LARGE, and nothing is sent', () => {
  for (const n of [4, 32, 64]) {
    const keys = testKeys(n);
    const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId: 'cap', faults: 1, roundMs: 1000, startMs: 10_000 });
    const d = new DolevStrong({ genesis, selfIndex: 0, sign: keys[0]!.sign });
    const cap = blockPayloadBytesCap(n);
    const T0 = 10_000 + 5 * 1000;
    const types = (actions: ConsensusAction[]) => actions.map((a) => a.type);
    const over = d.propose(new Uint8Array(cap + 1), 5, T0);
    assert.equal(types(over), ['rejected'], `n = ${n}`);
    const refused = over[0] as Extract<ConsensusAction, { type: 'rejected' }>;
    assert.is(refused.code, 'ERR_PAYLOAD_TOO_LARGE');
    assert.ok(refused.reason.includes(`above the cap of ${cap} bytes`), refused.reason);
    assert.equal(types(d.propose(new Uint8Array(cap), 5, T0)), ['send', 'proposed'], `n = ${n}: at the cap, in the same round`);
  }
});

test('catch-up refuses a peer segment holding a block one byte over the cap; at the cap it is taken', () => {
  const n = 64;
  const cap = blockPayloadBytesCap(n);
  const g = new Uint8Array(32);
  const segment = (bytes: number): WireChainBlock[] => {
    const first: WireChainBlock = { miner: 0, t0: 1, ts: 0, payload: new Uint8Array(10), height: 1, parent: g };
    return [first, { miner: 1, t0: 1, ts: 0, payload: new Uint8Array(bytes), height: 2, parent: blockHash(first) }];
  };
  const statement = (signer: number) => ({ signer, round: 9, height: 2, tip: g, digest: g, syncing: false, heldFrom: null, appendsFrom: null, sig: new Uint8Array(64) });
  const cu = new CatchUp({ n, faults: 1, k: 2, liveFromT0: 5, tip: { height: 0, hash: g, digest: g } });
  const refused = cu.onReply(statement(1), segment(cap + 1));
  assert.is(refused?.index, 1);
  assert.ok(refused?.reason.includes(`block at height 2: block payload of ${cap + 1} bytes is above the cap of ${cap} bytes`), refused?.reason);
  assert.is(cu.onReply(statement(2), segment(cap + 1))?.index, 1, 'a second signer, the same');
  assert.equal(cu.appendable(), [], 'no vouches: the segments were dropped');
  assert.is(cu.onReply(statement(3), segment(cap)), null);
  assert.is(cu.onReply(statement(4), segment(cap)), null);
  assert.equal(cu.appendable().map((b) => b.payload.byteLength), [10, cap], 'f + 1 = 2 vouches at the cap: taken');
});

test('a validator whose stored chain holds a block over the cap (decided before the cap) refuses to start, naming the height; at the cap it starts', async () => {
  const n = 32;
  const ids = Array.from({ length: n }, () => generateIdentity());
  const networkId = 'cap-store';
  const genesis = createGenesis({ publicKeys: ids.map((i) => i.publicKey), networkId, faults: 1, roundMs: 1000, startMs: 0 });
  const gh = genesisHash(genesis);
  const verifier = createMainThreadVerifier({ consensus: { networkId, genesisHash: gh, validatorKeys: ids.map((i) => i.publicKey) } });
  const storeWith = (bytes: number) => {
    const first = { miner: 0, t0: 1, ts: 0, payload: new Uint8Array(8), height: 1, parent: gh };
    const firstHash = blockHash(first);
    const second = { miner: 1, t0: 2, ts: 0, payload: new Uint8Array(bytes), height: 2, parent: firstHash };
    const blocks = [{ ...first, hash: firstHash }, { ...second, hash: blockHash(second) }];
    // Nothing held for catch-up (the held-decision mark, where the ChainStore has one).
    return { loadChain: () => ({ blocks, base: { height: 0, hash: gh, digest: gh } }), appendBlock: () => Promise.resolve(), loadHeldFrom: () => null, saveHeldFrom: () => Promise.resolve() };
  };
  const make = (bytes: number) => new Validator({ node: createNode({ networkId, identity: ids[0], verifier }), genesis, identity: ids[0]!, verifier, store: storeWith(bytes) });
  const cap = blockPayloadBytesCap(n);
  try {
    make(cap + 1);
    assert.unreachable('started');
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_STORE'), String(e));
    assert.ok((e as Error).message.includes(`block at height 2: block payload of ${cap + 1} bytes is above the cap of ${cap} bytes`), (e as Error).message);
  }
  const v = make(cap);
  assert.is(v.core.tip().height, 2);
  v.stop();
  await verifier.close();
});

test.run();
