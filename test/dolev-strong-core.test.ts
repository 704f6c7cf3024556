/**
 * The Dolev-Strong core alone, driven by hand: option checks, round arithmetic, proposing, relaying,
 * forwarding, deciding and appending, and the limits on open instances. n = 4, f = 1, k = 2, Δ = 1000 ms.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8 } from '../src/bytes.ts';
import { hasBit } from '../src/consensus/bitmask.ts';
import { blockHash } from '../src/consensus/block.ts';
import { DolevStrong, type ConsensusAction, type DolevStrongOptions } from '../src/consensus/dolev-strong.ts';
import { createGenesis } from '../src/consensus/genesis.ts';
import { isStrongcastError } from '../src/errors.ts';
import type { ConsensusMessage } from '../src/wire/schema.ts';
import { buildChain, SimVerifier, testNet } from './sim/chains.ts';
import { testBlock } from './sim/byzantine.ts';
import { testKeys } from './sim/keys.ts';

const keys = testKeys(4);
const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId: 'core', faults: 1, roundMs: 1000, startMs: 10_000 });
const net = testNet(genesis, keys);
const T = 5;
const T0 = 10_000 + T * 1000;
const K = 2;

function node(self: number | null, extra: Partial<DolevStrongOptions> = {}): DolevStrong {
  return new DolevStrong({ genesis, selfIndex: self, ...(self === null ? {} : { sign: keys[self]?.sign }), ...extra });
}

const of = <T extends ConsensusAction['type']>(actions: ConsensusAction[], type: T) =>
  actions.filter((a): a is Extract<ConsensusAction, { type: T }> => a.type === type);

test('options are checked once, each message naming its field', () => {
  const table: Array<[Partial<DolevStrongOptions>, string]> = [
    [{ genesis: undefined as never }, 'options.genesis'],
    [{ selfIndex: 4 }, 'options.selfIndex must be an integer in 0..3'],
    [{ selfIndex: -1 }, 'options.selfIndex'],
    [{ selfIndex: 1.5 }, 'options.selfIndex'],
    [{ selfIndex: 0, sign: undefined }, 'options.sign must be a function'],
    [{ instancesOpenMax: 0 }, 'options.instancesOpenMax must be an integer in 1..'],
    [{ proposeLateMsMax: 1000 }, 'options.proposeLateMsMax must be an integer in 0..999'],
    [{ clockSkewMsMax: 1000 }, 'options.clockSkewMsMax must be an integer in 0..999'],
    [{ clockSkewMsMax: -1 }, 'options.clockSkewMsMax'],
    [{ roundsOverride: 0 }, 'options.roundsOverride must be an integer in 1..4'],
    [{ roundsOverride: 5 }, 'options.roundsOverride'],
    [{ chainBlocksKeptMax: 0 }, 'options.chainBlocksKeptMax'],
  ];
  for (const [bad, message] of table) {
    try {
      new DolevStrong({ genesis, selfIndex: 0, sign: keys[0]?.sign, ...bad });
      assert.unreachable(`accepted ${message}`);
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), `${message}: got ${String(e)}`);
      assert.ok((e as Error).message.includes(message), `'${(e as Error).message}' lacks '${message}'`);
    }
  }
  const d = node(0);
  assert.is(d.k, K);
  assert.is(d.instancesOpenMax, 4 * (K + 1), 'default n·(k+1)');
  assert.is(d.proposeLateMsMax, 250, 'default Δ/4');
  assert.is(d.clockSkewMsMax, 250, 'default Δ/4');
});

test('rounds come from the local clock: r = floor((now - T0)/Δ) + 1, t = floor((now - start)/Δ)', () => {
  const d = node(0);
  assert.is(d.roundOf(T, T0 - 1), 0);
  assert.is(d.roundOf(T, T0), 1);
  assert.is(d.roundOf(T, T0 + 999), 1);
  assert.is(d.roundOf(T, T0 + 1000), 2);
  assert.is(d.roundOf(T, T0 + 2000), 3);
  assert.is(d.currentRound(T0 + 1), T);
  assert.is(d.currentRound(9_999), -1);
});

test('nextProposalRound: this round while early and unused, else the next', () => {
  const d = node(0);
  assert.equal(d.nextProposalRound(5), { t0: 0, atMs: 10_000 }, 'before genesis start');
  assert.equal(d.nextProposalRound(T0 + 100), { t0: T, atMs: T0 });
  assert.equal(d.nextProposalRound(T0 + 251), { t0: T + 1, atMs: T0 + 1000 }, 'past proposeLateMsMax');
  d.propose(utf8('x'), T, T0);
  assert.equal(d.nextProposalRound(T0 + 10), { t0: T + 1, atMs: T0 + 1000 }, 'already proposed');
});

test('propose: signed block with only the miner bit, once per round, only early in round 1', () => {
  const d = node(2);
  const out = d.propose(utf8('hello'), T, T0 + 5, 1234);
  const [send] = of(out, 'send');
  assert.ok(send, 'sent');
  assert.equal(send.msg.signers, [2]);
  assert.equal([...send.msg.mask], [0b0100]);
  assert.equal(send.msg.block, { miner: 2, t0: T, ts: 1234, payload: utf8('hello') });
  assert.ok(new SimVerifier(net).checkChain({ msg: send.msg, blockHash: blockHash(send.msg.block), round: 1 }).ok, 'the signature verifies');
  assert.equal(of(out, 'proposed')[0]?.blockHash, blockHash(send.msg.block));
  const again = of(d.propose(utf8('other'), T, T0 + 6), 'rejected')[0];
  assert.ok(again && again.reason.includes('already proposed'), 'at most one instance per round');
  assert.is(of(node(2).propose(utf8('x'), T, T0 + 251), 'rejected')[0]?.code, 'ERR_INSTANCE_OVER', 'too late in round 1');
  assert.is(of(node(2).propose(utf8('x'), T, T0 + 1000), 'rejected')[0]?.code, 'ERR_INSTANCE_OVER', 'round 2');
  assert.is(of(node(2).propose(utf8('x'), T, T0 - 1), 'rejected')[0]?.code, 'ERR_INVALID_OPTION', 'not started');
  assert.is(of(node(2).propose(new Uint8Array(256 * 1024 + 1), T, T0), 'rejected')[0]?.code, 'ERR_PAYLOAD_TOO_LARGE', 'payload limit (the cap of n = 4 is the schema limit)');
  assert.is(of(node(2).propose(new Uint8Array(256 * 1024), T, T0), 'proposed').length, 1, 'payload at its limit');
  try {
    node(null).propose(utf8('x'), T, T0);
    assert.unreachable('observer proposed');
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_NOT_VALIDATOR'));
  }
});

const block = testBlock(0, T, 'b');
const chain1 = buildChain(net, block, [0]);
const chain2 = buildChain(net, block, [0, 1]);
const chain3 = buildChain(net, block, [0, 1, 3]);

test('round r < k: a new block enters the pool and is relayed with this node signing last', () => {
  const d = node(2);
  const out = d.onVerifiedChain(chain1, T0 + 10);
  const [send] = of(out, 'send');
  assert.ok(send, 'relayed');
  assert.equal(send.msg.signers, [0, 2]);
  assert.ok(hasBit(send.msg.mask, 2) && hasBit(send.msg.mask, 0));
  assert.equal(send.msg.sigs.subarray(0, 64), chain1.sigs, 'earlier signatures kept');
  assert.ok(new SimVerifier(net).checkChain({ msg: send.msg, blockHash: blockHash(block), round: 2 }).ok, 'valid for round 2');
  assert.equal(of(out, 'relayed')[0], { type: 'relayed', instance: { miner: 0, t0: T }, blockHash: blockHash(block), round: 1, signatures: 2 });
  assert.is(of(out, 'forward').length, 0, 'its own relay supersedes the chain it extended');
  assert.equal(d.onVerifiedChain(chain1, T0 + 20), [], 'the same chain again: nothing');
  assert.equal(d.onVerifiedChain(chain2, T0 + 20), [], 'no more signatures than it sent: not forwarded');
  assert.equal(of(d.onVerifiedChain(chain3, T0 + 1010), 'forward').map((a) => a.msg), [chain3], 'more signatures: forwarded once');
  assert.equal(d.onVerifiedChain(chain3, T0 + 1020), [], 'and only once');
});

test('round k: the block enters the pool but is not relayed, only forwarded', () => {
  const d = node(2);
  const out = d.onVerifiedChain(chain2, T0 + 1500);
  assert.is(of(out, 'send').length, 0);
  assert.equal(of(out, 'forward').map((a) => a.msg), [chain2]);
  assert.equal(d.status(T0 + 1500).instances[0]?.poolSize, 1);
});

test('chainTiming at the edges of the clock skew bound: counted in round 1 from T0 - clockSkewMsMax, refused before', () => {
  const d = node(2, { clockSkewMsMax: 40 });
  assert.equal(d.chainTiming(T, T0 - 41), { code: 'ERR_TOO_EARLY', reason: `instance t0=${T} starts in 41 ms here, more than clockSkewMsMax=40` });
  assert.equal(d.chainTiming(T, T0 - 40), { round: 1 }, 'exactly the bound ahead');
  assert.equal(d.chainTiming(T, T0 - 1), { round: 1 });
  assert.equal(d.chainTiming(T, T0), { round: 1 });
  assert.equal(d.chainTiming(T, T0 + 2 * 1000 - 1), { round: 2 }, 'last ms of round k');
  assert.is((d.chainTiming(T, T0 + 2 * 1000) as { code: string }).code, 'ERR_INSTANCE_OVER');
  assert.is((node(2, { clockSkewMsMax: 0 }).chainTiming(T, T0 - 1) as { code?: string }).code, 'ERR_TOO_EARLY', 'a bound of 0: nothing before T0');
});

test('a chain early within the skew bound is pooled as round 1; what this node sends for it waits for T0 here', () => {
  const d = node(2, { clockSkewMsMax: 40 });
  const out = d.onVerifiedChain(chain1, T0 - 40);
  assert.equal(out, [], 'nothing leaves before T0');
  assert.equal(d.status(T0 - 40).instances.map((i) => i.poolSize), [1], 'but the block is in the pool');
  assert.equal(d.tick(T0 - 1), [], 'still held 1 ms before T0');
  const released = d.tick(T0);
  assert.equal(released.map((a) => a.type), ['send', 'relayed'], 'the relay goes out at T0');
  assert.equal(of(released, 'send')[0]?.msg.signers, [0, 2]);
  assert.equal(of(released, 'relayed')[0]?.round, 1);
  assert.equal(d.tick(T0 + 1), [], 'released once');
  assert.is(of(d.tick(T0 + K * 1000), 'decided')[0]?.block?.height, 1, 'and decided like any round-1 block');
});

test('an observer holds early forwards until T0 too, and a later call (not only tick) releases them', () => {
  const d = node(null, { clockSkewMsMax: 40 });
  assert.equal(d.onVerifiedChain(chain1, T0 - 30).map((a) => a.type), ['seen'], 'the block content goes to the follower at once; the forward waits');
  assert.equal(d.onVerifiedChain(chain2, T0 - 20), [], 'more signatures: forward, held as well');
  const later = d.onVerifiedChain(chain3, T0 + 5);
  assert.equal(later.map((a) => (a.type === 'forward' ? a.msg.signers.length : a.type)), [1, 2, 3], 'held forwards first, in order, then the new one');
});

test('a chain from further ahead than the bound is refused and leaves nothing behind', () => {
  const d = node(2, { clockSkewMsMax: 40 });
  assert.equal(of(d.onVerifiedChain(chain1, T0 - 41), 'rejected').map((a) => a.code), ['ERR_TOO_EARLY']);
  assert.equal(d.status(T0 - 41).instances, []);
  assert.equal(d.tick(T0), []);
});

test('the round that counts is the one at processing: a chain verified in round 1 but processed in round 2 is refused', () => {
  const out = node(2).onVerifiedChain(chain1, T0 + 1000);
  assert.is(of(out, 'rejected')[0]?.code, 'ERR_TOO_FEW_SIGNATURES');
});

test('an observer never signs and decides nothing itself: it forwards, and hands each new block to its follower', () => {
  const d = node(null);
  assert.equal(d.onVerifiedChain(chain1, T0 + 10).map((a) => a.type), ['seen', 'forward']);
  assert.equal(d.onVerifiedChain(chain2, T0 + 20).map((a) => a.type), ['forward'], 'a new signer: forwarded');
  assert.equal(d.onVerifiedChain(chain2, T0 + 30), [], 'nothing new: not forwarded again');
  assert.equal(d.tick(T0 + K * 1000), [], 'no decision of its own: it follows validators\' outcomes');
  assert.is(d.appendFollowed(block, blockHash(block)).height, 1, 'what it follows, it appends');
});

test('an observer forwards a chain with a new signer even at the same length, and any number of blocks while their signers count', () => {
  const d = node(null);
  const other = buildChain(net, block, [0, 3]);
  d.onVerifiedChain(chain2, T0 + 1010);
  assert.equal(of(d.onVerifiedChain(other, T0 + 1020), 'forward').map((a) => a.msg.signers), [[0, 3]], 'same length, new signer 3: its signature must reach the nodes behind');
  // Two junk blocks first (validators behind may refuse their forwards a round late), then the honest block:
  // an observer that capped forwarding at two blocks would strand it.
  const junk = [1, 2].map((j) => buildChain(net, testBlock(0, T + 1, `junk ${j}`), [0]));
  for (const c of junk) d.onVerifiedChain(c, T0 + 1000 + 10);
  const honest = buildChain(net, testBlock(0, T + 1, 'honest'), [0, 2]);
  assert.equal(of(d.onVerifiedChain(honest, T0 + 1000 + 20), 'forward').length, 1, 'the third block of the instance is forwarded');
});

test('an observer ignores the signatures of a validator that signed more than two blocks of an instance', () => {
  const d = node(null);
  const blocks = [0, 1, 2, 3].map((j) => buildChain(net, testBlock(1, T, `equivocation ${j}`), [1]));
  const forwarded = blocks.map((c) => of(d.onVerifiedChain(c, T0 + 10), 'forward').length);
  assert.equal(forwarded, [1, 1, 0, 0], 'the third block proves miner 1 Byzantine: its proposals go no further');
  const cosigned = buildChain(net, testBlock(1, T, 'equivocation 3'), [1, 2]);
  assert.equal(of(d.onVerifiedChain(cosigned, T0 + 20), 'forward').length, 1, 'a chain an honest-looking validator signed still passes');
});

test('at most two distinct blocks per instance are pooled, relayed or forwarded', () => {
  const d = node(2);
  const blocks = [0, 1, 2, 3].map((j) => buildChain(net, testBlock(0, T, `equivocation ${j}`), [0]));
  const sent = blocks.map((c) => of(d.onVerifiedChain(c, T0 + 10), 'send').length);
  assert.equal(sent, [1, 1, 0, 0]);
  assert.equal(of(d.onVerifiedChain(buildChain(net, testBlock(0, T, 'equivocation 3'), [0, 1]), T0 + 20), 'forward'), [], 'a third block is not forwarded either');
  assert.is(d.status(T0 + 10).instances[0]?.poolSize, 2);
  const [decided] = of(d.tick(T0 + K * 1000), 'decided');
  assert.equal(decided, { type: 'decided', instance: { miner: 0, t0: T }, block: null }, 'two blocks: no block');
});

test('decisions fall due exactly when round k ends; blocks link to the genesis and to each other', () => {
  const d = node(1);
  d.onVerifiedChain(chain1, T0 + 10);
  assert.equal(d.tick(T0 + K * 1000 - 1), [], 'round k not over');
  const [decided] = of(d.tick(T0 + K * 1000), 'decided');
  assert.ok(decided?.block, 'decided');
  assert.equal({ height: decided.block.height, hash: toHex(decided.block.hash), parent: toHex(decided.block.parent) }, { height: 1, hash: toHex(blockHash(block)), parent: toHex(d.genesisHash) });
  assert.equal(d.tick(T0 + K * 1000 + 500), [], 'decided once');
  const next = buildChain(net, testBlock(3, T + 3, 'next'), [3]);
  d.onVerifiedChain(next, T0 + 3000 + 1);
  const [second] = of(d.tick(T0 + 3000 + K * 1000), 'decided');
  assert.equal(second?.block?.parent, decided.block.hash);
  assert.equal({ height: d.tip().height, hash: d.tip().hash }, { height: 2, hash: blockHash(next.block) });
  assert.is(of(d.onVerifiedChain(chain2, T0 + K * 1000), 'rejected')[0]?.code, 'ERR_INSTANCE_OVER', 'no message changes a decided instance');
});

test('blocks of one t0 are appended together in miner order, whatever order they arrived in, then the next t0', () => {
  const d = node(1);
  const c3 = buildChain(net, testBlock(3, T, 'm3'), [3]);
  const c0 = buildChain(net, testBlock(0, T, 'm0'), [0]);
  const c2 = buildChain(net, testBlock(2, T + 1, 'm2 later'), [2]);
  d.onVerifiedChain(c3, T0 + 10);
  d.onVerifiedChain(c0, T0 + 20);
  d.onVerifiedChain(c2, T0 + 1010);
  const decided = of(d.tick(T0 + 10_000), 'decided');
  assert.equal(decided.map((a) => `${a.instance.t0}/${a.instance.miner}@${a.block?.height}`), [`${T}/0@1`, `${T}/3@2`, `${T + 1}/2@3`]);
  assert.equal(d.chain().map((b) => b.miner), [0, 3, 2]);
});

test('watch reports "no block" for a silent miner; nothing is reported for instances nobody opened', () => {
  const d = node(1);
  assert.is(d.watch(3, T), true);
  assert.is(d.watch(3, T), true, 'watching twice is fine');
  const decided = of(d.tick(T0 + K * 1000), 'decided');
  assert.equal(decided, [{ type: 'decided', instance: { miner: 3, t0: T }, block: null }]);
  assert.is(d.watch(3, T), false, 'an instance that has ended cannot be watched');
  assert.throws(() => d.watch(4, T), (e: unknown) => isStrongcastError(e, 'ERR_INVALID_OPTION'));
});

test('instancesOpenMax: the instance beyond the limit is refused, and slots free up when instances end', () => {
  const d = node(1, { instancesOpenMax: 2 });
  assert.is(d.watch(0, T), true);
  assert.is(d.watch(2, T), true);
  assert.is(d.watch(3, T), false, 'third watch refused');
  const out = d.onVerifiedChain(buildChain(net, testBlock(3, T, 'x'), [3]), T0 + 10);
  assert.is(of(out, 'rejected')[0]?.code, 'ERR_RATE_LIMITED');
  assert.is(of(d.onVerifiedChain(chain1, T0 + 10), 'send').length, 1, 'an open instance still works at the limit');
  d.tick(T0 + K * 1000);
  assert.is(d.watch(3, T + 3), true, 'slots freed after the decisions');
});

test('time never runs backwards inside the core: a stale clock cannot reopen an ended instance', () => {
  const d = node(1);
  d.watch(0, T);
  assert.is(of(d.tick(T0 + K * 1000), 'decided').length, 1);
  const out = d.onVerifiedChain(chain1, T0 + 10);
  assert.is(of(out, 'rejected')[0]?.code, 'ERR_INSTANCE_OVER');
  assert.is(d.status(T0).instances.length, 0);
});

test('a chain already carrying this node\'s signature is pooled but never signed again', () => {
  const d = node(1);
  const out = d.onVerifiedChain(chain2, T0 + 10);
  assert.equal(out.map((a) => a.type), ['forward']);
});

test('status lists open instances with their round and pool', () => {
  const d = node(1);
  d.onVerifiedChain(chain1, T0 + 10);
  d.watch(2, T + 1);
  assert.equal(d.status(T0 + 1500), {
    round: T + 1,
    k: K,
    height: 0,
    instances: [
      { miner: 0, t0: T, round: 2, poolSize: 1, blocks: [toHex(blockHash(block))] },
      { miner: 2, t0: T + 1, round: 1, poolSize: 0, blocks: [] },
    ],
  });
});

test('chainBlocksKeptMax bounds chain() and tip continues a stored chain', () => {
  const tip = { height: 41, hash: new Uint8Array(32).fill(9), digest: new Uint8Array(32).fill(8) };
  const d = node(1, { chainBlocksKeptMax: 1, tip });
  for (const t of [T, T + 1]) d.onVerifiedChain(buildChain(net, testBlock(0, t, `kept ${t}`), [0]), 10_000 + t * 1000 + 1);
  d.tick(T0 + 10_000);
  assert.equal(d.chain().map((b) => b.height), [43]);
  assert.is(d.tip().height, 43);
  const first: ConsensusMessage = buildChain(net, testBlock(0, T, `kept ${T}`), [0]);
  assert.equal(d.chain()[0]?.parent, blockHash(first.block));
});

test.run();
