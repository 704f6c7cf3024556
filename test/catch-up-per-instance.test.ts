/**
 * Catch-up's per-instance rule (pure; consensus/catch-up.ts and decided-run.ts): f+1 validators stating one
 * outcome of a start round they decided, "no block" included, let a catching-up node append that round's
 * blocks or skip it, and complete once every round before its live start is known; f liars stating what
 * suits it (its own chain, "no block" where a block was decided) move nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CatchUp, type SyncTip } from '../src/consensus/catch-up.ts';
import { blockHash, chainDigest, type ChainBlock } from '../src/consensus/block.ts';
import { cappedRun, chainRun, outcomeOf, runFor } from '../src/consensus/decided-run.ts';
import { toHex } from '../src/bytes.ts';
import { schemaLimits, type WireChainBlock } from '../src/wire/schema.ts';
import { drain, run, st } from './helpers/catch-up-statements.ts';

const G = new Uint8Array(32).fill(7);
const n = 4;
const f = 1;

function block(miner: number, t0: number, height: number, parent: Uint8Array): WireChainBlock {
  return { miner, t0, ts: t0, payload: new Uint8Array([miner, t0]), height, parent };
}

const tipAt = (b: WireChainBlock | null): SyncTip => (b ? { height: b.height, hash: blockHash(b), digest: chainDigest(G, b.height, blockHash(b)) } : { height: 0, hash: G, digest: G });


test('f+1 validators stating "no block" for every round before the live start complete it; f do not', () => {
  const c = new CatchUp({ n, faults: f, k: 2, liveFromT0: 20, tip: tipAt(null) });
  c.onReply(st(1, run(0, 25)), []);
  assert.equal(drain(c), []);
  assert.not.ok(c.complete(), 'one signer is f, not f+1');
  assert.is(c.knownThroughT0, -1);
  c.onReply(st(2, run(0, 12)), []);
  assert.equal(drain(c), []);
  assert.is(c.knownThroughT0, 12, 'known as far as both runs reach');
  assert.not.ok(c.complete());
  c.onReply(st(2, run(10, 19)), []);
  drain(c);
  assert.is(c.knownThroughT0, 19);
  assert.ok(c.complete(), 'every round before liveFromT0 = 20 known: complete');
});

test('a block f+1 state as decided is appended from any reply that carries it, on our tip; rounds around it are skipped', () => {
  const b = block(2, 7, 1, G);
  const c = new CatchUp({ n, faults: f, k: 2, liveFromT0: 20, tip: tipAt(null) });
  c.onReply(st(1, run(0, 19, [b])), []);
  c.onReply(st(3, run(5, 19, [b])), []);
  assert.equal(drain(c), [], 'no content yet: a hash is not a block');
  assert.is(c.knownThroughT0, -1, 'rounds 0..4 rest on signer 1 alone: nothing is known from round 0 on');
  // A third signer's run fills rounds 0..4.
  const carrier = block(2, 7, 5, new Uint8Array(32).fill(9)); // the same block at another height, from a liar: content only
  c.onReply(st(0, run(0, 4)), [carrier]);
  const got = drain(c);
  assert.equal(got.map((x) => [x.height, x.t0, toHex(x.parent)]), [[1, 7, toHex(G)]], 'appended at our tip + 1 on our tip, whoever carried it');
  assert.is(toHex(blockHash(got[0]!)), toHex(blockHash(b)));
  assert.is(c.knownThroughT0, 19);
  assert.ok(c.complete());
});

test('f flatterers stating "no block" where f+1 honest validators state a block skip nothing', () => {
  const b = block(1, 8, 1, G);
  // n = 7, f = 2: two liars say no block everywhere, two honest say b; the third honest one is missing.
  const c = new CatchUp({ n: 7, faults: 2, k: 3, liveFromT0: 20, tip: tipAt(null) });
  c.onReply(st(5, run(0, 40)), []);
  c.onReply(st(6, run(0, 40)), []);
  c.onReply(st(1, run(0, 40, [b])), [b]);
  c.onReply(st(2, run(0, 40, [b])), [b]);
  assert.equal(drain(c), []);
  assert.is(c.knownThroughT0, 7, 'rounds 0..7 are "no block" by all four; round 8 is known by nobody');
  assert.not.ok(c.complete(), 'the liars cannot complete it without b');
  c.onReply(st(3, run(0, 40, [b])), []);
  assert.equal(drain(c).map((x) => toHex(blockHash(x))), [toHex(blockHash(b))], 'f+1 = 3 state b: appended');
  assert.ok(c.complete());
});

test('two outcomes of one round each with f+1 (outside the bound): the rule waits rather than choose', () => {
  const a = block(0, 3, 1, G);
  const b = block(1, 3, 1, G);
  const runs = [run(0, 9, [a]), run(0, 9, [a]), run(0, 9, [b]), run(0, 9, [b])];
  assert.is(outcomeOf(runs, 3, 2), null);
  assert.is(outcomeOf(runs.slice(0, 3), 3, 2)?.length, 1);
  assert.equal(outcomeOf(runs, 2, 2), [], 'round 2: all four say no block');
  assert.is(outcomeOf(runs, 10, 2), null, 'nobody covers round 10');
});

test('at our tip round the outcome must hold our tip: the blocks after it are appended, a list without it moves nothing', () => {
  const first = block(0, 5, 1, G);
  const second = block(2, 5, 2, blockHash(first));
  const c = new CatchUp({ n, faults: f, k: 2, liveFromT0: 7, tip: tipAt(first), tipT0: 5 });
  assert.is(c.knownThroughT0, 4);
  const other = block(3, 5, 1, G);
  c.onReply(st(1, run(5, 6, [other])), [other]);
  c.onReply(st(2, run(5, 6, [other])), []);
  assert.equal(drain(c), [], 'f+1 state a round 5 without our tip (outside the bound): nothing appended');
  c.onReply(st(1, run(5, 6, [first, second])), [second]);
  c.onReply(st(2, run(5, 6, [first, second])), []);
  assert.equal(drain(c).map((x) => [x.height, x.miner]), [[2, 2]]);
  assert.is(c.knownThroughT0, 6);
  assert.ok(c.complete());
});

test('our own run counts as one validator, and only when we are one', () => {
  const self = run(0, 9);
  const mine = new CatchUp({ n, faults: f, k: 2, liveFromT0: 10, tip: tipAt(null), selfDecided: self });
  mine.onReply(st(1, run(0, 9)), []);
  drain(mine);
  assert.ok(mine.complete(), 'ours and one other: f+1 = 2');
  const observer = new CatchUp({ n, faults: f, k: 2, liveFromT0: 10, tip: tipAt(null), selfDecided: self, selfIsValidator: false });
  observer.onReply(st(1, run(0, 9)), []);
  drain(observer);
  assert.not.ok(observer.complete(), "an observer's chain proves nothing about validators");
});

test('a run is cut before the first round that does not fit decidedBlocksPerStatementMax blocks, and never splits a round', () => {
  const max = schemaLimits.decidedBlocksPerStatementMax;
  const entries = (count: number, perT0 = 1) => Array.from({ length: count }, (_, i) => ({ miner: i % perT0, t0: 100 + Math.floor(i / perT0), hash: G }));
  const atLimit = cappedRun(100, 500, entries(max), max);
  assert.equal([atLimit?.through, atLimit?.blocks.length], [500, max], 'exactly the limit: whole');
  const over = cappedRun(100, 500, entries(max + 1), max);
  assert.equal([over?.through, over?.blocks.length], [100 + max - 1, max], 'one over: ends before the t0 left out');
  const pairs = cappedRun(100, 500, entries(max + 1, 2), max);
  assert.equal([pairs?.through, pairs?.blocks.length], [100 + max / 2 - 1, max], 'the 65th is the first of a round: that round goes');
  const split = cappedRun(100, 500, [...entries(max - 1), { miner: 0, t0: 100 + max - 1, hash: G }, { miner: 1, t0: 100 + max - 1, hash: G }], max);
  assert.equal([split?.through, split?.blocks.length], [100 + max - 2, max - 1], 'a round the limit would split is left out whole');
  assert.is(cappedRun(100, 500, [{ miner: 0, t0: 100, hash: G }], 0), null, 'nothing left');
});

test('a signer states the first of its runs that reaches the rounds the asker needs, from them on', () => {
  const e = (t0: number) => ({ miner: 0, t0, hash: G });
  const runs = [{ from: 0, through: 9, blocks: [e(3), e(8)] }, { from: 14, through: 30, blocks: [e(20)] }];
  assert.equal(runFor(runs, 5, 64), { from: 5, through: 9, blocks: [e(8)] });
  assert.equal(runFor(runs, 10, 64), { from: 14, through: 30, blocks: [e(20)] }, 'the gap 10..13 is in no run: the next one');
  assert.equal(runFor(runs, 0, 1), { from: 0, through: 7, blocks: [e(3)] }, 'cut to the limit');
  assert.is(runFor(runs, 31, 64), null);
});

test('a chain run starts where the chain kept in memory is whole', () => {
  const b1 = { ...block(0, 3, 1, G), hash: new Uint8Array(32).fill(1) } as ChainBlock;
  const b2 = { ...block(1, 6, 2, b1.hash), hash: new Uint8Array(32).fill(2) } as ChainBlock;
  assert.equal(chainRun([b1, b2], 0, 9, 64), { from: 0, through: 9, blocks: [{ miner: 0, t0: 3, hash: b1.hash }, { miner: 1, t0: 6, hash: b2.hash }] });
  assert.equal(chainRun([b2], 0, 9, 64), { from: 7, through: 9, blocks: [] }, 'the block below height 2 was dropped: whole only after its round');
  assert.equal(chainRun([b1, b2], 4, 9, 64)?.blocks.length, 1);
});

test.run();
