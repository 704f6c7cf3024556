/**
 * Real processes killed mid-write: a child appends blocks and prints each height once its append resolved;
 * the test SIGKILLs it, reopens the directory, and checks that every height reported durable is there byte
 * for byte, the chain is valid, and a torn tail was reported and cut, not loaded. Some kills land at a
 * random moment (start-up, recovery, appending); the others land while the child is writing a batch of
 * several megabytes, found by watching the file grow, so the kill often tears a record at a random byte.
 * Fixed seeds run every time, plus one random seed, printed; replay one with STORE_CRASH_SEED=<seed> (timing
 * still varies; the kill points do not). A kill tears a record only if it lands inside the write, so when
 * the planned kills tore none, more mid-write kills follow until one does: the test asserts a torn tail was
 * seen and cut.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex } from '../src/bytes.ts';
import { DATA_DIR_FILES, openDataDir } from '../src/store/data-dir.ts';
import { crashBlockFields, crashWriterBurstBlocks, crashWriterInFlightMax } from './helpers/crash-writer.ts';
import { prng } from '../src/sim/prng.ts';

const writer = fileURLToPath(new URL('./helpers/crash-writer.ts', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const genesis = new Uint8Array(createHash('sha256').update('crash test genesis').digest());
/** Kills 0, 2 and 4 land mid-write, 1 and 3 at a random moment. */
const kills = 5;
/** A child not killed by then (slow start, or the file never grew) is killed anyway. */
const childTimeoutMs = 5_000;
/** Timed kills land 0..timedKillDelayMaxMs after the child is ready. */
const timedKillDelayMaxMs = 100;
/** Mid-write kills land once the file grew by 1..midWriteGrowthMaxBytes past the burst's start. */
const midWriteGrowthMaxBytes = 4 * 1024 * 1024;

/** Extra mid-write kills (at most, and for at most this long) when the planned ones tore no record. */
const tornRetriesMax = 12;
const tornRetriesMs = 60_000;

/** Seeds run every time, plus one random seed, printed; STORE_CRASH_SEED=<seed> runs only that one. */
const fixedSeeds = [1, 2];
const replay = process.env['STORE_CRASH_SEED'];
const randomSeed = Math.floor(Math.random() * 2 ** 32);
const seeds = replay === undefined ? [...fixedSeeds, randomSeed] : [Number(replay) >>> 0];

type KillPlan = { kind: 'timed'; delayMs: number } | { kind: 'mid-write'; growthBytes: number };

interface Run {
  startHeight: number;
  durable: number[];
}

/** Starts the writer, kills it as `plan` says, and returns what it reported. */
function runAndKill(dir: string, plan: KillPlan): Promise<Run> {
  const chainPath = join(dir, DATA_DIR_FILES.chain);
  const args = ['--import', 'tsx', writer, dir, toHex(genesis), ...(plan.kind === 'mid-write' ? ['burst'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let planned = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timeout = setTimeout(() => child.kill('SIGKILL'), childTimeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (planned) return;
      if (plan.kind === 'timed' && stdout.includes('\n')) {
        planned = true;
        killTimer = setTimeout(() => child.kill('SIGKILL'), plan.delayMs);
      }
      const burst = /^burst (\d+)$/m.exec(stdout);
      if (plan.kind === 'mid-write' && burst) {
        planned = true;
        // Spin, not poll with timers: the batch write takes a few milliseconds and the kill must land inside it.
        const target = Number(burst[1]) + plan.growthBytes;
        const deadline = Date.now() + childTimeoutMs;
        while (statSync(chainPath).size < target && Date.now() < deadline);
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // 'close': the process is gone and reaped (its lock is stale) and all it printed has been read
    child.on('close', () => {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      const lines = stdout.split('\n');
      const ready = /^ready (\d+)$/.exec(lines[0] ?? '');
      if (!ready) return reject(new Error(`writer never got ready; stderr:\n${stderr.slice(-2000)}`));
      // a last line without its newline was cut by the kill mid-print: it does not count as reported
      const durable = lines
        .slice(1, -1)
        .filter((l) => !l.startsWith('burst '))
        .map((l) => Number(/^durable (\d+)$/.exec(l)?.[1] ?? NaN));
      resolve({ startHeight: Number(ready[1]), durable });
    });
  });
}

interface State {
  dir: string;
  /** Height the writer must resume from: the tip the last reopen found. */
  start: number;
  /** Reopens that found and cut a torn tail. */
  torn: number;
}

/** One kill as `plan` says, then a reopen that must hold every block reported durable; updates `state`. */
async function killAndCheck(state: State, plan: KillPlan, at: string, tag: string): Promise<void> {
  const chainPath = join(state.dir, DATA_DIR_FILES.chain);
  const run = await runAndKill(state.dir, plan).catch((e: unknown) => {
    throw new Error(`${at}: ${(e as Error).message} ${tag}`);
  });
  assert.is(run.startHeight, state.start, `${at}: the writer resumed from the reopened tip ${tag}`);
  run.durable.forEach((h, j) => assert.is(h, run.startHeight + j + 1, `${at}: heights reported in order ${tag}`));
  const reported = run.startHeight + run.durable.length;
  const sizeBefore = (await stat(chainPath)).size;

  const data = await openDataDir(state.dir, { genesisHash: genesis, chainBlocksKeptMax: 1_000_000 });
  const { blocks, tip, recovery } = data.loadChain();
  await data.close();

  // loadChain already checked heights, parent links and every block hash; here: nothing lost, nothing made up
  const inFlightMax = Math.max(crashWriterInFlightMax, crashWriterBurstBlocks);
  assert.ok(tip.height >= reported, `${at}: tip ${tip.height} lost height ${reported}, reported durable ${tag}`);
  assert.ok(tip.height <= reported + inFlightMax, `${at}: tip ${tip.height} beyond anything the writer had queued ${tag}`);
  assert.is(blocks.length, tip.height, `${at}: every block from height 1 is loaded ${tag}`);
  for (const b of blocks) {
    const want = crashBlockFields(b.height);
    const intact = b.miner === want.miner && b.t0 === want.t0 && b.ts === want.ts && Buffer.from(b.payload).equals(want.payload);
    assert.ok(intact, `${at}: block ${b.height} read back differs from what was written ${tag}`);
  }
  if (recovery.tornTailBytes > 0) {
    state.torn++;
    assert.ok(recovery.reason?.includes('torn tail'), `${at}: ${recovery.reason} ${tag}`);
    assert.is((await stat(chainPath)).size, sizeBefore - recovery.tornTailBytes, `${at}: the torn tail was cut ${tag}`);
  } else {
    assert.is(recovery.reason, null);
    assert.is((await stat(chainPath)).size, sizeBefore, `${at}: a clean log is left as it was ${tag}`);
  }
  state.start = tip.height;
}

function midWrite(random: () => number): KillPlan {
  return { kind: 'mid-write', growthBytes: 1 + Math.floor(random() * midWriteGrowthMaxBytes) };
}

test(`kill -9 at random moments and mid-write loses nothing reported durable, never loads a torn tail (seeds ${seeds.join(', ')})`, async () => {
  if (replay === undefined) console.log(`  random seed ${randomSeed} (replay with STORE_CRASH_SEED=${randomSeed})`);
  let torn = 0;
  for (const seed of seeds) {
    const state: State = { dir: await mkdtemp(join(tmpdir(), 'strongcast-crash-')), start: 0, torn: 0 };
    const random = prng(seed);
    const tag = `(seed ${seed}; replay with STORE_CRASH_SEED=${seed})`;
    try {
      for (let i = 0; i < kills; i++) {
        const plan: KillPlan = i % 2 === 0 ? midWrite(random) : { kind: 'timed', delayMs: Math.floor(random() * (timedKillDelayMaxMs + 1)) };
        await killAndCheck(state, plan, `kill ${i} (${JSON.stringify(plan)})`, tag);
      }
      // Whether a mid-write kill tears depends on timing as well as on the seed: when no kill of any seed
      // did, the last seed kills more until one does, so the test never passes without a torn tail cut.
      const deadline = Date.now() + tornRetriesMs;
      const lastSeed = seed === seeds[seeds.length - 1];
      let extra = 0;
      for (; lastSeed && torn + state.torn === 0 && extra < tornRetriesMax && Date.now() < deadline; extra++) {
        const plan = midWrite(random);
        await killAndCheck(state, plan, `extra kill ${extra} (${JSON.stringify(plan)})`, tag);
      }
      assert.ok(state.start > 0, `the writer never made a block durable ${tag}`);
      console.log(`  seed ${seed}: ${state.start} blocks, ${state.torn} torn tails cut${extra ? `, after ${extra} extra mid-write kills` : ''}`);
      torn += state.torn;
    } finally {
      await rm(state.dir, { recursive: true, force: true });
    }
  }
  assert.ok(torn > 0, `no kill tore a record, even after up to ${tornRetriesMax} extra mid-write kills, so the torn-tail recovery went untested`);
});

test.run();
