/**
 * The loopback consensus benchmark's judgement of a run (bench/consensus/verdict.ts): a run with a block
 * missing somewhere, decided differently, or chains ending apart is not correct; decision latency is measured
 * from the instance's T0 and set against (f + 1)Δ; all-mine throughput counts only blocks decided everywhere.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allMineThroughput, decisionLatenciesMs, judgeRun, latencySummary, quantile, throughputRates } from '../bench/consensus/verdict.ts';
import type { DecidedRecord, MineResult, ValidatorReport } from '../bench/consensus/validator-proc.ts';

const startMs = 1_000_000;
const roundMs = 100;

const mined = (miner: number, t0: number): MineResult => ({ miner, t0, hash: `h${miner}-${t0}`.padEnd(16, '0'), earlyTimerRetries: 0, lateTimerRetries: 0 });

/** A decision of `m` at height h, `lateMs` after the end of its k-th round (k = 2 here). */
const decision = (m: MineResult, height: number, lateMs = 5): DecidedRecord => ({ miner: m.miner, t0: m.t0, hash: m.hash, height, atMs: startMs + (m.t0 + 2) * roundMs + lateMs });

const report = (decided: DecidedRecord[]): ValidatorReport => {
  const tip = decided.filter((d) => d.hash !== null).sort((a, b) => (b.height ?? 0) - (a.height ?? 0))[0];
  return { decided, height: tip?.height ?? 0, tipHash: tip?.hash ?? '', rejected: {}, synced: 0, synchrony: { stalled: 0, lateChains: 0, resyncs: 0, divergences: 0, chainsCheckedLate: 0, chainMarginMsRecentMin: null }, lateChainList: [], cpuMs: 0, framesIn: { chain: 0, outcome: 0, tree: 0 }, signaturesVerified: 0, signaturesRequested: 0, cacheHits: 0, inFlightHits: 0 };
};

/** Three validators; every one mines in rounds 5 and 6. */
const blocks = [mined(0, 5), mined(1, 5), mined(2, 5), mined(0, 6), mined(1, 6), mined(2, 6)];
const agreed = (lateMs = 5): ValidatorReport[] => [0, 1, 2].map(() => report(blocks.map((b, i) => decision(b, i + 1, lateMs))));

test('judgeRun: every block decided alike everywhere is correct, with identical chains', () => {
  const v = judgeRun(blocks, agreed());
  assert.equal(v, { decided: 6, disagreements: 0, chainsIdentical: true, failure: null });
});

test('judgeRun: a block one validator never decided fails the run and names it', () => {
  const reports = agreed();
  reports[2] = report(blocks.slice(0, 5).map((b, i) => decision(b, i + 1)));
  const v = judgeRun(blocks, reports);
  assert.is(v.decided, 5);
  assert.is(v.disagreements, 1);
  assert.match(v.failure ?? '', 'instance t0/miner 6/2');
  assert.match(v.failure ?? '', 'no decision on validators 2');
  assert.not.ok(v.chainsIdentical);
});

test('judgeRun: the same blocks at other heights are a disagreement; chains that end apart are caught even when instances agree', () => {
  const swapped = agreed();
  swapped[1] = report(blocks.map((b, i) => decision(b, i === 0 ? 2 : i === 1 ? 1 : i + 1)));
  assert.is(judgeRun(blocks, swapped).disagreements, 2);
  const apart = agreed();
  apart[0] = { ...apart[0]!, tipHash: 'ffff' };
  const v = judgeRun(blocks, apart);
  assert.is(v.disagreements, 0);
  assert.not.ok(v.chainsIdentical);
  assert.match(v.failure ?? '', 'chains differ');
});

test('decision latency is from T0 to each validator\'s decided event, and only for the miner\'s own hash', () => {
  assert.equal(decisionLatenciesMs(blocks.slice(0, 1), agreed(7), startMs, roundMs), [207, 207, 207]);
  const wrong = agreed();
  wrong[0] = report([{ ...decision(blocks[0]!, 1), hash: 'other' }]);
  assert.is(decisionLatenciesMs(blocks.slice(0, 1), wrong, startMs, roundMs).length, 2);
});

test('latencySummary: p50 and max against (f + 1)Δ', () => {
  const s = latencySummary([210, 205, 260, 220], 1, roundMs);
  assert.equal(s, { count: 4, p50Ms: 210, maxMs: 260, boundMs: 200, p50OverBound: 1.05, maxOverBound: 1.3 });
  assert.equal(latencySummary([], 2, roundMs), { count: 0, p50Ms: null, maxMs: null, boundMs: 300, p50OverBound: null, maxOverBound: null });
  assert.is(quantile([5, 1, 3], 0.5), 3);
  assert.is(quantile([4, 1, 3, 2], 0.5), 2);
  assert.is(quantile([4, 1, 3, 2], 1), 4);
});

test('all-mine throughput: blocks decided everywhere per round spanned and per second up to the last decision', () => {
  const t = allMineThroughput(blocks, agreed(10), startMs, roundMs);
  // 6 blocks over rounds 5..6; the last decision is round 6's at T(8) + 10 ms, 310 ms after T(5).
  assert.equal(t, { blocks: 6, rounds: 2, spanMs: 310 });
  const r = throughputRates([t, t]);
  assert.is(r.blocksPerRound, 3);
  assert.ok(Math.abs((r.blocksPerSecond ?? 0) - 6000 / 310) < 1e-9);
  const missing = agreed(10);
  missing[1] = report(blocks.slice(1).map((b, i) => decision(b, i + 1, 10)));
  assert.is(allMineThroughput(blocks, missing, startMs, roundMs).blocks, 5);
  assert.equal(throughputRates([]), { blocksPerRound: null, blocksPerSecond: null });
});

test.run();
