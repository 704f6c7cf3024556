/**
 * Byzantine behaviours for the simulator. A coalition signs only with its own members' keys (what f
 * Byzantine validators can really do) and controls the timing and the targets of whatever it sends.
 */
import { utf8 } from '../../src/bytes.ts';
import type { ConsensusMessage, WireBlock } from '../../src/wire/schema.ts';
import { buildChain, extendChain } from './chains.ts';
import type { ByzantineBehaviour, ByzantineContext, Sim } from './network.ts';

/** A block of miner for t0 with a payload naming `tag`. */
export function testBlock(miner: number, t0: number, tag: string): WireBlock {
  return { miner, t0, ts: t0, payload: utf8(tag) };
}

/** Byzantine nodes that do nothing at all. */
export function silentNodes(indices: readonly number[]): Record<number, ByzantineBehaviour> {
  return Object.fromEntries(indices.map((i) => [i, {}]));
}

/** Byzantine miner: at T0 it sends block j to the j-th group of `groups` (equivocation), in round 1. */
export function equivocatingMiner(t0: number, groups: readonly (readonly number[])[]): ByzantineBehaviour {
  return {
    start(ctx) {
      ctx.at(ctx.sim.T0(t0), () => {
        for (const [j, group] of groups.entries()) {
          const chain = buildChain(ctx.sim.net, testBlock(ctx.index, t0, `equivocation ${j}`), [ctx.index]);
          ctx.sendTo(group, chain);
        }
      });
    },
  };
}

/**
 * A coalition holding back a chain signed by `signers` (all Byzantine, signers[0] the miner) and releasing it
 * to `target` only, arriving `beforeEndMs` before the end of `releaseRound` of instance t0.
 */
export function holdBack(o: { t0: number; signers: readonly number[]; releaseRound: number; target: number; beforeEndMs: number; tag?: string }): ByzantineBehaviour {
  return {
    start(ctx) {
      const miner = o.signers[0] as number;
      const chain = buildChain(ctx.sim.net, testBlock(miner, o.t0, o.tag ?? 'held back'), o.signers);
      const arrive = ctx.sim.T0(o.t0) + o.releaseRound * ctx.sim.roundMs - o.beforeEndMs;
      ctx.at(arrive - 1, () => ctx.sendTo(o.target, chain, 1));
    },
  };
}

/**
 * A random adversary for instances (miner, t0) of each t0 in `t0s`: the coalition `members` (miner first)
 * makes 1..4 blocks per instance and releases chains with random Byzantine co-signers, in random rounds
 * 1..k+1 (or up to `earlyMs` before T0), to random honest targets with random delays; members also extend honest chains they receive with
 * their own signature and send them on to random targets at random times. Every choice comes from the
 * simulation's seeded PRNG.
 */
export function randomCoalition(t0s: number | readonly number[], members: readonly number[], o: { earlyMs?: number } = {}): Record<number, ByzantineBehaviour> {
  const rounds = typeof t0s === 'number' ? [t0s] : t0s;
  const miner = members[0] as number;
  const others = members.slice(1);
  const honestOf = (sim: Sim) => sim.honest.map((h) => h.index);
  const pickSome = (ctx: ByzantineContext, xs: readonly number[]) => ctx.sim.rng.shuffle(xs).slice(0, ctx.sim.rng.int(1, xs.length));
  const earlyMs = o.earlyMs ?? 0;
  const releaseAt = (ctx: ByzantineContext, msg: ConsensusMessage) => {
    const { sim } = ctx;
    // With earlyMs, "round 0" releases before T0 by up to earlyMs: inside some honest clocks' skew window, outside others'.
    const round = sim.rng.int(earlyMs > 0 ? 0 : 1, sim.k + 1);
    const at = round === 0 ? sim.T0(msg.block.t0) - sim.rng.int(1, earlyMs) : sim.T0(msg.block.t0) + (round - 1) * sim.roundMs + sim.rng.int(0, sim.roundMs - 1);
    ctx.at(Math.max(at, sim.now), () => ctx.sendTo(pickSome(ctx, honestOf(sim)), msg, sim.rng.int(0, Math.floor(sim.roundMs / 2))));
  };
  const minerBehaviour: ByzantineBehaviour = {
    start(ctx) {
      const { sim } = ctx;
      for (const t0 of rounds) {
        const blocks = sim.rng.int(1, 4);
        for (let j = 0; j < blocks; j++) {
          const block = testBlock(miner, t0, `seed ${sim.seed} byzantine ${j}`);
          for (let release = sim.rng.int(1, 3); release > 0; release--) {
            const cosigners = sim.rng.shuffle(others).slice(0, sim.rng.int(0, others.length));
            releaseAt(ctx, buildChain(sim.net, block, [miner, ...cosigners]));
          }
        }
      }
    },
  };
  const relayer: ByzantineBehaviour = {
    onMessage(ctx, msg) {
      const { sim } = ctx;
      if (!rounds.includes(msg.block.t0) || msg.signers.includes(ctx.index) || sim.rng.next() < 0.7) return;
      releaseAt(ctx, extendChain(sim.net, msg, ctx.index));
    },
  };
  return Object.fromEntries(members.map((m) => [m, m === miner ? minerBehaviour : relayer]));
}
