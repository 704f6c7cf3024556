/** The pure gossip rules: ids, duplicate suppression, in-flight tracking, hop limit, relay targets. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GossipCore, consensusId, gossipId, gossipIdInPartsBytesMin, gossipIdOf, gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import { concatBytes, lengthPrefixed, u64be, utf8 } from '../src/bytes.ts';
import { isStrongcastError } from '../src/errors.ts';

const base = { origin: new Uint8Array(32).fill(1), seq: 7, topic: 'chat', data: new Uint8Array([1, 2, 3]) };

test('the id is the SHA-256 of the signed bytes in hex (known answers: empty input and "abc")', () => {
  assert.is(gossipId(new Uint8Array(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.is(gossipId(utf8('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('gossipIdOf gives the id of the signed bytes at every size; from gossipIdInPartsBytesMin of data on it makes no signed bytes (hashed in parts), below it hands them over', () => {
  for (const n of [0, 3, gossipIdInPartsBytesMin - 1, gossipIdInPartsBytesMin, 256 * 1024]) {
    const m = { ...base, seq: 2 ** 40 + n, topic: 'tópico', data: new Uint8Array(n).map((_, i) => i * 7) };
    const signed = gossipSignedBytes('net', m);
    const got = gossipIdOf('net', m);
    assert.is(got.id, gossipId(signed), `data of ${n} bytes`);
    if (n < gossipIdInPartsBytesMin) assert.equal(got.signed, signed, `data of ${n} bytes: the signed bytes made for the id`);
    else assert.is(got.signed, null, `data of ${n} bytes: no buffer of its size`);
  }
});

test('the id covers network, origin, seq, topic and data, but not hops', () => {
  const id = gossipId(gossipSignedBytes('net', base));
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.is(gossipId(gossipSignedBytes('net', { ...base })), id, 'deterministic');
  for (const changed of [
    gossipSignedBytes('other', base),
    gossipSignedBytes('net', { ...base, origin: new Uint8Array(32).fill(2) }),
    gossipSignedBytes('net', { ...base, seq: 8 }),
    gossipSignedBytes('net', { ...base, topic: 'chat2' }),
    gossipSignedBytes('net', { ...base, data: new Uint8Array([1, 2, 4]) }),
  ]) {
    assert.is.not(gossipId(changed), id);
  }
  // Length prefixes: moving a byte from topic to data must change the id.
  const a = gossipSignedBytes('net', { ...base, topic: 'ab', data: new Uint8Array([99]) });
  const b = gossipSignedBytes('net', { ...base, topic: 'a', data: new Uint8Array([98, 99]) });
  assert.is.not(gossipId(a), gossipId(b));
});

test('the signed bytes are exactly the documented concatenation, whatever the seq, topic and network', () => {
  const spec = (net: string, m: typeof base): Uint8Array =>
    concatBytes(lengthPrefixed(utf8('strongcast/gossip/v1')), lengthPrefixed(utf8(net)), m.origin, u64be(m.seq), lengthPrefixed(utf8(m.topic)), lengthPrefixed(m.data));
  const cases = [base, { ...base, topic: '', data: new Uint8Array(0) }, { ...base, seq: 2 ** 40 + 7, topic: 'ünïcode' }, { ...base, seq: Number.MAX_SAFE_INTEGER }];
  for (const m of cases) {
    assert.equal(new Uint8Array(gossipSignedBytes('net', m)), spec('net', m));
    assert.equal(new Uint8Array(gossipSignedBytes('other-net', m)), spec('other-net', m), 'the cached prefix follows the network id');
  }
});

test('a consensus id changes with the bitmask, signer order and any signature byte', () => {
  const h = new Uint8Array(32).fill(9);
  const m = { mask: new Uint8Array([3]), signers: [0, 1], sigs: new Uint8Array(128).fill(5) };
  const id = consensusId(h, m);
  assert.is.not(consensusId(h, { ...m, mask: new Uint8Array([7]) }), id);
  assert.is.not(consensusId(h, { ...m, signers: [1, 0] }), id);
  const sigs = m.sigs.slice();
  sigs[127] = 6;
  assert.is.not(consensusId(h, { ...m, sigs }), id);
});

test('a message is admitted once; copies during and after verification are duplicates', () => {
  const g = new GossipCore();
  assert.equal(g.admit('p1', 'x', 0), { verdict: 'verify' });
  const dup = g.admit('p2', 'x', 1);
  assert.is(dup.verdict, 'drop');
  const senders = g.settle('x', true, 2);
  assert.equal([...senders].sort(), ['p1', 'p2'], 'both senders are skipped by the relay');
  assert.is(g.admit('p3', 'x', 3).verdict, 'drop');
  assert.is(g.counters.duplicates, 2);
  assert.is(g.counters.verifiedOk, 1);
});

test('a message that failed verification is forgotten so the genuine one can pass', () => {
  const g = new GossipCore();
  g.admit('p1', 'x', 0);
  g.settle('x', false, 1);
  assert.is(g.known('x', 1), false);
  assert.is(g.admit('p2', 'x', 2).verdict, 'verify');
});

test('the seen-cache forgets ids after seenTtlMs', () => {
  const g = new GossipCore({ seenTtlMs: 1000 });
  g.admit('p', 'x', 0);
  g.settle('x', true, 0);
  assert.is(g.admit('p', 'x', 999).verdict, 'drop');
  assert.is(g.admit('p', 'x', 1000).verdict, 'verify');
});

test('the hop count decides nothing: any count is admitted, relays carry one more, at most hopLimit', () => {
  const g = new GossipCore({ hopLimit: 3 });
  assert.is(g.admit('p', 'a', 0).verdict, 'verify');
  assert.is(g.relayHops(0), 1);
  assert.is(g.relayHops(2), 3, 'one below the limit: counts up to it');
  assert.is(g.relayHops(3), 3, 'at the limit: stays there');
  assert.is(g.relayHops(255), 3, 'a count a peer raised past the limit: back to the limit');
});

test('inflightMax bounds messages under verification', () => {
  const g = new GossipCore({ inflightMax: 2 });
  assert.is(g.admit('p', 'a', 0).verdict, 'verify');
  assert.is(g.admit('p', 'b', 0).verdict, 'verify');
  const d = g.admit('p', 'c', 0);
  assert.ok(d.verdict === 'drop' && d.code === 'OVERLOADED', 'dropped as overload, not charged to the sender');
  g.settle('a', true, 0);
  assert.is(g.admit('p', 'c', 0).verdict, 'verify');
});

test('consensusInflightMax bounds chains and outcomes apart from broadcasts: a full broadcast cap never holds a chain, nor the reverse', () => {
  const g = new GossipCore({ inflightMax: 2, consensusInflightMax: 1 });
  assert.is(g.admit('p', 'a', 0).verdict, 'verify');
  assert.is(g.admit('p', 'b', 0).verdict, 'verify');
  assert.is(g.admit('p', 'chain 1', 0, true).verdict, 'verify', 'broadcasts at their cap: a chain still goes');
  const d = g.admit('p', 'chain 2', 0, true);
  assert.ok(d.verdict === 'drop' && d.code === 'OVERLOADED', 'exactly consensusInflightMax chains in flight: one more waits');
  assert.equal([g.inflightCount, g.consensusInflightCount], [2, 1]);
  g.settle('chain 1', true, 0);
  assert.equal([g.inflightCount, g.consensusInflightCount], [2, 0]);
  assert.is(g.admit('p', 'c', 0).verdict, 'drop', 'a chain settled frees no broadcast room');
  assert.is(g.admit('p', 'chain 2', 0, true).verdict, 'verify');
});

test('relay targets skip the peers that sent the message', () => {
  const g = new GossipCore();
  assert.equal(g.relayTargets(['a', 'b', 'c'], new Set(['b'])), ['a', 'c']);
});

test('our own message is marked seen so it is not taken back', () => {
  const g = new GossipCore();
  g.markOwn('mine', 0);
  assert.is(g.admit('p', 'mine', 1).verdict, 'drop');
});

test('options are validated with messages naming the field', () => {
  for (const [opts, field] of [[{ hopLimit: 0 }, 'hopLimit'], [{ inflightMax: -1 }, 'inflightMax'], [{ consensusInflightMax: 0 }, 'consensusInflightMax'], [{ seenEntriesMax: 1.5 }, 'seenEntriesMax']] as const) {
    try {
      new GossipCore(opts);
      assert.unreachable(field);
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
      assert.match((e as Error).message, `options.${field}`);
    }
  }
});

test.run();
