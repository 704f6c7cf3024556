/**
 * What the batch scheduler (batch-scheduler.ts) and the verifier core (verifier-core.ts) ask of whoever runs
 * batches: the executor contract (worker threads through Piscina, or the main thread), a job and its
 * answer, the limits a scheduler works within, how it waits for a flush, and the one error a failed
 * executor gives its jobs.
 */
import { StrongcastError } from '../errors.ts';
import type { SignatureCheck } from './verifier.ts';
import type { BatchItemInput } from './packing.ts';

/** Runs packed batches somewhere: worker threads, or the main thread. */
export interface BatchExecutor {
  run(buffer: ArrayBuffer): Promise<Uint8Array>;
  close(): Promise<void>;
  /** Batches it can run at once. */
  readonly parallelism: number;
  /** True when run() finishes synchronously, so batching would only add latency. */
  readonly inline: boolean;
  /**
   * A thread executor may run a small batch on the calling thread, with the very function its threads run,
   * when that costs less than a task (see inlineSignaturesMax). @throws whatever that function throws
   */
  runHere?(buffer: ArrayBuffer): Uint8Array;
  /**
   * Checks one signature on the calling thread, with the rule a batch applies to a signature item
   * (chain-check.ts verifySigItem): packing a batch buffer only for the same thread to unpack it costs a
   * broadcast's verification about a tenth more. An inline executor checks every single signature so
   * (Verifier.verifyNow); a thread executor with runHere, a lone check it would verify here anyway
   * (Verifier.tryVerifyNow, BatchScheduler.runDirect).
   */
  verifyOne?(check: SignatureCheck): boolean;
}

/** One item for the executor, and where its result slots (packing.ts) or its failure go. */
export interface BatchJob {
  item: BatchItemInput;
  /** Whom the work is for: lanes share the capacity fairly, each lane's jobs in order. @default the shared lane '' */
  lane?: string;
  /** A consensus check (a chain, an outcome, a catch-up statement): served before broadcasts, within its share. @default false */
  consensus?: boolean;
  onResult(slots: Uint8Array): void;
  onError(e: unknown): void;
}

/** The limits a scheduler works within (the batching and pending options of the verify pool). */
export interface SchedulerSettings {
  /** Most signatures in one batch. */
  batchMax: number;
  /** How long a partial batch may wait for more jobs, in ms; 0 means the end of the current turn. */
  batchWaitMs: number;
  /** Most bytes in one batch buffer; a single larger job still goes, alone. */
  batchBytesMax: number;
  /** Most signatures queued or in flight; admit() refuses beyond it. */
  pendingChecksMax: number;
  /**
   * Most signatures of a partial batch verified on this thread (the executor's runHere) instead of as a
   * task, within inlineMsPerSecMax; 0 never.
   */
  inlineSignaturesMax: number;
  /** Most ms of each second this thread spends verifying small batches itself (its budget refills at this rate); 0 never. */
  inlineMsPerSecMax: number;
  /** Where the time of that budget comes from, in ms. @default performance.now */
  now?: () => number;
  /** Signatures a lane adds to a batch each time its turn comes round (deficit round robin's quantum). */
  laneQuantumSignatures: number;
  /** Most percent of the signatures taken while broadcasts wait that consensus checks take ahead of them (1..99). */
  consensusSharePercentMax: number;
  /** Signatures consensus checks may take ahead of waiting broadcasts before their share applies. */
  consensusBurstSignatures: number;
}

/** A pending flush; cancelling twice, or after it ran, is harmless. */
export interface FlushTimer {
  cancel(): void;
}

/**
 * How the scheduler waits before it flushes a partial batch: `ms` 0 is the end of the current turn. The system
 * one (setImmediate, setTimeout) unless the caller passes its own, as the simulator does with its virtual clock.
 */
export type FlushLater = (flush: () => void, ms: number) => FlushTimer;

/** The system's timers: setImmediate for the end of the turn, setTimeout otherwise. */
export const systemFlushLater: FlushLater = (flush, ms) => {
  if (ms === 0) {
    const t = setImmediate(flush);
    return { cancel: () => clearImmediate(t) };
  }
  const t = setTimeout(flush, ms);
  return { cancel: () => clearTimeout(t) };
};

/** Tasks in flight per thread: two, so a worker has its next batch while the last result travels back. */
export const inFlightPerThread = 2;

/** The error a job fails with when the executor fails: a StrongcastError ERR_POOL, keeping the cause. */
export function poolError(e: unknown): StrongcastError {
  if (e instanceof StrongcastError) return e;
  return new StrongcastError('ERR_POOL', `verification worker failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

