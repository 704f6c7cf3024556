import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeMessage, PROTOCOL_VERSION, schemaLimits } from '../src/wire/schema.ts';
import { isStrongcastError } from '../src/errors.ts';

function rejects(x: unknown, fragment: string): void {
  try {
    decodeMessage(x);
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_BAD_MESSAGE'), `expected ERR_BAD_MESSAGE, got ${String(e)}`);
    assert.ok((e as Error).message.includes(fragment), `message '${(e as Error).message}' lacks '${fragment}'`);
    return;
  }
  assert.unreachable(`accepted ${JSON.stringify(x)}`);
}

const peers = { t: 'peers', addrs: [{ id: new Uint8Array(32), host: '127.0.0.1', port: 7001 }] };
const gossip = { t: 'gossip', origin: new Uint8Array(32), seq: 1, topic: 'chat', data: new Uint8Array(3), hops: 0, sig: new Uint8Array(64) };
const ds = { t: 'ds', block: { miner: 0, t0: 5, ts: 1, payload: new Uint8Array(0) }, mask: new Uint8Array([1]), signers: [0], sigs: new Uint8Array(64), hops: 0 };

test('well-formed messages of every type decode to themselves', () => {
  for (const m of [peers, gossip, ds, { t: 'graft', ids: new Uint8Array(64) }, { t: 'ping', n: 3 }, { t: 'pong', n: 3 }, { t: 'getpeers' },
    { t: 'peers', addrs: [{ id: new Uint8Array(32), host: 'a', port: 1 }] }, { t: 'reject', code: 'ERR_BANNED', reason: 'x' }]) {
    assert.equal(decodeMessage(m), m);
  }
});

test('non-maps and unknown types are rejected', () => {
  rejects(null, 'must be a map');
  rejects([1, 2], 'must be a map');
  rejects(new Uint8Array(3), 'must be a map');
  rejects({ t: 'nope' }, 'unknown message type');
  rejects({}, 'unknown message type');
});

test('wrong field types and byte lengths name the field', () => {
  rejects({ ...gossip, origin: new Uint8Array(31) }, 'gossip.origin must be 32 bytes');
  rejects({ ...peers, addrs: [{ id: new Uint8Array(32), host: 'a', port: 70000 }] }, 'port');
  rejects({ ...gossip, seq: -1 }, 'gossip.seq');
  rejects({ ...gossip, extra: 1 }, "unexpected field 'extra'");
  // The plaintext handshake messages of versions 1 to 3 are no messages any more (the handshake is Noise).
  rejects({ t: 'hello', v: 2, net: 'test', key: new Uint8Array(32), host: '', port: 0, nonce: new Uint8Array(32) }, 'unknown message type');
  rejects({ t: 'auth', sig: new Uint8Array(64) }, 'unknown message type');
  rejects({ ...gossip, seq: 1.5 }, 'gossip.seq');
  rejects({ ...gossip, sig: 'x' }, 'gossip.sig must be bytes');
  rejects({ ...gossip, topic: 'x'.repeat(schemaLimits.topicBytesMax + 1) }, 'gossip.topic');
  rejects({ ...gossip, data: new Uint8Array(schemaLimits.gossipDataBytesMax + 1) }, 'gossip.data');
  rejects({ ...gossip, hops: 256 }, 'gossip.hops');
});

test('gossip topic and data accept exactly their limits', () => {
  const m = { ...gossip, topic: 't'.repeat(schemaLimits.topicBytesMax), data: new Uint8Array(schemaLimits.gossipDataBytesMax) };
  assert.equal(decodeMessage(m), m);
});

test('consensus messages need one 64-byte signature per signer', () => {
  rejects({ ...ds, sigs: new Uint8Array(63) }, 'ds.sigs must be 64 bytes');
  rejects({ ...ds, signers: [] }, 'ds.signers');
  rejects({ ...ds, signers: [0, 1.5], sigs: new Uint8Array(128) }, 'ds.signers[1]');
  rejects({ ...ds, signers: [schemaLimits.validatorsMax] }, 'ds.signers[0]');
  rejects({ ...ds, block: { ...ds.block, extra: 1 } }, "unexpected field 'extra'");
  rejects({ ...ds, mask: new Uint8Array(schemaLimits.validatorsMax / 8 + 1) }, 'ds.mask');
});

test('peer exchange replies are bounded', () => {
  const addr = { id: new Uint8Array(32), host: 'h', port: 9 };
  rejects({ t: 'peers', addrs: Array(schemaLimits.peersPerReplyMax + 1).fill(addr) }, 'at most');
  rejects({ t: 'peers', addrs: [{ ...addr, port: 0 }] }, 'port must be in 1..65535');
});

const statement = { signer: 1, round: 40, height: 3, tip: new Uint8Array(32), digest: new Uint8Array(32), syncing: false, heldFrom: null, appendsFrom: null, decided: null, sig: new Uint8Array(64) };
const chainBlock = { miner: 0, t0: 5, ts: 1, payload: new Uint8Array(2), height: 1, parent: new Uint8Array(32) };

test('catch-up messages decode and are bounded', () => {
  assert.equal(decodeMessage({ t: 'getchain', from: 4 }), { t: 'getchain', from: 4 });
  const reply = { t: 'chain', statement, blocks: [chainBlock] };
  assert.equal(decodeMessage(reply), reply);
  assert.equal(decodeMessage({ t: 'chain', statement: null, blocks: [] }), { t: 'chain', statement: null, blocks: [] });
  rejects({ t: 'getchain', from: -1 }, 'getchain.from');
  rejects({ ...reply, statement: { ...statement, tip: new Uint8Array(31) } }, 'statement.tip must be 32 bytes');
  rejects({ ...reply, statement: { ...statement, syncing: 1 } }, 'statement.syncing must be a boolean');
  rejects({ ...reply, statement: { ...statement, digest: new Uint8Array(31) } }, 'statement.digest must be 32 bytes');
  const { digest: _d, ...withoutDigest } = statement;
  rejects({ ...reply, statement: withoutDigest }, 'statement.digest must be bytes');
  const holding = { ...reply, statement: { ...statement, syncing: true, heldFrom: 38 } };
  assert.equal(decodeMessage(holding), holding);
  const { heldFrom: _, ...withoutHeldFrom } = statement;
  rejects({ ...reply, statement: withoutHeldFrom }, 'statement.heldFrom must be an unsigned integer or nil');
  rejects({ ...reply, statement: { ...statement, heldFrom: 38 } }, 'statement.heldFrom must be nil when not syncing');
  rejects({ ...reply, statement: { ...statement, syncing: true, heldFrom: -1 } }, 'statement.heldFrom');
  rejects({ ...reply, statement: { ...statement, syncing: true, heldFrom: '38' } }, 'statement.heldFrom');
  const appending = { ...reply, statement: { ...statement, syncing: true, heldFrom: 38, appendsFrom: 38 } };
  assert.equal(decodeMessage(appending), appending, 'appendsFrom at heldFrom, its edge');
  const { appendsFrom: _a, ...withoutAppendsFrom } = statement;
  rejects({ ...reply, statement: withoutAppendsFrom }, 'statement.appendsFrom must be an unsigned integer or nil');
  rejects({ ...reply, statement: { ...statement, appendsFrom: 38 } }, 'statement.appendsFrom must be nil when not syncing');
  rejects({ ...reply, statement: { ...statement, syncing: true, heldFrom: 38, appendsFrom: 37 } }, 'statement.appendsFrom must be nil or at least heldFrom');
  rejects({ ...reply, statement: { ...statement, syncing: true, heldFrom: null, appendsFrom: 38 } }, 'statement.appendsFrom must be nil or at least heldFrom');
  rejects({ ...reply, statement: { ...statement, syncing: true, heldFrom: 38, appendsFrom: -1 } }, 'statement.appendsFrom');
  rejects({ ...reply, blocks: [{ ...chainBlock, parent: new Uint8Array(1) }] }, 'chain block.parent');
  rejects({ ...reply, blocks: Array(schemaLimits.chainBlocksPerReplyMax + 1).fill(chainBlock) }, 'at most');
  assert.is((decodeMessage({ ...reply, blocks: Array(schemaLimits.chainBlocksPerReplyMax).fill(chainBlock) }) as { blocks: unknown[] }).blocks.length, schemaLimits.chainBlocksPerReplyMax);
});

test("a statement's decided run decodes at its limit and is refused, with a clear reason, past it or out of order", () => {
  const entry = (miner: number, t0: number) => ({ miner, t0, hash: new Uint8Array(32).fill(miner) });
  const withRun = (decided: unknown) => ({ t: 'chain', statement: { ...statement, decided }, blocks: [] });
  const max = schemaLimits.decidedBlocksPerStatementMax;
  assert.is(max, 64);
  const full = withRun({ from: 10, through: 10 + max, blocks: Array.from({ length: max }, (_, i) => entry(0, 10 + i)) });
  assert.equal(decodeMessage(full), full, `${max} blocks, the limit`);
  const oneT0 = withRun({ from: 7, through: 7, blocks: [entry(0, 7), entry(3, 7)] });
  assert.equal(decodeMessage(oneT0), oneT0, 'from = through, two miners of one t0');
  assert.equal(decodeMessage(withRun({ from: 0, through: 99, blocks: [] })), withRun({ from: 0, through: 99, blocks: [] }), '"no block" over 100 rounds');
  const { decided: _d, ...withoutDecided } = statement;
  assert.equal((decodeMessage({ t: 'chain', statement: withoutDecided, blocks: [] }) as { statement: { decided: unknown } }).statement.decided, null, 'absent reads as nil');
  const cases: Array<[unknown, string]> = [
    [{ from: 10, through: 10 + max + 1, blocks: Array.from({ length: max + 1 }, (_, i) => entry(0, 10 + i)) }, `statement.decided.blocks must be an array of at most ${max}`],
    [{ from: 5, through: 4, blocks: [] }, 'statement.decided.through must be at least from'],
    [{ from: 5, through: 9, blocks: [entry(0, 4)] }, 'statement.decided.blocks[0].t0 must be within from..through'],
    [{ from: 5, through: 9, blocks: [entry(0, 10)] }, 'statement.decided.blocks[0].t0 must be within from..through'],
    [{ from: 5, through: 9, blocks: [entry(1, 6), entry(1, 6)] }, 'statement.decided.blocks[1] must follow the one before it in (t0, miner) order'],
    [{ from: 5, through: 9, blocks: [entry(0, 7), entry(3, 6)] }, 'statement.decided.blocks[1] must follow the one before it in (t0, miner) order'],
    [{ from: 5, through: 9, blocks: [{ ...entry(0, 6), hash: new Uint8Array(31) }] }, 'statement.decided.blocks[0].hash must be 32 bytes'],
    [{ from: 5, through: 9, blocks: [entry(schemaLimits.validatorsMax, 6)] }, 'statement.decided.blocks[0].miner'],
    [{ from: 5, through: 9, blocks: [{ ...entry(0, 6), extra: 1 }] }, "unexpected field 'extra'"],
    [{ from: -1, through: 9, blocks: [] }, 'statement.decided.from'],
    [{ from: 1, through: 9 }, 'statement.decided.blocks must be an array'],
    [{ from: 1, through: 9, blocks: [], more: 1 }, "unexpected field 'more'"],
    [[1, 9], 'statement.decided must be a map or nil'],
  ];
  for (const [decided, reason] of cases) rejects(withRun(decided), reason);
});

test('a type tag that is not a string is reported without calling into it', () => {
  rejects({ t: { toString: 0 } }, 'unknown message type object');
  rejects({ t: 5 }, 'unknown message type number');
});

test('ihave and graft carry 1..max ids of 32 bytes each, and nothing else', () => {
  for (const [t, max] of [['ihave', schemaLimits.ihaveIdsMax], ['graft', schemaLimits.graftIdsMax]] as const) {
    const atMax = { t, ids: new Uint8Array(max * 32) };
    assert.equal(decodeMessage(atMax), atMax, `${t} at exactly ${max} ids`);
    const one = { t, ids: new Uint8Array(32) };
    assert.equal(decodeMessage(one), one);
    rejects({ t, ids: new Uint8Array((max + 1) * 32) }, `${t}.ids must be at most ${max * 32} bytes`);
    rejects({ t, ids: new Uint8Array(0) }, `${t}.ids must be 1..${max} ids of 32 bytes`);
    rejects({ t, ids: new Uint8Array(33) }, `${t}.ids must be 1..${max} ids of 32 bytes`);
    rejects({ t, ids: new Uint8Array(31) }, `${t}.ids must be 1..${max} ids of 32 bytes`);
    rejects({ t, ids: 'ab'.repeat(32) }, `${t}.ids must be bytes`);
    rejects({ t }, `${t}.ids must be bytes`);
    rejects({ ...one, extra: 1 }, `${t}: unexpected field 'extra'`);
  }
});

test('prune carries the 32-byte key of the origin whose tree it prunes, and nothing else', () => {
  const prune = { t: 'prune', origin: new Uint8Array(32).fill(7) };
  assert.equal(decodeMessage(prune), prune);
  rejects({ t: 'prune' }, 'prune.origin must be bytes');
  rejects({ t: 'prune', origin: new Uint8Array(31) }, 'prune.origin must be 32 bytes');
  rejects({ t: 'prune', origin: new Uint8Array(33) }, 'prune.origin must be 32 bytes');
  rejects({ t: 'prune', origin: 'ab'.repeat(32) }, 'prune.origin must be bytes');
  rejects({ ...prune, extra: 1 }, "prune: unexpected field 'extra'");
  rejects({ ...prune, ids: new Uint8Array(32) }, "prune: unexpected field 'ids'");
});

test.run();
