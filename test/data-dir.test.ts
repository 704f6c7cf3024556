/** The data directory: key, peers, genesis binding, the checked chain, the lock, and their limits. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { toHex } from '../src/bytes.ts';
import { isStrongcastError, type ErrorCode } from '../src/errors.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { blockHash, chainDigest, type ChainBlock } from '../src/consensus/block.ts';
import type { PeerAddress } from '../src/wire/schema.ts';
import { AppendLog } from '../src/store/append-log.ts';
import { heldMarkFileBytesMax } from '../src/store/held-mark.ts';
import { DATA_DIR_FILES, PEERS_FILE_FORMAT, openDataDir, peerEntryBytesMax, type DataDirOptions } from '../src/store/data-dir.ts';
import type { AddressBookEntry, AddressBookSnapshot } from '../src/peers/address-book-snapshot.ts';

let root = '';
let n = 0;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'strongcast-data-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshDir(): string {
  return join(root, `d${n++}`);
}

const genesis = new Uint8Array(createHash('sha256').update('genesis A').digest());
const otherGenesis = new Uint8Array(createHash('sha256').update('genesis B').digest());

/** `count` linked blocks on top of (height, parent). */
function makeBlocks(count: number, from = 0, parent: Uint8Array = genesis): ChainBlock[] {
  const out: ChainBlock[] = [];
  for (let i = 1; i <= count; i++) {
    const wire = { miner: i % 4, t0: 3 * (from + i), ts: 1_700_000_000_000 + from + i, payload: new Uint8Array([from + i, 1, 2, 3]) };
    const hash = blockHash(wire);
    out.push({ ...wire, hash, height: from + i, parent });
    parent = hash;
  }
  return out;
}

function summary(blocks: ChainBlock[]): string[] {
  return blocks.map((b) => `${b.height}:${b.miner}:${b.t0}:${b.ts}:${toHex(b.payload)}:${toHex(b.hash)}:${toHex(b.parent)}`);
}

async function expectError(p: Promise<unknown> | (() => unknown), code: ErrorCode, ...parts: string[]): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(isStrongcastError(e, code), `expected ${code}, got ${String(e)}`);
    for (const part of parts) assert.ok((e as Error).message.includes(part), `message '${(e as Error).message}' lacks '${part}'`);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('the node key is created once, mode 0600, and stays the same across reopens', async () => {
  const dir = freshDir();
  const a = await openDataDir(dir);
  const [k1, k2] = await Promise.all([a.identity(), a.identity()]);
  assert.is(toHex(k1.publicKey), toHex(k2.publicKey));
  await a.close();
  assert.is((await stat(join(dir, DATA_DIR_FILES.key))).mode & 0o777, 0o600);
  const b = await openDataDir(dir);
  assert.is(toHex((await b.identity()).publicKey), toHex(k1.publicKey));
  await b.close();
});

test('adoptIdentity writes a given key once, accepts the same key again, and refuses a different one', async () => {
  const dir = freshDir();
  const mine = generateIdentity();
  const a = await openDataDir(dir);
  await a.adoptIdentity(mine);
  assert.is(toHex((await a.identity()).publicKey), toHex(mine.publicKey));
  await a.close();
  const b = await openDataDir(dir);
  await b.adoptIdentity(mine);
  const other = generateIdentity();
  await expectError(b.adoptIdentity(other), 'ERR_STORE', toHex(mine.publicKey), toHex(other.publicKey), 'use another data directory');
  assert.is(toHex((await b.identity()).publicKey), toHex(mine.publicKey), 'the stored key is untouched');
  await b.close();
  const c = await openDataDir(freshDir());
  await c.identity();
  await expectError(c.adoptIdentity(mine), 'ERR_STORE', 'not the given key');
  await c.close();
});

const peer = (i: number): PeerAddress => ({ id: new Uint8Array(32).fill(i), host: `10.0.0.${i}`, port: 7000 + i });
const entry = (i: number, table: 'new' | 'tried' = 'new'): AddressBookEntry => ({ ...peer(i), table, source: `45.${i}`, attempts: i % 3, lastSuccessMs: table === 'tried' ? 1_700_000_000_000 + i : 0 });
const bookKey = new Uint8Array(16).fill(0xab);
const book = (...entries: AddressBookEntry[]): AddressBookSnapshot => ({ key: bookKey, entries });

test('the address book round-trips across reopen, bounded at peersMax (exactly max kept, the rest dropped)', async () => {
  const dir = freshDir();
  const a = await openDataDir(dir, { peersMax: 3 });
  assert.equal(a.loadPeers(), []);
  assert.is(a.loadAddressBook(), null);
  await a.saveAddressBook(book(entry(1, 'tried'), entry(2), entry(3)));
  assert.equal(a.loadAddressBook(), book(entry(1, 'tried'), entry(2), entry(3)));
  await a.saveAddressBook(book(entry(4, 'tried'), entry(5, 'tried'), entry(6), entry(7)));
  assert.equal(a.loadAddressBook(), book(entry(4, 'tried'), entry(5, 'tried'), entry(6)));
  assert.equal(a.loadPeers(), [peer(4), peer(5), peer(6)]);
  await a.close();
  const b = await openDataDir(dir, { peersMax: 3 });
  assert.equal(b.loadAddressBook(), book(entry(4, 'tried'), entry(5, 'tried'), entry(6)), 'key, tables, sources, attempts and successes kept');
  assert.equal(b.loadPeers(), [peer(4), peer(5), peer(6)]);
  await expectError(b.saveAddressBook(book({ ...entry(1), port: 0 })), 'ERR_STORE', 'entry 0: port must be an integer in 1..65535');
  await expectError(b.saveAddressBook(book({ ...entry(1), id: new Uint8Array(31) })), 'ERR_STORE', 'id must be a 32-byte key');
  await expectError(b.saveAddressBook(book(entry(1), { ...entry(2), table: 'old' as 'new' })), 'ERR_STORE', 'entry 1: table must be "new" or "tried"');
  await expectError(b.saveAddressBook({ key: new Uint8Array(8), entries: [] }), 'ERR_STORE', 'key must be 16 bytes');
  await b.close();
  const c = await openDataDir(dir, { peersMax: 2 });
  assert.equal(c.loadAddressBook(), book(entry(4, 'tried'), entry(5, 'tried')), 'a smaller peersMax keeps the first');
  await c.close();
});

test('a peers.json of format 1 (addresses only) still loads, as addresses without a book; the next save writes format 2', async () => {
  const dir = freshDir();
  await (await openDataDir(dir)).close();
  const old = { format: 1, peers: [peer(1), peer(2)].map((p) => ({ id: toHex(p.id), host: p.host, port: p.port })) };
  await writeFile(join(dir, DATA_DIR_FILES.peers), JSON.stringify(old) + '\n');
  const a = await openDataDir(dir);
  assert.equal(a.loadPeers(), [peer(1), peer(2)]);
  assert.is(a.loadAddressBook(), null);
  await a.saveAddressBook(book(entry(1, 'tried'), entry(2)));
  await a.close();
  const written = JSON.parse(await readFile(join(dir, DATA_DIR_FILES.peers), 'utf8')) as Record<string, unknown>;
  assert.is(written['format'], PEERS_FILE_FORMAT);
  assert.is(written['key'], toHex(bookKey));
  assert.equal((written['peers'] as unknown[])[0], { id: toHex(peer(1).id), host: '10.0.0.1', port: 7001, table: 'tried', source: '45.1', attempts: 1, lastSuccessMs: 1_700_000_000_001 });
});

test('a corrupt peers or meta file is refused at open, naming the file and the field', async () => {
  const dir = freshDir();
  await (await openDataDir(dir)).close();
  const peersPath = join(dir, DATA_DIR_FILES.peers);
  await writeFile(peersPath, '{"format":1,"peers":[{"id":"zz","host":"a","port":1}');
  await expectError(openDataDir(dir), 'ERR_STORE', DATA_DIR_FILES.peers, 'not valid JSON');
  await writeFile(peersPath, '{"format":1,"peers":[{"id":"zz","host":"a","port":1}]}');
  await expectError(openDataDir(dir), 'ERR_STORE', 'peers[0]: id must be a 32-byte key');
  await writeFile(peersPath, '{"format":3,"peers":[]}');
  await expectError(openDataDir(dir), 'ERR_STORE', DATA_DIR_FILES.peers, '"format" must be 1 or 2');
  const good = { id: toHex(peer(1).id), host: 'a', port: 1, table: 'new', source: '45.1', attempts: 0, lastSuccessMs: 0 };
  const v2 = (key: unknown, ...peers: unknown[]) => writeFile(peersPath, JSON.stringify({ format: 2, key, peers }));
  await v2('ab'.repeat(15), good);
  await expectError(openDataDir(dir), 'ERR_STORE', '"key" must be 32 lower-case hex characters');
  const cases: [Record<string, unknown>, string][] = [
    [{ table: 'old' }, 'peers[1]: table must be "new" or "tried"'],
    [{ source: '' }, 'peers[1]: source must be a network group of 1..255 characters'],
    [{ attempts: -1 }, 'peers[1]: attempts must be a non-negative integer'],
    [{ lastSuccessMs: 'yesterday' }, 'peers[1]: lastSuccessMs must be a finite number >= 0'],
    [{ port: 70000 }, 'peers[1]: port must be an integer in 1..65535'],
    [{ id: 'AB'.repeat(32) }, 'peers[1]: id must be a 32-byte key'],
  ];
  for (const [change, message] of cases) {
    await v2('ab'.repeat(16), good, { ...good, ...change });
    await expectError(openDataDir(dir), 'ERR_STORE', DATA_DIR_FILES.peers, message);
  }
  await rm(peersPath);
  await writeFile(join(dir, DATA_DIR_FILES.meta), '{"format":2}');
  await expectError(openDataDir(dir), 'ERR_STORE', DATA_DIR_FILES.meta, '"format" must be 1');
  await writeFile(join(dir, DATA_DIR_FILES.meta), 'x'.repeat(4097));
  await expectError(openDataDir(dir), 'ERR_STORE', '4097 bytes, above the 4096');
});

test('peers.json is read up to 256 + peersMax x peerEntryBytesMax bytes: a file of that size loads, one byte more is refused', async () => {
  const dir = freshDir();
  await (await openDataDir(dir)).close();
  const peersPath = join(dir, DATA_DIR_FILES.peers);
  const max = 256 + 2 * peerEntryBytesMax;
  // Pad with spaces (valid JSON) to the exact size.
  const body = JSON.stringify({ format: 2, key: 'ab'.repeat(16), peers: [{ id: toHex(peer(1).id), host: 'a', port: 1, table: 'tried', source: 'a', attempts: 0, lastSuccessMs: 0 }] });
  await writeFile(peersPath, body + ' '.repeat(max - body.length));
  const a = await openDataDir(dir, { peersMax: 2 });
  assert.is(a.loadAddressBook()?.entries.length, 1);
  await a.close();
  await writeFile(peersPath, body + ' '.repeat(max + 1 - body.length));
  await expectError(openDataDir(dir, { peersMax: 2 }), 'ERR_STORE', `${max + 1} bytes, above the ${max}`);
  // The bound holds the largest entries a node can write: hosts and sources of hostCharsMax characters that
  // JSON escapes (6 bytes each), the largest numbers.
  const wide = '\u0001'.repeat(255);
  const big = { ...entry(1, 'tried'), host: wide, source: wide, attempts: Number.MAX_SAFE_INTEGER, lastSuccessMs: Number.MAX_VALUE };
  await rm(peersPath);
  const b = await openDataDir(dir, { peersMax: 2 });
  await b.saveAddressBook(book(big, { ...big, port: 65535 }));
  await b.close();
  const size = (await stat(peersPath)).size;
  assert.ok(size > 2 * (2 * 6 * 255) && size <= max, `${size} bytes, within ${max}`);
  const c = await openDataDir(dir, { peersMax: 2 });
  assert.equal(c.loadAddressBook(), book(big, { ...big, port: 65535 }));
  await c.close();
});

test('the chain round-trips across reopen with its tip, and appends may overlap', async () => {
  const dir = freshDir();
  const a = await openDataDir(dir, { genesisHash: genesis });
  const empty = { height: 0, hash: genesis, digest: genesis };
  assert.equal(a.loadChain(), { blocks: [], tip: empty, base: empty, recovery: { tornTailBytes: 0, offset: null, reason: null } });
  const blocks = makeBlocks(6);
  await Promise.all(blocks.map((b) => a.appendBlock(b)));
  await a.close();
  const b = await openDataDir(dir, { genesisHash: genesis });
  const loaded = b.loadChain();
  assert.equal(summary(loaded.blocks), summary(blocks));
  assert.is(loaded.tip.height, 6);
  assert.is(toHex(loaded.tip.hash), toHex(blocks[5]!.hash));
  assert.is(toHex(loaded.tip.digest), toHex(blocks.reduce<Uint8Array>((d, x) => chainDigest(d, x.height, x.hash), genesis)), 'the running digest is rebuilt on load');
  const more = makeBlocks(2, 6, blocks[5]!.hash);
  for (const blk of more) await b.appendBlock(blk);
  await b.close();
  const c = await openDataDir(dir, { genesisHash: genesis });
  assert.equal(summary(c.loadChain().blocks), summary([...blocks, ...more]));
  await c.close();
});

test('appendBlock refuses a block that does not follow the tip, and the chain stays usable', async () => {
  const dir = freshDir();
  const d = await openDataDir(dir, { genesisHash: genesis });
  const [b1, b2] = makeBlocks(2);
  await expectError(d.appendBlock(b2!), 'ERR_STORE', 'height 2 does not follow height 0');
  await expectError(d.appendBlock({ ...b1!, parent: otherGenesis }), 'ERR_STORE', 'parent of height 1');
  await expectError(d.appendBlock({ ...b1!, ts: b1!.ts + 1 }), 'ERR_STORE', 'hash of height 1 is not the hash of its fields');
  await d.appendBlock(b1!);
  await d.appendBlock(b2!);
  await d.close();
  const again = await openDataDir(dir, { genesisHash: genesis });
  assert.is(again.loadChain().tip.height, 2);
  await again.close();
});

test('chainBlocksKeptMax: loadChain returns the newest max blocks, all of them at exactly max', async () => {
  const dir = freshDir();
  const a = await openDataDir(dir, { genesisHash: genesis });
  const blocks = makeBlocks(7);
  for (const b of blocks) await a.appendBlock(b);
  await a.close();
  const b = await openDataDir(dir, { genesisHash: genesis, chainBlocksKeptMax: 3 });
  assert.equal(b.loadChain().blocks.map((x) => x.height), [5, 6, 7]);
  assert.is(b.loadChain().tip.height, 7);
  // base: the chain through block 4, the one before the first kept (both the bulk drop and the last one ran)
  const through = (h: number) => blocks.slice(0, h).reduce<Uint8Array>((d, x) => chainDigest(d, x.height, x.hash), genesis);
  assert.equal(b.loadChain().base, { height: 4, hash: blocks[3]!.hash, digest: through(4) });
  assert.equal(b.loadChain().tip.digest, through(7));
  await b.close();
  const c = await openDataDir(dir, { genesisHash: genesis, chainBlocksKeptMax: 7 });
  assert.is(c.loadChain().blocks.length, 7);
  await c.close();
});

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false });

/** Writes `records` as the chain log of a fresh directory bound to `genesis`. */
async function dirWithChainRecords(records: unknown[]): Promise<string> {
  const dir = freshDir();
  await (await openDataDir(dir, { genesisHash: genesis })).close();
  await rm(join(dir, DATA_DIR_FILES.chain));
  const { log } = await AppendLog.open(join(dir, DATA_DIR_FILES.chain));
  for (const r of records) await log.append(packr.pack(r));
  await log.close();
  return dir;
}

test('a stored chain that decodes but breaks the rules is refused as corrupt, naming the record', async () => {
  const [b1, b2, b3] = makeBlocks(3);
  const cases: Array<[unknown[], string]> = [
    [[b1, { ...b2!, parent: b1!.parent }, b3], 'record 1 at offset'],
    [[b1, b3], 'height 3 does not follow height 1'],
    [[{ ...b1!, payload: new Uint8Array([9]) }], 'hash of height 1 is not the hash of its fields'],
    [[{ ...b1!, parent: otherGenesis }], 'parent of height 1 is not the hash of height 0'],
    [[b1, { ...b2!, extra: 1 }], 'is not a block: keys must be exactly'],
    [[b1, [1, 2]], 'not a block: not a map'],
    [[{ ...b1!, hash: b1!.hash.subarray(0, 31) }], 'hash must be 32 bytes'],
  ];
  for (const [records, message] of cases) {
    const dir = await dirWithChainRecords(records);
    await expectError(openDataDir(dir, { genesisHash: genesis }), 'ERR_STORE', DATA_DIR_FILES.chain, message, 'refusing to load it');
    // the refused open released the lock, and the key and peers are still reachable without the chain
    await (await openDataDir(dir)).close();
  }
});

test('a torn chain tail is reported in loadChain, not loaded, and appends continue after the last good block', async () => {
  const dir = freshDir();
  const a = await openDataDir(dir, { genesisHash: genesis });
  const blocks = makeBlocks(4);
  for (const b of blocks) await a.appendBlock(b);
  await a.close();
  const path = join(dir, DATA_DIR_FILES.chain);
  const bytes = await readFile(path);
  await writeFile(path, bytes.subarray(0, bytes.byteLength - 5));
  const b = await openDataDir(dir, { genesisHash: genesis });
  const loaded = b.loadChain();
  assert.is(loaded.tip.height, 3);
  assert.ok(loaded.recovery.tornTailBytes > 0 && loaded.recovery.reason?.includes('torn tail'), JSON.stringify(loaded.recovery));
  await b.appendBlock(blocks[3]!);
  await b.close();
  const c = await openDataDir(dir, { genesisHash: genesis });
  assert.equal(summary(c.loadChain().blocks), summary(blocks));
  await c.close();
});

test('held.json: the held-decision mark survives a reopen, null clears it, a corrupt or oversized one is refused', async () => {
  const dir = freshDir();
  const a = await openDataDir(dir, { genesisHash: genesis });
  assert.is(a.loadHeldFrom(), null, 'a new directory holds no mark');
  await a.saveHeldFrom(42);
  assert.is(a.loadHeldFrom(), 42);
  await a.close();
  const b = await openDataDir(dir, { genesisHash: genesis });
  assert.is(b.loadHeldFrom(), 42, 'the mark is read back after a restart');
  await b.saveHeldFrom(null);
  await b.close();
  const c = await openDataDir(dir, { genesisHash: genesis });
  assert.is(c.loadHeldFrom(), null, 'null clears it');
  await c.close();
  const path = join(dir, DATA_DIR_FILES.held);
  for (const bad of ['{"format":1,"heldFrom":-1}', '{"format":1,"heldFrom":1.5}', '{"format":1,"heldFrom":"7"}']) {
    await writeFile(path, bad);
    await expectError(openDataDir(dir, { genesisHash: genesis }), 'ERR_STORE', DATA_DIR_FILES.held, '"heldFrom" must be a non-negative integer or null');
  }
  await writeFile(path, '{"format":2,"heldFrom":1}');
  await expectError(openDataDir(dir, { genesisHash: genesis }), 'ERR_STORE', DATA_DIR_FILES.held, '"format" must be 1');
  const edge = JSON.stringify({ format: 1, heldFrom: 7 });
  await writeFile(path, edge + ' '.repeat(heldMarkFileBytesMax - edge.length));
  const d = await openDataDir(dir, { genesisHash: genesis });
  assert.is(d.loadHeldFrom(), 7, `a file of exactly ${heldMarkFileBytesMax} bytes loads`);
  await d.close();
  await writeFile(path, edge + ' '.repeat(heldMarkFileBytesMax - edge.length + 1));
  await expectError(openDataDir(dir, { genesisHash: genesis }), 'ERR_STORE', `above the ${heldMarkFileBytesMax}`);
  const plain = await openDataDir(dir);
  assert.throws(() => plain.loadHeldFrom(), /opened without options.genesisHash/);
  await plain.close();
});

test('a directory bound to one genesis refuses another; without a genesis there is no chain', async () => {
  const dir = freshDir();
  await (await openDataDir(dir, { genesisHash: genesis })).close();
  await expectError(openDataDir(dir, { genesisHash: otherGenesis }), 'ERR_STORE', toHex(genesis), toHex(otherGenesis));
  const plain = await openDataDir(dir);
  await expectError(() => plain.loadChain(), 'ERR_STORE', 'opened without options.genesisHash');
  await expectError(plain.appendBlock(makeBlocks(1)[0]!), 'ERR_STORE', 'opened without options.genesisHash');
  await plain.close();
  assert.ok((await readFile(join(dir, DATA_DIR_FILES.meta), 'utf8')).includes(toHex(genesis)));
});

test('held.json: opening the chain writes 0 in place of no mark and still loads null; a crash before the next save leaves 0; a mark found is kept', async () => {
  const dir = freshDir();
  const path = join(dir, DATA_DIR_FILES.held);
  const a = await openDataDir(dir, { genesisHash: genesis });
  assert.is(a.loadHeldFrom(), null, 'the validator is told what the process before it left: nothing');
  assert.equal(JSON.parse(await readFile(path, 'utf8')), { format: 1, heldFrom: 0 }, 'on disk before the validator starts');
  await a.close();
  const b = await openDataDir(dir, { genesisHash: genesis });
  assert.is(b.loadHeldFrom(), 0, 'a process that ended without saving a mark of its own may have lost anything');
  await b.saveHeldFrom(12);
  await b.close();
  const c = await openDataDir(dir, { genesisHash: genesis });
  assert.is(c.loadHeldFrom(), 12);
  assert.equal(JSON.parse(await readFile(path, 'utf8')), { format: 1, heldFrom: 12 }, 'a mark found is left as it is');
  await c.close();
  const noChain = freshDir();
  const d = await openDataDir(noChain);
  await d.close();
  assert.not.ok(existsSync(join(noChain, DATA_DIR_FILES.held)), 'a directory opened without a chain gets no mark');
});

test('the lock refuses a second open while held and takes over a lock whose process is gone', async () => {
  const dir = freshDir();
  const a = await openDataDir(dir);
  await expectError(openDataDir(dir), 'ERR_STORE', `in use by process ${process.pid}`);
  await a.close();
  await a.close();
  await expectError(a.identity(), 'ERR_STORE', 'the data directory is closed');
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  for (const pid of [String(gone), String(process.pid), 'garbage', '']) {
    await writeFile(join(dir, DATA_DIR_FILES.lock), pid);
    const b = await openDataDir(dir);
    assert.is((await readFile(join(dir, DATA_DIR_FILES.lock), 'utf8')).trim(), String(process.pid), `stale lock '${pid}'`);
    await b.close();
  }
  assert.not.ok(existsSync(join(dir, DATA_DIR_FILES.lock)), 'close removed the lock');
});

test('options are validated with messages that name the field', async () => {
  const cases: Array<[unknown, string]> = [
    ['x', 'options must be an object'],
    [{ genesisHash: new Uint8Array(31) }, 'options.genesisHash must be 32 bytes'],
    [{ genesisHash: 'ab' }, 'options.genesisHash must be 32 bytes'],
    [{ peersMax: 0 }, 'options.peersMax must be a positive integer'],
    [{ chainBlocksKeptMax: -1 }, 'options.chainBlocksKeptMax must be a positive integer'],
    [{ log: 3 }, 'options.log must be an object'],
  ];
  for (const [options, message] of cases) {
    try {
      await openDataDir(freshDir(), options as DataDirOptions);
      assert.unreachable(`accepted ${String(options)}`);
    } catch (e) {
      assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
      assert.is((e as Error).message, message);
    }
  }
});

test.run();
