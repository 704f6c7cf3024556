import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { toHex, utf8 } from '../src/bytes.ts';
import { blockHash, chainDigest } from '../src/consensus/block.ts';
import { Chain } from '../src/consensus/chain.ts';
import { isStrongcastError } from '../src/errors.ts';

const b = { miner: 1, t0: 2, ts: 3, payload: utf8('abc') };

test('blockHash: known answer over domain, u32 miner, u64 t0, u64 ts, length-prefixed payload', () => {
  const expected = createHash('sha256')
    .update(Buffer.concat([Buffer.from([0, 0, 0, 19]), Buffer.from('strongcast/block/v1')]))
    .update(Buffer.from('00000001' + '0000000000000002' + '0000000000000003' + '00000003', 'hex'))
    .update('abc')
    .digest('hex');
  assert.is(toHex(blockHash(b)), expected);
  assert.is(expected, 'c486242cef51269244fc191d48cb9e9c8bec49e36e42545dff3d04c8940280f6', 'pinned: a change here breaks every signature');
});

test('blockHash changes with every field, and large values encode exactly', () => {
  const h = toHex(blockHash(b));
  for (const x of [{ ...b, miner: 2 }, { ...b, t0: 3 }, { ...b, ts: 4 }, { ...b, payload: utf8('abd') }, { ...b, payload: utf8('abc\0') }]) {
    assert.is.not(toHex(blockHash(x)), h);
  }
  const big = { miner: 1023, t0: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER - 1, payload: new Uint8Array(0) };
  assert.is.not(toHex(blockHash(big)), toHex(blockHash({ ...big, ts: Number.MAX_SAFE_INTEGER })));
});

test('Chain: heights count from 1 on the genesis, parents link, tip follows', () => {
  const genesis = new Uint8Array(32).fill(7);
  const c = new Chain({ genesisHash: genesis });
  assert.equal(c.tip, { height: 0, hash: genesis, digest: genesis }, 'the digest through the genesis is its hash');
  const h1 = blockHash(b);
  const first = c.append(b, h1);
  const h2 = blockHash({ ...b, t0: 3 });
  const second = c.append({ ...b, t0: 3 }, h2);
  assert.equal([first.height, second.height], [1, 2]);
  assert.equal(first.parent, genesis);
  assert.equal(second.parent, h1);
  assert.equal(c.tip, { height: 2, hash: h2, digest: chainDigest(chainDigest(genesis, 1, h1), 2, h2) });
  const linked = new Chain({ genesisHash: genesis });
  linked.appendLinked(first);
  linked.appendLinked(second);
  assert.equal(linked.tip, c.tip, 'appending linked blocks keeps the same digest');
  const other = new Chain({ genesisHash: genesis });
  other.append({ ...b, ts: 99 }, blockHash({ ...b, ts: 99 }));
  other.append({ ...b, t0: 3 }, h2);
  assert.is(other.tip.hash, h2, 'the same last block at the same height');
  assert.not.equal(other.tip.digest, c.tip.digest, 'on another chain: another digest');
  assert.is(c.blocks().length, 2);
});

test('Chain keeps at most blocksKeptMax blocks in memory, linkage unaffected', () => {
  const c = new Chain({ genesisHash: new Uint8Array(32), blocksKeptMax: 2 });
  for (let t0 = 0; t0 < 5; t0++) c.append({ ...b, t0 }, blockHash({ ...b, t0 }));
  assert.equal(c.blocks().map((x) => x.height), [4, 5]);
  assert.equal(c.blocks()[1]?.parent, c.blocks()[0]?.hash);
});

test('Chain.digestAt: the running digest through each kept height and the tip; null above the tip and below what is kept', () => {
  const genesis = new Uint8Array(32).fill(3);
  const c = new Chain({ genesisHash: genesis, blocksKeptMax: 2 });
  assert.equal(c.digestAt(0), genesis, 'an empty chain: the genesis');
  const digests: Uint8Array[] = [genesis];
  for (let t0 = 0; t0 < 4; t0++) {
    const h = blockHash({ ...b, t0 });
    c.append({ ...b, t0 }, h);
    digests.push(chainDigest(digests.at(-1)!, t0 + 1, h));
  }
  assert.equal([c.digestAt(3), c.digestAt(4)], [digests[3], digests[4]]);
  assert.is(c.digestAt(4), c.tip.digest);
  assert.is(c.digestAt(2), null, 'below the blocks kept');
  assert.is(c.digestAt(5), null, 'above the tip');
  const resumed = new Chain({ genesisHash: genesis, tip: c.tip });
  assert.equal(resumed.digestAt(4), digests[4], 'a chain resumed from a tip knows the tip');
  assert.is(resumed.digestAt(3), null);
});

test('Chain options are checked', () => {
  const bad = (o: ConstructorParameters<typeof Chain>[0], field: string) =>
    assert.throws(() => new Chain(o), (e: unknown) => isStrongcastError(e, 'ERR_INVALID_OPTION') && (e as Error).message.includes(field));
  bad({ genesisHash: new Uint8Array(32), blocksKeptMax: 0 }, 'options.blocksKeptMax');
  bad({ genesisHash: new Uint8Array(31) }, 'options.genesisHash');
  bad({ genesisHash: new Uint8Array(32), tip: { height: -1, hash: new Uint8Array(32), digest: new Uint8Array(32) } }, 'options.tip');
  bad({ genesisHash: new Uint8Array(32), tip: { height: 1, hash: new Uint8Array(32), digest: new Uint8Array(31) } }, 'options.tip');
});

test.run();
