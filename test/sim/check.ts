/** Assertions over a simulation's results; every message carries `seed=N` so a failure can be replayed. */
import * as assert from 'uvu/assert';
import { key, type Sim } from './network.ts';

/** Every honest node (or validator only) decided (miner, t0) and all decided the same; returns that outcome. */
export function agreed(sim: Sim, miner: number, t0: number, what = '', validatorsOnly = false): string | null {
  const outs = sim.outcomes(miner, t0).filter((_, i) => !validatorsOnly || !sim.honest[i]!.observer);
  const show = `seed=${sim.seed} ${what} instance ${miner}@${t0} outcomes [${outs.map(String).join(', ')}]`;
  assert.ok(outs.length > 0, `seed=${sim.seed} no honest nodes`);
  assert.ok(outs.every((o) => o !== undefined), `undecided: ${show}`);
  assert.ok(outs.every((o) => o === outs[0]), `disagreement: ${show}`);
  return outs[0] ?? null;
}

/** True when some two honest nodes decided (miner, t0) differently (used by negative controls). */
export function disagrees(sim: Sim, miner: number, t0: number): boolean {
  const outs = sim.outcomes(miner, t0);
  return outs.some((o) => o !== outs[0]);
}

/** Every honest node holds the same chain (heights, hashes, parents) and it is `expectedLength` long. */
export function sameChains(sim: Sim, expectedLength?: number): void {
  const chains = sim.chains();
  for (const c of chains) assert.is(c, chains[0], `seed=${sim.seed} chains differ:\n${chains.join('\n')}`);
  if (expectedLength !== undefined) {
    const len = sim.honest[0]?.core.chain().length;
    assert.is(len, expectedLength, `seed=${sim.seed} chain length`);
  }
  for (const node of sim.honest) {
    const blocks = node.core.chain();
    let parent = sim.net.genesisHash;
    for (const [i, b] of blocks.entries()) {
      assert.is(b.height, i + 1, `seed=${sim.seed} node ${node.index} height`);
      assert.equal(b.parent, parent, `seed=${sim.seed} node ${node.index} parent of height ${b.height}`);
      parent = b.hash;
    }
  }
}

/**
 * No honest node put more than two distinct blocks of one instance on the wire, nor more than 2n messages for
 * it (the forwarding rule's bound: per block, the signature count it sends only grows, up to n).
 */
export function atMostTwoBlocksOnWire(sim: Sim): void {
  for (const node of sim.honest) {
    for (const [k, set] of node.wireBlocks) {
      assert.ok(set.size <= 2, `seed=${sim.seed} node ${node.index} sent ${set.size} distinct blocks for ${k}`);
      const msgs = node.wireMessages.get(k) ?? 0;
      assert.ok(msgs <= 2 * sim.n, `seed=${sim.seed} node ${node.index} sent ${msgs} messages for ${k}, above 2n`);
    }
  }
}

/** The number of distinct blocks honest nodes put on the wire for an instance, at most. */
export function maxWireBlocks(sim: Sim, miner: number, t0: number): number {
  return Math.max(0, ...sim.honest.map((n) => n.wireBlocks.get(key(miner, t0))?.size ?? 0));
}
