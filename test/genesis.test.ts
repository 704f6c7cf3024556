import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { toHex } from '../src/bytes.ts';
import { createGenesis, genesisHash, genesisToJson, parseGenesis, roundsPerInstance, validatorIndex, type Genesis } from '../src/consensus/genesis.ts';
import { isStrongcastError } from '../src/errors.ts';

const keys = [0, 1, 2, 3].map((i) => new Uint8Array(32).fill(i + 1));
const g = createGenesis({ publicKeys: keys, networkId: 'kat', faults: 1, roundMs: 500, startMs: 1_700_000_000_000 });
const json = () => JSON.parse(JSON.stringify(genesisToJson(g))) as Record<string, unknown> & { validators: Array<Record<string, unknown>> };

function rejects(x: unknown, fragment: string): void {
  try {
    parseGenesis(x);
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_GENESIS'), `expected ERR_GENESIS, got ${String(e)}`);
    assert.ok((e as Error).message.includes(fragment), `'${(e as Error).message}' lacks '${fragment}'`);
    return;
  }
  assert.unreachable(`accepted: ${fragment}`);
}

test('createGenesis defaults: network id, f = floor((n-1)/3), 1000 ms rounds, start 0, 127.0.0.1:7001+i', () => {
  const d = createGenesis({ publicKeys: keys });
  assert.equal(
    { networkId: d.networkId, faults: d.faults, roundMs: d.roundMs, startMs: d.startMs },
    { networkId: 'strongcast-dev', faults: 1, roundMs: 1000, startMs: 0 },
  );
  assert.equal(d.validators.map((v) => `${v.index} ${v.host}:${v.port}`), ['0 127.0.0.1:7001', '1 127.0.0.1:7002', '2 127.0.0.1:7003', '3 127.0.0.1:7004']);
  for (const [n, f] of [[1, 0], [3, 0], [4, 1], [7, 2], [16, 5]] as const) {
    const many = Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i + 1));
    assert.is(createGenesis({ publicKeys: many }).faults, f, `n=${n}`);
  }
  assert.is(roundsPerInstance(g), 2);
});

test('any f < n is allowed, f = n - 1 included; f = n is not', () => {
  assert.is(createGenesis({ publicKeys: keys, faults: 3 }).faults, 3);
  assert.is(roundsPerInstance(createGenesis({ publicKeys: keys, faults: 3 })), 4);
  assert.throws(() => createGenesis({ publicKeys: keys, faults: 4 }), (e: unknown) => isStrongcastError(e, 'ERR_GENESIS') && (e as Error).message.includes('genesis.faults'));
});

test('JSON round trip: parse(toJson(g)) equals g, keys in lower-case hex', () => {
  const j = json();
  assert.is((j.validators[0] as { publicKey: string }).publicKey, '01'.repeat(32));
  const back: Genesis = parseGenesis(j);
  assert.equal(back, g);
  assert.equal(genesisHash(back), genesisHash(g));
});

test('every bad field is named', () => {
  rejects(null, 'genesis must be a JSON object');
  rejects([], 'genesis must be a JSON object');
  rejects({ ...json(), extra: 1 }, 'genesis.extra is not a known field');
  rejects({ ...json(), networkId: '' }, 'genesis.networkId');
  rejects({ ...json(), networkId: 'x'.repeat(65) }, 'genesis.networkId');
  rejects({ ...json(), faults: 4 }, 'genesis.faults must be an integer in 0..3');
  rejects({ ...json(), faults: -1 }, 'genesis.faults');
  rejects({ ...json(), roundMs: 0 }, 'genesis.roundMs');
  rejects({ ...json(), roundMs: 3_600_001 }, 'genesis.roundMs');
  rejects({ ...json(), roundMs: 1.5 }, 'genesis.roundMs');
  rejects({ ...json(), startMs: -1 }, 'genesis.startMs');
  rejects({ ...json(), startMs: '0' }, 'genesis.startMs');
  rejects({ ...json(), validators: [] }, 'genesis.validators must be an array of 1..1024');
  rejects({ ...json(), validators: {} }, 'genesis.validators');
  const v = (patch: Record<string, unknown>) => {
    const j = json();
    j.validators[1] = { ...j.validators[1], ...patch };
    return j;
  };
  rejects(v({ index: 2 }), 'genesis.validators[1].index must be 1');
  rejects(v({ publicKey: 'ab' }), 'genesis.validators[1].publicKey must be 64 lower-case hex digits');
  rejects(v({ publicKey: 'AB'.repeat(32) }), 'genesis.validators[1].publicKey');
  rejects(v({ publicKey: '01'.repeat(32) }), 'genesis.validators[1].publicKey is the key of an earlier validator');
  rejects(v({ host: '' }), 'genesis.validators[1].host');
  rejects(v({ port: 0 }), 'genesis.validators[1].port');
  rejects(v({ port: 65536 }), 'genesis.validators[1].port');
  rejects(v({ extra: true }), 'genesis.validators[1].extra is not a known field');
  const j = json();
  j.validators[2] = 'x' as never;
  rejects(j, 'genesis.validators[2] must be an object');
  assert.throws(() => createGenesis({ publicKeys: [new Uint8Array(31)] }), (e: unknown) => (e as Error).message.includes('validators[0].publicKey must be 32 bytes'));
  assert.throws(() => createGenesis({ publicKeys: keys, basePort: 65534 }), (e: unknown) => (e as Error).message.includes('validators[2].port'));
});

test('genesisHash: known answer over the canonical encoding', () => {
  const lp = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  const expected = createHash('sha256')
    .update(lp(Buffer.from('strongcast/genesis/v1')))
    .update(lp(Buffer.from('kat')))
    .update(Buffer.from([0, 0, 0, 4]))
    .update(Buffer.concat(keys))
    .update(Buffer.from([0, 0, 0, 1]))
    .update(u64(500))
    .update(u64(1_700_000_000_000))
    .digest('hex');
  assert.is(toHex(genesisHash(g)), expected);
  assert.is(expected, 'e72cf94b0f7d66de97b6b54a00598ee49ecb282521606ceb3a97ad439ea83f03', 'pinned: a change here forks every network');
});

test('genesisHash covers every consensus field and no address', () => {
  const h = toHex(genesisHash(g));
  const variants: Genesis[] = [
    { ...g, networkId: 'kat2' },
    { ...g, faults: 2 },
    { ...g, roundMs: 501 },
    { ...g, startMs: g.startMs + 1 },
    { ...g, validators: [...g.validators].reverse().map((v, index) => ({ ...v, index })) },
    { ...g, validators: g.validators.slice(0, 3) },
  ];
  for (const x of variants) assert.is.not(toHex(genesisHash(x)), h);
  const moved = { ...g, validators: g.validators.map((v) => ({ ...v, host: 'example.org', port: v.port + 100 })) };
  assert.is(toHex(genesisHash(moved)), h, 'a validator may move without changing the hash');
});

test('validatorIndex finds a key or returns null', () => {
  assert.is(validatorIndex(g, new Uint8Array(32).fill(3)), 2);
  assert.is(validatorIndex(g, new Uint8Array(32).fill(9)), null);
});

test.run();
