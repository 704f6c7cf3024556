/**
 * On the simulator: an honest node's large first broadcast goes in full to newOriginEagerPeersMax (4) peers
 * only; if those are Byzantine (sybils connected one after another hold consecutive places in its open order,
 * so an honest id lands on them with probability about (b - 3) / d) and withhold it, every other node hears
 * only its id from the origin and must GRAFT it there. It arrives ~300 ms late (IHAVE flush + graftTimeoutMs)
 * where it takes under 10 ms without Byzantine peers in the few. With a node-wide GRAFT bound (taken out the
 * same day it was merged), one more Byzantine peer GRAFTing a 16 KiB frame every ms kept the origin's
 * allowance spent, every GRAFT was refused, and the broadcast was lost to every honest node.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StrongcastNode } from '../src/core/node.ts';
import { packIds } from '../src/gossip/broadcast-relay.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Prng } from '../src/sim/prng.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { simMesh } from './helpers/sim-node.ts';

const nodes = 12;

/** A Byzantine node: takes frames, relays, announces and serves nothing. */
function withhold(n: StrongcastNode): void {
  const r = n.broadcastRelay as unknown as Record<string, unknown>;
  r.relay = () => 0;
  r.tick = () => {};
  r.onGraft = () => {};
}

/** Delivery times (ms after the broadcast, -1 lost) of node 0's 256 KiB first broadcast at the honest nodes. */
async function run(seed: number, drain: boolean): Promise<number[]> {
  const sched = new Scheduler(0, 20_000_000, `new-origin-graft-loss seed ${seed}`);
  const prng = new Prng(seed);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 5) });
  const all = simMesh(sched, net, nodes, 'new-origin-graft-loss', (i) => `10.${i + 1}.0.1`, { maxPeers: 32 });
  const at = all.map(() => -1);
  all.forEach((n, i) => n.on('message', (m) => { if (m.topic === 'big' && at[i]! < 0) at[i] = sched.now; }));
  for (const n of all) await n.start();
  await sched.run(2000);
  const bad = new Set<number>();
  if (drain) {
    // The drainer's own 16 KiB broadcast, which node 0 keeps for GRAFTs; it asks for it every ms.
    const d = all[nodes - 1]!;
    const { id } = await d.broadcast('sybil', new Uint8Array(16 * 1024).fill(3));
    withhold(d);
    bad.add(nodes - 1);
    const end = sched.now + 7000;
    const ask = (): void => {
      (d.broadcastRelay as unknown as { port: { send(p: string, m: unknown): boolean } }).port.send(all[0]!.id, { t: 'graft', ids: packIds([id]) });
      if (sched.now < end) sched.after(1, ask);
    };
    sched.after(1, ask);
    await sched.run(sched.now + 1500);
  }
  // The peers node 0 picks for the full frame are Byzantine (the case an attacker's consecutive slots make likely).
  const r = all[0]!.broadcastRelay as unknown as { fewOf(id: string, peers: readonly string[]): Set<string> };
  const fewOf = r.fewOf.bind(r);
  r.fewOf = (id, peers) => {
    const few = fewOf(id, peers);
    for (const p of few) {
      const i = all.findIndex((n) => n.id === p);
      bad.add(i);
      withhold(all[i]!);
    }
    return few;
  };
  const t0 = sched.now;
  await all[0]!.broadcast('big', new Uint8Array(256 * 1024).fill(7));
  await sched.run(sched.now + 5000);
  for (const n of all) await n.stop();
  return at.flatMap((t, i) => (i === 0 || bad.has(i) ? [] : [t < 0 ? -1 : t - t0]));
}

test('simulator: with node 0\'s few (newOriginEagerPeersMax) withholding, its 256 KiB first broadcast still reaches every honest node, ~300 ms late (IHAVE, then GRAFT)', async () => {
  for (const seed of [1, 2, 3]) {
    const times = await run(seed, false);
    assert.ok(times.every((t) => t >= 0 && t < 1000), `seed ${seed}: ${times.join(',')}`);
  }
});

test('simulator: with node 0\'s few withholding and one more peer GRAFTing large frames every ms, the honest first broadcast still reaches every honest node', async () => {
  for (const seed of [1, 2, 3]) {
    const times = await run(seed, true);
    assert.ok(times.every((t) => t >= 0), `seed ${seed}: delivery ms after the broadcast, -1 lost: ${times.join(',')}`);
  }
});

test.run();
