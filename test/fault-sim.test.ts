/**
 * The load test's faults, in memory and deterministic (test/sim-net): validators on a random mesh mine and
 * gossip while nodes are killed and restarted from their durable chain (and catch up), paused, cut off and
 * reconnected, flooded by a Byzantine peer with duplicates, replays, forgeries and garbage frames, and while
 * Byzantine validators equivocate, withhold chains for a late release and lie to catching-up nodes.
 *
 * Every run is a function of its seed, and every assertion names it. A fixed block of seeds runs every time;
 * replay one with `FAULT_SEED=<seed> npm test -- fault-sim`, or explore with `FAULT_SEED=100-400`.
 * Switches for known gaps (off by default, see test/sim-net/scenario.ts): FAULT_QUIET=1 keeps mining out of
 * pauses and cuts, FAULT_EAGER_MINING=1 lets just-restarted validators mine, FAULT_RELINK=1 has Byzantine
 * validators relink decided blocks in catch-up replies.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkOutcome, type RunFigures } from './sim-net/checks.ts';
import { floodKinds } from './sim-net/byzantine.ts';
import { runScenario, type FaultKind, type Outcome } from './sim-net/scenario.ts';

/** Seeds run by default: a fixed block, so every run of the suite checks the same schedules. */
const defaultSeeds = 40;

/** `FAULT_SEED=N` replays one seed; `FAULT_SEED=A-B` explores a range. */
function chooseSeeds(spec: string | undefined): number[] {
  if (spec === undefined) return Array.from({ length: defaultSeeds }, (_, i) => i + 1);
  const range = /^(\d+)-(\d+)$/.exec(spec.trim());
  if (range) return Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i);
  return [Number(spec) >>> 0];
}

const replay = process.env['FAULT_SEED'];
/** Offences that mean a frame could not be read: garbage, a bad length, a body that is no message. */
const badFrameCodes = ['ERR_BAD_MSGPACK', 'ERR_BAD_MESSAGE', 'ERR_FRAME_TOO_LARGE', 'ERR_FRAME_EMPTY'];
const seeds = chooseSeeds(replay);

/** Runs and checks one seed; any exception is reported with the seed so it can be replayed. */
async function runChecked(seed: number): Promise<{ o: Outcome; figures: RunFigures }> {
  try {
    const o = await runScenario(seed);
    return { o, figures: checkOutcome(o) };
  } catch (e) {
    console.error(`fault-sim failure: replay with FAULT_SEED=${seed}`);
    throw e;
  }
}

let ran = 0;
const totals = {
  faults: new Map<FaultKind, number>(),
  flood: new Map<string, number>(),
  equivocations: 0,
  withheld: 0,
  lies: 0,
  badFrames: 0,
  refused: 0,
  bans: 0,
  blocks: 0,
  owed: 0,
  validity: 0,
  catchUps: 0,
  synced: 0,
  resyncs: 0,
  prunes: 0,
  grafts: 0,
  graftServed: 0,
};

test(`${seeds.length} seeded fault runs: gossip exactly once to every connected node, one honest chain, durable stores, honest blocks decided`, async () => {
  for (const seed of seeds) {
    const { o, figures } = await runChecked(seed);
    ran++;
    for (const f of o.faults) totals.faults.set(f.kind, (totals.faults.get(f.kind) ?? 0) + 1);
    for (const fl of o.flooders) for (const [k, v] of fl.sent) totals.flood.set(k, (totals.flood.get(k) ?? 0) + v);
    for (const b of o.byzantine) {
      totals.equivocations += b.released.equivocations;
      totals.withheld += b.released.withheld;
      totals.lies += b.released.lies;
    }
    totals.badFrames += badFrameCodes.reduce((t, code) => t + (o.world.offences.get(code) ?? 0), 0);
    totals.refused += o.world.net.counters.refused;
    totals.bans += o.world.incarnations.reduce((t, x) => t + x.node.stats().bans, 0);
    totals.blocks += figures.blocks;
    totals.owed += figures.owedDeliveries;
    totals.validity += figures.validityChecked;
    totals.catchUps += figures.catchUps;
    totals.synced += figures.syncedBlocks;
    totals.resyncs += o.world.incarnations.reduce((t, x) => t + x.counters.resyncs, 0);
    totals.prunes += o.world.incarnations.reduce((t, x) => t + x.node.stats().tree.pruneFrames, 0);
    totals.grafts += o.world.incarnations.reduce((t, x) => t + x.node.stats().tree.graftFrames, 0);
    totals.graftServed += o.world.incarnations.reduce((t, x) => t + x.node.stats().tree.graftServed, 0);
  }
});

test('the runs took every fault path (restarts and resyncs that caught up, pauses, cuts, every kind of flood, Byzantine validators)', () => {
  if (seeds.length < defaultSeeds) return; // a replay of a few seeds need not cover everything
  assert.is(ran, seeds.length, 'the seeded runs failed (see above)');
  const show = JSON.stringify({ ...totals, faults: [...totals.faults], flood: [...totals.flood] });
  for (const kind of ['kill', 'short-pause', 'long-pause', 'cut'] as const) assert.ok((totals.faults.get(kind) ?? 0) >= 3, `too few '${kind}' faults: ${show}`);
  for (const kind of floodKinds) assert.ok((totals.flood.get(kind) ?? 0) >= 20, `flooders rarely sent '${kind}': ${show}`);
  assert.ok(totals.equivocations >= 5 && totals.withheld >= 50 && totals.lies >= 2, `Byzantine validators rarely acted: ${show}`);
  assert.ok(totals.badFrames >= 20, `garbage rarely closed a connection: ${show}`);
  assert.ok(totals.bans >= 5 && totals.refused >= 5, `flooders were rarely banned and refused: ${show}`);
  assert.ok(totals.catchUps >= 20 && totals.synced >= 50, `restarted nodes rarely caught up: ${show}`);
  assert.ok(totals.resyncs >= 10, `paused and cut-off nodes rarely caught up again: ${show}`);
  assert.ok(totals.blocks >= 10 * seeds.length && totals.validity >= 8 * seeds.length, `too few blocks decided: ${show}`);
  assert.ok(totals.owed >= 200 * seeds.length, `too few gossip deliveries were owed: ${show}`);
  // The broadcast tree both settled (redundant links pruned) and repaired itself (missing broadcasts grafted).
  assert.ok(totals.prunes >= 10 * seeds.length && totals.grafts >= 20 && totals.graftServed >= 20, `the broadcast tree rarely pruned or repaired: ${show}`);
});

test('a seed replays exactly: same events at the same times, same chains', async () => {
  const seed = seeds[0]!;
  const fingerprint = (o: Outcome): string => JSON.stringify([o.world.sched.events, o.world.digest, o.world.nodes.map((x) => x?.chainHashes().join(',') ?? '-')]);
  const a = fingerprint(await runScenario(seed));
  const b = fingerprint(await runScenario(seed));
  assert.ok(a === b, `seed=${seed} ran differently twice`);
});

test.run();
