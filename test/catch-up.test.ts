/** Catch-up rules (pure): f+1 vouches per block, forks, completeness; and the core holding decisions meanwhile. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CatchUp, statementSignedBytes, type SyncTip } from '../src/consensus/catch-up.ts';
import { blockHash, chainDigest } from '../src/consensus/block.ts';
import { DolevStrong } from '../src/consensus/dolev-strong.ts';
import { createGenesis, genesisHash } from '../src/consensus/genesis.ts';
import { toHex } from '../src/bytes.ts';
import type { ChainStatement, WireChainBlock } from '../src/wire/schema.ts';
import { testKeys } from './sim/keys.ts';
import { buildChain, testNet } from './sim/chains.ts';

const G = new Uint8Array(32).fill(7);

/** A linear chain of `count` blocks on top of `parent` at `height`. */
function blocks(count: number, parent: Uint8Array = G, height = 0, salt = 0): WireChainBlock[] {
  const out: WireChainBlock[] = [];
  for (let i = 0; i < count; i++) {
    const b: WireChainBlock = { miner: i % 4, t0: 10 + i, ts: salt, payload: new Uint8Array([i, salt]), height: height + i + 1, parent };
    out.push(b);
    parent = blockHash(b);
  }
  return out;
}

/** The running digest of the chain `G, ...chain` (block.ts chainDigest). */
function digestOf(chain: readonly WireChainBlock[]): Uint8Array {
  return chain.reduce<Uint8Array>((d, b) => chainDigest(d, b.height, blockHash(b)), G);
}

/** The tip of the chain `G, ...chain`. */
function tipOf(chain: readonly WireChainBlock[]): SyncTip {
  const last = chain[chain.length - 1];
  return last ? { height: last.height, hash: blockHash(last), digest: digestOf(chain) } : { height: 0, hash: G, digest: G };
}

/** A statement naming the chain `G, ...chain`. */
function st(signer: number, chain: readonly WireChainBlock[], round = 100, syncing = false, heldFrom: number | null = null, appendsFrom: number | null = heldFrom): ChainStatement {
  const { height, hash: tip, digest } = tipOf(chain);
  return { signer, round, height, tip, digest, syncing, heldFrom, appendsFrom, sig: new Uint8Array(64) };
}

function cu(liveFromT0 = 20, n = 4, faults = 1): CatchUp {
  return new CatchUp({ n, faults, k: faults + 1, liveFromT0, tip: tipOf([]) });
}

test('statement bytes change with every field', () => {
  const base = { signer: 1, round: 5, height: 2, tip: new Uint8Array(32), digest: new Uint8Array(32), syncing: false, heldFrom: null, appendsFrom: null };
  const ref = toHex(statementSignedBytes('net', G, base));
  for (const changed of [
    statementSignedBytes('net2', G, base),
    statementSignedBytes('net', new Uint8Array(32), base),
    statementSignedBytes('net', G, { ...base, signer: 2 }),
    statementSignedBytes('net', G, { ...base, round: 6 }),
    statementSignedBytes('net', G, { ...base, height: 3 }),
    statementSignedBytes('net', G, { ...base, tip: new Uint8Array(32).fill(1) }),
    statementSignedBytes('net', G, { ...base, digest: new Uint8Array(32).fill(1) }),
    statementSignedBytes('net', G, { ...base, syncing: true }),
    statementSignedBytes('net', G, { ...base, syncing: true, heldFrom: 0 }),
    statementSignedBytes('net', G, { ...base, syncing: true, heldFrom: 7 }),
    statementSignedBytes('net', G, { ...base, syncing: true, heldFrom: 0, appendsFrom: 0 }),
    statementSignedBytes('net', G, { ...base, syncing: true, heldFrom: 7, appendsFrom: 8 }),
    statementSignedBytes('net', G, { ...base, decided: { from: 0, through: 0, blocks: [] } }),
    statementSignedBytes('net', G, { ...base, decided: { from: 0, through: 1, blocks: [] } }),
    statementSignedBytes('net', G, { ...base, decided: { from: 0, through: 1, blocks: [{ miner: 0, t0: 1, hash: G }] } }),
  ]) {
    assert.is.not(toHex(changed), ref);
  }
});

test('a block is appendable only when f+1 distinct validators each sent it at that height on that parent', () => {
  const c = cu();
  const chain = blocks(3);
  assert.is(c.onReply(st(1, chain), chain), null);
  assert.equal(c.appendable(), [], 'one validator is not enough with f=1');
  c.onReply(st(1, chain, 101), chain);
  assert.equal(c.appendable(), [], 'the same signer twice still counts once');
  c.onReply(st(2, chain.slice(0, 2)), chain.slice(0, 2));
  assert.equal(c.appendable().map((b) => b.height), [1, 2], 'the second validator sent blocks 1 and 2 only');
  c.onReply(st(3, chain), chain);
  assert.equal(c.appendable().map((b) => b.height), [1, 2, 3]);
});

test('of two forks only the one sent by f+1 validators is appended', () => {
  const c = cu();
  const good = blocks(2);
  const fork = blocks(2, G, 0, 9);
  c.onReply(st(0, fork), fork);
  c.onReply(st(1, good), good);
  c.onReply(st(2, good), good);
  assert.equal(c.appendable().map((b) => toHex(blockHash(b))), good.map((b) => toHex(blockHash(b))));
});

test('a block relinked to another height or parent by one validator borrows no vouches from the others', () => {
  const c = cu();
  const honest = blocks(2); // A at height 1, B at height 2
  const b = honest[1]!;
  c.onReply(st(1, honest), honest);
  c.onReply(st(2, honest), honest);
  // A Byzantine validator sends B relinked at height 1 on top of genesis.
  c.onReply(st(0, [{ ...b, height: 1, parent: G }]), [{ ...b, height: 1, parent: G }]);
  assert.equal(c.appendable().map((x) => `${x.height}:${toHex(blockHash(x)).slice(0, 8)}`), honest.map((x) => `${x.height}:${toHex(blockHash(x)).slice(0, 8)}`));
});

test('blocks that do not link to each other are refused', () => {
  const c = cu();
  const chain = blocks(3);
  const r = c.onReply(st(1, chain), [chain[0]!, chain[2]!]);
  assert.ok(r && r.index === 1, 'the gap is named');
  assert.equal(c.appendable(), []);
});

test('completeness: f+1 live statements late enough, naming exactly our tip', () => {
  const chain = blocks(2);
  const synced = (round: number) => {
    const c = cu(20); // k = 2: statements must be from round >= 21
    c.onReply(st(1, chain, round), chain);
    c.onReply(st(2, chain, round), chain);
    for (const b of c.appendable()) c.advance(b, blockHash(b));
    return c;
  };
  assert.ok(synced(30).complete(), 'two live statements at round 30 for our tip');
  assert.not.ok(synced(20).complete(), 'round 20 is before every pre-live instance ended');

  const behind = cu(20);
  behind.onReply(st(1, chain, 30), chain);
  behind.onReply(st(2, chain, 30), chain);
  assert.not.ok(behind.complete(), 'statements ahead of our tip do not complete us until we have their blocks');

  const ahead = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf(chain) });
  ahead.onReply(st(1, chain.slice(0, 1), 30), []);
  ahead.onReply(st(2, chain.slice(0, 1), 30), []);
  assert.not.ok(ahead.complete(), 'a block of ours that nobody vouches for keeps us from completing');

  // n = 4, f = 1: the quorum is max(f + 1, n - f) = 3 validators, ours included.
  const syncing = cu(20);
  syncing.onReply(st(1, [], 30, true), []);
  assert.not.ok(syncing.complete(), 'one syncing statement and ours are not a quorum');
  syncing.onReply(st(2, [], 30, true), []);
  assert.ok(syncing.complete(), 'two syncing statements naming our tip and ours are (the quorum rule)');
  assert.not.ok(syncing.complete(undefined, 19), 'not when we held, and dropped or lost, a decision from before our liveFrom');
  assert.ok(syncing.complete(undefined, 20), 'a decision of ours from our liveFrom on is ours to decide: we count');
  syncing.onReply(st(3, [], 30, true), []);
  assert.ok(syncing.complete(undefined, 19), 'then all three others make the quorum without us');
  const observer = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf([]), selfIsValidator: false });
  observer.onReply(st(1, [], 30, true), []);
  observer.onReply(st(2, [], 30, true), []);
  assert.not.ok(observer.complete(), "an observer's own chain proves nothing about validators: it needs three");
  observer.onReply(st(3, [], 30, true), []);
  assert.ok(observer.complete());
  const wide = new CatchUp({ n: 7, faults: 2, k: 3, liveFromT0: 20, tip: tipOf([]) });
  for (const signer of [1, 2, 3]) wide.onReply(st(signer, [], 30, true), []);
  assert.not.ok(wide.complete(), 'n = 7, f = 2: four of the quorum of five');
  wide.onReply(st(4, [], 30, true), []);
  assert.ok(wide.complete(), 'five');
  const manyFaults = new CatchUp({ n: 4, faults: 3, k: 4, liveFromT0: 20, tip: tipOf([]) });
  for (const signer of [1, 2]) manyFaults.onReply(st(signer, [], 30, true), []);
  assert.not.ok(manyFaults.complete(), 'n = 4, f = 3: the quorum is f + 1 = 4');
  manyFaults.onReply(st(3, [], 30, true), []);
  assert.ok(manyFaults.complete());

  // A syncing signer's tip leaves out the decisions it holds: one it holds from before our liveFrom would
  // be appended after its catch-up, and we would lack it.
  const holding = cu(20);
  holding.onReply(st(1, [], 30, true, 19), []);
  holding.onReply(st(3, [], 30, true, 25), []);
  assert.not.ok(holding.complete(), 'a signer holding a decision of t0 19 < liveFrom 20 does not count');
  holding.onReply(st(1, [], 31, true, 20), []);
  assert.ok(holding.complete(), 'held decisions from our liveFrom on are ours to decide too: they count');

  // A live validator's chain that is ours with our held decisions on top: we hold exactly what it has.
  const prospective = tipOf(chain);
  const behindLive = cu(20);
  behindLive.onReply(st(1, chain, 30), chain);
  behindLive.onReply(st(2, chain, 30), chain.slice(0, 1));
  assert.not.ok(behindLive.complete(), 'statements naming a chain ahead of ours');
  assert.ok(behindLive.complete(prospective), 'f+1 live statements naming our prospective tip complete us');
  assert.not.ok(behindLive.complete({ height: 2, hash: blockHash(chain[0]!), digest: digestOf(chain.slice(0, 1)) }), 'the same height with another block does not');
  const mixed = cu(20);
  mixed.onReply(st(1, chain, 30), []);
  mixed.onReply(st(2, [], 30, true, 21), []);
  assert.ok(mixed.complete(prospective), 'a quorum: one live on our prospective tip, one syncing on our tip holding nothing before liveFrom, and ours');
  assert.not.ok(mixed.complete(), 'without the prospective tip the live one does not name our chain');
});

test('completeness compares whole chains: the same last block at the same height on another chain does not count', () => {
  // Block hashes cover neither height nor parent, so X at height 2 is the same block on [A, X] and on [B, X].
  const ours = blocks(2);
  const theirs = [blocks(1, G, 0, 9)[0]!, { ...ours[1]!, parent: blockHash(blocks(1, G, 0, 9)[0]!) }];
  assert.is(toHex(blockHash(ours[1]!)), toHex(blockHash(theirs[1]!)), 'the same last block');
  const c = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf(ours) });
  c.onReply(st(1, theirs, 30), []);
  c.onReply(st(2, theirs, 30), []);
  c.onReply(st(3, theirs, 30), []);
  assert.not.ok(c.complete(), 'f+1 live statements for [B, X] do not complete a node whose chain is [A, X]');
  assert.not.ok(c.complete(tipOf(ours)), 'nor as the prospective tip');
  const same = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf(ours) });
  same.onReply(st(1, ours, 30), []);
  same.onReply(st(2, ours, 30), []);
  assert.ok(same.complete(), 'statements for [A, X] do');
});

test('the candidate block limit is enforced', () => {
  const c = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 0, tip: tipOf([]), candidateBlocksMax: 3 });
  const chain = blocks(3);
  assert.is(c.onReply(st(1, chain), chain), null, 'exactly the limit is kept');
  const r = c.onReply(st(2, chain.slice(0, 1)), chain.slice(0, 1));
  assert.ok(r && /limit/.test(r.reason), 'one more is refused');
});

test('the core holds decisions while syncing and appends them after the synced tip', () => {
  const keys = testKeys(4);
  const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), faults: 1, roundMs: 100, startMs: 0 });
  const net = testNet(genesis, keys);
  const core = new DolevStrong({ genesis, selfIndex: 0, sign: (b) => keys[0]!.sign(b) });
  core.startSync();
  // A block mined by validator 1 at t0 = 5 reaches us in round 1 with two signatures.
  const block = { miner: 1, t0: 5, ts: 1, payload: new Uint8Array([1]) };
  core.onVerifiedChain(buildChain(net, block, [1, 2]), 510);
  const during = core.tick(5 * 100 + 2 * 100 + 1);
  assert.not.ok(during.some((a) => a.type === 'decided'), 'no decision reported while syncing');
  assert.is(core.tip().height, 0);
  assert.is(core.heldFrom(), 5, 'the statement says it holds a decision of t0 5, whether finishSync appends it (liveFrom 5) or drops it (liveFrom 6)');
  assert.equal(core.prospectiveTip(5), { height: 1, hash: blockHash(block), digest: chainDigest(genesisHash(genesis), 1, blockHash(block)) }, 'the tip once the held block is appended');
  assert.equal(core.prospectiveTip(6), core.tip(), 'nothing to append from liveFrom 6 on');
  // Catch-up supplies an earlier block (t0 = 2), then completes.
  const synced = { miner: 3, t0: 2, ts: 1, payload: new Uint8Array([9]), height: 1, parent: genesisHash(genesis) };
  core.appendLinked({ ...synced, hash: blockHash(synced) });
  // A decision held from an instance that began before the node was live is dropped.
  const dropped = core.finishSync(6).filter((a) => a.type === 'decided');
  assert.is(dropped.length, 0, 't0 = 5 is before liveFromT0 = 6');
  core.startSync();
  core.onVerifiedChain(buildChain(net, { miner: 2, t0: 9, ts: 1, payload: new Uint8Array([2]) }, [2, 3]), 910);
  core.tick(9 * 100 + 2 * 100 + 1);
  assert.is(core.heldFrom(), 9);
  const after = core.finishSync(6);
  assert.is(core.heldFrom(), null, 'nothing held once caught up');
  const decided = after.filter((a) => a.type === 'decided');
  assert.is(decided.length, 1);
  const d = decided[0]!;
  assert.ok(d.type === 'decided' && d.block && d.block.height === 2, 'appended after the synced block');
  assert.equal(core.chain().map((b) => b.t0), [2, 9]);
});

test('unanimity: all n validators, ours included, naming our chain and appending nothing from before our liveFrom, complete us whatever they lost', () => {
  // Every validator crashed at once: each states its crash mark (heldFrom 12 < liveFrom 20), so none counts
  // for the quorum rule; what each will append is another matter (appendsFrom).
  const chain = blocks(2);
  const crashed = (appendsFrom: number | null) => st(3, chain, 30, true, 12, appendsFrom);
  const c = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf(chain) });
  c.onReply(st(1, chain, 30, true, 12, null), []);
  c.onReply(st(2, chain, 30, true, 12, null), []);
  assert.not.ok(c.complete(tipOf(chain), 12), 'three of four: the quorum rule counts none of them');
  c.onReply(crashed(19), []);
  assert.not.ok(c.complete(tipOf(chain), 12), 'one will append a decision of t0 19, before our liveFrom: we would lack it');
  c.onReply(crashed(20), []);
  assert.ok(c.complete(tipOf(chain), 12), 'all four, each appending nothing before our liveFrom');
  const early = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf(chain) });
  for (const signer of [1, 2, 3]) early.onReply(st(signer, chain, 20, true, 12, null), []);
  assert.not.ok(early.complete(tipOf(chain), 12), 'not from round 20: instance 19 had not ended');
  const other = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf(chain) });
  for (const signer of [1, 2]) other.onReply(st(signer, chain, 30, true, 12, null), []);
  other.onReply(st(3, chain.slice(0, 1), 30, true, 12, null), []);
  assert.not.ok(other.complete(tipOf(chain), 12), 'one validator naming a shorter chain: unanimity needs every one on ours');
  const observer = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf(chain), selfIsValidator: false });
  for (const signer of [1, 2, 3]) observer.onReply(st(signer, chain, 30, true, 12, null), []);
  assert.not.ok(observer.complete(), 'an observer is not one of the n');
  observer.onReply(st(0, chain, 30, true, 12, null), []);
  assert.ok(observer.complete(), 'all four validators');
});

test('heldFrom leaves out partial decisions, of instances still undecided when the node found itself out; earlier ones still count', () => {
  const keys = testKeys(4);
  const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), faults: 1, roundMs: 100, startMs: 0 });
  const net = testNet(genesis, keys);
  const core = new DolevStrong({ genesis, selfIndex: 0, sign: (b) => keys[0]!.sign(b) });
  const decide = (t0: number, payload: number): void => {
    core.onVerifiedChain(buildChain(net, { miner: 1, t0, ts: 1, payload: new Uint8Array([payload]) }, [1, 2]), t0 * 100 + 10);
    core.tick(t0 * 100 + 2 * 100 + 1);
  };
  // Catch-up begins in round 5, live from t0 6: instance 5, still running, ran while the node was out.
  core.tick(500);
  core.startSync();
  core.notePartial(6);
  decide(5, 1);
  assert.is(core.heldFrom(), null, 'the decision of t0 5 is partial');
  decide(7, 2);
  assert.is(core.heldFrom(), 7, 'the decision of t0 7 is not');
  assert.is(core.appendsFrom(6), 7, 'and it is one finishSync(6) would append');
  // Its evidence per instance: rounds 6..7 decided here, the block of t0 7 in them; t0 5 is not in the run.
  const run7 = { from: 6, through: 7, blocks: [{ miner: 1, t0: 7, hash: core.heldRuns(64)[0]!.blocks[0]!.hash }] };
  assert.equal(core.heldRuns(64), [run7]);
  assert.equal(core.heldRuns(0), [{ from: 6, through: 6, blocks: [] }], 'no room for a block: the run ends before t0 7');
  // A second outage in round 9, live from t0 11: t0 7 was decided before it and still counts; t0 9 does not.
  core.notePartial(11);
  decide(9, 3);
  assert.is(core.heldFrom(), 7, 'a decision made before the outage still counts, though finishSync will drop it');
  assert.equal(core.heldRuns(64), [run7], 'the run of 6..7 ended with the outage; the next starts at 11, and nothing from 11 on has ended');
  assert.is(core.appendsFrom(11), null, 'but it is not one this node will append: t0 7 and 9 are before liveFrom 11');
  decide(12, 4);
  assert.is(core.appendsFrom(11), 12, 'the decision of t0 12 it will append');
  assert.equal(core.heldRuns(64).map((r) => [r.from, r.through, r.blocks.map((b) => b.t0)]), [[6, 7, [7]], [11, 12, [12]]], 'two runs: t0 9, partial, in neither');
  core.finishSync(11);
  assert.is(core.heldFrom(), null);
  assert.equal(core.heldRuns(64), [], 'a live node states its chain instead');
  assert.is(core.tip().height, 1, 'the three before liveFromT0 dropped, t0 12 appended');
});

/** A catch-up whose tip is the chain `G, ...ours`, with our digest at every height of it. */
function forkWatch(ours: readonly WireChainBlock[]): { c: CatchUp; digestAt: (h: number) => Uint8Array | null } {
  const c = new CatchUp({ n: 4, faults: 1, k: 2, liveFromT0: 20, tip: tipOf(ours) });
  const digestAt = (h: number) => (h <= ours.length ? digestOf(ours.slice(0, h)) : null);
  return { c, digestAt };
}

test('contradictions: f+1 statements naming another digest at a height at or below our tip, reported once', () => {
  const theirs = blocks(3);
  const ours = [...theirs.slice(0, 1), ...blocks(3, blockHash(theirs[0]!), 1, 9)];
  const { c, digestAt } = forkWatch(ours);
  c.onReply(st(1, theirs), []);
  assert.is(c.contradictions(digestAt), null, 'f of them: one may be lying');
  c.onReply(st(2, theirs.slice(0, 2)), []);
  assert.equal(c.contradictions(digestAt), [
    { signer: 2, height: 2, hash: toHex(blockHash(theirs[1]!)) },
    { signer: 1, height: 3, hash: toHex(blockHash(theirs[2]!)) },
  ]);
  c.onReply(st(3, theirs), []);
  assert.is(c.contradictions(digestAt), null, 'reported once per run');
});

test('contradictions: a statement above our tip contradicts through the block it sent on our tip\'s height + 1', () => {
  const theirs = blocks(4);
  const ours = [...theirs.slice(0, 1), ...blocks(1, blockHash(theirs[0]!), 1, 9)];
  const { c, digestAt } = forkWatch(ours);
  c.onReply(st(1, theirs), theirs.slice(2));
  c.onReply(st(2, theirs), []);
  assert.is(c.contradictions(digestAt), null, 'signer 2 sent no block: its statement above our tip says nothing about our heights');
  c.onReply(st(2, theirs), theirs.slice(2));
  assert.equal(c.contradictions(digestAt)?.map((x) => [x.signer, x.height, x.hash]), [
    [1, 2, toHex(blockHash(theirs[1]!))],
    [2, 2, toHex(blockHash(theirs[1]!))],
  ]);
});

test('contradictions: statements of our own chain, of a prefix of it, or of a chain that extends it say nothing', () => {
  const chain = blocks(4);
  const { c, digestAt } = forkWatch(chain.slice(0, 3));
  c.onReply(st(1, chain.slice(0, 3)), []);
  c.onReply(st(2, chain.slice(0, 1)), []);
  c.onReply(st(3, chain), chain.slice(3));
  assert.is(c.contradictions(digestAt), null);
});

test.run();
