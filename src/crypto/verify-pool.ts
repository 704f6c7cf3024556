/**
 * The verification pool: Ed25519 checks run in Piscina worker threads, in batches packed into one
 * transferred ArrayBuffer (packing.ts), so the main thread only packs, posts and resolves.
 *
 * How checks are batched, kept within the in-flight and pending limits and failed on close is the batch
 * scheduler's job (batch-scheduler.ts).
 *
 * Chains (`checkChain`) are checked structurally on the main thread, then every signature not already known
 * valid (sig-cache.ts) and not already being verified for another call is sent; the worker re-applies the
 * structural rules to what it receives. The same core runs the main-thread verifier, with an in-process
 * executor instead of workers, so both give the same answers by construction.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { StrongcastError } from '../errors.ts';
import { siblingModuleUrl } from '../module-path.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../wire/schema.ts';
import type { ChainCheck, ChainCheckResult, ChainVerifier, SignatureCheck } from './verifier.ts';
import { preferredBackend, type Ed25519Backend } from './ed25519.ts';
import {
  WORKER_STRUCTURE_REJECTED,
  badSignature,
  checkBackendOption,
  checkConsensusOption,
  checkIntOption,
  prepareChain,
  type ConsensusConfig,
  type WorkerSetup,
} from './chain-check.ts';
import { BatchScheduler, inFlightPerThread, poolError, type BatchExecutor, type BatchJob } from './batch-scheduler.ts';
import { SigCache, signatureCacheKey } from './sig-cache.ts';

export type { BatchExecutor } from './batch-scheduler.ts';

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
} as const;

/** Defaults of VerifyPoolOptions. */
export const verifyPoolDefaults = {
  batchMax: 64,
  batchWaitMs: 0,
  batchBytesMax: 1024 * 1024,
  pendingChecksMax: 16384,
  sigCacheEntriesMax: 65536,
} as const;

/** Counters since creation; they feed the "verifications per node per block" benchmark. */
export interface VerifyPoolStats {
  /** verify() and checkChain() calls accepted. */
  calls: number;
  /** Signatures those calls asked about (chains: every signature of the chain). */
  signaturesRequested: number;
  /** Signatures actually verified by the executor (the workers, or the main thread for that verifier). */
  signaturesVerified: number;
  /** Chain signatures answered from the valid-signature cache, never sent. */
  cacheHits: number;
  /** Chain signatures that were already being verified for another call, and were waited for instead. */
  inFlightHits: number;
  /** Tasks (packed batches) run by the executor. */
  batches: number;
  /** Calls refused with ERR_POOL_FULL. */
  refusedFull: number;
  /** Signatures queued or in flight now. */
  pendingSignatures: number;
  /** Entries in the valid-signature cache now. */
  cacheEntries: number;
}

/** A ChainVerifier with counters. */
export interface VerifyPool extends ChainVerifier {
  /** A snapshot of the counters. */
  stats(): VerifyPoolStats;
}

/** Resolved options of the shared core. */
export interface CoreSettings {
  batchMax: number;
  batchWaitMs: number;
  batchBytesMax: number;
  pendingChecksMax: number;
  sigCacheEntriesMax: number;
  consensus: ConsensusConfig | null;
}

interface Deferred {
  promise: Promise<boolean>;
  resolve(v: boolean): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: (v: boolean) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<boolean>((res, rej) => ((resolve = res), (reject = rej)));
  // Nobody may be waiting; a rejection (pool closed) must not surface as an unhandled one.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** The verifier core shared by the pool and the main-thread verifier: cache, chains, counters, over a scheduler. */
export function createVerifierCore(executor: BatchExecutor, settings: CoreSettings): VerifyPool {
  const cache = new SigCache(settings.sigCacheEntriesMax);
  const inFlightKeys = new Map<string, Deferred>();
  const scheduler = new BatchScheduler(executor, settings);
  const counters = { calls: 0, signaturesRequested: 0, cacheHits: 0, inFlightHits: 0 };

  function admit(signatures: number): void {
    scheduler.admit(signatures);
    counters.calls++;
  }

  function verify(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    const out = new Array<boolean>(checks.length).fill(false);
    const wellFormed = checks.flatMap((c, i) =>
      c.publicKey.byteLength === PUBLIC_KEY_BYTES && c.signature.byteLength === SIGNATURE_BYTES ? [i] : [],
    );
    try {
      admit(wellFormed.length);
    } catch (e) {
      return Promise.reject(e);
    }
    counters.signaturesRequested += checks.length;
    if (wellFormed.length === 0) return Promise.resolve(out);
    const verifyNow = executor.verifyNow;
    if (verifyNow) {
      for (const i of wellFormed) out[i] = verifyNow(checks[i] as SignatureCheck);
      scheduler.countDirect(wellFormed.length);
      return Promise.resolve(out);
    }
    return new Promise((resolve, reject) => {
      let remaining = wellFormed.length;
      scheduler.enqueueAll(
        wellFormed.map((i): BatchJob => {
          const c = checks[i] as SignatureCheck;
          return {
            item: { kind: 'sig', publicKey: c.publicKey, message: c.message, signature: c.signature },
            onResult: (slots) => {
              out[i] = slots[0] === 1;
              if (--remaining === 0) resolve(out);
            },
            onError: reject,
          };
        }),
      );
    });
  }

  /** verify() of one check, answered on the spot; only for an executor that runs on this thread. */
  function verifyOneNow(run: (c: SignatureCheck) => boolean, c: SignatureCheck): boolean {
    const wellFormed = c.publicKey.byteLength === PUBLIC_KEY_BYTES && c.signature.byteLength === SIGNATURE_BYTES;
    admit(wellFormed ? 1 : 0);
    counters.signaturesRequested++;
    if (!wellFormed) return false;
    const ok = run(c);
    scheduler.countDirect(1);
    return ok;
  }

  async function checkChain(check: ChainCheck): Promise<ChainCheckResult> {
    const config = settings.consensus;
    if (config === null) throw new StrongcastError('ERR_INVALID_OPTION', 'checkChain needs options.consensus (the validator set)');
    if (scheduler.closed) throw new StrongcastError('ERR_POOL', 'the verification pool is closed');
    const prepared = prepareChain(config, check);
    if (!('signedBytes' in prepared)) return prepared;
    const { msg } = check;
    const sigAt = (i: number): Uint8Array => msg.sigs.subarray(i * SIGNATURE_BYTES, (i + 1) * SIGNATURE_BYTES);
    const keys = msg.signers.map((s, i) => signatureCacheKey(s, prepared.signedBytes, sigAt(i)));
    const waits = new Map<number, Promise<boolean>>();
    const send: number[] = [];
    let hits = 0;
    keys.forEach((key, i) => {
      if (cache.has(key)) hits++;
      else {
        const shared = inFlightKeys.get(key);
        if (shared) waits.set(i, shared.promise);
        else send.push(i);
      }
    });
    admit(send.length);
    counters.signaturesRequested += keys.length;
    counters.cacheHits += hits;
    counters.inFlightHits += waits.size;
    for (const i of send) inFlightKeys.set(keys[i] as string, deferred());
    const valid = new Map<number, boolean>();
    let structureOk = true;
    let failure: unknown;
    const settleKey = (key: string, outcome: boolean | { error: unknown }): void => {
      const d = inFlightKeys.get(key);
      inFlightKeys.delete(key);
      if (typeof outcome === 'boolean') {
        if (outcome) cache.add(key);
        d?.resolve(outcome);
      } else d?.reject(outcome.error);
    };
    const item = { kind: 'chain', miner: msg.block.miner, t0: msg.block.t0, blockHash: check.blockHash, round: check.round, mask: msg.mask, signers: msg.signers, sigs: msg.sigs } as const;
    const sent: Promise<void>[] = [];
    // A long chain is split so its signatures spread over the threads; each part carries the whole structure.
    for (let from = 0; from < send.length; from += settings.batchMax) {
      const positions = send.slice(from, from + settings.batchMax);
      sent.push(
        new Promise<void>((resolve) => {
          const onResult = (slots: Uint8Array): void => {
            if (slots[0] !== 1) {
              // The worker disagreeing with the main thread on the same rules is our bug: fail, never guess.
              structureOk = false;
              for (const p of positions) settleKey(keys[p] as string, { error: poolError('the worker rejected a chain the main thread accepted') });
            } else {
              positions.forEach((p, j) => {
                valid.set(p, slots[1 + j] === 1);
                settleKey(keys[p] as string, slots[1 + j] === 1);
              });
            }
            resolve();
          };
          const onError = (e: unknown): void => {
            failure ??= e;
            for (const p of positions) settleKey(keys[p] as string, { error: e });
            resolve();
          };
          scheduler.enqueue({ item: { ...item, positions }, onResult, onError });
        }),
      );
    }
    await Promise.all(sent);
    if (failure !== undefined) throw failure;
    if (!structureOk) return WORKER_STRUCTURE_REJECTED;
    for (const [i, p] of waits) valid.set(i, await p);
    for (let i = 0; i < keys.length; i++) {
      if (valid.get(i) === false) return badSignature(i, msg.signers[i] as number);
    }
    return { ok: true };
  }

  const run = executor.verifyNow?.bind(executor);
  return {
    verify,
    ...(run ? { verifyNow: (c: SignatureCheck) => verifyOneNow(run, c) } : {}),
    checkChain,
    rememberOwn: (signer, signedBytes, signature) => cache.add(signatureCacheKey(signer, signedBytes, signature)),
    close: () => scheduler.close(),
    stats: () => ({
      calls: counters.calls,
      signaturesRequested: counters.signaturesRequested,
      signaturesVerified: scheduler.signaturesVerified,
      cacheHits: counters.cacheHits,
      inFlightHits: counters.inFlightHits,
      batches: scheduler.batches,
      refusedFull: scheduler.refusedFull,
      pendingSignatures: scheduler.pendingSignatures,
      cacheEntries: cache.size,
    }),
  };
}

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
    close: () => (destroyed ??= piscina.destroy()),
  };
  return createVerifierCore(executor, settings);
}
