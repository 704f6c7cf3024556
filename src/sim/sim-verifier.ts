/**
 * The simulator's verifiers, each the very core the shipped verifiers run (crypto/verifier-core.ts
 * createVerifierCore, real Ed25519) over an executor that takes simulated time:
 *  - 'main-thread': the main-thread verifier's own executor (crypto/main-thread-verifier.ts). Every check runs
 *    on the host's thread as it is asked, and a broadcast is settled on the spot (Verifier.verifyNow).
 *  - 'pool': threads of a set capacity behind the pool's batch scheduler, with the pool's own functions for
 *    its thread (crypto/verify-pool.ts checksHere): a lone broadcast check is verified on the spot when
 *    nothing is queued before it and the inline budget allows (Verifier.tryVerifyNow), a small partial batch
 *    at the end of the turn, and the rest on the threads (simPoolVerifier).
 *  - 'queued': no shipped kind, a model of one: every batch answers a drawn time later, as the pool's do when
 *    its queue holds them (simVerifier), so a test can give checks a latency of its choosing.
 * Work on the host's thread is charged to the host (SimHost.spend) at the capacity's time a signature, so a
 * node that verifies there is busy for that time, as on a machine, and the pool's inline budget runs on the
 * host's clock. A result due while the host is paused arrives when it resumes; one due after it died never
 * arrives.
 */
import { runBatch, type ConsensusConfig } from '../crypto/chain-check.ts';
import type { BatchExecutor } from '../crypto/batch-executor.ts';
import { mainThreadExecutor } from '../crypto/main-thread-verifier.ts';
import { itemSignatures, unpackBatch } from '../crypto/packing.ts';
import { checksHere, createVerifierCore, resolveCoreSettings, type VerifyPool } from '../crypto/verify-pool.ts';
import type { SimHost } from './sim-host.ts';

/** The kinds of simulated verifier (see the file comment); the first two are the shipped ones. */
export const simVerifierKinds = ['main-thread', 'pool', 'queued'] as const;
export type SimVerifierKind = (typeof simVerifierKinds)[number];

/** Signatures in a packed batch. */
const batchSignatures = (buffer: ArrayBuffer): number => unpackBatch(buffer).items.reduce((t, item) => t + itemSignatures(item), 0);

/**
 * `executor` with the time of the work it does on the calling thread (an inline run, runHere, verifyOne)
 * charged to `host` at `signatureMs` a signature: the host's thread is busy for it, its clock moves on.
 */
function chargedToHost(host: SimHost, executor: BatchExecutor, signatureMs: number): BatchExecutor {
  const { run, runHere, verifyOne } = executor;
  return {
    ...executor,
    run: executor.inline
      ? (buffer) => {
          host.spend(batchSignatures(buffer) * signatureMs);
          return run(buffer);
        }
      : run,
    ...(runHere
      ? {
          runHere: (buffer: ArrayBuffer) => {
            host.spend(batchSignatures(buffer) * signatureMs);
            return runHere(buffer);
          },
        }
      : {}),
    ...(verifyOne
      ? {
          verifyOne: (check) => {
            host.spend(signatureMs);
            return verifyOne(check);
          },
        }
      : {}),
  };
}

/**
 * The main-thread verifier on `host`: its executor, every signature costing the host's thread `signatureMs`
 * of virtual time. With `consensus` it checks chains too (a validator's verifier).
 */
export function simMainThreadVerifier(host: SimHost, signatureMs: number, consensus: ConsensusConfig | null = null): VerifyPool {
  const settings = resolveCoreSettings({ ...(consensus ? { consensus } : {}) });
  const executor = chargedToHost(host, mainThreadExecutor({ backend: settings.backend, consensus: settings.consensus }), signatureMs);
  // As createMainThreadVerifier: nothing waits in a queue, so the pending limit only has to admit the largest chain.
  return createVerifierCore(executor, { ...settings, pendingChecksMax: Number.MAX_SAFE_INTEGER });
}

/** What a simulated verifier of any kind is built from (simVerifierOf). */
export interface SimVerifierSpec {
  kind: SimVerifierKind;
  /** The validator set for checkChain. @default none: checkChain rejects */
  consensus?: ConsensusConfig | null;
  /** 'queued': the virtual ms each batch takes. */
  batchMs: () => number;
  /** 'main-thread' and 'pool': the virtual ms one signature takes, on the host's thread or a pool thread. */
  signatureMs: number;
  /** 'pool': its threads. @default 2 */
  threads?: number;
}

/** A simulated verifier of `spec.kind` for `host` (see the file comment). */
export function simVerifierOf(host: SimHost, spec: SimVerifierSpec): VerifyPool {
  const consensus = spec.consensus ?? null;
  switch (spec.kind) {
    case 'main-thread':
      return simMainThreadVerifier(host, spec.signatureMs, consensus);
    case 'pool':
      return simPoolVerifier(host, { threads: spec.threads ?? 2, signatureMs: spec.signatureMs }, consensus);
    case 'queued':
      return simVerifier(host, consensus, spec.batchMs);
  }
}

/**
 * The 'queued' kind: a verifier for `host` whose every batch takes `delayMs()` of simulated time, so the
 * node always takes the pool's queued path (verify, then act when the promise resolves) and never verifies
 * on the spot. `onVerified` hears, as each
 * batch runs (synchronously inside the verify or checkChain call that sent it), how many signatures it
 * verified: what a measurement attributes to that call.
 */
export function simVerifier(host: SimHost, consensus: ConsensusConfig | null, delayMs: () => number, onVerified?: (signatures: number) => void): VerifyPool {
  const settings = resolveCoreSettings({ ...(consensus ? { consensus } : {}) });
  const setup = { backend: settings.backend, consensus: settings.consensus };
  return createVerifierCore(
    {
      parallelism: 1,
      inline: true,
      run: (buffer) => {
        const results = runBatch(setup, buffer);
        if (onVerified) onVerified(batchSignatures(buffer));
        return new Promise((resolve) => host.at(host.sched.now + delayMs(), () => resolve(results)));
      },
      close: () => Promise.resolve(),
    },
    { ...settings, pendingChecksMax: Number.MAX_SAFE_INTEGER },
  );
}

/** The capacity of a simulated verification pool. */
export interface SimPoolCapacity {
  /** Threads, each verifying one batch at a time. */
  threads: number;
  /** Virtual ms one signature takes on a thread, and on the host's thread when the pool verifies it there. */
  signatureMs: number;
}

/** A batch a simulated thread has verified, or will have by `doneMs`. */
interface SimResult {
  doneMs: number;
  deliver(): void;
}

/**
 * The threads' results on their way to the node, read as a Node MessagePort is: once one is ready, the port is
 * read again and again, each result handled (with the promise work it sets off) before the next, for as long
 * as a result is ready, before anything else that reached the process meanwhile. So results that keep
 * coming while the node is busy with the earlier ones (it spends time on them, SimHost.spend) hold off its
 * reads and timers, as they do on a machine.
 */
class SimResultPort {
  readonly #ready: SimResult[] = [];
  /** When the port is next read (a result is due then); null when none is due or a read goes on. */
  #readAtMs: number | null = null;
  /** The port is read again once the node has handled the last result. */
  #readingOn = false;

  constructor(private readonly host: SimHost) {}

  /** A result due at `doneMs`. */
  post(r: SimResult): void {
    const i = this.#ready.findIndex((q) => q.doneMs > r.doneMs);
    this.#ready.splice(i < 0 ? this.#ready.length : i, 0, r);
    if (!this.#readingOn) this.#readAt(this.#ready[0]!.doneMs);
  }

  #readAt(ms: number): void {
    if (this.#readAtMs !== null && this.#readAtMs <= ms) return;
    this.#readAtMs = ms;
    this.host.at(ms, () => {
      if (this.#readAtMs !== ms) return; // an earlier read took over
      this.#readAtMs = null;
      this.#read();
    });
  }

  /** Hands the node the first result if it is ready, and reads again as soon as the node has handled it, before anything else. */
  #read(): void {
    const next = this.#ready[0];
    if (next === undefined) return;
    if (next.doneMs > this.host.sched.now) return this.#readAt(next.doneMs);
    this.#ready.shift();
    this.#readingOn = true;
    this.host.continueWith(() => {
      this.#readingOn = false;
      this.#read();
    });
    next.deliver();
  }
}

/**
 * The 'pool' kind: a verifier for `host` with the capacity of a real pool: `threads` threads, each running its
 * batches one after another at `signatureMs` a signature, behind the same batch scheduler a pool runs (jobs
 * queue there while the threads are busy, a partial batch waits for the end of the turn on the host's
 * clock). So work offered faster than the threads verify queues, as it does on a machine, and who waits
 * behind whom is the scheduler's order. Results reach the node through a port read as a MessagePort is
 * (SimResultPort). As the shipped pool, it verifies on the host's thread what the scheduler's rules send
 * there (a lone broadcast check on the spot, small partial batches), charged to the host, within an inline
 * budget kept on the host's clock. With `consensus` it checks chains too (a validator's verifier).
 */
export function simPoolVerifier(host: SimHost, capacity: SimPoolCapacity, consensus: ConsensusConfig | null = null): VerifyPool {
  const settings = resolveCoreSettings({ ...(consensus ? { consensus } : {}) });
  const setup = { backend: settings.backend, consensus: settings.consensus };
  const freeAtMs = new Array<number>(capacity.threads).fill(0);
  const clock = host.clock();
  const port = new SimResultPort(host);
  const executor: BatchExecutor = {
    parallelism: capacity.threads,
    inline: false,
    run: (buffer) => {
      const results = runBatch(setup, buffer);
      const signatures = batchSignatures(buffer);
      const thread = freeAtMs.indexOf(Math.min(...freeAtMs));
      // A thread starts a batch once it is posted (the node's clock: it may be busy) and it is free.
      const doneMs = Math.max(clock.now() - host.offsetMs, freeAtMs[thread]!) + signatures * capacity.signatureMs;
      freeAtMs[thread] = doneMs;
      return new Promise((resolve) => port.post({ doneMs, deliver: () => resolve(results) }));
    },
    close: () => Promise.resolve(),
    ...checksHere(setup),
  };
  return createVerifierCore(
    chargedToHost(host, executor, capacity.signatureMs),
    // The inline budget on the host's clock, which the time charged to the host moves on.
    { ...settings, pendingChecksMax: Number.MAX_SAFE_INTEGER, now: () => clock.now() },
    (flush, ms) => (ms === 0 ? clock.nextTurn(flush) : clock.setTimer(flush, ms)),
  );
}
