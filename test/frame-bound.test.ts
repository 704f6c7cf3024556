/**
 * Every limit consistent with the largest n (issue 18): the largest frames consensus sends fit the default
 * frameBytesMax up to validatorsMax, the bound is the real encoding of a worst case, and a validator whose
 * node has a smaller frame limit is refused at construction, at the edge, instead of failing to encode a
 * relay or a catch-up reply mid-round. The same for writeQueueBytesMax and the chains of a round in which
 * every validator mines (payload-cap.ts), which the default holds up to a few hundred validators.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { createGenesis, genesisHash } from '../src/consensus/genesis.ts';
import { Validator } from '../src/core/validator.ts';
import { consensusFrameBytesMin, consensusWriteQueueBytesMin, largestChainBodyBytes, largestChainReplyBodyBytes } from '../src/consensus/frame-bound.ts';
import { blockPayloadBytesCap } from '../src/consensus/payload-cap.ts';
import { nodeDefaults } from '../src/core/node-options.ts';
import { cliWriteQueueBytesMax } from '../src/cli/validator.ts';
import { FRAME_HEADER_BYTES, decodeBodyInFull, encodeFrame, framingDefaults, sealedFrameBytes } from '../src/wire/framing.ts';
import { schemaLimits } from '../src/wire/schema.ts';
import { isStrongcastError } from '../src/errors.ts';

test('the largest consensus frames fit the default frameBytesMax for every n up to validatorsMax', () => {
  for (const n of [1, 4, 16, 17, 43, 128, 512, schemaLimits.validatorsMax]) {
    const need = consensusFrameBytesMin(n);
    assert.ok(need <= framingDefaults.frameBytesMax, `n = ${n}: ${need} bytes`);
    assert.ok(largestChainBodyBytes(n) > blockPayloadBytesCap(n) + 64 * n, `n = ${n}: a chain holds a largest payload and n signatures`);
  }
  assert.ok(largestChainReplyBodyBytes(4) > 2 * schemaLimits.blockPayloadBytesMax, 'a full reply holds two largest blocks');
});

test('the bound is a real frame: a chain of all n signatures over a largest payload encodes to exactly it and decodes', () => {
  const n = 128;
  const mask = new Uint8Array(16).fill(0xff);
  const signers = Array.from({ length: n }, (_, i) => i);
  const block = { miner: 3, t0: 1_700_000_000_000, ts: 1_700_000_000_123, payload: new Uint8Array(blockPayloadBytesCap(n)).fill(7) };
  const frame = encodeFrame({ t: 'ds', block, mask, signers, sigs: new Uint8Array(64 * n).fill(1), hops: 9 });
  const body = frame.byteLength - FRAME_HEADER_BYTES;
  assert.ok(body <= largestChainBodyBytes(n), `${body} <= ${largestChainBodyBytes(n)}`);
  assert.ok(largestChainBodyBytes(n) - body < 64, 'the bound is tight: only the widths of the numbers differ');
  assert.is((decodeBodyInFull(frame.subarray(FRAME_HEADER_BYTES)) as { t: string }).t, 'ds');
});

/** Ways to fill a catch-up reply the rule allows (at most 512 KiB of payload, 64 blocks) with blocks within `cap`. */
function replySplits(cap: number): number[][] {
  const kib = 1024;
  const largest = Math.min(schemaLimits.chainBlocksPerReplyMax, Math.floor((512 * kib) / cap));
  const splits = [
    [...Array<number>(largest).fill(cap), ...(largest < schemaLimits.chainBlocksPerReplyMax ? [(512 * kib) % cap] : [])],
    Array<number>(64).fill(256),
    [...Array<number>(7).fill(64 * kib), 50 * kib, ...Array<number>(56).fill(256)],
    [...Array<number>(8).fill(64 * kib), ...Array<number>(56).fill(0)],
    Array<number>(64).fill(8 * kib),
    Array<number>(64).fill(Math.min(cap, 8 * kib)),
  ];
  return splits.filter((sizes) => sizes.length <= schemaLimits.chainBlocksPerReplyMax && sizes.every((b) => b <= cap));
}

test('a catch-up reply split to give its blocks the widest length headers still fits the bound', () => {
  for (const n of [4, 17, 64, 128, 1024]) {
    const splits = replySplits(blockPayloadBytesCap(n));
    assert.ok(splits.length >= 2, `n = ${n}: splits to try`);
    for (const sizes of splits) {
      const blocks = sizes.map((b) => ({ miner: n - 1, t0: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER, payload: new Uint8Array(b), height: Number.MAX_SAFE_INTEGER, parent: new Uint8Array(32) }));
      // With the per-instance evidence at its limit: 64 blocks, the widest integers (catch-up.ts).
      const decided = { from: 0, through: Number.MAX_SAFE_INTEGER, blocks: Array.from({ length: schemaLimits.decidedBlocksPerStatementMax }, (_, i) => ({ miner: n - 1, t0: Number.MAX_SAFE_INTEGER - 64 + i, hash: new Uint8Array(32) })) };
      const statement = { signer: n - 1, round: Number.MAX_SAFE_INTEGER, height: Number.MAX_SAFE_INTEGER, tip: new Uint8Array(32), digest: new Uint8Array(32), syncing: true, heldFrom: Number.MAX_SAFE_INTEGER, appendsFrom: Number.MAX_SAFE_INTEGER, decided, sig: new Uint8Array(64) };
      const body = encodeFrame({ t: 'chain', statement, blocks }, Number.MAX_SAFE_INTEGER).byteLength - FRAME_HEADER_BYTES;
      assert.ok(sizes.reduce((a, b) => a + b, 0) <= 512 * 1024, 'a reply the rule allows');
      assert.ok(body <= largestChainReplyBodyBytes(n), `n = ${n}, ${sizes.length} blocks: ${body} <= ${largestChainReplyBodyBytes(n)}`);
    }
  }
});

test('the write-queue bound is n real chains: a largest payload and k signatures each, sealed', () => {
  const n = 64;
  const k = 22;
  const mask = new Uint8Array(8).fill(0xff);
  const signers = Array.from({ length: k }, (_, i) => i + 40);
  let round = 0;
  for (let miner = 0; miner < n; miner++) {
    const block = { miner, t0: 1_700_000_000, ts: 1_700_000_000_123, payload: new Uint8Array(blockPayloadBytesCap(n)).fill(miner) };
    round += sealedFrameBytes(encodeFrame({ t: 'ds', block, mask, signers: [miner, ...signers.slice(1)], sigs: new Uint8Array(64 * k), hops: 3 }).byteLength);
  }
  const bound = consensusWriteQueueBytesMin(n, k);
  assert.ok(round <= bound, `${round} <= ${bound}`);
  assert.ok(bound - round < 64 * n, 'tight: a few bytes of number widths per chain');
});

test('with the default f the default writeQueueBytesMax holds an all-mine round up to a few hundred validators; a round is about 4 MiB up to n = 128', () => {
  const kOf = (n: number): number => Math.floor((n - 1) / 3) + 1;
  for (const n of [1, 4, 16, 17, 32, 64, 128, 256, 400]) {
    const need = consensusWriteQueueBytesMin(n, kOf(n));
    assert.ok(need <= nodeDefaults.writeQueueBytesMax, `n = ${n}: ${need} bytes`);
    if (n >= 16 && n <= 128) assert.ok(need < 4.5 * 1024 * 1024, `n = ${n}: ${need} bytes, about half the default`);
  }
  assert.ok(consensusWriteQueueBytesMin(1024, kOf(1024)) > nodeDefaults.writeQueueBytesMax, 'n = 1,024 (k = 342) needs more: its signatures alone are 22 MB a round');
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

test('a validator whose node writeQueueBytesMax is below its genesis bound is refused (ERR_INVALID_OPTION naming writeQueueBytesMax); at the bound it is made', async () => {
  for (const [n, faults] of [[4, 1], [64, 21], [1024, 341]] as const) {
    const ids = Array.from({ length: n }, () => generateIdentity());
    const networkId = `write-queue-${n}`;
    const genesis = createGenesis({ publicKeys: ids.map((i) => i.publicKey), faults, roundMs: 500, startMs: Date.now() + 60_000, networkId });
    const verifier = createMainThreadVerifier({ consensus: { networkId, genesisHash: genesisHash(genesis), validatorKeys: ids.map((i) => i.publicKey) } });
    const need = consensusWriteQueueBytesMin(n, faults + 1);
    const make = (writeQueueBytesMax: number) => new Validator({ node: createNode({ networkId, identity: ids[0], verifier, writeQueueBytesMax }), genesis, identity: ids[0]!, verifier });
    let err: unknown = null;
    try {
      make(need - 1);
    } catch (e) {
      err = e;
    }
    const said = new RegExp(`^options\\.writeQueueBytesMax \\(${need - 1}\\) is below the ${need} bytes .* all ${n} validators .*\\(${blockPayloadBytesCap(n)} bytes\\) with ${faults + 1} signatures$`);
    assert.ok(isStrongcastError(err, 'ERR_INVALID_OPTION') && said.test((err as Error).message), `n = ${n}: ${String(err)}`);
    const v = make(need);
    assert.ok(v instanceof Validator, `n = ${n}: made at the bound`);
    v.stop();
    await verifier.close();
  }
});

test('the CLI gives a validator the write queue its genesis needs: the default up to 429 validators (default f), more from 430 on', () => {
  const genesisOf = (n: number) => createGenesis({ publicKeys: Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i % 256).map((b, j) => (j === 0 ? i >> 8 : b))), startMs: 0 });
  for (const n of [4, 64, 429]) assert.is(cliWriteQueueBytesMax(genesisOf(n)), nodeDefaults.writeQueueBytesMax, `n = ${n}`);
  for (const n of [430, 1024]) {
    const g = genesisOf(n);
    assert.is(cliWriteQueueBytesMax(g), consensusWriteQueueBytesMin(n, g.faults + 1), `n = ${n}`);
    assert.ok(cliWriteQueueBytesMax(g) > nodeDefaults.writeQueueBytesMax, `n = ${n}`);
  }
});

test.run();
