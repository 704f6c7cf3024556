/**
 * The relay-rate attack (issue 16, item 3) on the simulator, where the victim's own thread is the bottleneck:
 * six raw sybils send it validly signed broadcasts at 1,500/s each (under the per-peer rate of 5,000), and
 * each one it delivers costs its event loop 0.25 ms of virtual time (relaying it to every peer and handing it
 * to the application; about what the attack suite's victim spends), so it can deliver 4,000/s of the 9,000/s
 * offered. Its verification pool has two threads at 0.06 ms a signature (33,000/s): verdicts come back far
 * faster than the node can act on them. A light neighbour's broadcasts must still be delivered by the victim
 * within 250 ms (the suite's probe goal), and a node joining mid-flood must be connected within 500 ms.
 *
 * Before the work that follows a verdict counted against the turn budget, the victim acted on every verdict
 * as its batch came back, and with results coming back all the time (a MessagePort is read for as long as
 * one is ready) its event loop did not turn for hundreds of ms: the light neighbour's reads, checks and
 * relays waited behind the sybils' deliveries.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StrongcastNode } from '../src/core/node.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { floodVictim, runLightPeerFlood } from './sim-net/light-peer-flood.ts';

const networkId = 'relay-rate-sim';
const victimIp = '10.0.0.1';
/** Sybils, and the signed broadcasts each sends per 10 ms of virtual time (1,500/s). */
const sybils = 6;
const sybilPerTick = 15;
/** Virtual ms of the victim's thread each broadcast it delivers costs. */
const deliverMs = 0.25;
/** How late the victim may deliver a light neighbour's broadcast, in virtual ms (the attack suite's goal). */
const lightDeliveryMsMax = 250;
/** How long a node joining during the flood may take to be connected, in virtual ms. */
const joinMsMax = 500;

/** The victim: a plain node with a two-thread pool, whose thread pays deliverMs for every delivery. */
function victim(sched: Scheduler, net: MemoryNetwork): StrongcastNode {
  return floodVictim(sched, net, { networkId, victimIp, signatureMs: 0.06, deliverMs: deliverMs });
}

test('simulator: sybils whose valid broadcasts cost the victim\'s thread more than it has do not delay a light peer\'s broadcasts past 250 ms, and a node joining mid-flood gets in within 500 ms', async () => {
  const run = await runLightPeerFlood({ seed: 16, label: 'relay-rate seed 16', networkId, victimIp, victim, flooders: sybils, perTick: sybilPerTick, origins: 256 });
  const { deliveredInFlood, sent, lightLatencies: latencies, lightSent, joinStartMs, joinedMs } = run;
  // 3 s of flood at 9,000/s against 4,000/s: the victim's thread was the bottleneck throughout.
  assert.ok(deliveredInFlood > 8000 && deliveredInFlood < sent * 0.6, `the victim delivered ${deliveredInFlood} of ${sent} sybil broadcasts during the flood: busy, and behind`);
  assert.is(latencies.length, lightSent, `every light broadcast was delivered by the victim (${latencies.length} of ${lightSent})`);
  const worst = Math.max(...latencies);
  assert.ok(worst <= lightDeliveryMsMax, `the light neighbour's broadcasts took up to ${worst} ms at the victim (${latencies.map((l) => Math.round(l)).join(', ')})`);
  assert.ok(joinedMs !== null && joinedMs - joinStartMs <= joinMsMax, `the joining node was connected ${joinedMs === null ? 'never' : `${joinedMs - joinStartMs} ms after its start`}`);
  await run.stop();
});

test.run();
