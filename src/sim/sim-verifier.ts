/**
 * The verifier of a simulated host: the very core the worker pool and the main-thread verifier run
 * (crypto/verify-pool.ts createVerifierCore, crypto/chain-check.ts runBatch, real Ed25519), whose answers
 * reach the node a simulated verification time later, as the pool's do. The node therefore takes its
 * pool path (verify, then act when the promise resolves), the one the CLI runs. A result due while the host
 * is paused arrives when it resumes; one due after it died never arrives.
 */
import { runBatch, type ConsensusConfig } from '../crypto/chain-check.ts';
import { createVerifierCore, resolveCoreSettings, type VerifyPool } from '../crypto/verify-pool.ts';
import type { SimHost } from './sim-host.ts';

/** A verifier for `host` whose every batch takes `delayMs()` of simulated time. */
export function simVerifier(host: SimHost, consensus: ConsensusConfig | null, delayMs: () => number): VerifyPool {
  const settings = resolveCoreSettings({ ...(consensus ? { consensus } : {}) });
  const setup = { backend: settings.backend, consensus: settings.consensus };
  return createVerifierCore(
    {
      parallelism: 1,
      inline: true,
      run: (buffer) => {
        const results = runBatch(setup, buffer);
        return new Promise((resolve) => host.at(host.sched.now + delayMs(), () => resolve(results)));
      },
      close: () => Promise.resolve(),
    },
    { ...settings, pendingChecksMax: Number.MAX_SAFE_INTEGER },
  );
}
