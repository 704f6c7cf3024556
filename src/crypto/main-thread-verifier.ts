/**
 * The main-thread verifier: the same core as the pool (verifier-core.ts) and the very function a worker runs
 * (chain-check.ts runBatch), executed in-process as each call arrives. For tests, small tools and a node
 * without worker threads; it blocks the event loop for the length of each verification.
 */
import { StrongcastError } from '../errors.ts';
import { runBatch, verifySigItem, type WorkerSetup } from './chain-check.ts';
import type { BatchExecutor } from './batch-executor.ts';
import { createVerifierCore, type VerifyPool } from './verifier-core.ts';
import { resolveCoreSettings, type VerifyPoolOptions } from './verify-pool.ts';

/** Options of createMainThreadVerifier: the pool's, without threads or batching. */
export type MainThreadVerifierOptions = Pick<VerifyPoolOptions, 'backend' | 'sigCacheEntriesMax' | 'consensus'>;

/**
 * A verifier that checks signatures on the calling thread, with the pool's rules, cache and counters.
 * @throws StrongcastError ERR_INVALID_OPTION naming the first bad option.
 */
export function createMainThreadVerifier(options: MainThreadVerifierOptions = {}): VerifyPool {
  if (typeof options !== 'object' || options === null) throw new StrongcastError('ERR_INVALID_OPTION', 'options must be an object');
  const { backend, sigCacheEntriesMax, consensus } = options;
  const settings = resolveCoreSettings({ backend, sigCacheEntriesMax, consensus });
  // Nothing waits in a queue here, so the pending limit only has to admit the largest chain.
  return createVerifierCore(mainThreadExecutor({ backend: settings.backend, consensus: settings.consensus }), { ...settings, pendingChecksMax: Number.MAX_SAFE_INTEGER });
}

/**
 * The main-thread verifier's executor: the workers' own function, run in-process as each batch arrives, and
 * every single signature checked directly (verifyOne). Exported for the simulator, which runs this very
 * executor and charges its time to the simulated host (sim/sim-verifier.ts).
 */
export function mainThreadExecutor(setup: WorkerSetup): BatchExecutor {
  return {
    parallelism: 1,
    inline: true,
    run: (buffer) => {
      try {
        return Promise.resolve(runBatch(setup, buffer));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    close: () => Promise.resolve(),
    verifyOne: (c) => verifySigItem(setup, c),
  };
}
