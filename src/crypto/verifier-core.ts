/**
 * The verifier core shared by the worker pool (verify-pool.ts), the main-thread verifier and the simulator's
 * verifier: what a verify() or checkChain() call turns into, over a BatchScheduler (batch-scheduler.ts) that
 * gets the work to an executor. Because all three run this code, they give the same answers by construction.
 *
 * Chains are checked structurally on the main thread (chain-check.ts), then every signature not already
 * known valid (sig-cache.ts) and not already being verified for another call is sent, split into parts of at
 * most `batchMax` signatures so a long chain spreads over the threads; the worker re-applies the structural
 * rules to what it receives. A signature another call is already verifying is waited for, not sent twice:
 * under broadcast load every relay of a block carries the same earlier signatures.
 */
import { StrongcastError } from '../errors.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../wire/schema.ts';
import type { ChainCheck, ChainCheckResult, ChainVerifier, CheckClass, SignatureCheck } from './verifier.ts';
import { WORKER_STRUCTURE_REJECTED, badSignature, prepareChain, type ConsensusConfig } from './chain-check.ts';
import { sigItemBytes, type ChainItemInput } from './packing.ts';
import { BatchScheduler } from './batch-scheduler.ts';
import { poolError, type BatchExecutor, type BatchJob, type FlushLater, type SchedulerSettings } from './batch-executor.ts';
import { SigCache, signatureCacheKey } from './sig-cache.ts';

/** Counters since creation; they feed the "verifications per node per block" benchmark. */
export interface VerifyPoolStats {
  /** verify() and checkChain() calls accepted. */
  calls: number;
  /** Signatures those calls asked about (chains: every signature of the chain). */
  signaturesRequested: number;
  /** Signatures actually verified by the executor (the workers, or the main thread for that verifier). */
  signaturesVerified: number;
  /** Of those, a pool's signatures verified on the calling thread, in batches too small to be worth a task. */
  signaturesHere: number;
  /** Of signaturesVerified, those of consensus checks (chains, outcomes, catch-up statements), served first. */
  consensusSignatures: number;
  /** Broadcast signatures verified while consensus checks waited, having used their share (consensusSharePercentMax). */
  consensusHeldSignatures: number;
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
  /** Worker threads (absent for the main-thread verifier). */
  readonly threads?: number;
  /**
   * Milliseconds the worker threads have spent running since the pool started, summed over them (their
   * event-loop utilisation, read when asked: nothing is timed per batch). Absent for the main-thread verifier.
   */
  workerBusyMs?(): number;
}

/** Resolved options of the shared core. */
export interface CoreSettings extends SchedulerSettings {
  /** Most entries of the valid-signature cache (0 disables it). */
  sigCacheEntriesMax: number;
  /** The validator set checkChain checks against; null: checkChain rejects. */
  consensus: ConsensusConfig | null;
}

/** One checkChain call while its parts are out: the cache keys of its signatures and what came back. */
interface ChainInFlight {
  /** Cache key of each signature, by position in the chain. */
  keys: readonly string[];
  /** Verdicts by position, for the signatures sent or shared. */
  valid: Map<number, boolean>;
  /** False once a worker rejected the structure the main thread accepted. */
  structureOk: boolean;
  /** The first executor failure of any part. */
  failure: unknown;
}

/**
 * Chain signatures being verified now, by cache key, so a second call asking about one waits for the first
 * call's verdict instead of sending it again.
 */
class SignaturesInFlight {
  readonly #byKey = new Map<string, { promise: Promise<boolean>; resolve(valid: boolean): void; reject(e: unknown): void }>();

  /** The verdict of `key` if some call is verifying it now. */
  waitFor(key: string): Promise<boolean> | undefined {
    return this.#byKey.get(key)?.promise;
  }

  /** Marks `key` as being verified by the caller, which must settle() or fail() it. */
  claim(key: string): void {
    let resolve!: (valid: boolean) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<boolean>((res, rej) => ((resolve = res), (reject = rej)));
    // Nobody may be waiting; a rejection (pool closed) must not surface as an unhandled one.
    promise.catch(() => {});
    this.#byKey.set(key, { promise, resolve, reject });
  }

  /** Answers the calls waiting for `key`. */
  settle(key: string, valid: boolean): void {
    const waiting = this.#byKey.get(key);
    this.#byKey.delete(key);
    waiting?.resolve(valid);
  }

  /** Fails the calls waiting for `key` with the error that ended its verification. */
  fail(key: string, error: unknown): void {
    const waiting = this.#byKey.get(key);
    this.#byKey.delete(key);
    waiting?.reject(error);
  }
}

const isWellFormed = (c: SignatureCheck): boolean => c.publicKey.byteLength === PUBLIC_KEY_BYTES && c.signature.byteLength === SIGNATURE_BYTES;

/** The verifier core: verify() and checkChain() over a batch scheduler, with the cache and counters. */
export class VerifierCore implements VerifyPool {
  /**
   * Present only when the executor checks on this thread (see Verifier.verifyNow). An own, bound property,
   * because callers take it off the verifier and call it alone.
   */
  declare readonly verifyNow?: (check: SignatureCheck) => boolean;
  /**
   * Present only when the executor may check one signature on this thread while its queue allows (see
   * Verifier.tryVerifyNow); an own, bound property like verifyNow.
   */
  declare readonly tryVerifyNow?: (check: SignatureCheck, lane?: string) => boolean | undefined;
  readonly #scheduler: BatchScheduler;
  readonly #directCheck: ((check: SignatureCheck) => boolean) | undefined;
  readonly #consensus: ConsensusConfig | null;
  /** Most signatures of one chain part: batchMax, so one part fills at most one batch. */
  readonly #chainPartSignaturesMax: number;
  readonly #cache: SigCache;
  readonly #inFlight = new SignaturesInFlight();
  #calls = 0;
  #signaturesRequested = 0;
  #cacheHits = 0;
  #inFlightHits = 0;

  /** @param later how the scheduler waits to flush a partial batch (the system's timers unless given) */
  constructor(executor: BatchExecutor, settings: CoreSettings, later?: FlushLater) {
    this.#scheduler = new BatchScheduler(executor, settings, later);
    const one = executor.verifyOne?.bind(executor);
    this.#directCheck = executor.inline ? one : undefined;
    this.#consensus = settings.consensus;
    this.#chainPartSignaturesMax = settings.batchMax;
    this.#cache = new SigCache(settings.sigCacheEntriesMax);
    const direct = this.#directCheck;
    if (direct) this.verifyNow = (c) => this.#verifyOneNow(direct, c);
    if (one && !executor.inline && executor.runHere) this.tryVerifyNow = (c, lane) => this.#tryVerifyOneNow(one, c, lane ?? '');
  }

  /** Resolves to one boolean per check, in order; a malformed check is false and never sent. Lanes and classes: see Verifier.verify. */
  verify(checks: readonly SignatureCheck[], lane?: string, checkClass: CheckClass = 'broadcast'): Promise<boolean[]> {
    const consensus = checkClass === 'consensus';
    const out = new Array<boolean>(checks.length).fill(false);
    const wellFormed = checks.flatMap((c, i) => (isWellFormed(c) ? [i] : []));
    try {
      this.#admit(wellFormed.length);
    } catch (e) {
      return Promise.reject(e);
    }
    this.#signaturesRequested += checks.length;
    if (wellFormed.length === 0) return Promise.resolve(out);
    const direct = this.#directCheck;
    if (direct) {
      for (const i of wellFormed) out[i] = direct(checks[i] as SignatureCheck);
      this.#scheduler.countDirect(wellFormed.length, consensus);
      return Promise.resolve(out);
    }
    return new Promise((resolve, reject) => {
      let remaining = wellFormed.length;
      this.#scheduler.enqueueAll(
        wellFormed.map((i): BatchJob => {
          const c = checks[i] as SignatureCheck;
          return {
            item: { kind: 'sig', publicKey: c.publicKey, message: c.message, signature: c.signature },
            ...(lane === undefined ? {} : { lane }),
            consensus,
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

  /** See ChainVerifier.checkChain; each signature is verified at most once across concurrent calls. */
  async checkChain(check: ChainCheck): Promise<ChainCheckResult> {
    const config = this.#consensus;
    if (config === null) throw new StrongcastError('ERR_INVALID_OPTION', 'checkChain needs options.consensus (the validator set)');
    if (this.#scheduler.closed) throw new StrongcastError('ERR_POOL', 'the verification pool is closed');
    const prepared = prepareChain(config, check);
    if (!('signedBytes' in prepared)) return prepared;
    const { msg } = check;
    const keys = msg.signers.map((s, i) => signatureCacheKey(s, prepared.signedBytes, msg.sigs.subarray(i * SIGNATURE_BYTES, (i + 1) * SIGNATURE_BYTES)));
    const waits = new Map<number, Promise<boolean>>();
    const send: number[] = [];
    const hits = this.#sortByKnown(keys, waits, send);
    this.#admit(send.length);
    this.#signaturesRequested += keys.length;
    this.#cacheHits += hits;
    this.#inFlightHits += waits.size;
    for (const i of send) this.#inFlight.claim(keys[i] as string);
    const chain: ChainInFlight = { keys, valid: new Map(), structureOk: true, failure: undefined };
    await Promise.all(this.#sendParts(check, chain, send));
    if (chain.failure !== undefined) throw chain.failure;
    if (!chain.structureOk) return WORKER_STRUCTURE_REJECTED;
    for (const [i, p] of waits) chain.valid.set(i, await p);
    for (let i = 0; i < keys.length; i++) {
      if (chain.valid.get(i) === false) return badSignature(i, msg.signers[i] as number);
    }
    return { ok: true };
  }

  /** Records a signature this node made as valid (see ChainVerifier.rememberOwn). */
  rememberOwn(signer: number, signedBytes: Uint8Array, signature: Uint8Array): void {
    this.#cache.add(signatureCacheKey(signer, signedBytes, signature));
  }

  /** Fails what is queued with ERR_POOL and closes the executor; safe to call twice. */
  close(): Promise<void> {
    return this.#scheduler.close();
  }

  /** A snapshot of the counters. */
  stats(): VerifyPoolStats {
    const s = this.#scheduler;
    return {
      calls: this.#calls,
      signaturesRequested: this.#signaturesRequested,
      signaturesVerified: s.signaturesVerified,
      signaturesHere: s.signaturesHere,
      consensusSignatures: s.consensusSignatures,
      consensusHeldSignatures: s.consensusHeldSignatures,
      cacheHits: this.#cacheHits,
      inFlightHits: this.#inFlightHits,
      batches: s.batches,
      refusedFull: s.refusedFull,
      pendingSignatures: s.pendingSignatures,
      cacheEntries: this.#cache.size,
    };
  }

  /** Admits `signatures` into the scheduler and counts the call. @throws StrongcastError ERR_POOL, ERR_POOL_FULL */
  #admit(signatures: number): void {
    this.#scheduler.admit(signatures);
    this.#calls++;
  }

  /** verify() of one check, answered on the spot; only for an executor that runs on this thread. */
  #verifyOneNow(direct: (c: SignatureCheck) => boolean, c: SignatureCheck): boolean {
    const wellFormed = isWellFormed(c);
    this.#admit(wellFormed ? 1 : 0);
    this.#signaturesRequested++;
    if (!wellFormed) return false;
    const ok = direct(c);
    this.#scheduler.countDirect(1);
    return ok;
  }

  /**
   * verify() of one broadcast check of `lane`, answered on the spot when the scheduler lets it run here now
   * (BatchScheduler.runDirect); undefined, with nothing counted, when it has to be queued. A malformed check
   * is false, as in verify().
   */
  #tryVerifyOneNow(here: (c: SignatureCheck) => boolean, c: SignatureCheck, lane: string): boolean | undefined {
    if (!isWellFormed(c)) {
      this.#admit(0);
      this.#signaturesRequested++;
      return false;
    }
    // Refused as verify() would refuse it (closed, or full); admitted and counted only if it runs here.
    this.#scheduler.admit(1);
    const ok = this.#scheduler.runDirect(lane, sigItemBytes(c.message.byteLength), here, c);
    if (ok === undefined) return undefined;
    this.#calls++;
    this.#signaturesRequested++;
    return ok;
  }

  /**
   * Sorts a chain's signatures: known valid (counted, returned), being verified for another call (into
   * `waits`), or to be sent (into `send`). A cache hit also refreshes the entry.
   */
  #sortByKnown(keys: readonly string[], waits: Map<number, Promise<boolean>>, send: number[]): number {
    let hits = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (this.#cache.has(key)) hits++;
      else {
        const shared = this.#inFlight.waitFor(key);
        if (shared) waits.set(i, shared);
        else send.push(i);
      }
    }
    return hits;
  }

  /** Queues the `send` positions in parts of at most batchMax; each part carries the whole structure. */
  #sendParts(check: ChainCheck, chain: ChainInFlight, send: readonly number[]): Promise<void>[] {
    const { msg } = check;
    const item = { kind: 'chain', miner: msg.block.miner, t0: msg.block.t0, blockHash: check.blockHash, round: check.round, mask: msg.mask, signers: msg.signers, sigs: msg.sigs } as const;
    const sent: Promise<void>[] = [];
    for (let from = 0; from < send.length; from += this.#chainPartSignaturesMax) {
      const positions = send.slice(from, from + this.#chainPartSignaturesMax);
      sent.push(this.#sendPart(chain, { ...item, positions }, check.lane));
    }
    return sent;
  }

  /** Queues one part, a consensus check in `lane`; resolves (never rejects) once its verdicts or its failure are recorded in `chain`. */
  #sendPart(chain: ChainInFlight, item: ChainItemInput, lane: string | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#scheduler.enqueue({
        item,
        ...(lane === undefined ? {} : { lane }),
        consensus: true,
        onResult: (slots) => {
          this.#partVerified(chain, item.positions, slots);
          resolve();
        },
        onError: (e) => {
          chain.failure ??= e;
          for (const p of item.positions) this.#inFlight.fail(chain.keys[p] as string, e);
          resolve();
        },
      });
    });
  }

  /** Records a part's verdicts, caches the valid signatures and answers the calls sharing them. */
  #partVerified(chain: ChainInFlight, positions: readonly number[], slots: Uint8Array): void {
    if (slots[0] !== 1) {
      // The worker disagreeing with the main thread on the same rules is our bug: fail, never guess.
      chain.structureOk = false;
      const error = poolError('the worker rejected a chain the main thread accepted');
      for (const p of positions) this.#inFlight.fail(chain.keys[p] as string, error);
      return;
    }
    positions.forEach((p, j) => {
      const valid = slots[1 + j] === 1;
      const key = chain.keys[p] as string;
      chain.valid.set(p, valid);
      if (valid) this.#cache.add(key);
      this.#inFlight.settle(key, valid);
    });
  }
}

/** The verifier core over `executor`: queue, batching, cache, counters (see VerifierCore); `later` as in FlushLater. */
export function createVerifierCore(executor: BatchExecutor, settings: CoreSettings, later?: FlushLater): VerifyPool {
  return new VerifierCore(executor, settings, later);
}
