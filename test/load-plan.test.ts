/**
 * The load test's plan generator (bench/load/plan.ts) never schedules more than f faulty validators for an
 * instance, never asks a validator to mine while it is out, and never floods one that is out, over many
 * seeds of both run lengths; and it refuses a plan that breaks these rules. The fault count is checked with a
 * sweep of its own, not with the generator's function.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { instanceSpanMs } from '../bench/load/fault-bound.ts';
import { buildPlan, byzantineCount, defaultConfig, floodSettleMs, mineSpan, plannedOutage, planProblems, type Plan } from '../bench/load/plan.ts';

const seeds = 400;

/**
 * Most validators faulty for one instance, by a sweep: an outage [a, b) touches the instances starting in
 * the open interval (a - span, b); the most such intervals of distinct validators that share a point.
 */
function sweepWorst(p: Plan): number {
  const span = instanceSpanMs(p.k, p.config.roundMs);
  const events: Array<{ at: number; node: number; open: boolean }> = [];
  for (const o of p.faults.map(plannedOutage)) {
    events.push({ at: o.fromMs - span, node: o.node, open: true }, { at: o.toMs, node: o.node, open: false });
  }
  // Open intervals: at one point, closings go before openings.
  events.sort((x, y) => x.at - y.at || Number(x.open) - Number(y.open));
  const count = new Map<number, number>();
  let worst = 0;
  for (const e of events) {
    count.set(e.node, (count.get(e.node) ?? 0) + (e.open ? 1 : -1));
    worst = Math.max(worst, [...count.values()].filter((n) => n > 0).length);
  }
  return byzantineCount + worst;
}

function overlapsOutage(p: Plan, node: number, from: number, to: number): boolean {
  return p.faults.some((f) => {
    const o = plannedOutage(f);
    return f.node === node && o.fromMs < to && from < o.toMs;
  });
}

for (const quick of [true, false]) {
  const mode = quick ? 'quick' : 'full';

  test(`${mode} plans: at most f validators faulty for any instance, over ${seeds} seeds`, () => {
    for (let seed = 1; seed <= seeds; seed++) {
      const p = buildPlan(defaultConfig(quick, seed));
      const worst = sweepWorst(p);
      assert.ok(worst <= p.config.faults, `seed ${seed}: ${worst} faulty`);
      assert.is(p.faultyPeak, worst, `seed ${seed}: the plan's own count`);
      assert.equal(planProblems(p), [], `seed ${seed}`);
    }
  });

  test(`${mode} plans: miners and flood targets are up throughout, over ${seeds} seeds`, () => {
    for (let seed = 1; seed <= seeds; seed++) {
      const p = buildPlan(defaultConfig(quick, seed));
      assert.ok(p.mines.length > 0, `seed ${seed}: no block to mine`);
      for (const m of p.mines) {
        const [a, b] = mineSpan(m.atMs, p.k, p.config.roundMs);
        assert.not.ok(overlapsOutage(p, m.node, a, b), `seed ${seed}: mine at ${m.atMs} by ${m.node}`);
      }
      for (const a of p.attacks) {
        if (a.kind !== 'flood') continue;
        for (const t of a.targets) assert.not.ok(overlapsOutage(p, t, a.atMs, a.atMs + a.durMs + floodSettleMs), `seed ${seed}: flood at ${a.atMs} on ${t}`);
      }
    }
  });

  test(`${mode} plans: every kind of attack and fault is scheduled`, () => {
    const p = buildPlan(defaultConfig(quick, 7));
    for (const kind of ['kill', 'pause', 'isolate']) assert.ok(p.faults.some((f) => f.kind === kind), kind);
    for (const kind of ['flood', 'equivocate', 'withhold']) assert.ok(p.attacks.some((a) => a.kind === kind), kind);
  });
}

test('a schedule with more than f faulty validators is refused', () => {
  // f = 3: the three Byzantine validators use up the budget, so any honest fault breaks it.
  const c = { ...defaultConfig(true, 1), faults: 3 };
  assert.throws(() => buildPlan(c), /more than f = 3/);
});

test('the sweep and planProblems both see an instance with one fault too many', () => {
  const p = buildPlan(defaultConfig(true, 5));
  const f = p.faults[0]!;
  const others = p.roles.honest.filter((n) => !p.faults.some((x) => x.node === n)).slice(0, 3);
  // Three more validators out at once with the first fault: 3 Byzantine + 4 honest in one instance.
  const bad: Plan = { ...p, faults: [...p.faults, ...others.map((node) => ({ kind: 'isolate' as const, node, atMs: f.atMs, durMs: 1000 }))] };
  assert.ok(sweepWorst(bad) > bad.config.faults, String(sweepWorst(bad)));
  assert.match(planProblems(bad).join('; '), /validators faulty .* more than f = 5/);
});

test('planProblems names a miner that is out and a flood target that is out', () => {
  const p = buildPlan(defaultConfig(true, 3));
  const f = p.faults[0]!;
  const bad: Plan = {
    ...p,
    mines: [{ atMs: f.atMs, node: f.node }],
    attacks: [{ kind: 'flood', step: 'dups', atMs: f.atMs, durMs: 1000, targets: [f.node] }],
  };
  const problems = planProblems(bad);
  assert.is(problems.length, 2, problems.join('; '));
  assert.match(problems[0]!, `by validator ${f.node}, which is out`);
  assert.match(problems[1]!, `aimed at validators ${f.node}`);
});

test.run();
