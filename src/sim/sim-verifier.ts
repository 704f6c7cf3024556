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
