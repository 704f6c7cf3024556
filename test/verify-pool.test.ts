/**
 * The verification pool and the main-thread verifier: batch packing, order of results, chain rules,
 * replay protection, the valid-signature cache, the pending limit, close, and option validation.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { concatBytes, toHex, utf8 } from '../src/bytes.ts';
import { maskOf } from '../src/consensus/bitmask.ts';
import { consensusSignedBytes } from '../src/consensus/signing.ts';
import { isStrongcastError } from '../src/errors.ts';
import type { ConsensusMessage } from '../src/wire/schema.ts';
import { identityFromSeed, type Identity } from '../src/crypto/keys.ts';
import { runBatch, type ConsensusConfig } from '../src/crypto/chain-check.ts';
import { itemResultSlots, packBatch, unpackBatch, type BatchItemInput } from '../src/crypto/packing.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { createVerifyPool, type VerifyPool, type VerifyPoolOptions } from '../src/crypto/verify-pool.ts';
import type { ChainCheck, ChainCheckResult, SignatureCheck } from '../src/crypto/verifier.ts';

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const N = 6;
const validators: Identity[] = Array.from({ length: N }, (_, i) => identityFromSeed(sha256(utf8(`validator ${i}`))));
const consensus: ConsensusConfig = {
  networkId: 'testnet',
  genesisHash: sha256(utf8('genesis')),
  validatorKeys: validators.map((v) => v.publicKey),
};

interface ChainSpec {
  miner?: number;
  t0?: number;
  signers: number[];
  payload?: string;
  /** Sign as if for another network or genesis (replay). */
  signAs?: Partial<{ networkId: string; genesisHash: Uint8Array; miner: number; t0: number }>;
  round?: number;
}

/** A correctly signed chain (unless signAs says otherwise) and the check asking about it. */
function chain(spec: ChainSpec): ChainCheck {
  const miner = spec.miner ?? spec.signers[0] ?? 0;
  const t0 = spec.t0 ?? 7;
  const block = { miner, t0, ts: 1000, payload: utf8(spec.payload ?? 'block') };
  const blockHash = sha256(block.payload);
  const signed = consensusSignedBytes({ networkId: consensus.networkId, genesisHash: consensus.genesisHash, miner, t0, blockHash, ...spec.signAs });
  const sigs = concatBytes(...spec.signers.map((s) => (validators[s] as Identity).sign(signed)));
  const msg: ConsensusMessage = { t: 'ds', block, mask: maskOf(N, spec.signers), signers: spec.signers, sigs, hops: 0 };
  return { msg, blockHash, round: spec.round ?? spec.signers.length };
}

function gossipChecks(count: number, badEvery: number): SignatureCheck[] {
  return Array.from({ length: count }, (_, i) => {
    const signer = validators[i % N] as Identity;
    const message = utf8(`gossip ${i}`);
    const signature = signer.sign(message);
    if (i % badEvery === 0) signature[10] = (signature[10] ?? 0) ^ 1;
    return { publicKey: signer.publicKey, message, signature };
  });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return assert.unreachable('expected a rejection');
}

let pool: VerifyPool;

test.before(() => {
  pool = createVerifyPool({ threads: 2, consensus, batchMax: 16 });
});

test.after(async () => {
  await pool.close();
});

test('packing: sig and chain items round-trip through one buffer, with their result slots', () => {
  const c = chain({ signers: [2, 0, 4] });
  const items: BatchItemInput[] = [
    { kind: 'sig', publicKey: consensus.validatorKeys[1] as Uint8Array, message: utf8('hello'), signature: new Uint8Array(64).fill(9) },
    { kind: 'chain', miner: 2, t0: 2 ** 40 + 3, blockHash: c.blockHash, round: 2, mask: c.msg.mask, signers: c.msg.signers, sigs: c.msg.sigs, positions: [2, 0] },
    { kind: 'sig', publicKey: new Uint8Array(32), message: new Uint8Array(0), signature: new Uint8Array(64) },
  ];
  const { items: back, resultSlots } = unpackBatch(packBatch(items));
  assert.is(resultSlots, 1 + 3 + 1);
  assert.is(back.length, 3);
  const [a, b, z] = back;
  assert.ok(a?.kind === 'sig' && b?.kind === 'chain' && z?.kind === 'sig');
  assert.is(toHex(a.message), toHex(utf8('hello')));
  assert.is(toHex(a.signature), toHex(new Uint8Array(64).fill(9)));
  assert.equal([b.miner, b.t0, b.round, b.signers, b.positions], [2, 2 ** 40 + 3, 2, [2, 0, 4], [2, 0]]);
  assert.is(toHex(b.mask), toHex(c.msg.mask));
  assert.is(toHex(b.signatures), toHex(concatBytes(c.msg.sigs.subarray(128, 192), c.msg.sigs.subarray(0, 64))));
  assert.is(z.message.byteLength, 0);
  assert.is(itemResultSlots(b), 3);
});

test('runBatch: the worker applies the structure rules itself and verifies only the positions sent', () => {
  const good = chain({ signers: [1, 3] });
  const dup = chain({ signers: [1, 3] });
  const setup = { backend: 'native' as const, consensus };
  const base = { kind: 'chain' as const, miner: 1, t0: 7, blockHash: good.blockHash, round: 2, mask: good.msg.mask, sigs: good.msg.sigs };
  const out = runBatch(setup, packBatch([
    { ...base, signers: [1, 3], positions: [1] },
    { ...base, signers: [1, 1], mask: dup.msg.mask, positions: [0, 1] },
    { ...base, signers: [1, 3], round: 3, positions: [0] },
  ]));
  assert.equal(Array.from(out), [1, 1, 0, 0, 0, 0, 0]);
});

test('verify: a mix of valid and invalid checks comes back in order', async () => {
  const checks = gossipChecks(50, 3);
  checks.push({ publicKey: new Uint8Array(31), message: utf8('short key'), signature: new Uint8Array(64) });
  const results = await pool.verify(checks);
  assert.equal(results, checks.map((_, i) => i < 50 && i % 3 !== 0));
  assert.equal(await pool.verify([]), []);
});

test('checkChain: a valid chain passes, in any round up to its length', async () => {
  assert.equal(await pool.checkChain(chain({ signers: [3, 1, 5], payload: 'valid' })), { ok: true });
  assert.equal(await pool.checkChain({ ...chain({ signers: [3, 1, 5], payload: 'valid' }), round: 1 }), { ok: true });
});

function withMsg(c: ChainCheck, patch: Partial<ConsensusMessage>): ChainCheck {
  return { ...c, msg: { ...c.msg, ...patch } };
}

const structural: Array<[name: string, make: () => ChainCheck, code: string]> = [
  ['miner index not below n', () => withMsg(chain({ signers: [0] }), { block: { miner: N, t0: 7, ts: 0, payload: utf8('block') } }), 'ERR_BAD_CHAIN'],
  ['mask of the wrong length', () => withMsg(chain({ signers: [0, 1] }), { mask: new Uint8Array(2).fill(3) }), 'ERR_BAD_CHAIN'],
  ['signer index not below n', () => withMsg(chain({ signers: [0, 1] }), { signers: [0, N] }), 'ERR_BAD_CHAIN'],
  ['duplicate signer', () => withMsg(chain({ signers: [0, 1] }), { signers: [0, 0] }), 'ERR_BAD_CHAIN'],
  ['chain not starting with the miner', () => chain({ miner: 2, signers: [1, 2] }), 'ERR_BAD_CHAIN'],
  ['mask lacking a signer bit', () => withMsg(chain({ signers: [0, 1] }), { mask: maskOf(N, [0]) }), 'ERR_BAD_CHAIN'],
  ['mask with a stray bit', () => withMsg(chain({ signers: [0, 1] }), { mask: maskOf(N, [0, 1, 5]) }), 'ERR_BAD_CHAIN'],
  ['signature bytes not matching signers', () => withMsg(chain({ signers: [0, 1] }), { sigs: new Uint8Array(64) }), 'ERR_BAD_CHAIN'],
  ['fewer signatures than the round', () => chain({ signers: [0, 1], round: 3 }), 'ERR_TOO_FEW_SIGNATURES'],
];

test('checkChain: every structural violation is rejected with its code, before any signature is verified', async () => {
  const before = pool.stats().signaturesVerified;
  for (const [name, make, code] of structural) {
    const r = await pool.checkChain(make());
    assert.ok(!r.ok && r.code === code, `${name}: ${JSON.stringify(r)}`);
  }
  assert.is(pool.stats().signaturesVerified, before);
});

test('checkChain: a forged signature is rejected naming its signer', async () => {
  const c = chain({ signers: [4, 2, 0], payload: 'forged' });
  c.msg.sigs[64 + 5] = (c.msg.sigs[64 + 5] ?? 0) ^ 0x40;
  const r = await pool.checkChain(c);
  assert.equal(r, { ok: false, code: 'ERR_BAD_SIGNATURE', reason: 'signature 1 of the chain, by validator 2, does not verify' });
});

test('checkChain: signatures replayed from another network, genesis or instance are rejected', async () => {
  const replays: ChainSpec['signAs'][] = [
    { networkId: 'othernet' },
    { genesisHash: sha256(utf8('other genesis')) },
    { miner: 4 },
    { t0: 8 },
  ];
  for (const signAs of replays) {
    const r = await pool.checkChain(chain({ miner: 3, signers: [3, 2], payload: 'replay', signAs }));
    assert.ok(!r.ok && r.code === 'ERR_BAD_SIGNATURE', JSON.stringify(signAs));
  }
});

test('checkChain: signatures known valid are not sent again, for the same chain or a longer one', async () => {
  const s0 = pool.stats();
  assert.ok((await pool.checkChain(chain({ signers: [5, 0], payload: 'cached' }))).ok);
  const s1 = pool.stats();
  assert.is(s1.signaturesVerified - s0.signaturesVerified, 2);
  assert.ok((await pool.checkChain(chain({ signers: [5, 0], payload: 'cached' }))).ok);
  const s2 = pool.stats();
  assert.is(s2.signaturesVerified, s1.signaturesVerified);
  assert.is(s2.cacheHits - s1.cacheHits, 2);
  assert.ok((await pool.checkChain(chain({ signers: [5, 0, 3, 1], payload: 'cached' }))).ok);
  const s3 = pool.stats();
  assert.is(s3.signaturesVerified - s2.signaturesVerified, 2, 'only the two new signatures');
  assert.is(s3.cacheHits - s2.cacheHits, 2);
});

test('checkChain: a garbage signature never rides on a cached valid one', async () => {
  assert.ok((await pool.checkChain(chain({ signers: [1, 4], payload: 'ride' }))).ok);
  const forged = chain({ signers: [1, 4], payload: 'ride' });
  forged.msg.sigs[127] = (forged.msg.sigs[127] ?? 0) ^ 1;
  const r = await pool.checkChain(forged);
  assert.ok(!r.ok && r.code === 'ERR_BAD_SIGNATURE' && r.reason.includes('validator 4'), JSON.stringify(r));
});

test('checkChain: relays of one chain checked at once verify each signature once', async () => {
  const s0 = pool.stats();
  const results = await Promise.all([1, 2, 3].map(() => pool.checkChain(chain({ signers: [2, 5, 1], payload: 'concurrent' }))));
  assert.ok(results.every((r) => r.ok));
  const s1 = pool.stats();
  assert.is(s1.signaturesVerified - s0.signaturesVerified, 3);
  assert.is(s1.inFlightHits - s0.inFlightHits, 6);
});

test('the cache holds at most sigCacheEntriesMax entries, and only valid signatures', async () => {
  const v = createMainThreadVerifier({ consensus, sigCacheEntriesMax: 4 });
  assert.ok((await v.checkChain(chain({ signers: [0, 1, 2, 3, 4, 5], payload: 'bounded' }))).ok);
  assert.is(v.stats().cacheEntries, 4);
  const bad = chain({ signers: [1, 2], payload: 'not cached' });
  bad.msg.sigs[0] = (bad.msg.sigs[0] ?? 0) ^ 1;
  const small = createMainThreadVerifier({ consensus });
  assert.not.ok((await small.checkChain(bad)).ok);
  assert.is(small.stats().cacheEntries, 1, 'the valid second signature only');
});

test('pendingChecksMax: a call beyond it is refused with ERR_POOL_FULL and nothing else is affected', async () => {
  const small = createVerifyPool({ threads: 1, pendingChecksMax: 10, consensus });
  try {
    assert.ok(isStrongcastError(await rejection(small.verify(gossipChecks(11, 1000))), 'ERR_POOL_FULL'));
    const first = small.verify(gossipChecks(8, 1000));
    assert.ok(isStrongcastError(await rejection(small.verify(gossipChecks(3, 1000))), 'ERR_POOL_FULL'));
    assert.ok(isStrongcastError(await rejection(small.checkChain(chain({ signers: [0, 1, 2], payload: 'full' }))), 'ERR_POOL_FULL'));
    assert.is((await first).filter(Boolean).length, 7);
    assert.equal(await small.verify(gossipChecks(10, 1000)), gossipChecks(10, 1000).map((_, i) => i !== 0));
    assert.is(small.stats().refusedFull, 3);
    assert.is(small.stats().pendingSignatures, 0);
  } finally {
    await small.close();
  }
});

test('micro-batching: checks arriving in the same event-loop turn travel as one task', async () => {
  const one = createVerifyPool({ threads: 1, batchMax: 64 });
  try {
    await one.verify(gossipChecks(1, 1000));
    const before = one.stats().batches;
    const calls = gossipChecks(10, 4).map((c) => one.verify([c]));
    const results = await Promise.all(calls);
    assert.equal(results.flat(), gossipChecks(10, 4).map((_, i) => i % 4 !== 0));
    assert.is(one.stats().batches - before, 1);
  } finally {
    await one.close();
  }
});

test('inlineSignaturesMax: a batch that small, with no task out, is verified on this thread with the same answers; one more goes to a worker', async () => {
  const p = createVerifyPool({ threads: 2, inlineSignaturesMax: 2, consensus });
  const off = createVerifyPool({ threads: 2, inlineSignaturesMax: 0, consensus });
  try {
    const two = gossipChecks(2, 2); // the first is forged
    assert.equal(await p.verify(two), [false, true]);
    assert.equal(await off.verify(two), [false, true]);
    assert.is(p.stats().signaturesHere, 2);
    assert.is(off.stats().signaturesHere, 0, '0: every check goes to a worker');
    // A chain part of two signatures is the same batch item the workers get: its rules are applied here.
    assert.equal(await p.checkChain(chain({ signers: [3, 4], payload: 'here' })), { ok: true });
    assert.is(p.stats().signaturesHere, 4);
    const three = await p.verify(gossipChecks(3, 1000));
    assert.equal(three, [false, true, true]);
    assert.is(p.stats().signaturesHere, 4, 'three signatures: a task');
    assert.is(p.stats().signaturesVerified, 7);
  } finally {
    await p.close();
    await off.close();
  }
});

test('close: pending checks are rejected with ERR_POOL, a second close is harmless, later calls fail', async () => {
  // Nothing verified on this thread: the checks must be with the worker when it closes.
  const p = createVerifyPool({ threads: 1, batchMax: 4, inlineSignaturesMax: 0 });
  await p.verify(gossipChecks(1, 1000));
  const running = rejection(p.verify(gossipChecks(2, 1000)));
  await new Promise((r) => setImmediate(r));
  assert.is(p.stats().pendingSignatures, 2, 'both checks are with the worker');
  const pending = rejection(p.verify(gossipChecks(64, 1000)));
  await p.close();
  await p.close();
  const [inWorker, queued] = [await running, await pending];
  assert.ok(isStrongcastError(inWorker, 'ERR_POOL') && /closed while this check ran/.test((inWorker as Error).message), String(inWorker));
  assert.ok(isStrongcastError(queued, 'ERR_POOL'), String(queued));
  assert.ok(isStrongcastError(await rejection(p.verify(gossipChecks(1, 1000))), 'ERR_POOL'));
});

test('verifyNow: only a verifier on this thread has it; it answers at once, counts like verify, and fails once closed', async () => {
  assert.is(pool.verifyNow, undefined, 'the pool answers through promises only');
  const v = createMainThreadVerifier({});
  const verifyNow = v.verifyNow as (c: SignatureCheck) => boolean;
  assert.type(verifyNow, 'function');
  const checks = gossipChecks(6, 3);
  const malformed = { publicKey: new Uint8Array(31), message: utf8('short key'), signature: new Uint8Array(64) };
  assert.equal([...checks, malformed].map((c) => verifyNow(c)), [false, true, true, false, true, true, false]);
  assert.equal(await v.verify(checks), checks.map((c) => verifyNow(c)), 'the same answers as verify');
  const s = v.stats();
  assert.is(s.calls, 7 + 1 + 6);
  assert.is(s.signaturesRequested, 7 + 6 + 6);
  assert.is(s.signaturesVerified, 6 + 6 + 6, 'a malformed check is never verified');
  await v.close();
  let thrown: unknown;
  try {
    verifyNow(checks[1] as SignatureCheck);
  } catch (e) {
    thrown = e;
  }
  assert.ok(isStrongcastError(thrown, 'ERR_POOL'), String(thrown));
});

test('tryVerifyNow: the pool answers a lone check on this thread while nothing waits, with the answers and counters of verify; else leaves it to verify', async () => {
  const p = createVerifyPool({ threads: 1, batchMax: 4 });
  const tryNow = p.tryVerifyNow as (c: SignatureCheck, lane?: string) => boolean | undefined;
  assert.type(tryNow, 'function');
  assert.is(createMainThreadVerifier({}).tryVerifyNow, undefined, 'the main-thread verifier checks everything at once (verifyNow)');
  try {
    const checks = gossipChecks(6, 3);
    const malformed = { publicKey: new Uint8Array(31), message: utf8('short key'), signature: new Uint8Array(64) };
    assert.equal([...checks, malformed].map((c) => tryNow(c, 'a')), [false, true, true, false, true, true, false], 'verified before it returned');
    assert.equal(await p.verify(checks), [false, true, true, false, true, true], 'the same answers as verify');
    const s = p.stats();
    // verify() of six with batchMax 4: a full batch to the worker, the other two here at the end of the turn.
    assert.equal([s.calls, s.signaturesRequested, s.signaturesVerified, s.signaturesHere], [7 + 1, 7 + 6, 6 + 6, 6 + 2]);
    // Four checks of lane b go to the worker as a full batch: b's next check waits behind them, another lane's does not.
    const inFlight = p.verify(gossipChecks(4, 1000), 'b');
    assert.is(p.stats().pendingSignatures, 4);
    assert.is(tryNow(checks[1] as SignatureCheck, 'b'), undefined, 'the lane has checks outstanding');
    assert.is(tryNow(checks[1] as SignatureCheck, 'c'), true);
    assert.is(p.stats().calls, 8 + 1 + 1, 'a check left to verify() is not counted');
    await inFlight;
  } finally {
    await p.close();
  }
  let thrown: unknown;
  try {
    tryNow(gossipChecks(1, 1000)[0] as SignatureCheck);
  } catch (e) {
    thrown = e;
  }
  assert.ok(isStrongcastError(thrown, 'ERR_POOL'), String(thrown));
});

test('the consensus class: pool and main-thread verifier give the same answers and count the same consensus signatures', async () => {
  const counted: number[][] = [];
  for (const v of [createMainThreadVerifier({ consensus }), createVerifyPool({ threads: 1, consensus })]) {
    try {
      const checks = gossipChecks(5, 2);
      const asBroadcast = await v.verify(checks, 'peer');
      assert.equal(await v.verify(checks, 'validator', 'consensus'), asBroadcast, 'the class changes the order, never the answer');
      assert.ok((await v.checkChain({ ...chain({ signers: [0, 3], payload: 'class' }), lane: 'validator' })).ok);
      const s = v.stats();
      counted.push([s.consensusSignatures, s.signaturesVerified, s.consensusHeldSignatures]);
    } finally {
      await v.close();
    }
  }
  assert.equal(counted[0], [5 + 2, 5 + 5 + 2, 0], 'main thread: the consensus verify and the chain\'s two signatures');
  assert.equal(counted[1], counted[0], 'the pool counts alike');
});

test('checkChain without a validator set fails with ERR_INVALID_OPTION', async () => {
  const v = createMainThreadVerifier({});
  assert.ok(isStrongcastError(await rejection(v.checkChain(chain({ signers: [0] }))), 'ERR_INVALID_OPTION'));
});

/** Inputs for the cross-checks: valid, forged, replayed and malformed chains, and gossip checks. */
function mixedInputs(): { chains: ChainCheck[]; checks: SignatureCheck[] } {
  const forged = chain({ signers: [0, 3, 4], payload: 'mixed forged' });
  forged.msg.sigs[150] = (forged.msg.sigs[150] ?? 0) ^ 2;
  return {
    chains: [
      chain({ signers: [0, 3, 4], payload: 'mixed' }),
      forged,
      chain({ signers: [5, 2], payload: 'mixed replay', signAs: { networkId: 'x' } }),
      ...structural.map(([, make]) => make()),
    ],
    checks: gossipChecks(20, 4),
  };
}

async function answers(v: VerifyPool): Promise<unknown[]> {
  const { chains, checks } = mixedInputs();
  return [await v.verify(checks), ...(await Promise.all(chains.map((c) => v.checkChain(c))))];
}

test('pool and main-thread verifier give identical answers, with every backend', async () => {
  const reference = await answers(createMainThreadVerifier({ consensus }));
  assert.equal(await answers(pool), reference);
  for (const backend of ['sodium', 'native', 'noble'] as const) {
    assert.equal(await answers(createMainThreadVerifier({ consensus, backend })), reference, `main thread, ${backend}`);
    const other = createVerifyPool({ threads: 2, backend, consensus });
    try {
      assert.equal(await answers(other), reference, `pool, ${backend}`);
    } finally {
      await other.close();
    }
  }
  assert.ok((reference[1] as ChainCheckResult).ok);
  assert.not.ok((reference[2] as ChainCheckResult).ok);
});

const badOptions: Array<[VerifyPoolOptions, string]> = [
  [{ threads: 0 }, 'options.threads must be an integer in 1..256'],
  [{ threads: 1.5 }, 'options.threads must be an integer in 1..256'],
  [{ backend: 'openssl' as never }, 'options.backend must be one of sodium, native, noble'],
  [{ batchMax: 0 }, 'options.batchMax must be an integer in 1..4096'],
  [{ batchWaitMs: -1 }, 'options.batchWaitMs must be an integer in 0..1000'],
  [{ batchBytesMax: 10 }, 'options.batchBytesMax must be an integer in 1024..67108864'],
  [{ pendingChecksMax: 0 }, 'options.pendingChecksMax must be an integer in 1..10000000'],
  [{ sigCacheEntriesMax: -1 }, 'options.sigCacheEntriesMax must be an integer in 0..10000000'],
  [{ inlineSignaturesMax: 65 }, 'options.inlineSignaturesMax must be an integer in 0..64'],
  [{ inlineMsPerSecMax: 1001 }, 'options.inlineMsPerSecMax must be an integer in 0..1000'],
  [{ inlineMsPerSecMax: -1 }, 'options.inlineMsPerSecMax must be an integer in 0..1000'],
  [{ laneQuantumSignatures: 0 }, 'options.laneQuantumSignatures must be an integer in 1..4096'],
  [{ laneQuantumSignatures: 4097 }, 'options.laneQuantumSignatures must be an integer in 1..4096'],
  [{ consensusSharePercentMax: 0 }, 'options.consensusSharePercentMax must be an integer in 1..99'],
  [{ consensusSharePercentMax: 100 }, 'options.consensusSharePercentMax must be an integer in 1..99'],
  [{ consensusSharePercentMax: 50.5 }, 'options.consensusSharePercentMax must be an integer in 1..99'],
  [{ consensusBurstSignatures: 0 }, 'options.consensusBurstSignatures must be an integer in 1..1000000'],
  [{ consensusBurstSignatures: 1_000_001 }, 'options.consensusBurstSignatures must be an integer in 1..1000000'],
  [{ consensus: null as never }, 'options.consensus must be an object'],
  [{ consensus: { ...consensus, networkId: '' } }, 'options.consensus.networkId must be a string of 1..64 bytes'],
  [{ consensus: { ...consensus, genesisHash: new Uint8Array(31) } }, 'options.consensus.genesisHash must be 32 bytes'],
  [{ consensus: { ...consensus, validatorKeys: [] } }, 'options.consensus.validatorKeys must be an array of 1..1024 keys'],
  [{ consensus: { ...consensus, validatorKeys: [new Uint8Array(33)] } }, 'options.consensus.validatorKeys[0] must be 32 bytes'],
];

test('option validation: each bad option is refused with ERR_INVALID_OPTION naming the field', () => {
  for (const [options, message] of badOptions) {
    try {
      createVerifyPool(options);
      assert.unreachable(JSON.stringify(options));
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
      assert.is((e as Error).message, message);
    }
  }
  assert.throws(() => createMainThreadVerifier({ backend: 'x' as never }), /options.backend must be one of sodium, native, noble/);
});

test.run();
