/**
 * The verification pool: Ed25519 checks run in Piscina worker threads, in batches packed into one
 * transferred ArrayBuffer (packing.ts), so the main thread only packs, posts and resolves. This file is the
 * Piscina wiring and the options; what a call turns into is verifier-core.ts, and how checks are batched and
 * kept within the in-flight and pending limits is batch-scheduler.ts. The main-thread verifier runs the same
 * core with an in-process executor, so both give the same answers by construction.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { StrongcastError } from '../errors.ts';
import { siblingModuleUrl } from '../module-path.ts';
import { preferredBackend, type Ed25519Backend } from './ed25519.ts';
import { checkBackendOption, checkConsensusOption, checkIntOption, runBatch, verifySigItem, type ConsensusConfig, type WorkerSetup } from './chain-check.ts';
import { inFlightPerThread, type BatchExecutor } from './batch-executor.ts';
import { createVerifierCore, type CoreSettings, type VerifyPool } from './verifier-core.ts';

// Whoever builds a verifier (the CLI, the simulator, the benchmarks) finds the core's types and factory next
// to the pool's, so this module stays the one place to import a verifier from.
export type { BatchExecutor } from './batch-executor.ts';
export { createVerifierCore, type CoreSettings, type VerifyPool, type VerifyPoolStats } from './verifier-core.ts';

/** Options of createVerifyPool. */
export interface VerifyPoolOptions {
  /** Worker threads (1..threadsMax). @default os.availableParallelism() */
  threads?: number;
  /** Ed25519 backend the workers use. @default 'sodium' where the sodium-native addon loads, else 'native' */
  backend?: Ed25519Backend;
  /** Most signatures in one worker task (1..batchMaxLimit). @default 64 */
  batchMax?: number;
  /** How long a partial batch may wait for more checks, in ms; 0 posts it at the end of the current event-loop turn. @default 0 */
  batchWaitMs?: number;
  /** Most bytes in one task buffer; a single larger check still goes, alone. @default 1048576 */
  batchBytesMax?: number;
  /**
   * Most signatures queued or in flight. A call that would go beyond it is refused at once with
   * StrongcastError ERR_POOL_FULL (nothing is verified, nothing resolves false): an overloaded node must shed
   * work, and a valid message must never be reported invalid because the node was busy. @default 16384
   */
  pendingChecksMax?: number;
  /** Most entries of the valid-signature cache for chains (0 disables it). @default 65536 */
  sigCacheEntriesMax?: number;
  /**
   * A partial batch of at most this many signatures is verified on the calling thread (with the function the
   * workers run) instead of as a task, within inlineMsPerSecMax: a task costs more than verifying a few
   * signatures, and adds two thread wake-ups to every hop (batch-scheduler.ts). So are light lanes' checks
   * (of peers with nothing else queued or in flight) while other lanes have a backlog, up to this many at
   * once. 0 sends everything to the workers. @default 16
   */
  inlineSignaturesMax?: number;
  /**
   * Most ms of each second the calling thread spends verifying those small batches itself; beyond it they
   * go to the workers, so heavy ingest never makes the node's own thread the verifier. 0 sends everything to
   * the workers. @default 500
   */
  inlineMsPerSecMax?: number;
  /**
   * Signatures each lane (each connection of the node, and one shared lane for the rest) adds to a batch when
   * its turn comes round, so the checks of a peer that sends little go ahead of the backlog of one that sends
   * much (batch-scheduler.ts, deficit round robin). 1..laneQuantumSignaturesLimit. @default 16
   */
  laneQuantumSignatures?: number;
  /**
   * Consensus checks (chains, outcomes, catch-up statements) go before every broadcast lane; while broadcasts
   * wait, they may take at most this percent of the signatures taken, beyond consensusBurstSignatures, so a
   * validator that floods chains cannot starve the rest (batch-scheduler.ts). 1..99. @default 75
   */
  consensusSharePercentMax?: number;
  /**
   * Signatures consensus checks may take ahead of waiting broadcasts before consensusSharePercentMax applies
   * (the burst of a round's chains). 1..consensusBurstSignaturesLimit. @default 1024
   */
  consensusBurstSignatures?: number;
  /** Validator set for checkChain, handed to each worker once at creation. @default none: checkChain rejects */
  consensus?: ConsensusConfig;
}

/** Upper bounds of the numeric options, so a typo cannot ask for a million threads. */
export const verifyPoolLimits = {
  threadsMax: 256,
  batchMaxLimit: 4096,
  batchWaitMsMax: 1000,
  batchBytesMaxLimit: 64 * 1024 * 1024,
  pendingChecksMaxLimit: 10_000_000,
  sigCacheEntriesMaxLimit: 10_000_000,
  inlineSignaturesMaxLimit: 64,
  inlineMsPerSecMaxLimit: 1000,
  laneQuantumSignaturesLimit: 4096,
  consensusSharePercentLimit: 99,
  consensusBurstSignaturesLimit: 1_000_000,
} as const;

/** Defaults of VerifyPoolOptions. */
export const verifyPoolDefaults = {
  batchMax: 64,
  batchWaitMs: 0,
  batchBytesMax: 1024 * 1024,
  pendingChecksMax: 16384,
  sigCacheEntriesMax: 65536,
  inlineSignaturesMax: 16,
  inlineMsPerSecMax: 500,
  laneQuantumSignatures: 16,
  consensusSharePercentMax: 75,
  consensusBurstSignatures: 1024,
} as const;

/**
 * The worker module: one default-exported function over a packed batch. workers/verify.ts under tsx (whose
 * loader the worker threads inherit), dist/workers/verify.js when running from the build.
 */
const WORKER_URL = siblingModuleUrl('../../workers/verify', import.meta.url).href;

function checkOptionsObject(options: unknown): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) throw new StrongcastError('ERR_INVALID_OPTION', 'options must be an object');
  return options as Record<string, unknown>;
}

/** Fills and validates the options shared with the main-thread verifier. */
export function resolveCoreSettings(options: Record<string, unknown>): CoreSettings & { backend: Ed25519Backend } {
  const d = verifyPoolDefaults;
  const l = verifyPoolLimits;
  return {
    backend: checkBackendOption(options['backend'] ?? preferredBackend()),
    batchMax: checkIntOption('batchMax', options['batchMax'] ?? d.batchMax, 1, l.batchMaxLimit),
    batchWaitMs: checkIntOption('batchWaitMs', options['batchWaitMs'] ?? d.batchWaitMs, 0, l.batchWaitMsMax),
    batchBytesMax: checkIntOption('batchBytesMax', options['batchBytesMax'] ?? d.batchBytesMax, 1024, l.batchBytesMaxLimit),
    pendingChecksMax: checkIntOption('pendingChecksMax', options['pendingChecksMax'] ?? d.pendingChecksMax, 1, l.pendingChecksMaxLimit),
    sigCacheEntriesMax: checkIntOption('sigCacheEntriesMax', options['sigCacheEntriesMax'] ?? d.sigCacheEntriesMax, 0, l.sigCacheEntriesMaxLimit),
    inlineSignaturesMax: checkIntOption('inlineSignaturesMax', options['inlineSignaturesMax'] ?? d.inlineSignaturesMax, 0, l.inlineSignaturesMaxLimit),
    inlineMsPerSecMax: checkIntOption('inlineMsPerSecMax', options['inlineMsPerSecMax'] ?? d.inlineMsPerSecMax, 0, l.inlineMsPerSecMaxLimit),
    laneQuantumSignatures: checkIntOption('laneQuantumSignatures', options['laneQuantumSignatures'] ?? d.laneQuantumSignatures, 1, l.laneQuantumSignaturesLimit),
    consensusSharePercentMax: checkIntOption('consensusSharePercentMax', options['consensusSharePercentMax'] ?? d.consensusSharePercentMax, 1, l.consensusSharePercentLimit),
    consensusBurstSignatures: checkIntOption('consensusBurstSignatures', options['consensusBurstSignatures'] ?? d.consensusBurstSignatures, 1, l.consensusBurstSignaturesLimit),
    consensus: checkConsensusOption(options['consensus']),
  };
}

/**
 * Starts a pool of `threads` verification workers. Workers start with the backend and validator set, so a
 * task carries validator indices, never keys.
 * @throws StrongcastError ERR_INVALID_OPTION naming the first bad option.
 */
export function createVerifyPool(options: VerifyPoolOptions = {}): VerifyPool {
  const o = checkOptionsObject(options);
  const threads = checkIntOption('threads', o['threads'] ?? availableParallelism(), 1, verifyPoolLimits.threadsMax);
  const settings = resolveCoreSettings(o);
  const setup: WorkerSetup = { backend: settings.backend, consensus: settings.consensus };
  const piscina = new Piscina({
    filename: WORKER_URL,
    minThreads: threads,
    maxThreads: threads,
    workerData: setup,
    // The core never has more than inFlightPerThread tasks per thread out; this only backs that up.
    maxQueue: threads * inFlightPerThread,
    recordTiming: false,
    // A second task waits in each worker's port, so a worker starts its next batch the moment it finishes
    // one instead of idling until the main thread has handled the result and posted again.
    concurrentTasksPerWorker: inFlightPerThread,
  });
  let destroyed: Promise<void> | null = null;
  const executor: BatchExecutor = {
    parallelism: threads,
    inline: false,
    // The buffer is transferred, not copied; the worker answers with a transferred Uint8Array.
    run: (buffer) => piscina.run(buffer, { transferList: [buffer] }) as Promise<Uint8Array>,
    ...checksHere(setup),
    close: () => (destroyed ??= piscina.destroy()),
  };
  const busy = workerBusyMeter(() => piscina.threads);
  return Object.assign(createVerifierCore(executor, settings), { threads, workerBusyMs: busy });
}

/**
 * What a pool's executor runs on the calling thread: the workers' own function, for a batch too small to be
 * worth a task (runHere), and a lone check verified here (verifyOne, for verifier-core.ts tryVerifyNow).
 * Exported for the simulator's pool, which runs these very functions on its simulated host.
 */
export function checksHere(setup: WorkerSetup): Required<Pick<BatchExecutor, 'runHere' | 'verifyOne'>> {
  return {
    runHere: (buffer) => runBatch(setup, buffer),
    verifyOne: (c) => verifySigItem(setup, c),
  };
}

/**
 * Busy time of a set of worker threads, summed and never decreasing: each read adds what every thread ran
 * since the last read (a replaced thread starts again from zero and counts from there).
 */
export function workerBusyMeter(threads: () => readonly Pick<Worker, 'performance'>[]): () => number {
  const seen = new WeakMap<object, number>();
  let total = 0;
  return () => {
    for (const t of threads()) {
      const active = t.performance.eventLoopUtilization().active;
      total += active - (seen.get(t) ?? 0);
      seen.set(t, active);
    }
    return total;
  };
}
