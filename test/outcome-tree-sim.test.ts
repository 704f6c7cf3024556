/**
 * Validators' signed outcomes ride each signer's broadcast tree (Plumtree, gossip/plumtree.ts), not a flood:
 * every validator signs one outcome per start round that added blocks, and flooded, every node sent each one
 * to every peer that had not sent it a copy yet, so a full mesh of n validators carried about n^2 (n - 1)
 * outcome frames per block (n = 16 in the consensus benchmark's memory rows: 3,588 outcome frames against 508
 * chain frames per block, 88% of the consensus traffic). On the tree a node gets each outcome from its eager
 * feeds (treeRedundancy of them) and an IHAVE from the rest, so about 2 n (n - 1).
 *
 * The world: n = 10 validators in a full mesh, f = 3, and two observers each linked to three validators only,
 * so outcomes reach them over more than one hop; 20 blocks, one a round, clocks ±20 ms, link delays 1-15 ms.
 * The observers follow the chain by f+1 matching outcomes, so they must still get them all.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';

const n = 10;
const observers = 2;
const roundMs = 200;
const blocks = 20;
const firstT0 = 4;

/** Outcome frames every node handled (a node counts each frame it reads: copies included). */
function outcomeFramesIn(world: World): number {
  return world.incarnations.reduce((sum, sv) => sum + sv.node.traffic.in.outcome, 0);
}

async function run(seed: number): Promise<{ world: World; perBlock: number }> {
  const offsetsMs = Array.from({ length: n + observers }, (_, i) => ((i * 7919 + seed * 31) % 41) - 20);
  const world = new World({
    seed, n, faults: 3, roundMs, delayMinMs: 1, delayMaxMs: 15, verifyMsMax: 2, diskMsMax: 2,
    syncIntervalMs: 500, eventsMax: 8_000_000, observers, offsetsMs,
  });
  const validators = [...Array(n).keys()];
  const linksOf = (o: number): number[] => [0, 1, 2].map((j) => (o * 3 + j) % n);
  world.mesh = [
    ...validators.map((i) => new Set([...validators.filter((j) => j !== i), ...[n, n + 1].filter((o) => linksOf(o).includes(i))])),
    ...[n, n + 1].map((o) => new Set(linksOf(o))),
  ];
  for (let i = 0; i < world.total; i++) world.startNode(i);
  for (let b = 0; b < blocks; b++) world.mineAt((firstT0 + b) % n, firstT0 + b, `block ${b}`);
  // The trees form on the first outcomes; count from the third block's round on.
  let before = 0;
  world.sched.at(world.T0(firstT0 + 2), () => (before = outcomeFramesIn(world)));
  await world.sched.run(world.T0(firstT0 + blocks + 12));
  return { world, perBlock: (outcomeFramesIn(world) - before) / (blocks - 2) };
}

test('outcomes cost about 2n(n-1) frames a block, not n^2(n-1), and observers two hops away still follow every block', async () => {
  for (const seed of [1, 2, 3]) {
    const { world, perBlock } = await run(seed);
    const receivers = world.total - 1;
    assert.ok(perBlock <= 3 * n * receivers, `seed ${seed}: ${perBlock.toFixed(0)} outcome frames handled per block, bound 3 n (nodes - 1) = ${3 * n * receivers}`);
    const chains = world.nodes.map((sv) => sv!.chainHashes().join(','));
    assert.is(world.nodes[0]!.chainHashes().length, blocks, `seed ${seed}: every block decided`);
    for (let i = 1; i < world.total; i++) assert.is(chains[i], chains[0], `seed ${seed}: node ${i} (observer: ${world.isObserver(i)}) holds the validators' chain`);
  }
});

test.run();
