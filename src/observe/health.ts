/**
 * `/health`: whether the node is serving, for a load balancer or a supervisor. The verdict is a pure function
 * of facts and a time; `HealthTracker` gathers the facts from the node's and the validator's events.
 */
import type { StrongcastNode } from '../core/node.ts';
import type { Validator } from '../core/validator.ts';

/** Defaults of {@link HealthOptions}. */
export const healthDefaults = {
  /** A node with no peer for longer than this is not serving: it hears nothing and reaches nobody. */
  noPeersMsMax: 30_000,
} as const;

/** Options of the health check. */
export interface HealthOptions {
  /** @default 30000 (healthDefaults.noPeersMsMax) */
  noPeersMsMax?: number;
}

/** What the verdict is made of. */
export interface HealthFacts {
  listening: boolean;
  stopping: boolean;
  peers: number;
  /** Since when the node has had no peer (or since it started without one); null while it has peers. */
  noPeersSinceMs: number | null;
  /** Chain height (validators and observers); null for a plain node. */
  height: number | null;
  /** Catching up on missed blocks. */
  syncing: boolean;
  /** When the node last decided an instance (block or no block); null before the first. */
  lastDecidedAtMs: number | null;
  /**
   * `diverged` alarms since the process started (validators; 0 otherwise): f+1 validators hold another chain
   * at a height this one holds. The chain is not the network's, and stays so until the operator acts.
   */
  divergences: number;
  /**
   * The chain store failed an append (`store-failed`): decisions since are in memory only and not reported,
   * until the process is restarted (core/disk-order.ts).
   */
  storeFailed: boolean;
}

/** The answer of `/health`. */
export interface HealthReport {
  /** 200 when serving, 503 when not. */
  status: 200 | 503;
  body: {
    ok: boolean;
    /** Why it is not serving (empty when it is). */
    reasons: string[];
    listening: boolean;
    peers: number;
    height: number | null;
    syncing: boolean;
    /** ISO 8601, or null. */
    lastDecidedAt: string | null;
    /** `diverged` alarms since the process started. */
    divergences: number;
    /** The chain store failed (`store-failed`); true until the process is restarted. */
    storeFailed: boolean;
  };
}

/**
 * The verdict: serving unless stopping, not listening, without peers for longer than noPeersMsMax, catching up,
 * or on a chain that diverged from the one f+1 validators hold (from the first `diverged` alarm until the
 * process is restarted: the README's "Stalls and forks" says what the operator does), or with a chain store
 * that failed (until the process is restarted: no decision is reported meanwhile).
 */
export function healthVerdict(f: HealthFacts, nowMs: number, noPeersMsMax: number = healthDefaults.noPeersMsMax): HealthReport {
  const reasons: string[] = [];
  if (f.stopping) reasons.push('shutting down');
  else if (!f.listening) reasons.push('not listening');
  if (f.noPeersSinceMs !== null && nowMs - f.noPeersSinceMs > noPeersMsMax) reasons.push(`no peers for ${nowMs - f.noPeersSinceMs} ms (more than ${noPeersMsMax})`);
  if (f.syncing) reasons.push('catching up on missed blocks');
  if (f.divergences > 0) reasons.push(`this chain diverged from the one f+1 validators hold (${f.divergences} alarm${f.divergences === 1 ? '' : 's'}; see the README, "Stalls and forks")`);
  if (f.storeFailed) reasons.push('the chain store failed: decisions are kept in memory only and not reported (restart the node; see the README, "Durable state and catch-up")');
  const ok = reasons.length === 0;
  const lastDecidedAt = f.lastDecidedAtMs === null ? null : new Date(f.lastDecidedAtMs).toISOString();
  const body = { ok, reasons, listening: f.listening && !f.stopping, peers: f.peers, height: f.height, syncing: f.syncing, lastDecidedAt, divergences: f.divergences, storeFailed: f.storeFailed };
  return { status: ok ? 200 : 503, body };
}

/** Follows a node (and its validator) for the facts of the verdict. */
export class HealthTracker {
  #noPeersSinceMs: number | null;
  #lastDecidedAtMs: number | null = null;
  #listening = false;
  #stopping = false;

  readonly #onListening = () => void (this.#listening = true);
  readonly #onPeer = () => {
    if (this.node.peerIds().length > 0) this.#noPeersSinceMs = null;
    else this.#noPeersSinceMs ??= this.node.clock.now();
  };
  readonly #onDecided = () => void (this.#lastDecidedAtMs = this.node.clock.now());

  constructor(
    private readonly node: StrongcastNode,
    private readonly validator: Validator | null,
  ) {
    this.#noPeersSinceMs = node.peerIds().length === 0 ? node.clock.now() : null;
    node.on('listening', this.#onListening);
    node.on('peer', this.#onPeer);
    validator?.on('decided', this.#onDecided);
  }

  /** Stops following the node's events. */
  detach(): void {
    this.node.off('listening', this.#onListening);
    this.node.off('peer', this.#onPeer);
    this.validator?.off('decided', this.#onDecided);
  }

  /** The node listens (for a node started before the tracker, which missed its `listening` event). */
  markListening(): void {
    this.#listening = true;
  }

  /** The node is shutting down: from now on the verdict is 503. */
  markStopping(): void {
    this.#stopping = true;
  }

  /** The facts now. */
  facts(): HealthFacts {
    const v = this.validator;
    return {
      listening: this.#listening,
      stopping: this.#stopping,
      peers: this.node.peerIds().length,
      noPeersSinceMs: this.#noPeersSinceMs,
      height: v ? v.status().height : null,
      syncing: v ? v.catchingUp() : false,
      lastDecidedAtMs: this.#lastDecidedAtMs,
      divergences: v ? v.status().divergences : 0,
      storeFailed: v ? v.status().storeFailure !== null : false,
    };
  }
}
