/**
 * Overload charged to the peers that cause it (issue 16, item 3), on the simulator: the victim's verification
 * pool has a real capacity (two threads, 1 ms of virtual time a signature: 2,000 signatures/s), and four raw
 * peers send it validly signed broadcasts at 2,000/s each, four times what it can check. A light honest
 * neighbour's broadcasts must still be delivered by the victim within a bound, and a node that joins during
 * the flood must get in quickly: their few checks go ahead of the heavy peers' backlog instead of behind it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StrongcastNode } from '../src/core/node.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { floodVictim, runLightPeerFlood } from './sim-net/light-peer-flood.ts';

const networkId = 'fair-sim';
const victimIp = '10.0.0.1';
/** Heavy raw peers, and the signed broadcasts each sends per 10 ms of virtual time (2,000/s). */
const heavyPeers = 4;
const heavyPerTick = 20;
/** How late the victim may deliver a light neighbour's broadcast, in virtual ms (the attack suite's goal). */
const lightDeliveryMsMax = 250;
/** How long a node joining during the flood may take to be connected, in virtual ms. */
const joinMsMax = 500;

/** The victim: a plain node whose verifier has the capacity of a two-thread pool at 1 ms a signature. */
function victim(sched: Scheduler, net: MemoryNetwork): StrongcastNode {
  return floodVictim(sched, net, { networkId, victimIp, signatureMs: 1, deliverMs: 0 });
}

test('simulator: heavy peers saturating the victim\'s verification do not delay a light peer\'s broadcasts past 250 ms, and a node joining mid-flood gets in within 500 ms', async () => {
  const run = await runLightPeerFlood({ seed: 11, label: 'fair seed 11', networkId, victimIp, victim, flooders: heavyPeers, perTick: heavyPerTick, origins: 64 });
  const { lightLatencies: latencies, lightSent, joinStartMs, joinedMs } = run;
  assert.ok(run.victim.stats().delivered > 4000, `the victim was kept busy: ${run.victim.stats().delivered} broadcasts delivered`);
  assert.is(latencies.length, lightSent, `every light broadcast was delivered by the victim (${latencies.length} of ${lightSent})`);
  const worst = Math.max(...latencies);
  assert.ok(worst <= lightDeliveryMsMax, `the light neighbour's broadcasts took up to ${worst} ms at the victim (${latencies.join(', ')})`);
  assert.ok(joinedMs !== null && joinedMs - joinStartMs <= joinMsMax, `the joining node was connected ${joinedMs === null ? 'never' : `${joinedMs - joinStartMs} ms after its start`}`);
  await run.stop();
});

test.run();
