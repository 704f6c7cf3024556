/** The ingest benchmark's pure parts: the sustained rule, the bounded search for the highest sustained rate, latencies. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { judgeStep, latenciesMs, percentile, RateSearch, type SearchSettings, type StepFigures } from '../bench/ingest/search.ts';

const good: StepFigures = { offeredPerSec: 1000, sent: 2500, achievedPerSec: 995, delivered: 2500, duplicates: 0, drops: 0, rateHolds: 0, latencyP99Ms: 12 };

test('a step with everything delivered once, nothing dropped or held, on pace and in time is sustained', () => {
  assert.equal(judgeStep(good), { sustained: true, reasons: [] });
});

test('each breach of the rule alone makes a step unsustained, and says why', () => {
  const cases: [Partial<StepFigures>, RegExp][] = [
    [{ delivered: 2499 }, /1 of 2500 not delivered/],
    [{ duplicates: 1 }, /delivered twice/],
    [{ drops: 3 }, /3 dropped/],
    [{ rateHolds: 1 }, /rate holds/],
    [{ achievedPerSec: 979 }, /generator reached 979 of 1000/],
    [{ latencyP99Ms: 100.5 }, /p99 100.5 ms > 100 ms/],
    [{ latencyP99Ms: null }, /no latency/],
  ];
  for (const [change, why] of cases) {
    const v = judgeStep({ ...good, ...change });
    assert.is(v.sustained, false, JSON.stringify(change));
    assert.is(v.reasons.length, 1, JSON.stringify(v.reasons));
    assert.match(v.reasons[0] as string, why);
  }
  // At the bounds themselves it still holds.
  assert.ok(judgeStep({ ...good, achievedPerSec: 980, latencyP99Ms: 100 }).sustained);
});

const settings: SearchSettings = { startPerSec: 1000, growth: 2, capPerSec: 100_000, stepsMax: 12, precision: 0.05, quantumPerSec: 10 };

/** Runs a search against a node whose true ceiling is `ceiling`; returns the rates tried. */
function run(s: SearchSettings, sustains: (rate: number) => boolean): { tried: number[]; search: RateSearch } {
  const search = new RateSearch(s);
  const tried: number[] = [];
  for (let r = search.next(); r !== null; r = search.next()) {
    tried.push(r);
    search.record(r, sustains(r));
  }
  return { tried, search };
}

test('the search ramps up, then bisects to within the precision below the ceiling', () => {
  const { tried, search } = run(settings, (r) => r <= 5300);
  assert.equal(tried.slice(0, 4), [1000, 2000, 4000, 8000]);
  const ok = search.highestSustained as number;
  const bad = search.lowestUnsustained as number;
  assert.ok(ok <= 5300 && bad > 5300, `${ok} ${bad}`);
  assert.ok(bad - ok <= 0.05 * ok, `${ok} ${bad}`);
  assert.ok(tried.length <= settings.stepsMax);
});

test('the search never offers more than the cap, and ends at it when the cap is sustained', () => {
  const { tried, search } = run({ ...settings, capPerSec: 5000 }, () => true);
  assert.equal(tried, [1000, 2000, 4000, 5000]);
  assert.is(search.highestSustained, 5000);
  assert.is(search.lowestUnsustained, null);
});

test('when the first step fails the search steps down until one is sustained, then bisects', () => {
  const { tried, search } = run(settings, (r) => r <= 300);
  assert.equal(tried.slice(0, 3), [1000, 500, 250]);
  assert.ok((search.highestSustained as number) <= 300 && (search.highestSustained as number) >= 250);
});

test('the search is bounded in steps whatever the verdicts', () => {
  const { tried } = run({ ...settings, stepsMax: 5, precision: 0 }, (r) => r <= 5300);
  assert.is(tried.length, 5);
  const never = run({ ...settings, stepsMax: 50 }, () => false);
  // Down by halves to the quantum, then over: bounded by the rates, not only the step count.
  assert.ok(never.tried.length < 12, String(never.tried));
  assert.is(never.search.highestSustained, null);
});

test('a failure at or below a rate already sustained ends the search with the sustained rate', () => {
  // Bisection against a ceiling of exactly 2000: it closes in from above and stops within 5% of 2000.
  assert.equal(run(settings, (r) => r <= 2000).tried, [1000, 2000, 4000, 3000, 2500, 2250, 2130, 2070]);
  // A fluke: 2000 failing after 2000 passed ends it at once.
  const s2 = new RateSearch(settings);
  s2.record(2000, true);
  s2.record(2000, false);
  assert.is(s2.next(), null);
  assert.is(s2.highestSustained, 2000);
});

test('latencies pair each delivery with the tick that sent it; undelivered messages are left out', () => {
  const delivered = Float64Array.from([105, 106, NaN, 130, 131]);
  const tickAt = Float64Array.from([100, 120]);
  const tickEnd = Uint32Array.from([3, 5]); // tick 0 sent 0..2, tick 1 sent 3..4
  assert.equal([...latenciesMs(delivered, tickAt, tickEnd)], [5, 6, 10, 11]);
  assert.is(percentile(latenciesMs(delivered, tickAt, tickEnd), 50), 6);
  assert.is(percentile(new Float64Array(0), 99), null);
});

test.run();
