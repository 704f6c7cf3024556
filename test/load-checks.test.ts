/**
 * The load test's verdicts on made-up records: the fault bound per instance (bench/load/fault-bound.ts),
 * outages as observed and the validity rule (validity.ts), and whether a scheduled attack took place
 * (attack-evidence.ts), and whether a chain split was alarmed by `diverged` or silent (forks.ts). Each rule
 * is shown to pass what it must pass and to fail, naming the culprit, what it must fail.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeliveryLedger } from '../bench/load/checks.ts';
import { stallOutages } from '../bench/load/validity.ts';
import { attackEvidence, baselineMs, graceMs, type AttackFact, type Observations } from '../bench/load/attack-evidence.ts';
import { faultyDuring, instanceSpanMs, worstInstance } from '../bench/load/fault-bound.ts';
import { forkLine, judgeForks } from '../bench/load/forks.ts';
import type { Attack } from '../bench/load/plan.ts';
import { Recorder, type InstanceView, type StatsSample } from '../bench/load/recorder.ts';
import { checkValidity, observedOutages, type ValidityInput } from '../bench/load/validity.ts';

const roundMs = 1000;
const k = 6;
const span = instanceSpanMs(k, roundMs);
const honest = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

test('an instance counts a validator out at any moment of its k + 1 rounds', () => {
  assert.is(span, 7000);
  const outages = [{ node: 4, fromMs: 10_000, toMs: 12_000 }];
  assert.equal(faultyDuring(outages, 3_001, span), [4], 'ends just after the outage starts');
  assert.equal(faultyDuring(outages, 3_000, span), [], 'ends as it starts');
  assert.equal(faultyDuring(outages, 11_999, span), [4]);
  assert.equal(faultyDuring(outages, 12_000, span), [], 'starts as it is back');
});

test('two validators out one after the other within one span both count', () => {
  const outages = [
    { node: 1, fromMs: 0, toMs: 1000 },
    { node: 2, fromMs: 5000, toMs: 6000 },
    { node: 3, fromMs: 20_000, toMs: 21_000 },
  ];
  const w = worstInstance(outages, 3, span);
  assert.is(w.faulty, 5);
  assert.equal(w.nodes, [1, 2]);
  assert.is(worstInstance([], 3, span).faulty, 3);
});

test('observed outage: back one round after the fault ends or after the resync that belongs to it', () => {
  const faults = [
    { node: 1, kind: 'pause' as const, startMs: 1000, endMs: 4000 },
    { node: 2, kind: 'isolate' as const, startMs: 1000, endMs: 6000 },
    { node: 3, kind: 'kill' as const, startMs: 1000, endMs: null },
  ];
  // 1 notices the pause after it; 2 lost sync on its own long after its isolation (not the fault's).
  const resyncs = [
    { node: 1, fromMs: 4500 },
    { node: 2, fromMs: 30_000 },
  ];
  const spans = observedOutages(faults, resyncs, 99_000, 2000, roundMs);
  assert.equal(spans, [
    { node: 1, fromMs: 1000, toMs: 5500 },
    { node: 2, fromMs: 1000, toMs: 7000 },
    { node: 3, fromMs: 1000, toMs: 99_000 },
  ]);
});

/** A run with one proposal of validator 5 at t0 = 10 (round start 10 s), decided as `deciders` say. */
function run(deciders: number[], over: Partial<ValidityInput> = {}): ValidityInput {
  return {
    honest,
    byzantine: 3,
    f: 5,
    k,
    roundMs,
    genesisStartMs: 0,
    outages: [],
    proposals: [{ label: '"block"', miner: 5, t0: 10, hash: 'ab'.repeat(32) }],
    unproposed: [],
    decisions: new Map([['5@10', new Map([['ab'.repeat(32), new Set(deciders)]])]]),
    chain: new Set(['ab'.repeat(32)]),
    ...over,
  };
}

test('validity holds when every honest validator decided the proposal', () => {
  const v = checkValidity(run(honest));
  assert.equal(v, { judged: 1, held: 1, outside: [], failures: [] });
});

test('validity fails naming the proposal and the validator that did not decide it', () => {
  const decisions = new Map([['5@10', new Map([['ab'.repeat(32), new Set(honest.filter((x) => x !== 7))], ['none', new Set([7])]])]]);
  const v = checkValidity(run([], { decisions }));
  assert.is(v.held, 0);
  assert.equal(v.failures, [`"block" (validator 5, t0 10, abababab): not decided by validator 7 (decided no block)`]);
});

test('a validator out during the instance is excused; a block missing from the chain is not', () => {
  const outages = [{ node: 7, fromMs: 15_000, toMs: 16_000 }];
  assert.equal(checkValidity(run(honest.filter((x) => x !== 7), { outages })).failures, []);
  const v = checkValidity(run(honest, { chain: new Set() }));
  assert.match(v.failures[0]!, 'not in the final chain');
});

test('a proposal outside the bound is listed, not judged', () => {
  const minerOut = checkValidity(run([], { outages: [{ node: 5, fromMs: 12_000, toMs: 13_000 }] }));
  assert.equal(minerOut.judged, 0);
  assert.match(minerOut.outside[0]!, 'its miner 5 was out');
  const three = [1, 2, 3].map((node) => ({ node, fromMs: 12_000, toMs: 13_000 }));
  assert.match(checkValidity(run([], { outages: three })).outside[0]!, '6 validators faulty');
});

test('a mine request that never became a proposal fails within the bound', () => {
  const v = checkValidity(run(honest, { unproposed: [{ label: '"lost"', miner: 9, issuedMs: 40_000, why: 'refused 3 times' }] }));
  assert.equal(v.failures, ['"lost" (validator 9): never proposed (refused 3 times)']);
  assert.is(v.judged, 2);
});

const flooderKey = 'f'.repeat(64);
const honestKey = '1'.repeat(64);

function observations(over: Partial<Observations> = {}): Observations {
  return {
    equivocator: 14,
    isFlooder: (peer) => peer === flooderKey,
    instances: new Map(),
    decisions: new Map(),
    charges: [],
    refusals: [],
    statsLog: new Map(),
    releases: [],
    ...over,
  };
}

function view(relayed: Record<string, number[]>): InstanceView {
  return { relayed: new Map(Object.entries(relayed).map(([h, n]) => [h, new Set(n)])), refused: new Map() };
}

const equivocate: Attack = { kind: 'equivocate', atMs: 1000 };
const equivocated = (a: Attack): AttackFact => ({
  attack: a,
  startedMs: 0,
  endedMs: 1,
  flood: null,
  equivocation: { kind: 'equivocate', t0: 20, hashes: ['aa', 'bb'], sentTo: [[1], [2]] },
  error: null,
});

test('an equivocation took place only when honest validators relayed both blocks', () => {
  const both = attackEvidence([equivocate], [equivocated(equivocate)], observations({ instances: new Map([['14@20', view({ aa: [1, 3], bb: [2] })]]) }));
  assert.ok(both[0]!.happened, both[0]!.evidence);
  const one = attackEvidence([equivocate], [equivocated(equivocate)], observations({ instances: new Map([['14@20', view({ aa: [1, 2, 3] })]]) }));
  assert.not.ok(one[0]!.happened);
  assert.match(one[0]!.evidence, '1 of 2 blocks');
  assert.match(attackEvidence([equivocate], [], observations())[0]!.evidence, 'never started');
});

test('a withholding took place only with a release the honest side noticed', () => {
  const a: Attack = { kind: 'withhold', atMs: 1000 };
  const fact: AttackFact = { ...equivocated(a), equivocation: { kind: 'withhold', t0: 30, hashes: ['cc'], sentTo: [[15]] } };
  const release = { miner: 14, t0: 30, hash: 'cc', round: 2, signatures: 2, to: 4, lateMs: 0 };
  const seen = observations({ releases: [release], decisions: new Map([['14@30', new Map([['cc', new Set([4, 5])]])]]) });
  assert.ok(attackEvidence([a], [fact], seen)[0]!.happened);
  assert.not.ok(attackEvidence([a], [fact], observations({ releases: [release] }))[0]!.happened, 'nobody noticed');
  assert.not.ok(attackEvidence([a], [fact], observations({ decisions: seen.decisions }))[0]!.happened, 'no release');
});

/** Counter samples of one validator: `perSec` ordinary duplicates a second, plus `extra` from t = 10 s on. */
function samples(perSec: number, extra: number, holdsFrom10s = 0): StatsSample[] {
  return Array.from({ length: 20 }, (_, i) => ({ atMs: i * 1000, life: 1, duplicates: i * perSec + (i >= 10 ? extra : 0), rateHolds: i >= 10 ? holdsFrom10s : 0, offences: 0, bans: 0, turnsCut: 0 }));
}

function floodFact(a: Attack, framesTo: Record<number, number>): AttackFact {
  return { attack: a, startedMs: 9000, endedMs: 11_000, equivocation: null, error: null, flood: { text: '', frames: 0, framesTo, firstFrameMs: 9500, lastFrameMs: 9900, doneMs: 9900 } };
}

test('a flood of duplicates took place where the target counted them beyond its ordinary rate', () => {
  assert.ok(baselineMs >= 2000);
  const a: Attack = { kind: 'flood', step: 'dups', atMs: 9000, durMs: 1000, targets: [1, 2] };
  const statsLog = new Map([
    [1, samples(50, 900)],
    [2, samples(500, 0)],
  ]);
  const e = attackEvidence([a], [floodFact(a, { 1: 1000, 2: 1000 })], observations({ statsLog }))[0]!;
  // Target 2 counted 500 a second all along: nothing beyond its rate, so the step did not reach it.
  assert.not.ok(e.happened, e.evidence);
  assert.match(e.evidence, 'seen at 1/2 targets');
  const none = attackEvidence([a], [floodFact(a, {})], observations({ statsLog }))[0]!;
  assert.match(none.evidence, '1: 0 frames');
});

test('a burst of duplicates just before a step (a backlog after a pause) does not hide the step', () => {
  const a: Attack = { kind: 'flood', step: 'replay', atMs: 9000, durMs: 1000, targets: [1] };
  // 50 a second, 2000 more worked off between 6 s and 7 s, and the step's 600 between 9 s and 10 s.
  const log = samples(50, 600).map((x) => (x.atMs >= 7000 ? { ...x, duplicates: x.duplicates + 2000 } : x));
  const e = attackEvidence([a], [floodFact(a, { 1: 1000 })], observations({ statsLog: new Map([[1, log]]) }))[0]!;
  assert.ok(e.happened, e.evidence);
  assert.match(e.evidence, '1: 600 counted for 1000 frames');
});

test('a burst took place where the target held a connection over its rate during it (backpressure, no offence)', () => {
  const a: Attack = { kind: 'flood', step: 'burst', atMs: 9000, durMs: 1000, targets: [1, 2] };
  const statsLog = new Map([
    [1, samples(50, 0, 3)],
    [2, samples(50, 0, 0)],
  ]);
  const e = attackEvidence([a], [floodFact(a, { 1: 80_000, 2: 60_000 })], observations({ statsLog }))[0]!;
  assert.not.ok(e.happened, 'target 2 neither held nor charged anyone');
  assert.match(e.evidence, '1: 0 charged for 80000 frames, 3 rate holds');
  assert.match(e.evidence, 'seen at 1/2 targets');
  // Holds before the step (the counter already at 3 when it began) are not the step's.
  const earlier = new Map([[1, samples(50, 0, 0).map((x) => ({ ...x, rateHolds: 3 }))]]);
  const b: Attack = { ...a, targets: [1] };
  assert.not.ok(attackEvidence([b], [floodFact(b, { 1: 80_000 })], observations({ statsLog: earlier }))[0]!.happened);
});

test('a flood of duplicates the target held at its rate, and so read in part, took place', () => {
  const a: Attack = { kind: 'flood', step: 'dups', atMs: 9000, durMs: 1000, targets: [1] };
  const e = attackEvidence([a], [floodFact(a, { 1: 22_200 })], observations({ statsLog: new Map([[1, samples(50, 2300, 5)]]) }))[0]!;
  assert.ok(e.happened, e.evidence);
  assert.match(e.evidence, '1: 2300 counted for 22200 frames, 5 rate holds');
  assert.not.ok(attackEvidence([a], [floodFact(a, { 1: 22_200 })], observations({ statsLog: new Map([[1, samples(50, 2300, 0)]]) }))[0]!.happened, 'read in part without a hold');
});

test('a garbage step took place only where the target charged the flooder for it', () => {
  const a: Attack = { kind: 'flood', step: 'garbage', atMs: 9000, durMs: 1000, targets: [1] };
  const charge = (peer: string, code: string, atMs = 9600) => ({ node: 1, atMs, peer, code });
  const judge = (charges: Observations['charges']) => attackEvidence([a], [floodFact(a, { 1: 4 })], observations({ charges }))[0]!.happened;
  assert.ok(judge([charge(flooderKey, 'ERR_BAD_MSGPACK')]));
  assert.not.ok(judge([charge(honestKey, 'ERR_BAD_MSGPACK')]), 'charged to someone else');
  assert.not.ok(judge([charge(flooderKey, 'ERR_RATE_LIMITED')]), 'another kind of offence');
  assert.not.ok(judge([charge(flooderKey, 'ERR_BAD_MSGPACK', 20_000)]), 'long after the step');
});

test('a replay step took place at a target that banned the flooder for it, though it read only part of it', () => {
  const a: Attack = { kind: 'flood', step: 'replay', atMs: 9000, durMs: 1000, targets: [1] };
  // A restarted target has no memory of the replayed chains: each is a mild offence, the 100th bans the
  // flooder, and the rest of the step is never read (148 counted for 403 frames in a real run).
  const statsLog = new Map([[1, samples(50, 48)]]);
  const stale = (banned: boolean, peer = flooderKey, code = 'ERR_INSTANCE_OVER', atMs = 9700) => ({ node: 1, atMs, peer, code, banned });
  const refusals = Array.from({ length: 100 }, () => stale(false));
  const judge = (ban: ReturnType<typeof stale>) =>
    attackEvidence([a], [floodFact(a, { 1: 403 })], observations({ statsLog, refusals, charges: [...refusals, ban] }))[0]!;
  const e = judge(stale(true));
  assert.ok(e.happened, e.evidence);
  assert.match(e.evidence, '1: 148 counted for 403 frames, flooder banned');
  assert.not.ok(judge(stale(false)).happened, 'no ban and too little counted');
  assert.not.ok(judge(stale(true, honestKey)).happened, 'someone else banned');
  assert.not.ok(judge(stale(true, flooderKey, 'ERR_BAD_MSGPACK')).happened, 'banned for another kind of offence');
  assert.not.ok(judge(stale(true, flooderKey, 'ERR_INSTANCE_OVER', 20_000)).happened, 'banned long after the step');
});

test('a replay read by its target after the last frame was written counts up to the end of the step', () => {
  const a: Attack = { kind: 'flood', step: 'replay', atMs: 9000, durMs: 1000, targets: [1] };
  // Written by 9.9 s; the target, busy, counted the 1,000 duplicates between 12 s and 13 s; the flooder's
  // step ended when the target had read them all and closed, at 13.5 s.
  const log = Array.from({ length: 20 }, (_, i) => ({ atMs: i * 1000, life: 1, duplicates: i * 50 + (i >= 13 ? 1000 : 0), rateHolds: 0, offences: 0, bans: 0, turnsCut: 0 }));
  const fact = floodFact(a, { 1: 1000 });
  fact.flood!.doneMs = 13_500;
  const e = attackEvidence([a], [fact], observations({ statsLog: new Map([[1, log]]) }))[0]!;
  assert.ok(e.happened, e.evidence);
  fact.flood!.doneMs = 9900;
  assert.not.ok(attackEvidence([a], [fact], observations({ statsLog: new Map([[1, log]]) }))[0]!.happened, 'a window that ends at the last write misses them');
});

test('a flood of duplicates a stalled target read just after the step ended counts within graceMs of the end', () => {
  const a: Attack = { kind: 'flood', step: 'dups', atMs: 9000, durMs: 1000, targets: [1] };
  // As at +51 s of seed 1207: the target counted 50 a second before the step, answered no stats while it
  // was stalled, and counted the step's 2,000 duplicates in the 100 ms after the flooder's last write.
  const at = [5000, 6000, 7000, 8000, 9000, 15_000, 15_100, 16_000, 17_000, 18_000];
  const log = at.map((atMs) => ({ atMs, life: 1, duplicates: atMs / 20 + (atMs > 15_000 ? 2000 : 0), rateHolds: 0, offences: 0, bans: 0, turnsCut: 0 }));
  const fact = floodFact(a, { 1: 2160 });
  fact.flood!.lastFrameMs = 14_900;
  fact.flood!.doneMs = 15_000;
  const e = attackEvidence([a], [fact], observations({ statsLog: new Map([[1, log]]) }))[0]!;
  assert.ok(e.happened, e.evidence);
  assert.match(e.evidence, '1: 2000 counted for 2160 frames');
  fact.flood!.doneMs = 15_000 + 2 * graceMs;
  const later = attackEvidence([a], [fact], observations({ statsLog: new Map([[1, log.map((x) => ({ ...x, duplicates: x.atMs / 20 }))]]) }))[0]!;
  assert.not.ok(later.happened, 'nothing beyond its rate, however long the window');
});

test('a stall a validator reported makes it out from the stall until its catch-up ended, plus a round', () => {
  const roundMs = 1000;
  const catchUps = [
    { node: 4, life: 1, fromMs: 10_300, toMs: 14_000 },
    { node: 6, life: 1, fromMs: 20_000, toMs: null },
  ];
  const spans = stallOutages(
    [
      { node: 4, life: 1, atMs: 10_300, lateMs: 600, catchingUp: true },
      { node: 5, life: 1, atMs: 12_000, lateMs: 700, catchingUp: false },
      { node: 6, life: 1, atMs: 20_000, lateMs: 550, catchingUp: true },
      { node: 4, life: 2, atMs: 30_000, lateMs: 900, catchingUp: true },
    ],
    catchUps,
    50_000,
    roundMs,
  );
  assert.equal(spans, [
    { node: 4, fromMs: 9700, toMs: 15_000 },
    { node: 5, fromMs: 11_300, toMs: 13_000 },
    { node: 6, fromMs: 19_450, toMs: 51_000 },
    { node: 4, fromMs: 29_100, toMs: 31_000 },
  ]);
});

test('a caught-up event ends the catch-up it belongs to and is no stall', () => {
  // A `caught-up` once fell through into the stall case: every catch-up that ended was counted as a stall
  // the validator "could not catch up" from, out until the end of the run, and no catch-up period closed.
  const r = new Recorder(() => 'honest', (id) => id);
  r.onEvent({ node: 3, life: 1, atMs: 5000, e: { event: 'resync', reason: 'no peers' } });
  r.onEvent({ node: 3, life: 1, atMs: 6200, e: { event: 'caught-up', height: 4, tip: 'ab' } });
  r.onEvent({ node: 5, life: 1, atMs: 7000, e: { event: 'stalled', lateMs: 640, stallMsMax: 500, catchingUp: true } });
  assert.equal(r.stalls, [{ node: 5, life: 1, atMs: 7000, lateMs: 640, catchingUp: true }]);
  assert.equal(r.catchUps, [{ node: 3, life: 1, fromMs: 5000, toMs: 6200, reason: 'no peers' }]);
  assert.is(r.caughtUp, 1);
});

/** Feeds `chain` answers (one letter a block) and `diverged` alarms to a Recorder, as validators' events. */
function recordForks(chains: Record<number, string>, alarms: Array<[node: number, life: number]>): Recorder {
  const r = new Recorder(() => 'honest', (id) => id);
  let atMs = 1000;
  for (const [node, life] of alarms) r.onEvent({ node, life, atMs: atMs++, e: { event: 'diverged', source: 'outcomes', reason: 'f+1 signed other blocks', t0: 15, height: 4, signers: [2, 3, 4, 5, 6, 7], theirs: [], ours: [] } });
  for (const [node, c] of Object.entries(chains)) r.onEvent({ node: Number(node), life: 1, atMs: atMs++, e: { event: 'chain', blocks: [...c].map((hash) => ({ hash })) } });
  return r;
}

const fiveHonest = [0, 1, 2, 3, 4];

test('diverged alarms are counted per validator over its lives, and in total', () => {
  const r = recordForks({}, [[0, 1], [0, 1], [0, 2], [3, 1]]);
  assert.is(r.divergences.length, 4);
  assert.equal(r.divergences[2], { node: 0, life: 2, atMs: 1002, source: 'outcomes', height: 4 });
  assert.equal([...r.divergedBy()], [[0, 3], [3, 1]]);
  const f = judgeForks(fiveHonest, r.chains, r.divergedBy());
  assert.equal(f.alarms, [{ node: 0, alarms: 3 }, { node: 3, alarms: 1 }]);
  assert.is(f.alarmsTotal, 4);
});

test('a split with no diverged alarm on the split validators is a silent fork, and fails', () => {
  // Validator 4 raised an alarm but is not split (a prefix of both sides): it does not make the split alarmed.
  const r = recordForks({ 0: 'abxy', 1: 'abxy', 2: 'abcd', 3: 'abcd', 4: 'ab' }, [[4, 1]]);
  const f = judgeForks(fiveHonest, r.chains, r.divergedBy());
  assert.is(f.kind, 'silent');
  assert.equal(f.split, [0, 1, 2, 3]);
  assert.equal(f.quiet, [0, 1, 2, 3]);
  const line = forkLine(f);
  assert.is(line.ok, false);
  assert.match(line.value, 'SILENT FORK: validators 0,1,2,3');
});

test('a split alarmed on a split validator is an alarmed fork, told apart from a silent one', () => {
  // The minority (0, 1) raised the alarm, the side f+1 validators hold did not: still alarmed, whichever
  // side the chain check took for its reference.
  const r = recordForks({ 0: 'abxy', 1: 'abx', 2: 'abcd', 3: 'abcd', 4: 'abcd' }, [[0, 1], [0, 1], [1, 2]]);
  const f = judgeForks(fiveHonest, r.chains, r.divergedBy());
  assert.is(f.kind, 'alarmed');
  assert.equal(f.alarmed, [{ node: 0, alarms: 2 }, { node: 1, alarms: 1 }]);
  assert.equal(f.quiet, [2, 3, 4]);
  const line = forkLine(f);
  assert.is(line.ok, true);
  assert.match(line.value, 'alarmed fork: validators 0,1,2,3,4 hold conflicting chains; diverged alarms on 0 (2), 1 (1), none on 2,3,4');
});

test('chains that are prefixes of one another are no split, alarms or not; an unanswered validator is not judged', () => {
  const r = recordForks({ 0: 'abcd', 1: 'abc', 2: 'abcd', 3: '' }, [[1, 1]]);
  const f = judgeForks(fiveHonest, r.chains, r.divergedBy());
  assert.is(f.kind, 'none');
  assert.equal(f.split, []);
  const line = forkLine(f);
  assert.is(line.ok, true);
  assert.is(line.value, 'no split (yet 1 diverged alarm: 1 (1))');
});

/** A broadcast of validator 0 at 10 s that validators 1 and 2 delivered `lateMs` after it; validator 3 is killed at 14 s and never has it. */
function lateBroadcast(lateMs: number): DeliveryLedger {
  const ledger = new DeliveryLedger();
  ledger.onSent('aa', 0, 10_000);
  ledger.onDelivered(1, 1, 'aa', 10_000 + lateMs);
  ledger.onDelivered(2, 1, 'aa', 10_000 + lateMs / 2);
  return ledger;
}
const killed3 = [{ node: 3, kind: 'kill' as const, startMs: 14_000, endMs: 18_000 }];

test('a validator cut off while a broadcast was still reaching the others is excused from it', () => {
  const d = lateBroadcast(4_500).check([0, 1, 2, 3], killed3, 3000, 60_000);
  assert.is(d.missing, 0);
  assert.is(d.excused, 1);
  assert.is(d.excusedInFlight, 1);
  assert.is(d.required, 2);
});

test('a validator cut off after every other had a broadcast must still have had it, and the miss says who had it when', () => {
  const d = lateBroadcast(3_900).check([0, 1, 2, 3], killed3, 3000, 60_000);
  assert.is(d.missing, 1);
  assert.equal(d.missingExamples, [{ id: 'aa', origin: 0, node: 3, sentAtMs: 10_000, deliveredBy: 2, lastDeliveredAtMs: 13_900 }]);
  const edge = lateBroadcast(4_000).check([0, 1, 2, 3], killed3, 3000, 60_000);
  assert.is(edge.missing, 0, 'cut off at the very moment the last other validator delivered it');
});

test.run();
