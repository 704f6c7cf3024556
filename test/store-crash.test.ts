/**
 * Real processes killed mid-write: a child appends blocks and prints each height once its append resolved;
 * the test SIGKILLs it, reopens the directory, and checks that every height reported durable is there byte
 * for byte, the chain is valid, and a torn tail was reported and cut, not loaded. Some kills land at a
 * random moment (start-up, recovery, appending); the others land while the child is writing a batch of
 * several megabytes, found by watching the file grow, so the kill often tears a record at a random byte.
 * Replay a failure with STORE_CRASH_SEED=<seed> (timing still varies; the kill points do not).
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

const seed = Number(process.env['STORE_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 32));

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
      if (!ready) return reject(new Error(`writer never got ready (seed ${seed}); stderr:\n${stderr.slice(-2000)}`));
      // a last line without its newline was cut by the kill mid-print: it does not count as reported
      const durable = lines
        .slice(1, -1)
        .filter((l) => !l.startsWith('burst '))
        .map((l) => Number(/^durable (\d+)$/.exec(l)?.[1] ?? NaN));
      resolve({ startHeight: Number(ready[1]), durable });
    });
  });
}

test(`kill -9 at random moments and mid-write loses nothing reported durable, never loads a torn tail (seed ${seed})`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strongcast-crash-'));
  const chainPath = join(dir, DATA_DIR_FILES.chain);
  const random = prng(seed);
  const tag = `(seed ${seed}; replay with STORE_CRASH_SEED=${seed})`;
  let torn = 0;
  let expectedStart = 0;
  try {
    for (let i = 0; i < kills; i++) {
      const plan: KillPlan =
        i % 2 === 0
          ? { kind: 'mid-write', growthBytes: 1 + Math.floor(random() * midWriteGrowthMaxBytes) }
          : { kind: 'timed', delayMs: Math.floor(random() * (timedKillDelayMaxMs + 1)) };
      const at = `kill ${i} (${JSON.stringify(plan)})`;
      const run = await runAndKill(dir, plan);
      assert.is(run.startHeight, expectedStart, `${at}: the writer resumed from the reopened tip ${tag}`);
      run.durable.forEach((h, j) => assert.is(h, run.startHeight + j + 1, `${at}: heights reported in order ${tag}`));
      const reported = run.startHeight + run.durable.length;
      const sizeBefore = (await stat(chainPath)).size;

      const data = await openDataDir(dir, { genesisHash: genesis, chainBlocksKeptMax: 1_000_000 });
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
        torn++;
        assert.ok(recovery.reason?.includes('torn tail'), `${at}: ${recovery.reason} ${tag}`);
        assert.is((await stat(chainPath)).size, sizeBefore - recovery.tornTailBytes, `${at}: the torn tail was cut ${tag}`);
      } else {
        assert.is(recovery.reason, null);
        assert.is((await stat(chainPath)).size, sizeBefore, `${at}: a clean log is left as it was ${tag}`);
      }
      expectedStart = tip.height;
    }
    assert.ok(expectedStart > 0, `the writer never made a block durable ${tag}`);
    console.log(`  ${kills} kills, ${expectedStart} blocks, ${torn} torn tails cut ${tag}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
