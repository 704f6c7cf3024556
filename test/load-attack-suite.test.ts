/**
 * The attack suite inside the load test (`npm run load -- --attack-suite`): its schedule (bench/load/suite-plan.ts)
 * runs every attack kind of the suite once, one at a time, inside the load phase, against one honest validator
 * that has no planned fault and is no flood step's target; and its evidence rule (bench/load/suite-evidence.ts)
 * counts an attack as having reached the target only when the attacker's report shows it connected (and, for
 * sybils, was accepted and sent) and the target acted on it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attackNames, quickAttacks } from '../bench/attack/catalog.ts';
import type { AttackTally } from '../bench/attack/attack-run.ts';
import type { AttackerReport } from '../bench/attack/attacker.ts';
import { loopbackHosting } from '../bench/load/hosting.ts';
import { buildPlan, byzantineCount, defaultConfig, plannedOutage, planProblems } from '../bench/load/plan.ts';
import { instanceSpanMs } from '../bench/load/fault-bound.ts';
import { Prng } from '../bench/load/prng.ts';
import { suiteEvidence, type SuiteRecord, type TargetView } from '../bench/load/suite-evidence.ts';
import { planSuite, suiteAttackNames, suiteProblems, suiteTiming } from '../bench/load/suite-plan.ts';

const full = (seed: number) => ({ ...defaultConfig(false, seed), attackSuite: true });
const quick = (seed: number) => ({ ...defaultConfig(true, seed), attackSuite: true });

test('a full run schedules every attack kind of the suite once (not the no-attack control), one at a time, inside the load phase', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const c = full(seed);
    const s = buildPlan(c).suite!;
    assert.equal([...s.attacks.map((a) => a.name)].sort(), attackNames.filter((n) => n !== 'baseline').sort());
    const sorted = [...s.attacks].sort((a, b) => a.atMs - b.atMs);
    sorted.forEach((a, i) => {
      assert.is(a.durMs, suiteTiming.full.durMs);
      assert.ok(a.atMs >= suiteTiming.full.firstMs);
      assert.ok(a.atMs + a.durMs <= c.loadMs - suiteTiming.full.endMarginMs, `${a.name} ends inside the load phase`);
      const next = sorted[i + 1];
      if (next) assert.ok(a.atMs + a.durMs + suiteTiming.full.gapMinMs <= next.atMs, `${a.name} and ${next.name} do not overlap and leave a gap`);
    });
  }
});

test('a quick run schedules the suite\'s quick set', () => {
  const s = buildPlan(quick(7)).suite!;
  assert.equal([...s.attacks.map((a) => a.name)].sort(), quickAttacks.filter((n) => n !== 'baseline').sort());
  assert.equal(suiteAttackNames(true), quickAttacks.filter((n) => n !== 'baseline'));
});

test('the target is honest, has no planned fault and is never a flood step\'s target; the plan keeps its other rules', () => {
  for (let seed = 1; seed <= 200; seed++) {
    for (const c of [full(seed), quick(seed)]) {
      const p = buildPlan(c);
      const t = p.suite!.target;
      assert.ok(p.roles.honest.includes(t), `seed ${seed}: target ${t} is honest`);
      assert.not.ok(p.faults.some((f) => f.node === t), `seed ${seed}: target ${t} has no fault`);
      assert.not.ok(p.attacks.some((a) => a.kind === 'flood' && a.targets.includes(t)), `seed ${seed}: target ${t} is not flooded`);
      assert.equal(planProblems(p), []);
    }
  }
});

test('without --attack-suite a plan has no suite and is the plan it was before', () => {
  const p = buildPlan(defaultConfig(false, 42));
  assert.is(p.suite, null);
  // The same seed with the suite keeps its roles (the suite draws from a PRNG of its own); its faults come
  // one at a time (next test).
  const q = buildPlan(full(42));
  assert.equal(q.roles, p.roles);
  assert.equal(buildPlan(defaultConfig(false, 42)), p, 'the plan without the suite is unchanged by it');
});

test('with the suite the target counts as out throughout, so faults come one at a time and the plan stays within f', () => {
  for (let seed = 1; seed <= 200; seed++) {
    for (const c of [full(seed), quick(seed)]) {
      const p = buildPlan(c);
      const spans = p.faults.map(plannedOutage).sort((a, b) => a.fromMs - b.fromMs);
      const spanMs = instanceSpanMs(p.k, c.roundMs);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(spans[i]!.fromMs >= spans[i - 1]!.toMs + spanMs, `seed ${seed}: fault ${i} starts an instance span after the one before it is back`);
      }
      assert.ok(p.faults.length >= (c.quick ? 1 : 5), `seed ${seed}: ${p.faults.length} faults still planned`);
      assert.equal(new Set(p.faults.map((f) => f.kind)), new Set(c.quick ? p.faults.map((f) => f.kind) : ['kill', 'pause', 'isolate']), `seed ${seed}: every kind of fault`);
      assert.ok(p.faultyPeak <= c.faults, `seed ${seed}: faulty peak ${p.faultyPeak} with the target counted`);
      assert.is(p.faultyPeak, p.faults.length > 0 ? byzantineCount + 2 : byzantineCount + 1, `seed ${seed}: the peak counts the target and one fault`);
    }
  }
  // The check has teeth: two overlapping faults with the target out are one too many for f = 5.
  const p = buildPlan(full(7));
  const twice = { ...p, faults: [...p.faults, { ...p.faults[0]!, node: p.roles.honest.find((h) => h !== p.suite!.target && !p.faults.some((f) => f.node === h))! }] };
  assert.match(planProblems(twice).join(';'), /more than f = 5/);
});

test('the same seed gives the same schedule; the order differs between seeds', () => {
  assert.equal(buildPlan(full(5)).suite, buildPlan(full(5)).suite);
  const orders = new Set(Array.from({ length: 10 }, (_, i) => buildPlan(full(i + 1)).suite!.attacks.map((a) => a.name).join()));
  assert.ok(orders.size > 1);
});

test('--suite-skip leaves those attacks out and the others in the order they had', () => {
  const all = buildPlan(full(9)).suite!.attacks.map((a) => a.name);
  const some = buildPlan({ ...full(9), suiteSkip: ['relay-rate', 'eclipse'] }).suite!;
  assert.equal(some.attacks.map((a) => a.name), all.filter((n) => n !== 'relay-rate' && n !== 'eclipse'));
  assert.is(some.target, buildPlan(full(9)).suite!.target);
  assert.throws(() => planSuite(new Prng(1), { quick: true, loadMs: 24_000, suiteSkip: suiteAttackNames(true) }, [0]), /leaves no attack/);
});

test('planSuite refuses a load phase too short for the attacks, and a run with no validator free of faults', () => {
  assert.throws(() => planSuite(new Prng(1), { quick: false, loadMs: 60_000 }, [0, 1]), /too short for 16 attacks/);
  assert.throws(() => planSuite(new Prng(1), { quick: false, loadMs: 180_000 }, []), /no honest validator is free/);
});

test('suiteProblems names overlaps, attacks past the load phase, and a target with a fault or a flood', () => {
  const s = { target: 3, attacks: [{ name: 'eclipse' as const, atMs: 1000, durMs: 4000 }, { name: 'reflection' as const, atMs: 4000, durMs: 4000 }] };
  assert.equal(suiteProblems(s, 100_000, [], []), ['attack-suite eclipse at +1000 ms overlaps reflection']);
  assert.equal(suiteProblems(s, 7000, [3], [3]).length, 4);
  assert.equal(suiteProblems({ target: 3, attacks: [s.attacks[0]!] }, 100_000, [1], [2]), []);
});

test('on loopback every process has a /16 of its own, and the attacker fresh addresses per attack, two per /16, in groups no process has', () => {
  const h = loopbackHosting(20_000, true);
  const group = (a: string) => a.split('.').slice(0, 2).join('.');
  const processGroups = new Set(Array.from({ length: 56 }, (_, i) => group(h.address(i))));
  assert.is(processGroups.size, 56);
  const sets = h.attackerSources(16, 32, 16);
  assert.is(sets.length, 16);
  const all = sets.flat();
  assert.is(new Set(all).size, 16 * 32, 'no address is used by two attacks');
  for (const set of sets) {
    const groups = set.map(group);
    assert.is(new Set(groups).size, 16, 'two addresses per /16');
    for (const g of groups) assert.not.ok(processGroups.has(g), `${g} is no process's group`);
    assert.ok(set.every((a) => /^127\.(1[6-9]|2\d|3[01])\./.test(a)), 'in the suite\'s own source groups');
  }
  // Without the suite, loopback stays on 127.0.0.1.
  assert.is(loopbackHosting(20_000).address(5), '127.0.0.1');
});

// ----- evidence

const tally = (t: Partial<AttackTally>): AttackTally => ({ connections: 0, handshakes: 0, refused: 0, framesSent: 0, bytesSent: 0, bytesIn: 0, closedWith: {}, facts: {}, ...t });
const report = (attack: AttackerReport['attack'], t: Partial<AttackTally>): AttackerReport => ({ attack, prepCpuMs: 0, runCpuMs: 100, runMs: 4000, tally: tally(t) });
const rec = (r: AttackerReport | null, error: string | null = null): SuiteRecord => ({
  attack: { name: r?.attack ?? 'eclipse', atMs: 8000, durMs: 4000 },
  startedMs: 1000,
  endedMs: 5000,
  report: r,
  error,
});
const quiet: TargetView = { charges: {}, bans: 0, counters: { offences: 0, bans: 0, rateHolds: 0, turnsCut: 0 } };

test('silent sockets reached the target when it ended connections; not when every connection was closed by the attacker', () => {
  const r = (closedWith: Record<string, number>) => report('silent-sockets', { connections: 80, closedWith });
  assert.ok(suiteEvidence(rec(r({ 'closed by the victim': 20, 'closed by us': 60 })), quiet).happened);
  assert.not.ok(suiteEvidence(rec(r({ 'closed by us': 80 })), quiet).happened);
  // The target's own counters are evidence too.
  assert.ok(suiteEvidence(rec(r({ 'closed by us': 80 })), { ...quiet, counters: { offences: 3, bans: 0, rateHolds: 0, turnsCut: 0 } }).happened);
});

test('an attack that opened no connection did not reach the target, whatever the target did meanwhile', () => {
  const busy: TargetView = { charges: { ERR_BAD_SIGNATURE: 5 }, bans: 2, counters: { offences: 5, bans: 2, rateHolds: 1, turnsCut: 1 } };
  assert.not.ok(suiteEvidence(rec(report('silent-sockets', { refused: 80 })), busy).happened);
  assert.not.ok(suiteEvidence(rec(report('badsig-fresh-keys', { connections: 10, refused: 10 })), busy).happened);
});

test('sybil attacks need a handshake the target accepted and frames sent (eclipse: the handshake alone)', () => {
  assert.ok(suiteEvidence(rec(report('eclipse', { connections: 30, handshakes: 30 })), quiet).happened);
  assert.not.ok(suiteEvidence(rec(report('eclipse', { connections: 30, refused: 30, closedWith: { 'closed by us': 30 } })), quiet).happened);
  assert.ok(suiteEvidence(rec(report('badsig-fresh-keys', { connections: 8, handshakes: 8, framesSent: 16 })), { ...quiet, charges: { ERR_BAD_SIGNATURE: 16 }, bans: 8 }).happened);
  assert.not.ok(suiteEvidence(rec(report('ihave-flood', { connections: 4, handshakes: 4 })), quiet).happened, 'accepted but nothing sent');
});

test('writing before the handshake needs frames written; a forged handshake needs its last message and frame out and the target to act', () => {
  assert.not.ok(suiteEvidence(rec(report('stalled-handshakes', { connections: 80, closedWith: { 'closed by the victim': 80 } })), quiet).happened);
  assert.ok(suiteEvidence(rec(report('stalled-handshakes', { connections: 80, framesSent: 80, closedWith: { 'closed by the victim': 80 } })), quiet).happened);
  const forged = report('decode-preauth', { connections: 4, handshakes: 4, framesSent: 4, closedWith: { 'closed by us': 4 } });
  assert.not.ok(suiteEvidence(rec(forged), quiet).happened, 'the target did nothing');
  assert.ok(suiteEvidence(rec(forged), { ...quiet, charges: { ERR_BAD_HANDSHAKE: 4 } }).happened);
});

test('an attack that failed, never started or has no report did not reach the target', () => {
  assert.not.ok(suiteEvidence(rec(null, 'attacker did not answer'), quiet).happened);
  assert.match(suiteEvidence(rec(null, 'attacker did not answer'), quiet).attacker, /failed: attacker did not answer/);
  assert.match(suiteEvidence({ ...rec(null), startedMs: null }, quiet).attacker, /never started/);
});

test.run();
