/**
 * An all-mine round at n = 64 with the largest payloads the rules allow, on the simulator with links of
 * 1 Gbit/s and 4 MiB socket send buffers (loopback's largest default on Linux): no honest validator cuts an
 * honest peer as too slow (issue 18: every limit consistent with the largest n).
 *
 * Why it could: every validator sends every block of the round to every peer (its own proposal, and its relay
 * of each other one, dolev-strong.ts), so one link carries n chains in the round. With 256 KiB payloads that
 * is 64 × 259 KiB = 16.6 MB per link, sent within a few ms; the link takes 4 MiB into its send buffer and
 * about 125 KB per ms out, and the rest waits in the write queue, above writeQueueBytesMax (8 MiB): the
 * sender closes the link as ERR_SLOW_PEER and scores an honest peer. The block payload cap of the network
 * (payload-cap.ts, 64 KiB at n = 64) bounds a round's chains on a link to about 4 MiB. Run before the cap
 * existed (256 KiB, the largest payload the rules then allowed), this round scored ERR_SLOW_PEER 13 times, cut
 * every link between the honest validators, and left one of them with none of the 64 blocks and the others
 * with 63: their chains differed.
 *
 * Four honest validators (the shipped node and validator) run in a full mesh; the other 60 validators' round-1
 * proposals reach each honest validator as an honest miner's would, from a host of the test (its "crowd"):
 * one link standing for 60, so it has no capacity limit (60 links of 1 Gbit/s deliver the proposals at once).
 * Only the honest validators relay, which is what loads the links between them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../src/bytes.ts';
import { blockPayloadBytesCap } from '../src/consensus/payload-cap.ts';
import { SimHost } from '../src/sim/sim-host.ts';
import type { WireBlock } from '../src/wire/schema.ts';
import { buildChain } from './sim/chains.ts';
import { RawHost } from './sim-net/raw-host.ts';
import { simIdentity, simPort, validatorIp, World } from './sim-net/world.ts';

const n = 64;
const honest = 4;
const roundMs = 1000;
const t0 = 2;
/** 1 Gbit/s, and a send buffer of 4 MiB, on every link between honest validators. */
const linkCapacity = { bytesPerMs: 125_000, sendBufferBytes: 4 * 1024 * 1024 };

interface RoundResult {
  world: World;
  slowPeerOffences: number;
  honestLinksDown: string[];
  decidedPerValidator: number[];
  chains: string[];
}

/** Runs one round in which all n validators mine `payloadBytes` each. */
async function allMineRound(seed: number, payloadBytes: number): Promise<RoundResult> {
  const crowdIp = (i: number): string => `10.9.0.${i + 1}`;
  const isCrowd = (h: SimHost): boolean => h.ip.startsWith('10.9.');
  const world = new World({
    seed,
    n,
    faults: 1,
    roundMs,
    delayMinMs: 1,
    delayMaxMs: 3,
    verifyMsMax: 3,
    diskMsMax: 2,
    syncIntervalMs: 500,
    eventsMax: 2_000_000,
    capacity: (from, to) => (isCrowd(from) || isCrowd(to) ? undefined : linkCapacity),
  });
  const ids = [...Array(honest).keys()];
  world.mesh = [...ids.map((i) => new Set(ids.filter((j) => j !== i))), ...Array.from({ length: n - honest }, () => new Set<number>())];
  for (const i of ids) world.startNode(i);
  const crowds = ids.map((i) => {
    const raw = new RawHost(world.net, new SimHost(world.sched, crowdIp(i)), simIdentity(i, 99), world.networkId, world.rng, simPort);
    raw.dial(validatorIp(i), simPort);
    return raw;
  });
  const payload = (m: number): Uint8Array => new Uint8Array(payloadBytes).fill(m);
  const at = world.T0(t0);
  for (const i of ids) {
    world.sched.at(at - 10, () => {
      const sv = world.nodes[i]!;
      sv.host.run(sv.host.incarnation, () => void sv.validator.mine(payload(i)).catch(() => undefined));
    });
  }
  world.sched.at(at, () => {
    for (let m = honest; m < n; m++) {
      const block: WireBlock = { miner: m, t0, ts: at, payload: payload(m) };
      const proposal = buildChain(world.testNet, block, [m]);
      for (const crowd of crowds) for (const c of crowd.open.values()) c.send(proposal);
    }
  });
  await world.sched.run(at + 4 * roundMs);
  const honestIds = new Set(ids.map((i) => `v${i}`));
  const startedAt = world.T0(0);
  return {
    world,
    slowPeerOffences: world.offences.get('ERR_SLOW_PEER') ?? 0,
    honestLinksDown: world.links.filter((l) => !l.up && l.at > startedAt && honestIds.has(l.peer)).map((l) => `v${l.node}-${l.peer} at ${l.at - at} ms`),
    decidedPerValidator: ids.map((i) => world.nodes[i]!.decidedBlocks.filter((b) => b.t0 === t0).length),
    chains: ids.map((i) => world.nodes[i]!.chainHashes().join(',')),
  };
}

test(`all ${n} validators mine the largest payload the rules allow in one round: no honest link is cut as slow, every block is decided`, async () => {
  const cap = blockPayloadBytesCap(n);
  const r = await allMineRound(1, cap);
  const label = `seed=${r.world.seed} payload ${cap} bytes`;
  assert.is(r.slowPeerOffences, 0, `${label}: honest peers scored ERR_SLOW_PEER ${r.slowPeerOffences} times`);
  assert.equal(r.honestLinksDown, [], `${label}: honest links went down`);
  assert.equal(r.decidedPerValidator, Array<number>(honest).fill(n), `${label}: blocks of the round decided by each honest validator`);
  assert.ok(r.chains.every((c) => c === r.chains[0]), `${label}: identical chains`);
  assert.is(toHex(r.world.nodes[0]!.validator.chain().at(-1)!.payload.subarray(0, 1)), '3f', 'the last block is miner 63\'s');
});

/** What the edge run saw: the miner's error, v0's refusals and scored offences, and each validator's decided blocks. */
interface EdgeRun {
  mineError: { code: string; message: string; beforeT0: boolean } | null;
  refusedAtV0: Array<{ miner: number; code: string; reason: string }>;
  offencesAtV0: string[];
  decided: Array<Array<{ miner: number; bytes: number }>>;
}

/**
 * Three honest validators of an n-validator network in a full mesh, and a peer (a host of the test) linked to
 * v0 only. v0 mines a payload exactly at the cap; v1 asks to mine one byte more; the peer sends v0 validator
 * 5's proposal one byte over the cap and validator 6's exactly at it, both validly signed.
 */
async function edgeRun(n: number): Promise<EdgeRun> {
  const world = new World({ seed: 7, n, faults: 1, roundMs, delayMinMs: 1, delayMaxMs: 5, verifyMsMax: 3, diskMsMax: 2, syncIntervalMs: 500, eventsMax: 1_000_000 });
  const ids = [0, 1, 2];
  world.mesh = [...ids.map((i) => new Set(ids.filter((j) => j !== i))), ...Array.from({ length: n - ids.length }, () => new Set<number>())];
  for (const i of ids) world.startNode(i);
  const peer = new RawHost(world.net, new SimHost(world.sched, '10.9.1.1'), simIdentity(0, 98), world.networkId, world.rng, simPort);
  peer.dial(validatorIp(0), simPort);
  const cap = blockPayloadBytesCap(n);
  const run: EdgeRun = { mineError: null, refusedAtV0: [], offencesAtV0: [], decided: [] };
  world.sched.at(world.T0(1), () => {
    world.nodes[0]!.validator.on('rejected', (r) => void (r.instance && run.refusedAtV0.push({ miner: r.instance.miner, code: r.code, reason: r.reason })));
    world.nodes[0]!.node.on('offence', (o) => void run.offencesAtV0.push(`${o.peer === peer.id ? 'peer' : o.peer.slice(0, 8)} ${o.code}`));
  });
  const mine = (i: number, t0: number, bytes: number): void =>
    world.sched.at(world.T0(t0) - 10, () => {
      const sv = world.nodes[i]!;
      sv.host.run(sv.host.incarnation, () =>
        void sv.validator.mine(new Uint8Array(bytes)).catch((e: { code: string; message: string }) => {
          run.mineError = { code: e.code, message: e.message, beforeT0: world.sched.now < world.T0(t0) };
        }),
      );
    });
  mine(0, 2, cap);
  mine(1, 2, cap + 1);
  world.sched.at(world.T0(3), () => {
    for (const [miner, bytes] of [[5, cap + 1], [6, cap]] as const) {
      const proposal = buildChain(world.testNet, { miner, t0: 3, ts: world.T0(3), payload: new Uint8Array(bytes) }, [miner]);
      for (const c of peer.open.values()) c.send(proposal);
    }
  });
  await world.sched.run(world.T0(7));
  run.decided = ids.map((i) => world.nodes[i]!.validator.chain().map((b) => ({ miner: b.miner, bytes: b.payload.byteLength })));
  return run;
}

for (const n of [32, 64]) {
  test(`n = ${n}: a payload exactly at the cap (${blockPayloadBytesCap(n)} bytes) is mined and decided, from a miner or a peer; one byte more is refused to the miner (ERR_PAYLOAD_TOO_LARGE, at once) and, from a peer, as a bad chain scored on the sender and carried no further`, async () => {
    const cap = blockPayloadBytesCap(n);
    const r = await edgeRun(n);
    assert.is(r.mineError?.code, 'ERR_PAYLOAD_TOO_LARGE', JSON.stringify(r.mineError));
    assert.ok(r.mineError!.message.includes(`block payload of ${cap + 1} bytes is above the cap of ${cap} bytes of a network of ${n} validators`), r.mineError!.message);
    assert.ok(r.mineError!.beforeT0, 'refused at once, without waiting for a round');
    assert.equal(r.refusedAtV0.map((x) => `${x.miner} ${x.code}`), ['5 ERR_BAD_CHAIN'], 'the chain over the cap refused by v0');
    assert.ok(r.refusedAtV0[0]!.reason.includes(`above the cap of ${cap} bytes`), r.refusedAtV0[0]!.reason);
    assert.equal(r.offencesAtV0, ['peer ERR_BAD_CHAIN'], 'scored on the peer that sent it, and on nobody else');
    for (const [i, chain] of r.decided.entries()) {
      assert.equal(chain, [{ miner: 0, bytes: cap }, { miner: 6, bytes: cap }], `v${i}: the two blocks at the cap, nothing over it`);
    }
  });
}

test.run();
