/**
 * A cluster of benchmark node processes (gossip-node.ts), one OS process per node, driven over IPC. Every
 * request has a timeout, and every child is killed when the cluster closes, when the parent exits for any
 * reason, or on SIGINT/SIGTERM, so a failed run never leaves processes behind.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isCompiled } from '../../src/module-path.ts';
import { ChildRpcGroup, type WithoutRid } from '../child-rpc.ts';
import type { NodeRequest } from './gossip-node.ts';
import { benchNodeFlags } from '../node-flags.ts';

/**
 * Nodes always run the compiled script of `npm run build` with plain Node (bench/gossip.ts builds first):
 * the tsx loader would add a module-loader thread (~30 MB) and a compile at start to every node process.
 */
const nodeScript = fileURLToPath(
  isCompiled(import.meta.url) ? new URL('./gossip-node.js', import.meta.url) : new URL('../../dist/bench/gossip/gossip-node.js', import.meta.url),
);
const repoRoot = fileURLToPath(new URL(isCompiled(import.meta.url) ? '../../..' : '../..', import.meta.url));

/** Default time a request may take before it fails, in ms. */
export const requestTimeoutMsDefault = 30_000;
/** Time children get to stop cleanly before they are killed, in ms. */
const stopTimeoutMs = 5_000;

/** Node flags of every node process: the CLI's, then STRONGCAST_BENCH_NODE_FLAGS (bench/node-flags.ts). */
const extraNodeFlags = benchNodeFlags();

/** A request without its id; the cluster numbers requests itself. */
export type Request = WithoutRid<NodeRequest>;

/** N node processes and a request/reply channel to each. */
export class Cluster {
  readonly #nodes: ChildRpcGroup<NodeRequest>;

  private constructor(n: number) {
    this.#nodes = new ChildRpcGroup<NodeRequest>(n, (i) => ({ name: `node ${i}`, argv: [...extraNodeFlags, nodeScript], cwd: repoRoot }));
  }

  /** Spawns `n` node processes (`node dist/bench/gossip/gossip-node.js`) with an IPC channel each. */
  static spawn(n: number): Cluster {
    if (!existsSync(nodeScript)) throw new Error(`${nodeScript} is missing: run npm run build first`);
    return new Cluster(n);
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** Sends one request to node `i` and resolves with its result. */
  request<T>(i: number, req: Request, timeoutMs = requestTimeoutMsDefault): Promise<T> {
    return this.#nodes.request<T>(i, req, timeoutMs);
  }

  /** Sends a request to every node (built per node by `make`) and resolves with every result, in order. */
  all<T>(make: (i: number) => Request, timeoutMs = requestTimeoutMsDefault): Promise<T[]> {
    return this.#nodes.all<T>(make, timeoutMs);
  }

  /**
   * Asks every node to stop (it stops its gossip node, answers, then exits), then kills whatever did not
   * exit in time. Safe to call twice.
   */
  close(): Promise<void> {
    return this.#nodes.close(stopTimeoutMs, { cmd: 'stop' });
  }
}
