/**
 * The verifier of a simulated host: the very core the worker pool and the main-thread verifier run
 * (crypto/verifier-core.ts createVerifierCore, crypto/chain-check.ts runBatch, real Ed25519), whose answers
 * reach the node a simulated verification time later, as the pool's do. The node therefore takes its
 * pool path (verify, then act when the promise resolves), the one the CLI runs whenever its pool queues a
 * check. (The pool also answers a lone broadcast check at once while nothing is queued, tryVerifyNow; this
 * verifier has no such path, so every check here takes its simulated time.) A result due while the host
 * is paused arrives when it resumes; one due after it died never arrives.
 */
import { runBatch, type ConsensusConfig } from '../crypto/chain-check.ts';
import { itemSignatures, unpackBatch } from '../crypto/packing.ts';
import { createVerifierCore, resolveCoreSettings, type VerifyPool } from '../crypto/verify-pool.ts';
import type { SimHost } from './sim-host.ts';

/**
 * A verifier for `host` whose every batch takes `delayMs()` of simulated time. `onVerified` hears, as each
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
        if (onVerified) onVerified(unpackBatch(buffer).items.reduce((t, item) => t + itemSignatures(item), 0));
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
  /** Virtual ms one signature takes on a thread. */
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
 * A verifier for `host` with the capacity of a real pool: `threads` threads, each running its batches one after
 * another at `signatureMs` a signature, behind the same batch scheduler a pool runs (jobs queue there while
 * the threads are busy, a partial batch waits for the end of the turn on the host's clock). So work offered
 * faster than the threads verify queues, as it does on a machine, and who waits behind whom is the
 * scheduler's order. Results reach the node through a port read as a MessagePort is (SimResultPort). With
 * `consensus` it checks chains too (a validator's verifier).
 */
export function simPoolVerifier(host: SimHost, capacity: SimPoolCapacity, consensus: ConsensusConfig | null = null): VerifyPool {
  const settings = resolveCoreSettings({ ...(consensus ? { consensus } : {}) });
  const setup = { backend: settings.backend, consensus: settings.consensus };
  const freeAtMs = new Array<number>(capacity.threads).fill(0);
  const clock = host.clock();
  const port = new SimResultPort(host);
  return createVerifierCore(
    {
      parallelism: capacity.threads,
      inline: false,
      run: (buffer) => {
        const results = runBatch(setup, buffer);
        const signatures = unpackBatch(buffer).items.reduce((t, item) => t + itemSignatures(item), 0);
        const thread = freeAtMs.indexOf(Math.min(...freeAtMs));
        // A thread starts a batch once it is posted (the node's clock: it may be busy) and it is free.
        const doneMs = Math.max(clock.now() - host.offsetMs, freeAtMs[thread]!) + signatures * capacity.signatureMs;
        freeAtMs[thread] = doneMs;
        return new Promise((resolve) => port.post({ doneMs, deliver: () => resolve(results) }));
      },
      close: () => Promise.resolve(),
    },
    { ...settings, pendingChecksMax: Number.MAX_SAFE_INTEGER },
    (flush, ms) => (ms === 0 ? clock.nextTurn(flush) : clock.setTimer(flush, ms)),
  );
}
