/**
 * Durable before reported, at the validator: a validator with a store emits `decided` only after the
 * block's append to the chain log resolved, which is after its fdatasync. The store is a real data directory
 * whose chain log goes through a recording file system that holds the datasync back (or fails it): the core
 * decides, the event waits; released, the event follows the sync; failed, the event never comes. A
 * `decided` listener that throws is no disk failure: no ERR_STORE, and the blocks stay stored and decided.
 * One validator (n = 1, f = 0) on a loopback node, so it decides alone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../src/bytes.ts';
import { createNode } from '../src/create-node.ts';
import { generateIdentity } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { createGenesis, genesisHash } from '../src/consensus/genesis.ts';
import { Validator, type ValidatorEvents } from '../src/core/validator.ts';
import { DATA_DIR_FILES, openDataDir, type DataDir } from '../src/store/data-dir.ts';
import { fastOptions, sleep, waitFor } from './helpers/net.ts';
import { RecordingFs } from './helpers/recording-fs.ts';

const roundMs = 250;

interface Solo {
  v: Validator;
  store: DataDir;
  fs: RecordingFs;
  dir: string;
  hash: Uint8Array;
  decided: ValidatorEvents['decided'][0][];
  rejected: ValidatorEvents['rejected'][0][];
  storeFailed: ValidatorEvents['store-failed'][0][];
  stop(): Promise<void>;
}

/** One validator on a loopback node, its chain log going through a recording file system. */
async function startSolo(name: string): Promise<Solo> {
  const id = generateIdentity();
  const genesis = createGenesis({ publicKeys: [id.publicKey], faults: 0, roundMs, startMs: Date.now() + roundMs, networkId: name });
  const hash = genesisHash(genesis);
  const dir = await mkdtemp(join(tmpdir(), 'strongcast-decided-'));
  const fs = new RecordingFs();
  const store = await openDataDir(dir, { genesisHash: hash, log: { fs } });
  const verifier = createMainThreadVerifier({ consensus: { networkId: name, genesisHash: hash, validatorKeys: [id.publicKey] } });
  const node = createNode({ ...fastOptions, networkId: name, identity: id, verifier, peerExchange: false });
  await node.start();
  const v = new Validator({ node, genesis, identity: id, verifier, store });
  const solo: Solo = { v, store, fs, dir, hash, decided: [], rejected: [], storeFailed: [], stop: async () => undefined };
  v.on('decided', (d) => {
    solo.decided.push(d);
    fs.mark('decided');
  });
  v.on('rejected', (r) => solo.rejected.push(r));
  v.on('store-failed', (e) => solo.storeFailed.push(e));
  solo.stop = async () => {
    v.stop();
    fs.release();
    await v.flushed();
    await node.stop();
    await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  v.start();
  return solo;
}

test('decided waits for the append: nothing while its datasync is held, the event right after it completes', async () => {
  const s = await startSolo('decided-held');
  try {
    const chainPath = join(s.dir, DATA_DIR_FILES.chain);
    s.fs.holdDatasyncs();
    const mined = await s.v.mine(new TextEncoder().encode('held block'));
    await waitFor(() => s.v.chain().length === 1 && s.fs.heldDatasyncs === 1, 'the core decided and the append waits on its datasync', 20 * roundMs);
    // the block is decided and written, only its sync is held: a few more rounds change nothing
    await sleep(2 * roundMs);
    assert.equal(s.decided, [], 'decided was reported before the block was synced');
    assert.ok(s.fs.calls.some((c) => c.op === 'write' && c.path === chainPath), 'the block was written');
    s.fs.release();
    await waitFor(() => s.decided.length === 1, 'decided after the release', 20 * roundMs);
    assert.is(s.decided[0]!.block?.hash, mined.hash);
    assert.is(s.decided[0]!.block?.height, 1);
    const ops = s.fs.calls.filter((c) => c.path === chainPath || c.op === 'decided').map((c) => c.op);
    assert.equal(ops.slice(ops.lastIndexOf('write')), ['write', 'datasync', 'decided'], 'written, synced, then reported');
    await s.store.close();
    const again = await openDataDir(s.dir, { genesisHash: s.hash });
    assert.equal(again.loadChain().blocks.map((b) => toHex(b.hash)), [mined.hash], 'the reported block is in the log');
    await again.close();
  } finally {
    await s.stop();
  }
});

test('a block whose append fails is never reported decided; the failure is reported as ERR_STORE', async () => {
  const s = await startSolo('decided-failed');
  try {
    s.fs.failDatasyncs('EIO');
    await s.v.mine(new TextEncoder().encode('doomed block'));
    await waitFor(() => s.rejected.some((r) => r.code === 'ERR_STORE'), 'the store failure reported', 20 * roundMs);
    await s.v.flushed();
    assert.is(s.v.chain().length, 1, 'the core did decide the block');
    assert.equal(s.decided, [], 'a block that is not durable was reported decided');
    assert.ok(s.rejected.find((r) => r.code === 'ERR_STORE')?.reason.includes('EIO'), JSON.stringify(s.rejected));
  } finally {
    await s.stop();
  }
});

test('after a failed append the validator says so once, decides on in memory only, and reports no later block', async () => {
  const s = await startSolo('decided-store-broken');
  try {
    s.fs.failDatasyncs('EIO');
    await s.v.mine(new TextEncoder().encode('first, not stored'));
    await waitFor(() => s.storeFailed.length === 1, 'the store failure told', 20 * roundMs);
    await s.v.mine(new TextEncoder().encode('second'));
    await waitFor(() => s.v.chain().length === 2, 'the core decided the second block', 20 * roundMs);
    await s.v.flushed();
    assert.equal(s.decided, [], 'a block that is not durable was reported decided');
    assert.is(s.storeFailed.length, 1, 'store-failed once');
    assert.is(s.storeFailed[0]!.code, 'ERR_STORE');
    assert.is(s.storeFailed[0]!.height, 1);
    assert.ok(s.storeFailed[0]!.reason.includes('EIO'), s.storeFailed[0]!.reason);
    assert.is(s.rejected.filter((r) => r.code === 'ERR_STORE').length, 1, 'ERR_STORE told for the failed block only, not for every block after it');
    const st = s.v.status().storeFailure;
    assert.ok(st, 'status shows the failure');
    assert.equal({ code: st.code, height: st.height, blocksNotStored: st.blocksNotStored }, { code: 'ERR_STORE', height: 1, blocksNotStored: 2 });
  } finally {
    await s.stop();
  }
});

test('a decided listener that throws is not a disk failure: no ERR_STORE, and the decisions stand, stored', async () => {
  const s = await startSolo('decided-listener-throws');
  try {
    let thrown = 0;
    s.v.on('decided', () => {
      thrown++;
      throw new Error('a bug in the application');
    });
    const first = await s.v.mine(new TextEncoder().encode('first'));
    await waitFor(() => s.decided.length === 1, 'the first block decided', 20 * roundMs);
    const second = await s.v.mine(new TextEncoder().encode('second'));
    await waitFor(() => s.decided.length === 2, 'the second block decided after the listener threw', 20 * roundMs);
    await s.v.flushed();
    assert.is(thrown, 2, 'the throwing listener ran for both');
    assert.equal(s.rejected.filter((r) => r.code === 'ERR_STORE'), [], 'a listener\'s exception was reported as a store failure');
    assert.equal(s.v.chain().map((b) => toHex(b.hash)), [first.hash, second.hash]);
    await s.store.close();
    const again = await openDataDir(s.dir, { genesisHash: s.hash });
    assert.equal(again.loadChain().blocks.map((b) => toHex(b.hash)), [first.hash, second.hash], 'both blocks are in the log');
    await again.close();
  } finally {
    await s.stop();
  }
});

test.run();
