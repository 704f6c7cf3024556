/**
 * The verifier core over an executor whose batches finish when the test says (the real worker function,
 * run on this thread): a long chain split into parts of batchMax, a signature shared between concurrent
 * calls and what happens to the waiting call when its verification fails, and a worker that disagrees with
 * the main thread on the structure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isStrongcastError } from '../src/errors.ts';
import { createGenesis, genesisHash } from '../src/consensus/genesis.ts';
import { blockHash } from '../src/consensus/block.ts';
import type { BatchExecutor } from '../src/crypto/batch-executor.ts';
import { runBatch, type WorkerSetup } from '../src/crypto/chain-check.ts';
import { unpackBatch } from '../src/crypto/packing.ts';
import { createVerifierCore, type VerifyPool } from '../src/crypto/verifier-core.ts';
import { resolveCoreSettings } from '../src/crypto/verify-pool.ts';
import type { ChainCheck } from '../src/crypto/verifier.ts';
import { testKeys } from './sim/keys.ts';
import { buildChain, testNet } from './sim/chains.ts';

const keys = testKeys(6);
const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), faults: 1, roundMs: 100, startMs: 0 });
const net = testNet(genesis, keys);
const consensus = { networkId: genesis.networkId, genesisHash: genesisHash(genesis), validatorKeys: keys.map((k) => k.publicKey) };

function chainCheck(signers: number[], payload = 1): ChainCheck {
  const block = { miner: signers[0] as number, t0: 3, ts: 0, payload: new Uint8Array([payload]) };
  return { msg: buildChain(net, block, signers), blockHash: blockHash(block), round: 1 };
}

interface HeldRun {
  /** Positions of the chain item the batch carries. */
  positions: readonly number[];
  /** Answers with what the worker function says. */
  finish(): void;
  /** Answers as a worker that rejects the structure would. */
  disagree(): void;
  fail(e: unknown): void;
}

/** Runs the worker function on this thread, but answers only when the test says. */
class HeldExecutor implements BatchExecutor {
  readonly parallelism = 1;
  readonly inline = true;
  readonly runs: HeldRun[] = [];
  readonly #setup: WorkerSetup;

  constructor(setup: WorkerSetup) {
    this.#setup = setup;
  }

  run(buffer: ArrayBuffer): Promise<Uint8Array> {
    const item = unpackBatch(buffer).items[0];
    const results = runBatch(this.#setup, buffer);
    return new Promise((resolve, reject) => {
      this.runs.push({
        positions: item?.kind === 'chain' ? item.positions : [],
        finish: () => resolve(results),
        disagree: () => resolve(new Uint8Array(results.length)),
        fail: reject,
      });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function core(batchMax: number): { v: VerifyPool; e: HeldExecutor } {
  const settings = resolveCoreSettings({ consensus, batchMax });
  const e = new HeldExecutor({ backend: settings.backend, consensus: settings.consensus });
  return { v: createVerifierCore(e, settings), e };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return assert.unreachable('expected a rejection');
}

test('a chain longer than batchMax goes in parts of at most batchMax signatures', async () => {
  const { v, e } = core(2);
  const result = v.checkChain(chainCheck([1, 0, 2, 3, 4]));
  await Promise.resolve();
  assert.equal(e.runs.map((r) => r.positions), [[0, 1], [2, 3], [4]]);
  for (const run of e.runs) run.finish();
  assert.equal(await result, { ok: true });
  assert.is(v.stats().signaturesVerified, 5);
  assert.is(v.stats().batches, 3);
});

test('a signature being verified for one call is waited for by another, and its failure fails both', async () => {
  const { v, e } = core(64);
  const first = v.checkChain(chainCheck([1, 0]));
  const second = v.checkChain(chainCheck([1, 0, 2]));
  await Promise.resolve();
  assert.equal(e.runs.map((r) => r.positions), [[0, 1], [2]], 'the second call sends only what the first does not');
  assert.is(v.stats().inFlightHits, 2);
  (e.runs[0] as HeldRun).fail(new Error('worker died'));
  (e.runs[1] as HeldRun).finish();
  const [a, b] = await Promise.all([rejection(first), rejection(second)]);
  assert.ok(isStrongcastError(a, 'ERR_POOL') && /worker died/.test((a as Error).message), String(a));
  assert.is(b, a, 'the waiting call gets the same failure');
  const again = v.checkChain(chainCheck([1, 0]));
  await Promise.resolve();
  assert.equal((e.runs[2] as HeldRun).positions, [0, 1], 'a failed signature is sent again, not waited for');
  (e.runs[2] as HeldRun).finish();
  assert.equal(await again, { ok: true });
});

test('a worker rejecting a structure the main thread accepted fails the chain, and calls waiting on it', async () => {
  const { v, e } = core(64);
  const first = v.checkChain(chainCheck([3, 5]));
  const second = v.checkChain(chainCheck([3, 5]));
  await Promise.resolve();
  assert.is(e.runs.length, 1);
  (e.runs[0] as HeldRun).disagree();
  const r = await first;
  assert.ok(!r.ok && r.code === 'ERR_BAD_CHAIN' && /worker rejected the chain structure/.test(r.reason), JSON.stringify(r));
  const waiting = await rejection(second);
  assert.ok(isStrongcastError(waiting, 'ERR_POOL') && /rejected a chain the main thread accepted/.test((waiting as Error).message), String(waiting));
  assert.is(v.stats().cacheEntries, 0, 'nothing cached from a batch the worker rejected');
});

test.run();
