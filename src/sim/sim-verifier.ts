/**
 * The verifier of a simulated host: the very core the worker pool and the main-thread verifier run
 * (crypto/verifier-core.ts createVerifierCore, crypto/chain-check.ts runBatch, real Ed25519), whose answers
 * reach the node a simulated verification time later, as the pool's do. The node therefore takes its
 * pool path (verify, then act when the promise resolves), the one the CLI runs. A result due while the host
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

/**
 * A verifier for `host` with the capacity of a real pool: `threads` threads, each running its batches one after
 * another at `signatureMs` a signature, behind the same batch scheduler a pool runs (jobs queue there while
 * the threads are busy, a partial batch waits for the end of the turn on the host's clock). So work offered
 * faster than the threads verify queues, as it does on a machine, and who waits behind whom is the
 * scheduler's order. With `consensus` it checks chains too (a validator's verifier).
 */
export function simPoolVerifier(host: SimHost, capacity: SimPoolCapacity, consensus: ConsensusConfig | null = null): VerifyPool {
  const settings = resolveCoreSettings({ ...(consensus ? { consensus } : {}) });
  const setup = { backend: settings.backend, consensus: settings.consensus };
  const freeAtMs = new Array<number>(capacity.threads).fill(0);
  const clock = host.clock();
  return createVerifierCore(
    {
      parallelism: capacity.threads,
      inline: false,
      run: (buffer) => {
        const results = runBatch(setup, buffer);
        const signatures = unpackBatch(buffer).items.reduce((t, item) => t + itemSignatures(item), 0);
        const thread = freeAtMs.indexOf(Math.min(...freeAtMs));
        const doneMs = Math.max(host.sched.now, freeAtMs[thread]!) + signatures * capacity.signatureMs;
        freeAtMs[thread] = doneMs;
        return new Promise((resolve) => host.at(doneMs, () => resolve(results)));
      },
      close: () => Promise.resolve(),
    },
    { ...settings, pendingChecksMax: Number.MAX_SAFE_INTEGER },
    (flush, ms) => (ms === 0 ? clock.nextTurn(flush) : clock.setTimer(flush, ms)),
  );
}
