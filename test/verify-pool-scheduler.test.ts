/**
 * The batch scheduler alone, over a fake executor whose batches finish when the test says: batching at the
 * batchMax and batchBytesMax edges, the in-flight limit, partial batches for idle threads, small batches run on
 * the calling thread, the pending limit at its edge, close with jobs queued and in flight, and no real timer
 * for an inline executor.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isStrongcastError } from '../src/errors.ts';
import { BatchScheduler } from '../src/crypto/batch-scheduler.ts';
import type { BatchExecutor, BatchJob, SchedulerSettings } from '../src/crypto/batch-executor.ts';
import { inlineBatchBytesMax } from '../src/crypto/inline-budget.ts';
import { itemResultSlots, unpackBatch, type BatchItemView } from '../src/crypto/packing.ts';

/** A sig item's bytes in a batch besides its message (kind, length, key, signature). */
const sigItemFixedBytes = 4 + 4 + 32 + 64;

/** The id a test job carries: a sig item's first message byte, a chain item's miner. */
const idOf = (item: BatchItemView): number => (item.kind === 'sig' ? (item.message[0] as number) : item.miner);

interface FakeRun {
  ids: number[];
  /** Finishes the batch; each result slot holds the id of its item. */
  finish(): void;
  fail(e: unknown): void;
}

/** Runs nothing: records each batch, which finishes when the test calls finish() or fail(). */
class FakeExecutor implements BatchExecutor {
  readonly runs: FakeRun[] = [];
  closed = false;
  readonly #unfinished = new Set<FakeRun>();

  /** Batches run on the calling thread (runHere), by their ids; present when constructed with `here`. */
  readonly here: number[][] = [];
  readonly runHere?: (buffer: ArrayBuffer) => Uint8Array;

  constructor(
    readonly parallelism: number,
    readonly inline = false,
    here?: 'answers' | 'throws',
  ) {
    if (here) {
      this.runHere = (buffer) => {
        if (here === 'throws') throw new Error('no backend');
        const { items } = unpackBatch(buffer);
        this.here.push(items.map(idOf));
        return Uint8Array.from(items.map(idOf));
      };
    }
  }

  run(buffer: ArrayBuffer): Promise<Uint8Array> {
    const { items, resultSlots } = unpackBatch(buffer);
    const results = new Uint8Array(resultSlots);
    let at = 0;
    for (const item of items) {
      results.fill(idOf(item), at, at + itemResultSlots(item));
      at += itemResultSlots(item);
    }
    return new Promise((resolve, reject) => {
      const run: FakeRun = {
        ids: items.map(idOf),
        finish: () => (this.#unfinished.delete(run), resolve(results)),
        fail: (e) => (this.#unfinished.delete(run), reject(e)),
      };
      this.#unfinished.add(run);
      this.runs.push(run);
    });
  }

  /** Like a worker pool's destroy: what is still running fails. */
  close(): Promise<void> {
    this.closed = true;
    for (const run of [...this.#unfinished]) run.fail(new Error('terminated'));
    return Promise.resolve();
  }
}

/** What a job was answered with. */
interface Outcome {
  slots?: number[];
  error?: unknown;
}

function job(id: number, messageBytes = 1, outcomes?: Map<number, Outcome>): BatchJob {
  const message = new Uint8Array(messageBytes);
  message[0] = id;
  return {
    item: { kind: 'sig', publicKey: new Uint8Array(32), message, signature: new Uint8Array(64) },
    onResult: (slots) => outcomes?.set(id, { slots: [...slots] }),
    onError: (error) => outcomes?.set(id, { error }),
  };
}

/** A chain part of `signatures` signatures, so one job stands for several. */
function chainJob(id: number, signatures: number, outcomes?: Map<number, Outcome>): BatchJob {
  const signers = Array.from({ length: signatures }, (_, i) => i);
  return {
    item: { kind: 'chain', miner: id, t0: 0, blockHash: new Uint8Array(32), round: 1, mask: new Uint8Array(1), signers, sigs: new Uint8Array(64 * signatures), positions: signers },
    onResult: (slots) => outcomes?.set(id, { slots: [...slots] }),
    onError: (error) => outcomes?.set(id, { error }),
  };
}

const jobs = (ids: number[], outcomes?: Map<number, Outcome>): BatchJob[] => ids.map((id) => job(id, 1, outcomes));
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);
const settings = (s: Partial<SchedulerSettings>): SchedulerSettings => ({ batchMax: 4, batchWaitMs: 0, batchBytesMax: 1 << 20, pendingChecksMax: 1000, inlineSignaturesMax: 0, inlineMsPerSecMax: 200, laneQuantumSignatures: 4096, consensusSharePercentMax: 75, consensusBurstSignatures: 1024, ...s });
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const runIds = (e: FakeExecutor): number[][] => e.runs.map((r) => r.ids);

test('a full batch goes at once; one signature more waits for the end of the turn', async () => {
  const e = new FakeExecutor(2);
  const s = new BatchScheduler(e, settings({ batchMax: 4 }));
  s.enqueueAll(jobs(range(0, 4)));
  assert.equal(runIds(e), [[0, 1, 2, 3]], 'exactly batchMax: posted in the same turn');
  s.enqueueAll(jobs(range(10, 5)));
  assert.equal(runIds(e), [[0, 1, 2, 3], [10, 11, 12, 13]], 'batchMax + 1: the full batch goes, one stays');
  await turn();
  assert.equal(runIds(e).length, 2, 'both threads busy: the partial batch waits for one');
  (e.runs[0] as FakeRun).finish();
  await turn();
  assert.equal(runIds(e)[2], [14], 'a thread came free: the partial batch goes');
});

test('batchBytesMax: items that fill it exactly share a batch, one byte more starts the next', () => {
  const e = new FakeExecutor(1, true);
  // Four items of 256 bytes fill 1024 exactly.
  const s = new BatchScheduler(e, settings({ batchMax: 64, batchBytesMax: 1024 }));
  s.enqueueAll([...range(0, 4).map((id) => job(id, 256 - sigItemFixedBytes)), job(4, 256 - sigItemFixedBytes)]);
  assert.equal(runIds(e), [[0, 1, 2, 3], [4]]);
  s.enqueueAll([job(5, 256 - sigItemFixedBytes), job(6, 256 - sigItemFixedBytes), job(7, 512 - sigItemFixedBytes)]);
  assert.equal(runIds(e).slice(2), [[5, 6, 7]], '256 + 256 + 512: exactly full');
  s.enqueueAll([job(8, 256 - sigItemFixedBytes), job(9, 256 - sigItemFixedBytes + 1), job(10, 512 - sigItemFixedBytes)]);
  assert.equal(runIds(e).slice(3), [[8, 9], [10]], '256 + 257 + 512 is one byte over: the last item starts a batch');
  s.enqueueAll([job(11, 2000), job(12, 1)]);
  assert.equal(runIds(e).slice(5), [[11], [12]], 'an item larger than batchBytesMax still goes, alone');
});

test('a job of more signatures than batchMax goes alone; jobs never split', () => {
  const e = new FakeExecutor(1, true);
  const s = new BatchScheduler(e, settings({ batchMax: 4 }));
  s.enqueueAll([job(1), chainJob(2, 3), chainJob(3, 6), job(4)]);
  assert.equal(runIds(e), [[1, 2], [3], [4]]);
});

test('full batches go while fewer than two per thread are in flight; results reach their jobs in order', async () => {
  const e = new FakeExecutor(1);
  const s = new BatchScheduler(e, settings({ batchMax: 2 }));
  const outcomes = new Map<number, Outcome>();
  s.enqueueAll(jobs(range(0, 7), outcomes));
  assert.equal(runIds(e), [[0, 1], [2, 3]], 'in-flight limit: 2 per thread');
  (e.runs[0] as FakeRun).finish();
  await turn();
  assert.equal(runIds(e)[2], [4, 5]);
  assert.equal(outcomes.get(0), { slots: [0] });
  assert.equal(outcomes.get(1), { slots: [1] });
  assert.is(outcomes.has(2), false);
  assert.is(s.batches, 3);
  assert.is(s.signaturesVerified, 2);
});

/** `job` in lane `lane`. */
const inLane = (lane: string, ids: number[], outcomes?: Map<number, Outcome>): BatchJob[] => ids.map((id) => ({ ...job(id, 1, outcomes), lane }));

test('lanes: one check of a light lane, queued behind a heavy lane\'s backlog, leads the next batch', async () => {
  const e = new FakeExecutor(1);
  const s = new BatchScheduler(e, settings({ batchMax: 4, laneQuantumSignatures: 1 }));
  s.enqueueAll(inLane('heavy', range(0, 20)));
  assert.equal(runIds(e), [[0, 1, 2, 3], [4, 5, 6, 7]], 'the thread\'s two batches are out; 12 checks of the heavy lane wait');
  s.enqueue(inLane('light', [100])[0]!);
  (e.runs[0] as FakeRun).finish();
  await turn();
  assert.equal(runIds(e)[2], [100, 8, 9, 10], 'the light check is first in the next batch, not after the 12 queued before it');
  (e.runs[1] as FakeRun).finish();
  await turn();
  assert.equal(runIds(e)[3], [11, 12, 13, 14], 'the heavy lane alone again: its own checks in order');
});

test('light lanes: a check of a lane with nothing else queued or in flight, while other lanes\' checks are queued, is verified here at once; the lane\'s next check, sent before the answer, waits its turn', async () => {
  const e = new FakeExecutor(1, false, 'answers');
  const s = new BatchScheduler(e, settings({ batchMax: 4, laneQuantumSignatures: 1, inlineSignaturesMax: 2 }));
  const outcomes = new Map<number, Outcome>();
  s.enqueueAll(inLane('heavy', range(0, 20)));
  assert.equal(runIds(e).length, 2, 'both in-flight places taken; 12 checks of the heavy lane wait');
  s.enqueue(inLane('light', [100], outcomes)[0]!);
  assert.equal(e.here, [[100]], 'verified here as it came: no place to wait for, no thread\'s round trip');
  assert.equal(outcomes.get(100), { slots: [100] }, 'answered before enqueue returned');
  s.enqueueAll(inLane('light', [101, 102], outcomes));
  assert.equal(e.here, [[100], [101]], 'answered, the lane is light again; its check after that, queued before the answer, is not');
  await turn();
  assert.equal(e.here.length, 2, 'the heavy backlog is not run here');
  (e.runs[0] as FakeRun).finish();
  await turn();
  assert.equal(runIds(e)[2], [8, 102, 9, 10], 'the lane\'s second check takes its round-robin turn');
  // Without a backlog of other lanes a lane's check is the plain queue: it waits for the end of the turn.
  const f = new FakeExecutor(1, false, 'answers');
  const t = new BatchScheduler(f, settings({ batchMax: 4, inlineSignaturesMax: 2 }));
  t.enqueue(inLane('only', [1])[0]!);
  assert.equal(f.here, [], 'not before the end of the turn');
  await turn();
  assert.equal(f.here, [[1]]);
});

test('laneQuantumSignatures: each backlogged lane adds exactly that many signatures a turn, in its own order', async () => {
  const e = new FakeExecutor(1, true);
  const s = new BatchScheduler(e, settings({ batchMax: 8, laneQuantumSignatures: 3 }));
  s.enqueueAll([...inLane('a', range(0, 10)), ...inLane('b', range(20, 10))]);
  assert.equal(runIds(e)[0], [0, 1, 2, 20, 21, 22, 3, 4], 'three of a, three of b, then a again (batch full after two of its three)');
  assert.equal(runIds(e)[1], [5, 23, 24, 25, 6, 7, 8, 26], 'a finishes the turn the full batch cut short, then b and a take three each');
});

test('lanes: a job larger than the quantum waits for the credit of later turns, then goes whole; a lane emptied keeps no credit', () => {
  const e = new FakeExecutor(1, true);
  const s = new BatchScheduler(e, settings({ batchMax: 16, laneQuantumSignatures: 2 }));
  s.enqueueAll([chainJob(1, 5), ...inLane('x', range(10, 6)), { ...chainJob(2, 1), lane: 'y' }]);
  assert.equal(runIds(e)[0], [10, 11, 2, 12, 13, 1, 14, 15], 'the chain of 5 goes on the third turn of its lane, with 6 credits');
  s.enqueueAll([chainJob(3, 3), ...inLane('x', [16, 17, 18])]);
  assert.equal(runIds(e)[1], [16, 17, 3, 18], 'the shared lane starts again from nothing: its chain of 3 waits one turn');
});

/** `job` of the consensus class in `lane`. */
const consensusIn = (lane: string, ids: number[], outcomes?: Map<number, Outcome>): BatchJob[] => ids.map((id) => ({ ...job(id, 1, outcomes), lane, consensus: true }));

test('consensus: a chain check queued behind a broadcast backlog goes, alone, in the next batch a thread takes; broadcasts go on after it', async () => {
  const e = new FakeExecutor(1);
  const s = new BatchScheduler(e, settings({ batchMax: 4 }));
  s.enqueueAll(inLane('peer', range(0, 40)));
  assert.equal(runIds(e), [[0, 1, 2, 3], [4, 5, 6, 7]], 'both in-flight places taken; 32 broadcast checks wait');
  s.enqueue(consensusIn('validator', [200])[0]!);
  await turn();
  assert.equal(runIds(e).length, 2, 'no place free: it waits, first in line');
  (e.runs[0] as FakeRun).finish();
  await turn();
  assert.equal(runIds(e)[2], [200], 'the first place that frees takes it, in a batch of its own, not behind 32 queued before it nor in a full batch of them');
  (e.runs[1] as FakeRun).finish();
  await turn();
  assert.equal(runIds(e)[3], [8, 9, 10, 11], 'then the broadcasts, in order');
  assert.is(s.consensusSignatures, 0, 'counted once verified');
  (e.runs[2] as FakeRun).finish();
  await Promise.resolve();
  assert.is(s.consensusSignatures, 1);
});

test('consensus: at the end of the turn a few are verified here, within the inline budget, while the broadcast backlog stays with the threads', async () => {
  const e = new FakeExecutor(1, false, 'answers');
  const s = new BatchScheduler(e, settings({ batchMax: 4, inlineSignaturesMax: 2 }));
  const outcomes = new Map<number, Outcome>();
  s.enqueueAll(inLane('peer', range(0, 20)));
  s.enqueueAll(consensusIn('validator', [200, 201], outcomes));
  assert.equal(e.here, [], 'not before the end of the turn');
  await turn();
  assert.equal(e.here, [[200, 201]], 'two consensus checks (inlineSignaturesMax) here, the 12 broadcasts left queued are not');
  assert.equal(outcomes.get(201), { slots: [201] });
  s.enqueueAll(consensusIn('validator', [202, 203, 204]));
  await turn();
  assert.equal(e.here.length, 1, 'three are more than inlineSignaturesMax: they wait for a thread');
  (e.runs[0] as FakeRun).finish();
  await turn();
  assert.equal(runIds(e)[2], [202, 203, 204]);
});

test('consensusSharePercentMax and consensusBurstSignatures: consensus takes the burst ahead of waiting broadcasts, then exactly its share; with nothing else waiting it takes all', () => {
  const e = new FakeExecutor(1, true);
  const s = new BatchScheduler(e, settings({ batchMax: 4, consensusSharePercentMax: 50, consensusBurstSignatures: 3 }));
  s.enqueueAll([...inLane('peer', range(0, 8)), ...consensusIn('validator', range(100, 8))]);
  const all = runIds(e).flat();
  assert.equal(all.slice(0, 3), [100, 101, 102], 'the burst of 3 first');
  assert.equal(all.slice(3, 13), [0, 103, 1, 104, 2, 105, 3, 106, 4, 107], 'then one for one (50%): a broadcast earns the credit the next consensus check spends');
  assert.equal(all.slice(13), [5, 6, 7], 'consensus done, the broadcasts go on');
  assert.is(s.consensusHeldSignatures, 5, 'five broadcasts went while consensus checks waited for their share');
  const f = new FakeExecutor(1, true);
  const t = new BatchScheduler(f, settings({ batchMax: 4, consensusSharePercentMax: 75, consensusBurstSignatures: 1 }));
  t.enqueueAll([...inLane('peer', range(0, 4)), ...consensusIn('validator', range(100, 7))]);
  assert.equal(runIds(f).flat(), [100, 0, 101, 102, 103, 1, 104, 105, 106, 2, 3], '75%: three consensus checks per broadcast once the burst of 1 is spent');
  const g = new FakeExecutor(1, true);
  const u = new BatchScheduler(g, settings({ batchMax: 4, consensusSharePercentMax: 1, consensusBurstSignatures: 1 }));
  u.enqueueAll(consensusIn('validator', range(100, 6)));
  assert.equal(runIds(g), [[100, 101, 102, 103], [104, 105]], 'no broadcast waits: the share does not apply');
});

test('consensus lanes: one peer\'s flood of chains does not queue another\'s chain behind it', async () => {
  const e = new FakeExecutor(1, true);
  const s = new BatchScheduler(e, settings({ batchMax: 8, laneQuantumSignatures: 2 }));
  s.enqueueAll([...consensusIn('byzantine', range(0, 12)), ...consensusIn('honest', [100])]);
  assert.equal(runIds(e)[0], [0, 1, 100, 2, 3, 4, 5, 6], 'the honest chain in the first round of the consensus lanes');
});

test('a partial batch is split across idle threads, never below 8 signatures a task', async () => {
  const e = new FakeExecutor(2);
  const s = new BatchScheduler(e, settings({ batchMax: 64 }));
  s.enqueueAll(jobs(range(0, 20)));
  assert.equal(e.runs.length, 0, 'partial: waits for the end of the turn');
  await turn();
  assert.equal(runIds(e), [range(0, 10), range(10, 10)]);
  const f = new FakeExecutor(2);
  const t = new BatchScheduler(f, settings({ batchMax: 64 }));
  t.enqueueAll(jobs(range(0, 10)));
  await turn();
  assert.equal(runIds(f), [range(0, 8), range(8, 2)]);
});

test('batchWaitMs: a partial batch waits that long for more checks', async () => {
  const e = new FakeExecutor(1);
  const s = new BatchScheduler(e, settings({ batchMax: 64, batchWaitMs: 30 }));
  s.enqueueAll(jobs([1]));
  await turn();
  assert.equal(e.runs.length, 0, 'not at the end of the turn');
  s.enqueueAll(jobs([2]));
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(runIds(e), [[1, 2]], 'one batch once the wait is over');
});

test('pendingChecksMax: admitted up to the limit exactly, refused one beyond with ERR_POOL_FULL', async () => {
  const e = new FakeExecutor(1);
  const s = new BatchScheduler(e, settings({ batchMax: 4, pendingChecksMax: 8 }));
  s.admit(8);
  s.enqueueAll([chainJob(1, 3), ...jobs(range(2, 4))]);
  assert.is(s.pendingSignatures, 7, 'queued and in flight both count');
  s.admit(1);
  s.enqueue(job(9));
  assert.is(s.pendingSignatures, 8);
  s.admit(0);
  let refused: unknown;
  try {
    s.admit(1);
  } catch (err) {
    refused = err;
  }
  assert.ok(isStrongcastError(refused, 'ERR_POOL_FULL'), String(refused));
  assert.is(s.refusedFull, 1);
  assert.is(s.pendingSignatures, 8, 'a refusal changes nothing');
  (e.runs[0] as FakeRun).finish();
  await turn();
  assert.is(s.pendingSignatures, 4, 'the finished batch no longer counts');
  s.admit(4);
});

test('close: queued jobs fail at once, jobs in flight fail with ERR_POOL, nothing is admitted after', async () => {
  const e = new FakeExecutor(1);
  const s = new BatchScheduler(e, settings({ batchMax: 2 }));
  const outcomes = new Map<number, Outcome>();
  s.enqueueAll(jobs(range(0, 5), outcomes));
  assert.equal(runIds(e), [[0, 1], [2, 3]]);
  const closed = s.close();
  assert.is(s.close(), closed, 'closing twice is the same close');
  assert.ok(s.closed && e.closed);
  const queued = outcomes.get(4)?.error;
  assert.ok(isStrongcastError(queued, 'ERR_POOL') && /closed before this check ran/.test((queued as Error).message), String(queued));
  await closed;
  await turn();
  for (const id of range(0, 4)) {
    const inFlight = outcomes.get(id)?.error;
    assert.ok(isStrongcastError(inFlight, 'ERR_POOL') && /closed while this check ran/.test((inFlight as Error).message), String(inFlight));
  }
  assert.is(s.pendingSignatures, 0);
  assert.throws(() => s.admit(0), (err: unknown) => isStrongcastError(err, 'ERR_POOL'));
});

test('an executor failure fails its batch with ERR_POOL naming the cause, and the queue goes on', async () => {
  const e = new FakeExecutor(1);
  const s = new BatchScheduler(e, settings({ batchMax: 2 }));
  const outcomes = new Map<number, Outcome>();
  s.enqueueAll(jobs(range(0, 6), outcomes));
  (e.runs[0] as FakeRun).fail(new Error('worker died'));
  await turn();
  const failed = outcomes.get(0)?.error;
  assert.ok(isStrongcastError(failed, 'ERR_POOL') && /verification worker failed: worker died/.test((failed as Error).message), String(failed));
  assert.is(outcomes.get(1)?.error, failed);
  assert.equal(runIds(e)[2], [4, 5], 'the next batch went');
  assert.is(s.signaturesVerified, 0);
});

test('inlineSignaturesMax: a partial batch that small is answered here at the end of the turn, also while a batch is out; one more goes to a thread', async () => {
  const e = new FakeExecutor(2, false, 'answers');
  const s = new BatchScheduler(e, settings({ batchMax: 64, inlineSignaturesMax: 2 }));
  const outcomes = new Map<number, Outcome>();
  s.enqueueAll(jobs([1, 2], outcomes));
  assert.equal(e.here, [], 'not before the end of the turn: more may come');
  await turn();
  assert.equal(e.here, [[1, 2]]);
  assert.equal(outcomes.get(2), { slots: [2] }, 'answered before the flush returned');
  assert.is(s.signaturesHere, 2);
  assert.is(s.signaturesVerified, 2);
  assert.is(s.pendingSignatures, 0);
  s.enqueueAll(jobs([3, 4, 5], outcomes));
  await turn();
  assert.equal(runIds(e), [[3, 4, 5]], 'three: a task');
  s.enqueue(job(6, 1, outcomes));
  await turn();
  assert.equal(e.here, [[1, 2], [6]], 'a batch is out: a small one is still answered here, not queued behind it');
  assert.equal(runIds(e), [[3, 4, 5]]);
  for (const run of e.runs) run.finish();
  await Promise.resolve();
  // A chain part counts its signatures: three is over the limit.
  s.enqueue(chainJob(7, 3, outcomes));
  await turn();
  assert.equal(e.runs.length, 2);
  // Without runHere every batch goes to a thread whatever the setting.
  const f = new FakeExecutor(2);
  const t = new BatchScheduler(f, settings({ batchMax: 64, inlineSignaturesMax: 2 }));
  t.enqueue(job(1));
  await turn();
  assert.equal(runIds(f), [[1]]);
});

test('inlineMsPerSecMax: once this thread has spent its budget on small batches they go to a thread, until the budget refills; 0 never runs here', async () => {
  let nowMs = 1000;
  const e = new FakeExecutor(2, false, 'answers');
  const costMs = 7;
  const runHere = e.runHere!;
  // Each batch run here takes costMs of (fake) time.
  (e as { runHere?: (b: ArrayBuffer) => Uint8Array }).runHere = (b) => ((nowMs += costMs), runHere(b));
  // 100 ms per second: a budget of 10 ms (a tenth of a second of it).
  const s = new BatchScheduler(e, settings({ batchMax: 64, inlineSignaturesMax: 4, inlineMsPerSecMax: 100, now: () => nowMs }));
  s.enqueue(job(1));
  await turn();
  s.enqueue(job(2));
  await turn();
  assert.equal(e.here, [[1], [2]], '10 ms of budget: the first costs 7, the second starts with 3 left (and leaves a debt of 3.3: 0.7 refilled while it ran)');
  s.enqueue(job(3));
  await turn();
  assert.equal(runIds(e), [[3]], 'in debt: the next goes to a thread');
  nowMs += 32; // repays 3.2 ms of the 3.3 (100 ms per second)
  s.enqueue(job(4));
  await turn();
  assert.equal(e.here, [[1], [2]], 'still in debt: a thread');
  assert.equal(runIds(e), [[3], [4]]);
  nowMs += 2;
  s.enqueue(job(5));
  await turn();
  assert.equal(e.here, [[1], [2], [5]], 'repaid, with 0.1 ms to spare: here again');
  const never = new FakeExecutor(1, false, 'answers');
  const z = new BatchScheduler(never, settings({ batchMax: 64, inlineSignaturesMax: 4, inlineMsPerSecMax: 0 }));
  z.enqueue(job(1));
  await turn();
  assert.equal(never.here, []);
  assert.equal(runIds(never), [[1]]);
});

test('runDirect: a lone check is verified here before the call returns while nothing is queued, its lane has nothing outstanding and the inline budget allows; else it is left to the queue', async () => {
  let nowMs = 1000;
  const e = new FakeExecutor(1, false, 'answers');
  // 100 ms per second: a budget of 10 ms; each direct check takes 4 ms of (fake) time.
  const s = new BatchScheduler(e, settings({ batchMax: 4, inlineSignaturesMax: 2, inlineMsPerSecMax: 100, now: () => nowMs }));
  const verified: number[] = [];
  const verify = (c: { message: Uint8Array }): boolean => {
    nowMs += 4;
    verified.push(c.message[0] as number);
    return (c.message[0] as number) % 2 === 1;
  };
  const check = (id: number, messageBytes = 1): { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array } => {
    const message = new Uint8Array(messageBytes);
    message[0] = id;
    return { publicKey: new Uint8Array(32), message, signature: new Uint8Array(64) };
  };
  assert.is(s.runDirect('a', 100, verify, check(1)), true, 'idle: verified at once, its verdict returned');
  assert.is(s.runDirect('a', 100, verify, check(2)), false);
  assert.equal(verified, [1, 2]);
  assert.equal([s.batches, s.signaturesVerified, s.signaturesHere, s.pendingSignatures], [2, 2, 2, 0], 'each a batch of one, verified here, never pending');
  s.enqueueAll(inLane('b', range(10, 4)));
  assert.equal(runIds(e), [[10, 11, 12, 13]], 'a full batch of lane b is with the thread, nothing queued');
  assert.is(s.runDirect('b', 100, verify, check(3)), undefined, 'lane b has checks outstanding: its next one waits behind them');
  assert.is(s.runDirect('c', 100, verify, check(5)), true, 'another lane is not held back by a batch in flight');
  s.enqueueAll(inLane('b', [14]));
  assert.is(s.runDirect('d', 100, verify, check(7)), undefined, 'a queued check of any lane would be passed over');
  assert.equal(verified, [1, 2, 5]);
  (e.runs[0] as FakeRun).finish();
  await turn();
  assert.equal([e.here, runIds(e)[1]], [[], [14]], 'the direct checks spent the budget (12 of 10 ms): the queued check went to the thread');
  nowMs += 1000; // the budget refills
  assert.is(s.runDirect('e', inlineBatchBytesMax + 1, verify, check(9)), undefined, 'more than inlineBatchBytesMax: left to the queue');
  assert.is(s.runDirect('e', inlineBatchBytesMax, verify, check(11)), true, 'exactly inlineBatchBytesMax: here');
  s.runDirect('e', 100, verify, check(12));
  s.runDirect('e', 100, verify, check(13));
  assert.is(s.runDirect('e', 100, verify, check(14)), undefined, '10 ms of budget: three checks of 4 ms spend it (the third into debt), the fourth is queued');
  assert.equal(verified, [1, 2, 5, 11, 12, 13]);
  const never = new BatchScheduler(new FakeExecutor(1, false, 'answers'), settings({ inlineSignaturesMax: 0 }));
  assert.is(never.runDirect('a', 100, verify, check(1)), undefined, 'inlineSignaturesMax 0: never here');
  const threadsOnly = new BatchScheduler(new FakeExecutor(1), settings({ inlineSignaturesMax: 2 }));
  assert.is(threadsOnly.runDirect('a', 100, verify, check(1)), undefined, 'an executor that cannot run here: never');
  await s.close();
  let thrown: unknown;
  try {
    s.runDirect('a', 100, verify, check(1));
  } catch (e) {
    thrown = e;
  }
  assert.ok(isStrongcastError(thrown, 'ERR_POOL'), String(thrown));
  assert.equal(verified, [1, 2, 5, 11, 12, 13]);
});

test('inline: a small batch of more than inlineBatchBytesMax goes to a thread; at most one batch runs here per flush, even when an answer queues more', async () => {
  const e = new FakeExecutor(2, false, 'answers');
  const s = new BatchScheduler(e, settings({ batchMax: 64, inlineSignaturesMax: 4 }));
  s.enqueue(job(1, inlineBatchBytesMax - sigItemFixedBytes));
  await turn();
  assert.equal(e.here, [[1]], 'exactly inlineBatchBytesMax: here');
  s.enqueue(job(2, inlineBatchBytesMax - sigItemFixedBytes + 1));
  await turn();
  assert.equal(e.here, [[1]]);
  assert.equal(runIds(e), [[2]], 'one byte more: a thread');
  const outcomes = new Map<number, Outcome>();
  const chained: BatchJob = { ...job(3, 1, outcomes), onResult: () => s.enqueue(job(4, 1, outcomes)) };
  s.enqueue(chained);
  await turn();
  assert.equal(e.here, [[1], [3]], 'the answer to 3 queued 4 during the flush');
  assert.equal(runIds(e), [[2], [4]], '4 did not run here in the same flush: a thread took it');
});

test('inlineSignaturesMax: a failure of the batch run here fails its jobs with ERR_POOL, and frees their place', async () => {
  const e = new FakeExecutor(1, false, 'throws');
  const s = new BatchScheduler(e, settings({ batchMax: 64, inlineSignaturesMax: 2 }));
  const outcomes = new Map<number, Outcome>();
  s.enqueueAll(jobs([1, 2], outcomes));
  await turn();
  const failed = outcomes.get(1)?.error;
  assert.ok(isStrongcastError(failed, 'ERR_POOL') && /no backend/.test((failed as Error).message), String(failed));
  assert.is(outcomes.get(2)?.error, failed);
  assert.is(s.pendingSignatures, 0);
  assert.is(s.signaturesVerified, 0);
});

test('an inline executor gets every job in the turn it arrives, and no real timer is ever set', async () => {
  const timers: string[] = [];
  const saved = { setImmediate: globalThis.setImmediate, setTimeout: globalThis.setTimeout };
  globalThis.setImmediate = ((fn: () => void) => (timers.push('setImmediate'), saved.setImmediate(fn))) as typeof setImmediate;
  globalThis.setTimeout = ((fn: () => void, ms: number) => (timers.push('setTimeout'), saved.setTimeout(fn, ms))) as typeof setTimeout;
  try {
    const e = new FakeExecutor(1, true);
    const s = new BatchScheduler(e, settings({ batchMax: 4, batchWaitMs: 5 }));
    s.enqueueAll(jobs(range(0, 6)));
    s.enqueue(job(6));
    assert.equal(runIds(e), [[0, 1, 2, 3], [4, 5], [6]]);
    for (const run of e.runs) run.finish();
    await Promise.resolve();
    s.enqueueAll(jobs([7]));
    assert.equal(runIds(e)[3], [7]);
  } finally {
    globalThis.setImmediate = saved.setImmediate;
    globalThis.setTimeout = saved.setTimeout;
  }
  assert.equal(timers, []);
});

test.run();
