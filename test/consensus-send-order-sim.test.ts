/**
 * Consensus ahead of broadcasts on the sending side, on the simulator: a validator that relays broadcasts
 * faster than a peer takes them queues them for that peer, and the chains it sends must not wait behind them.
 * Ten sybils send validator 0 validly signed broadcasts (1,000 a second each) while the four validators mine
 * in turn. Validator 0 checks 8,000 signatures a second, the others 5,000; its links to its peers carry 800
 * bytes a millisecond (about 4,100 broadcasts a second, which they check in time) behind a 16 KiB send
 * buffer, so what it relays beyond that waits for them. A test host linked to validator 0 the same way (the
 * watcher) records when each chain and broadcast from it arrives.
 *
 * Before the connection kept its own queues, every frame went into the socket as it was sent, and a chain
 * waited behind the whole broadcast backlog: the watcher got chains from validator 0 up to 1,111 ms after the
 * end of their round, the others refused 18 of its chains as after their instance (ERR_INSTANCE_OVER, scored
 * on an honest peer) and decided 7 of the 10 blocks where validator 0 decided all 10. With consensus frames
 * ahead of the broadcasts waiting for room (net/outbox.ts), each chain waits only behind the send buffer and
 * socketQueuedBytesTarget: the least margin at the watcher is 95 ms.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LinkCapacity } from '../src/sim/memory-network.ts';
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
/** Validator 0's links to the other validators and to the watcher: 800 bytes a ms behind a 16 KiB send buffer. */
const slowLink: LinkCapacity = { bytesPerMs: 800, sendBufferBytes: 16 * 1024 };
const sybilIp = (i: number): string => `10.66.0.${i + 1}`;
const watcherIp = '10.77.0.1';

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
    eventsMax: 40_000_000,
    // Two threads each: 0.25 ms a signature on validator 0 (8,000 a second), 0.4 ms on the others (5,000).
    poolOf: (i) => ({ threads: 2, signatureMs: i === 0 ? 0.25 : 0.4 }),
    // A quarter of the default room for checks in progress, as in consensus-priority-sim.test.ts.
    gossip: { inflightMax: 1024 },
    capacity: (from, to) => (from.ip === validatorIp(0) && !to.ip.startsWith('10.66.') ? slowLink : undefined),
  }).startFullMesh();
}

/** What the watcher saw of validator 0's frames. */
interface Watched {
  /** Chains: how long before the end of the round in which their signature count is due each arrived, in ms. */
  chainMarginsMs: number[];
  /** Broadcasts: the most time one took from its sybil to the watcher, in ms. */
  broadcastLagMsMax: number;
}

/** The flood through validator 0 for floodTicks x 10 ms, the validators mining in turn meanwhile. */
async function flood(w: World): Promise<{ watched: Watched; firstT0: number; lastT0: number }> {
  await w.sched.run(w.T0(1));
  const raws = Array.from({ length: sybils }, (_, i) => new RawHost(w.net, new SimHost(w.sched, sybilIp(i)), testKey(i, 91), w.networkId, w.rng));
  for (const h of raws) h.dial(validatorIp(0), simPort);
  const watcher = new RawHost(w.net, new SimHost(w.sched, watcherIp), testKey(0, 93), w.networkId, w.rng);
  watcher.dial(validatorIp(0), simPort);
  const sentAtMs = new Map<number, number>();
  const watched: Watched = { chainMarginsMs: [], broadcastLagMsMax: 0 };
  watcher.onMessage = (_c, m) => {
    // A chain with k signatures is due by the end of round k of its instance (dolev-strong.ts chainTiming).
    if (m.t === 'ds') watched.chainMarginsMs.push(w.T0(m.block.t0) + m.signers.length * roundMs - w.sched.now);
    if (m.t === 'gossip') watched.broadcastLagMsMax = Math.max(watched.broadcastLagMsMax, w.sched.now - sentAtMs.get(m.seq)!);
  };
  await w.sched.run(w.T0(2));
  const { firstT0, lastT0 } = await runSybilFlood(w, raws, { floodTicks, perTick, roundMs, onSent: (seq) => sentAtMs.set(seq, w.sched.now) });
  await w.sched.run(w.T0(lastT0 + 6));
  for (const h of [...raws, watcher]) for (const c of h.open.values()) c.close();
  return { watched, firstT0, lastT0 };
}

test('simulator: a validator relaying broadcasts faster than its links carry them still gets every chain to its peers within its round; none refused, no resync, every block decided alike', async () => {
  const w = world(1);
  const { watched, firstT0, lastT0 } = await flood(w);
  const blocks = lastT0 - firstT0 + 1;
  const leastMarginMs = Math.min(...watched.chainMarginsMs);
  const report = [
    `watcher: ${watched.chainMarginsMs.length} chains from v0, least margin ${leastMarginMs} ms; broadcasts up to ${watched.broadcastLagMsMax} ms on the way`,
    ...w.nodes.map((sv) => {
      const s = sv!.validator.status().synchrony;
      return `${sv!.id}: delivered ${sv!.node.stats().delivered}, blocks ${sv!.validator.chain().length}, chains checked ${s.chainsChecked} (late ${s.chainsCheckedLate}), least margin ${s.chainMarginMsRecentMin} ms, late-chain ${sv!.counters.lateChains}, resync ${sv!.counters.resyncs}, rejected ${sv!.counters.rejected}, offences ${sv!.counters.offences}`;
    }),
  ].join('\n');
  assert.ok(watched.broadcastLagMsMax > 2 * roundMs, `the broadcasts validator 0 relayed waited for its slow links, longer than two rounds\n${report}`);
  assert.ok(leastMarginMs > 0, `every chain from validator 0 arrived within its round\n${report}`);
  assert.ok(watched.chainMarginsMs.length >= blocks, `the watcher got a chain from validator 0 of every block\n${report}`);
  for (const sv of w.nodes) {
    const s = sv!.validator.status().synchrony;
    assert.is(s.chainsCheckedLate, 0, `no chain checked after the end of its round\n${report}`);
    assert.is(sv!.counters.lateChains + sv!.counters.resyncs, 0, `no validator out of synchrony\n${report}`);
    assert.is(sv!.counters.rejected + sv!.counters.offences, 0, `no chain refused, no peer scored\n${report}`);
  }
  const chains = w.nodes.map((sv) => sv!.chainHashes().join(','));
  assert.ok(chains.every((c) => c === chains[0]), `every validator holds the same chain\n${report}`);
  assert.is(w.nodes[1]!.validator.chain().length, blocks, `every block decided\n${report}`);
});

test.run();
