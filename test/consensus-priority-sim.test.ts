/**
 * Consensus ahead of broadcasts inside a validator, on the simulator: attacks aimed at one validator are
 * relayed to all of them (bench/RESULTS.md, load-attack-suite-diagnosis-2026-12-06). Ten sybils send
 * validator 0 validly signed broadcasts from 256 origins, each at 1,000 a second (a fifth of the per-peer
 * rate), while the four validators mine in turn. Every validator's verifier has the capacity of a two-thread
 * pool at 0.5 ms a signature (4,000 a second, a validator's share of a machine that runs many): validator 0
 * is saturated by the sybils and relays what it checks to the others, which are then saturated too. Where a
 * chain waited before consensus came first (validator 0: about 106 ms in its verifier's queue, behind ten
 * sybil lanes, and up to 140 ms more for room among the checks in progress, a quarter of the default here so
 * that the sybils fill it within the seconds simulated), it was checked after its round, and validator 0
 * resynced. Dolev-Strong needs every honest chain checked within its round: none may be checked late, none
 * may put a validator into catch-up, and every block is decided alike by all.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimHost } from '../src/sim/sim-host.ts';
import { RawHost } from './sim-net/raw-host.ts';
import { runSybilFlood } from './sim-net/sybil-flood.ts';
import { validatorIp, World, simPort } from './sim-net/world.ts';
import { testKey } from './sim/keys.ts';

const roundMs = 200;
const sybils = 10;
/** Broadcasts each sybil sends per 10 ms of virtual time: 1,000 a second, under the per-peer rate of 5,000. */
const perTick = 10;
const floodTicks = 200;
/** Virtual ms a signature takes on one of a validator's two verification threads. */
const signatureMs = 0.5;

function world(seed: number): World {
  return new World({
    seed,
    n: 4,
    faults: 1,
    roundMs,
    delayMinMs: 1,
    delayMaxMs: 3,
    verifyMsMax: 1,
    diskMsMax: 1,
    syncIntervalMs: roundMs,
    eventsMax: 20_000_000,
    poolOf: () => ({ threads: 2, signatureMs }),
    // A quarter of the default room for checks in progress, so the sybils fill it within the seconds simulated.
    gossip: { inflightMax: 1024 },
  }).startFullMesh();
}

/** The sybils' flood through validator 0 for floodTicks x 10 ms, the validators mining in turn meanwhile. */
async function flood(w: World): Promise<{ sent: number; firstT0: number; lastT0: number }> {
  await w.sched.run(w.T0(1));
  const raws = Array.from({ length: sybils }, (_, i) => new RawHost(w.net, new SimHost(w.sched, `10.66.0.${i + 1}`), testKey(i, 91), w.networkId, w.rng));
  for (const h of raws) h.dial(validatorIp(0), simPort);
  await w.sched.run(w.T0(2));
  const { sent, firstT0, lastT0 } = await runSybilFlood(w, raws, { floodTicks, perTick, roundMs });
  await w.sched.run(w.T0(lastT0 + 6));
  for (const h of raws) for (const c of h.open.values()) c.close();
  return { sent, firstT0, lastT0 };
}

test('simulator: a flood of valid broadcasts through one validator does not make any validator check a chain late, resync, or decide otherwise', async () => {
  const w = world(1);
  const { sent, firstT0, lastT0 } = await flood(w);
  const blocks = lastT0 - firstT0 + 1;
  const report = w.nodes.map((sv) => {
    const s = sv!.validator.status().synchrony;
    return `${sv!.id}: delivered ${sv!.node.stats().delivered}, blocks ${sv!.validator.chain().length}, chains checked ${s.chainsChecked} (late ${s.chainsCheckedLate}), least margin ${s.chainMarginMsRecentMin} ms, late-chain ${sv!.counters.lateChains}, resync ${sv!.counters.resyncs}`;
  });
  const summary = report.join('\n');
  assert.ok(w.nodes[0]!.node.stats().delivered > sent / 4, `the flood reached validator 0 (${sent} sent)\n${summary}`);
  assert.ok(w.nodes[1]!.node.stats().delivered > sent / 4, `validator 0 relayed the flood to the others\n${summary}`);
  for (const sv of w.nodes) {
    const s = sv!.validator.status().synchrony;
    assert.is(s.chainsCheckedLate, 0, `no chain checked after the end of its round\n${summary}`);
    assert.is(sv!.counters.lateChains + sv!.counters.resyncs, 0, `no validator out of synchrony\n${summary}`);
  }
  const chains = w.nodes.map((sv) => sv!.chainHashes().join(','));
  assert.ok(chains.every((c) => c === chains[0]), `every validator holds the same chain\n${summary}`);
  assert.is(w.nodes[0]!.validator.chain().length, blocks, `every block decided\n${summary}`);
});

test.run();
