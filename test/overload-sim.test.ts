/**
 * Overload of the verifications in progress (issue 16, item 3), on the simulator with a verifier that takes
 * 20 ms per batch: sybils fill the victim's inflightMax with valid broadcasts. Senders wait for room instead
 * of having broadcasts dropped, so an honest neighbour's broadcasts all get through V, and nobody is scored.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StrongcastNode } from '../src/core/node.ts';
import { gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Prng } from '../src/sim/prng.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { RawHost } from './sim-net/raw-host.ts';
import { simNode as simNodeOn } from './helpers/sim-node.ts';
import { SimHost } from '../src/sim/sim-host.ts';
import type { NodeOptions } from '../src/core/node-options.ts';
import { testKey } from './sim/keys.ts';

const networkId = 'overload-sim';
const victimIp = '10.0.0.1';

/**
 * A node on simulated host `ip` whose verifier takes 20 ms of virtual time per batch (or per signature, for
 * the kinds that verify on the node's thread). The victim's is the queued kind: its checks must stay in
 * progress for those 20 ms to fill inflightMax; one verified on the spot is never in progress.
 */
function slowNode(sched: Scheduler, net: MemoryNetwork, ip: string, seed: number, extra: Partial<NodeOptions> = {}, verifier?: 'queued'): StrongcastNode {
  return simNodeOn(sched, net, { networkId, ip, seed, verifyMs: 20, ...(verifier ? { verifier } : {}), options: { ...{ gossipMode: 'flood' }, ...extra } });
}

test('simulator: sybils that fill inflightMax make senders wait, not lose broadcasts: every honest broadcast crosses V, nobody is scored', async () => {
  const sched = new Scheduler(0, 1_000_000, 'overload seed 3');
  const prng = new Prng(3);
  const net = new MemoryNetwork(sched, { delayMs: () => prng.int(1, 3) });
  const v = slowNode(sched, net, victimIp, 1, { inflightMax: 8 }, 'queued');
  const h1 = slowNode(sched, net, '10.1.0.1', 2, { peers: [`${victimIp}:7000`] });
  const h2 = slowNode(sched, net, '10.2.0.1', 3, { peers: [`${victimIp}:7000`] });
  const offences: string[] = [];
  v.on('offence', (o) => offences.push(o.code));
  const atH2 = new Set<string>();
  h2.on('message', (m) => atH2.add(m.id));
  for (const n of [v, h1, h2]) await n.start();
  const sybils = [0, 1, 2].map((i) => new RawHost(net, new SimHost(sched, `10.66.0.${i + 1}`), testKey(i, 77), networkId, prng));
  for (const s of sybils) s.dial(victimIp, 7000);
  await sched.run(1000);
  assert.is(v.peers().length, 5, 'two honest neighbours and three sybils');
  const honestIds: string[] = [];
  for (let k = 0; k < 20; k++) {
    for (const s of sybils) {
      for (const c of s.open.values()) {
        for (let j = 0; j < 10; j++) {
          const seq = k * 10 + j + 1;
          const unsigned = { origin: s.key.publicKey, seq, topic: 'flood', data: new Uint8Array(64).fill(j) };
          c.send({ t: 'gossip', ...unsigned, hops: 0, sig: s.key.sign(gossipSignedBytes(networkId, unsigned)) });
        }
      }
    }
    honestIds.push((await h1.broadcast('chat', `honest ${k}`)).id);
    await sched.run(sched.now + 50);
  }
  await sched.run(sched.now + 20_000);
  const lost = honestIds.filter((id) => !atH2.has(id)).length;
  assert.is(lost, 0, `${lost} of ${honestIds.length} honest broadcasts lost crossing V`);
  assert.is(atH2.size, 20 + 3 * 200, 'every broadcast, the sybils\' too, got through: slowed, not dropped');
  assert.is(v.gossip.counters.overloaded, 0, 'nothing dropped for overload');
  assert.equal(offences, [], 'nobody scored');
  await Promise.all([v, h1, h2].map((n) => n.stop()));
});

test.run();
