/**
 * Why k = f + 1 rounds, and what a receiver refuses. A chain signed only by Byzantine validators (f
 * signatures) reaching one honest node in round f is relayed in time and everyone decides it; in round f + 1 it
 * is refused; and with only f rounds (a deliberately broken configuration) the same attack splits the honest
 * nodes, which proves these tests can fail. Then every malformed, forged or replayed chain is refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../src/bytes.ts';
import { blockHash } from '../src/consensus/block.ts';
import { createGenesis } from '../src/consensus/genesis.ts';
import { DolevStrong } from '../src/consensus/dolev-strong.ts';
import type { ConsensusMessage } from '../src/wire/schema.ts';
import { Sim } from './sim/network.ts';
import { agreed, disagrees } from './sim/check.ts';
import { holdBack, silentNodes, testBlock } from './sim/byzantine.ts';
import { buildChain, extendChain, signBlock, SimVerifier, testNet, type TestNet } from './sim/chains.ts';
import { testKeys } from './sim/keys.ts';
import { Prng } from '../src/sim/prng.ts';

const T = 3;

/** The hold-back attack: a chain signed by the f Byzantine validators only, released to one honest node. */
function attack(seed: number, n: number, f: number, releaseRound: number, roundsOverride?: number) {
  const rng = new Prng(seed);
  const coalition = rng.shuffle([...Array(n).keys()]).slice(0, f);
  const miner = coalition[0] as number;
  const target = rng.pick([...Array(n).keys()].filter((i) => !coalition.includes(i)));
  // Honest deliveries take 30..60 ms, so a chain the target forwards in the last 4..20 ms of round k arrives
  // after round k everywhere else: exactly the case only an honest relay in an earlier round can fix.
  const sim = new Sim({
    seed,
    n,
    faults: f,
    delayMinMs: 30,
    delayMaxMs: 60,
    byzantine: { ...silentNodes(coalition), [miner]: holdBack({ t0: T, signers: coalition, releaseRound, target, beforeEndMs: rng.int(4, 20) }) },
    ...(roundsOverride === undefined ? {} : { roundsOverride }),
  });
  sim.watch(T);
  sim.runThrough(T);
  return { sim, miner, target, block: toHex(blockHash(testBlock(miner, T, 'held back'))) };
}

const cases = [[4, 1], [7, 2], [7, 3], [10, 4]] as const;

test('f Byzantine signatures reaching one honest node in round f: relayed, and every honest node decides the block', () => {
  for (const [n, f] of cases) {
    for (let seed = 1; seed <= 8; seed++) {
      const { sim, miner, target, block } = attack(seed * 100 + n + f, n, f, f);
      assert.is(agreed(sim, miner, T, `n=${n} f=${f} round f`), block, `seed=${sim.seed} decided the released block`);
      assert.is(sim.nodes[target]?.wireBlocks.get(`${T}/${miner}`)?.size, 1, `seed=${sim.seed} the target relayed it`);
    }
  }
});

test('the same chain reaching one honest node in round f + 1: refused for too few signatures, all decide "no block"', () => {
  for (const [n, f] of cases) {
    for (let seed = 1; seed <= 8; seed++) {
      const { sim, miner, target } = attack(seed * 100 + n + f, n, f, f + 1);
      assert.is(agreed(sim, miner, T, `n=${n} f=${f} round f+1`), null, `seed=${sim.seed} no block`);
      const codes = sim.nodes[target]?.rejected.map((r) => r.code) ?? [];
      assert.ok(codes.includes('ERR_TOO_FEW_SIGNATURES'), `seed=${sim.seed} target refused it: ${codes.join(',')}`);
    }
  }
});

test('negative control: with only k = f rounds the round-f release makes honest nodes disagree', () => {
  for (const [n, f] of cases) {
    for (let seed = 1; seed <= 8; seed++) {
      const { sim, miner, target, block } = attack(seed * 100 + n + f, n, f, f, f);
      assert.ok(disagrees(sim, miner, T), `seed=${sim.seed} n=${n} f=${f}: k = f should have split the honest nodes`);
      assert.is(sim.nodes[target]?.decisions.get(`${T}/${miner}`), block, `seed=${sim.seed} the target decided the block`);
      assert.ok(sim.honest.filter((h) => h.index !== target).every((h) => h.decisions.get(`${T}/${miner}`) === null), `seed=${sim.seed} the others did not`);
    }
  }
});

// ---- refused chains: n = 4, f = 1, k = 2 ----

const keys = testKeys(4);
const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId: 'rounds', faults: 1, roundMs: 1000, startMs: 50_000 });
const net = testNet(genesis, keys);
const verifier = new SimVerifier(net);
const T0 = genesis.startMs + T * genesis.roundMs;
const block = testBlock(0, T, 'refused');
const good = buildChain(net, block, [0, 1]);

function core(): DolevStrong {
  return new DolevStrong({ genesis, selfIndex: 2, sign: keys[2]?.sign });
}

/** What the pool (SimVerifier) and then the core say about `msg` processed in `round`. */
function verdicts(msg: ConsensusMessage, round: number, n: TestNet = net): { verifier: string; core: string } {
  const v = new SimVerifier(n).checkChain({ msg, blockHash: blockHash(msg.block), round });
  const actions = core().onVerifiedChain(msg, T0 + (round - 1) * genesis.roundMs + 1);
  const rejected = actions.find((a) => a.type === 'rejected');
  return { verifier: v.ok ? 'ok' : v.code, core: rejected && rejected.type === 'rejected' ? rejected.code : 'ok' };
}

test('structurally bad chains are refused by the pool and by the core', () => {
  const both = (msg: ConsensusMessage, round: number, code: string, what: string) => assert.equal(verdicts(msg, round), { verifier: code, core: code }, what);
  both(good, 2, 'ok', 'the well-formed chain passes');
  both(buildChain(net, block, [1, 0]), 1, 'ERR_BAD_CHAIN', 'a chain not starting with the miner');
  both({ ...good, signers: [0, 0], mask: good.mask }, 1, 'ERR_BAD_CHAIN', 'a duplicate signer');
  both({ ...good, signers: [0, 9] }, 1, 'ERR_BAD_CHAIN', 'a signer index out of range');
  both(buildChain(net, { ...block, miner: 7 }, [0]), 1, 'ERR_BAD_CHAIN', 'a miner index out of range');
  both({ ...good, mask: new Uint8Array([0b0111]) }, 1, 'ERR_BAD_CHAIN', 'a bitmask with a bit of a validator that did not sign');
  both({ ...good, mask: new Uint8Array([0b0001]) }, 1, 'ERR_BAD_CHAIN', 'a bitmask missing a signer');
  both({ ...good, mask: new Uint8Array([0b11, 0]) }, 1, 'ERR_BAD_CHAIN', 'a bitmask of the wrong length');
  both(buildChain(net, block, [0]), 2, 'ERR_TOO_FEW_SIGNATURES', 'too few signatures for the round');
});

test('a forged signature is refused by the pool; the core is never asked', () => {
  const forged = { ...good, sigs: good.sigs.slice() };
  forged.sigs[100] = (forged.sigs[100] ?? 0) ^ 1;
  assert.is(verdicts(forged, 1).verifier, 'ERR_BAD_SIGNATURE');
  const wrongSigner = { ...good, sigs: new Uint8Array([...good.sigs.subarray(0, 64), ...signBlock(net, 3, block)]) };
  assert.is(verdicts(wrongSigner, 1).verifier, 'ERR_BAD_SIGNATURE', 'validator 3 signed but the chain names 1');
});

test('messages from further ahead than the clock skew bound, or after round k, are refused by the core', () => {
  const c = core();
  const early = c.onVerifiedChain(good, T0 - c.clockSkewMsMax - 1).find((a) => a.type === 'rejected');
  assert.ok(early && early.type === 'rejected' && early.code === 'ERR_TOO_EARLY' && early.reason.includes('clockSkewMsMax'), 'before round 1, past the bound');
  const late = c.onVerifiedChain(good, T0 + 2 * genesis.roundMs).find((a) => a.type === 'rejected');
  assert.ok(late && late.type === 'rejected' && late.code === 'ERR_INSTANCE_OVER', 'after round k');
});

test('a signature replayed from another instance, block or network is refused', () => {
  const sig0 = buildChain(net, block, [0]).sigs;
  const replay = (b: typeof block) => ({ ...buildChain(net, b, [0]), sigs: sig0 });
  assert.is(verdicts(replay({ ...block, t0: T + 1 }), 1).verifier, 'ERR_BAD_SIGNATURE', 'another t0');
  assert.is(verdicts(replay({ ...block, payload: new Uint8Array([1]) }), 1).verifier, 'ERR_BAD_SIGNATURE', 'another block of the instance');
  const ext = extendChain(net, buildChain(net, block, [0]), 1);
  const moved = { ...buildChain(net, { ...block, t0: T + 1 }, [0]), signers: [0, 1], mask: ext.mask, sigs: new Uint8Array([...buildChain(net, { ...block, t0: T + 1 }, [0]).sigs, ...ext.sigs.subarray(64)]) };
  assert.is(verdicts(moved, 1).verifier, 'ERR_BAD_SIGNATURE', "a relay's signature moved to another instance");
  for (const other of [
    createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId: 'other', faults: 1, roundMs: 1000, startMs: 50_000 }),
    createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId: 'rounds', faults: 1, roundMs: 1000, startMs: 60_000 }),
  ]) {
    const foreign = buildChain(testNet(other, keys), block, [0, 1]);
    assert.is(verifier.checkChain({ msg: foreign, blockHash: blockHash(block), round: 1 }).ok, false, `a chain of network ${other.networkId}@${other.startMs}`);
    assert.is(new SimVerifier(testNet(other, keys)).checkChain({ msg: foreign, blockHash: blockHash(block), round: 1 }).ok, true, 'valid in its own network');
  }
});

test('bad chains sent by a Byzantine node during a run are all refused and change nothing', () => {
  for (let seed = 1; seed <= 6; seed++) {
    const bad = 3;
    const sim = new Sim({
      seed: 900 + seed,
      n: 4,
      byzantine: {
        [bad]: {
          start(ctx) {
            const { net: sn } = ctx.sim;
            const b = testBlock(bad, T, 'bad');
            const ok = buildChain(sn, b, [bad]);
            const forged = { ...ok, sigs: ok.sigs.map((x, i) => (i === 0 ? x ^ 1 : x)) };
            const forgedHonest = { ...buildChain(sn, testBlock(0, T, 'forged'), [0]), sigs: new Uint8Array(64).fill(7) };
            const malformed = [buildChain(sn, b, [0, bad]), { ...ok, signers: [bad, bad], sigs: new Uint8Array(128), mask: ok.mask }, { ...ok, mask: new Uint8Array([0xff]) }];
            ctx.at(ctx.sim.T0(T) + 10, () => ctx.sendTo('all', forged));
            ctx.at(ctx.sim.T0(T) + 10, () => ctx.sendTo('all', forgedHonest));
            for (const m of malformed) ctx.at(ctx.sim.T0(T) + 10, () => ctx.sendTo('all', m));
            ctx.at(ctx.sim.T0(T) + ctx.sim.roundMs + 10, () => ctx.sendTo('all', ok)); // round 2 with one signature
            ctx.at(ctx.sim.T0(T) + ctx.sim.k * ctx.sim.roundMs + 10, () => ctx.sendTo('all', ok)); // after round k
          },
        },
      },
    });
    sim.propose(1, T, new Uint8Array([seed]));
    sim.watch(T);
    sim.runThrough(T + 1); // one round more, for the chain sent after round k
    assert.is(agreed(sim, bad, T, 'bad chains'), null, `seed=${sim.seed}`);
    assert.is.not(agreed(sim, 1, T, 'honest alongside'), null, `seed=${sim.seed}`);
    for (const h of sim.honest) {
      const codes = new Set(h.rejected.map((r) => r.code));
      for (const c of ['ERR_BAD_SIGNATURE', 'ERR_BAD_CHAIN', 'ERR_TOO_FEW_SIGNATURES', 'ERR_INSTANCE_OVER']) {
        assert.ok(codes.has(c as never), `seed=${sim.seed} node ${h.index} lacks ${c}: ${[...codes].join(',')}`);
      }
    }
  }
});

test.run();
