/**
 * Every limit consistent with the largest n (issue 18): the largest frames consensus sends fit the default
 * frameBytesMax up to validatorsMax, the bound is the real encoding of a worst case, and a validator whose
 * node has a smaller frame limit is refused at construction, at the edge, instead of failing to encode a
 * relay or a catch-up reply mid-round.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { createGenesis, genesisHash } from '../src/consensus/genesis.ts';
import { Validator } from '../src/core/validator.ts';
import { consensusFrameBytesMin, largestChainBodyBytes, largestChainReplyBodyBytes } from '../src/consensus/frame-bound.ts';
import { FRAME_HEADER_BYTES, decodeBodyInFull, encodeFrame, framingDefaults } from '../src/wire/framing.ts';
import { schemaLimits } from '../src/wire/schema.ts';
import { isStrongcastError } from '../src/errors.ts';

test('the largest consensus frames fit the default frameBytesMax for every n up to validatorsMax, and grow with n', () => {
  let last = 0;
  for (const n of [1, 4, 16, 43, 128, 512, schemaLimits.validatorsMax]) {
    const need = consensusFrameBytesMin(n);
    assert.ok(need <= framingDefaults.frameBytesMax, `n = ${n}: ${need} bytes`);
    assert.ok(largestChainBodyBytes(n) > schemaLimits.blockPayloadBytesMax + 64 * n, `n = ${n}: a chain holds the payload and n signatures`);
    assert.ok(need >= last, `n = ${n}`);
    last = need;
  }
  assert.ok(largestChainReplyBodyBytes(4) > 2 * schemaLimits.blockPayloadBytesMax, 'a full reply holds two largest blocks');
});

test('the bound is a real frame: a chain of all n signatures over a largest payload encodes to exactly it and decodes', () => {
  const n = 128;
  const mask = new Uint8Array(16).fill(0xff);
  const signers = Array.from({ length: n }, (_, i) => i);
  const block = { miner: 3, t0: 1_700_000_000_000, ts: 1_700_000_000_123, payload: new Uint8Array(schemaLimits.blockPayloadBytesMax).fill(7) };
  const frame = encodeFrame({ t: 'ds', block, mask, signers, sigs: new Uint8Array(64 * n).fill(1), hops: 9 });
  const body = frame.byteLength - FRAME_HEADER_BYTES;
  assert.ok(body <= largestChainBodyBytes(n), `${body} <= ${largestChainBodyBytes(n)}`);
  assert.ok(largestChainBodyBytes(n) - body < 64, 'the bound is tight: only the widths of the numbers differ');
  assert.is((decodeBodyInFull(frame.subarray(FRAME_HEADER_BYTES)) as { t: string }).t, 'ds');
});

test('a catch-up reply split to give its blocks the widest length headers still fits the bound', () => {
  const kib = 1024;
  const splits = [
    [256 * kib, 256 * kib],
    [...Array<number>(7).fill(64 * kib), 50 * kib, ...Array<number>(56).fill(256)],
    [...Array<number>(8).fill(64 * kib), ...Array<number>(56).fill(0)],
    Array<number>(64).fill(8 * kib),
  ];
  for (const n of [4, 128, 1024]) {
    for (const sizes of splits) {
      const blocks = sizes.map((b) => ({ miner: n - 1, t0: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER, payload: new Uint8Array(b), height: Number.MAX_SAFE_INTEGER, parent: new Uint8Array(32) }));
      const statement = { signer: n - 1, round: Number.MAX_SAFE_INTEGER, height: Number.MAX_SAFE_INTEGER, tip: new Uint8Array(32), digest: new Uint8Array(32), syncing: true, heldFrom: Number.MAX_SAFE_INTEGER, sig: new Uint8Array(64) };
      const body = encodeFrame({ t: 'chain', statement, blocks }, Number.MAX_SAFE_INTEGER).byteLength - FRAME_HEADER_BYTES;
      assert.ok(sizes.reduce((a, b) => a + b, 0) <= 512 * kib && sizes.length <= schemaLimits.chainBlocksPerReplyMax, 'a reply the rule allows');
      assert.ok(body <= largestChainReplyBodyBytes(n), `n = ${n}, ${sizes.length} blocks: ${body} <= ${largestChainReplyBodyBytes(n)}`);
    }
  }
});

test('a validator whose node frameBytesMax is below its genesis bound is refused (ERR_INVALID_OPTION naming frameBytesMax); at the bound it is made', async () => {
  const ids = [generateIdentity(), generateIdentity(), generateIdentity(), generateIdentity()];
  const networkId = 'frame-bound';
  const genesis = createGenesis({ publicKeys: ids.map((i) => i.publicKey), faults: 1, roundMs: 500, startMs: Date.now() + 60_000, networkId });
  const verifier = createMainThreadVerifier({ consensus: { networkId, genesisHash: genesisHash(genesis), validatorKeys: ids.map((i) => i.publicKey) } });
  const need = consensusFrameBytesMin(4);
  const below = createNode({ networkId, identity: ids[0], verifier, frameBytesMax: need - 1 });
  let err: unknown = null;
  try {
    new Validator({ node: below, genesis, identity: ids[0]!, verifier });
  } catch (e) {
    err = e;
  }
  assert.ok(isStrongcastError(err, 'ERR_INVALID_OPTION') && /frameBytesMax \(\d+\) is below the \d+ bytes/.test((err as Error).message), String(err));
  const at = createNode({ networkId, identity: ids[0], verifier, frameBytesMax: need });
  const v = new Validator({ node: at, genesis, identity: ids[0]!, verifier });
  assert.ok(v instanceof Validator);
  v.stop();
  await verifier.close();
});

test.run();
