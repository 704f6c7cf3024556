/**
 * Agreement across real machines, in the simulator, on the shipped node and validator: sparse topologies
 * with observers, clocks spread over the whole skew bound, link delays down to 0, verification taking a
 * good part of the round, and a Byzantine coalition that rewrites every field no signature covers and
 * releases chains early and late to chosen nodes (test/sim-net/agreement.ts). A fixed block of seeds runs
 * here; `npm run sim -- --runs 10000` is the long run, `AGREE_SEED=N` (or `npm run sim -- --seed N`) replays one.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgreement } from './sim-net/agreement.ts';
import type { SimValidator } from './sim-net/world.ts';
import { describeBatch, runAgreementBatch } from './sim-net/agreement-runs.ts';
import { minerModes } from './sim-net/rewriter.ts';
import { shapes } from './sim-net/sparse-topology.ts';

const replay = process.env['AGREE_SEED'];
const seeds = replay === undefined ? { from: 1, count: 180 } : { from: Number(replay), count: 1 };

test(`${seeds.count} seeded runs: honest validators agree, observers never disagree, honest blocks are decided, no honest peer is scored`, async () => {
  const batch = await runAgreementBatch(seeds.from, seeds.count, (o) => {
    if (o.violations.length > 0) console.error(`agreement failure: replay with AGREE_SEED=${o.seed}`);
  });
  assert.equal(batch.failures.map((f) => f.violations.join('\n')), [], describeBatch(batch));
  if (replay !== undefined) return;
  const show = describeBatch(batch);
  for (const s of shapes) assert.ok((batch.shapes.get(s) ?? 0) >= 20, `shape ${s} ran too rarely:\n${show}`);
  for (const m of minerModes) assert.ok((batch.minerModes.get(m) ?? 0) >= 5, `Byzantine miners rarely went '${m}':\n${show}`);
  for (const [k, v] of Object.entries(batch.counters)) assert.ok(v >= 20, `the adversary rarely did '${k}':\n${show}`);
  assert.ok(batch.observersFollowing >= 30 && batch.withByzantine >= 80 && batch.maxSkewMs >= 40, `too little coverage:\n${show}`);
  assert.ok(batch.honestProposals >= 150 && batch.blocksDecided >= 300, `too few blocks:\n${show}`);
});

test('negative control: with k = f rounds (one short), the adversary splits honest validators in some run', async () => {
  if (replay !== undefined) return;
  // Scan seeds with a full coalition until one disagrees; bounded, and with today's draws it takes a few dozen.
  let found: string | null = null;
  let tried = 0;
  for (let seed = 1; seed <= 600 && found === null; seed++) {
    const probe = await runAgreement(seed);
    if (probe.byzantine.length === 0 || probe.f < 1) continue;
    tried++;
    const o = await runAgreement(seed, { roundsOverride: probe.f });
    if (o.violations.some((v) => v.includes('agreement'))) found = `seed=${seed}`;
  }
  assert.ok(found !== null, `no disagreement with k = f in ${tried} runs with a Byzantine coalition: the simulator cannot see the attack k = f + 1 defends against`);
});

test('a seed replays exactly: same events, same digest, same chains', async () => {
  const seed = seeds.from;
  const fingerprint = async (): Promise<string> => {
    const o = await runAgreement(seed);
    return JSON.stringify([o.world.sched.events, o.world.digest, o.world.nodes.map((x) => x?.chainHashes().join(',') ?? '-')]);
  };
  assert.is(await fingerprint(), await fingerprint(), `seed=${seed} ran differently twice`);
});

/**
 * Honest validators the divergence watch must alarm in a run: X, when f+1 other honest validators hold one
 * chain that differs from X's and is not a prefix of it (their outcomes then contradict a block X holds, or
 * name one X lacks). With fewer, or with only an extra block of X's at the end, nothing f+1 validators sign
 * contradicts X, and staying quiet is right.
 */
function mustAlarm(o: Awaited<ReturnType<typeof runAgreement>>): SimValidator[] {
  const vs = o.honest.map((i) => o.world.nodes[i]).filter((x): x is SimValidator => x != null && !o.world.isObserver(x.index));
  const chainOf = (x: SimValidator) => x.chainHashes().join(',');
  return vs.filter((x) => {
    const groups = new Map<string, number>();
    for (const y of vs) if (y !== x && chainOf(y) !== chainOf(x)) groups.set(chainOf(y), (groups.get(chainOf(y)) ?? 0) + 1);
    return [...groups].some(([chain, size]) => size >= o.f + 1 && !chainOf(x).startsWith(chain));
  });
}

test('negative control, detected: a split that f+1 honest validators contradict is reported (diverged), never silent', async () => {
  if (replay !== undefined) return;
  // Seed 225 split this way when written; the scan behind it keeps the test meaningful if draws change. Bounded.
  const candidates = [225, ...Array.from({ length: 300 }, (_, i) => i + 1)];
  let checked = 0;
  for (const seed of candidates) {
    const probe = await runAgreement(seed);
    if (probe.byzantine.length === 0 || probe.f < 1) continue;
    const o = await runAgreement(seed, { roundsOverride: probe.f });
    const must = mustAlarm(o);
    for (const x of must) assert.ok(x.counters.diverged > 0, `seed=${seed}: validator ${x.index} holds a chain f+1 honest validators contradict, and reported nothing`);
    checked += must.length;
    if (checked > 0) break;
  }
  assert.ok(checked > 0, 'no split with f+1 honest validators on the other side found: the detection was not exercised');
});

test.run();
