/**
 * The public shapes of a validator (and observer): its options, events, the store it writes to, the view of a
 * block that events show, and the limits the validator files share.
 */
import { toHex } from '../bytes.ts';
import type { ErrorCode } from '../errors.ts';
import type { ConsensusNodePort } from './node-types.ts';
import type { ChainVerifier } from '../crypto/verifier.ts';
import type { Identity } from '../crypto/keys.ts';
import type { DolevStrong, DolevStrongOptions } from '../consensus/dolev-strong.ts';
import type { Clock } from '../io/clock.ts';
import type { Genesis } from '../consensus/genesis.ts';
import type { ChainBlock, InstanceId } from '../consensus/block.ts';
import type { ChainTip } from '../consensus/chain.ts';
import type { Logger } from '../log.ts';
import type { Divergence } from '../consensus/divergence.ts';
import type { DolevStrongStatus } from '../consensus/dolev-strong.ts';

/** A block as events and the `chain` command show it. */
export interface BlockView {
  hash: string;
  height: number;
  parent: string;
  miner: number;
  t0: number;
  ts: number;
  payload: string;
}

/** Typed events of a validator (the CLI prints them as `proposed`, `relayed`, `decided`, `rejected`). */
export interface ValidatorEvents {
  proposed: [{ instance: InstanceId; hash: string }];
  relayed: [{ instance: InstanceId; hash: string; round: number; signatures: number }];
  decided: [{ instance: InstanceId; block: BlockView | null }];
  /** A missed block learned from peers (f+1 validators vouched for it), durable on disk when emitted. */
  synced: [{ block: BlockView; vouchers: number }];
  /** The node was paused, stalled past stallMsMax, checked a chain out of synchrony or was cut off, and catches up again. */
  resync: [{ reason: string }];
  /**
   * The process did not run for lateMs (> stallMsMax): out of synchrony. catchingUp: it catches up again
   * (a `resync` follows); false when it has fewer than f+1 validator peers to catch up from.
   */
  stalled: [{ lateMs: number; stallMsMax: number; catchingUp: boolean }];
  /**
   * A chain was checked out of synchrony: its check was still running lateMs after the end of the round it
   * arrived in (`round`), and had run checkMs, more than stallMsMax (CPU overload: the verification backlog).
   * catchingUp: it catches up again (a `resync` follows unless it already does); false when it has fewer than
   * f+1 validator peers to catch up from. At most one per start round t0; status counts every such chain.
   */
  'late-chain': [{ instance: InstanceId; round: number; lateMs: number; checkMs: number; ended: boolean; stallMsMax: number; catchingUp: boolean }];
  /**
   * Honest chains have forked: f+1 other validators signed an outcome this validator's chain contradicts
   * (source `outcomes`), or f+1 validators' catch-up statements name another chain at a height this one holds
   * (source `catch-up`); `reason` says which, in words.
   */
  diverged: [Divergence];
  /**
   * The chain store failed an append (ERR_STORE; `reason` is the store's message): that block, at `height`
   * with start round `t0`, and every later one are decided in memory only and never reported, until the
   * process is restarted (core/disk-order.ts says why). Emitted once, before the block's `rejected`.
   */
  'store-failed': [{ code: 'ERR_STORE'; reason: string; height: number; t0: number }];
  /** Catch-up finished: the node decides and appends on its own from here on. */
  'caught-up': [{ height: number; tip: string }];
  rejected: [{ instance: InstanceId | null; code: ErrorCode; reason: string; from: string }];
}

/** Where a validator keeps its decided chain (store/data-dir.ts on disk; memory in the simulator). */
export interface ChainStore {
  /**
   * The blocks kept so far, oldest first (linked, checked), and `base`, the chain through the block before
   * the first of them (height 0, the genesis hash as hash and digest, when they start at block 1).
   */
  loadChain(): { blocks: ChainBlock[]; base: ChainTip };
  /** Resolves once `block` is durable: the validator reports it only then. */
  appendBlock(block: ChainBlock): Promise<void>;
  /**
   * The crash mark the process that last ran left (store/held-mark.ts): a start round at or below every
   * decision of it that a crash could have lost, held for catch-up or appended and not yet durable (null:
   * none, a clean stop with nothing held). A restarted validator states it until its catch-up ends
   * (consensus/catch-up.ts; core/disk-order.ts writes it ahead of the decisions it covers). A store opened for
   * a running validator that finds no mark makes one of 0 durable before the validator starts, and still
   * returns null here: the mark the validator writes first is not durable at once, and until it is, a crash
   * must leave a mark at or below anything the validator decided (store/held-mark.ts).
   */
  loadHeldFrom(): number | null;
  /** Makes `heldFrom` the stored mark; resolves once it is durable. */
  saveHeldFrom(heldFrom: number | null): Promise<void>;
}

/** What a validator needs. */
export interface ValidatorOptions {
  /** The node that carries its traffic (a StrongcastNode), and whose clock it keeps time by. */
  node: ConsensusNodePort;
  genesis: Genesis;
  /**
   * The validator's key, or null for an observer: a node that follows the genesis without a key of it. An
   * observer verifies consensus chains with the same rules, forwards them (so validators that reach each
   * other only through observers still agree), decides, keeps the decided chain and catches up, but never
   * signs, mines or vouches in catch-up.
   */
  identity: Identity | null;
  verifier: ChainVerifier;
  /** Reads the time in ms, for a validator whose clock should read differently (tests). @default node.clock.now */
  now?: () => number;
  log?: Logger;
  /** Where decided blocks are kept; a block is durable before it is reported decided. @default none (memory only) */
  store?: ChainStore;
  /** How often a catching-up node asks its peers for their chain, in ms. @default max(roundMs, 500) */
  syncIntervalMs?: number;
  /**
   * Largest difference between two honest validators' clocks, in ms: a chain that arrives up to this long
   * before its instance starts here is counted in round 1 (DolevStrongOptions.clockSkewMsMax).
   * @default Math.floor(roundMs / 4)
   */
  clockSkewMsMax?: number;
  /**
   * Longest stall of this process (its event loop not running) that it takes as within the timing rule, in
   * ms; a longer one makes it catch up again (`resync`) rather than decide on a view the others may not share.
   * @default stallDefaults.stallMsMax(roundMs), half the round
   */
  stallMsMax?: number;
  /**
   * FOR TESTS ONLY: negative controls of the state machine (DolevStrongOptions roundsOverride, sendEarlyOverride),
   * to show in the simulator that what they switch off is needed. Never set by the CLI.
   */
  consensusOverrides?: Pick<DolevStrongOptions, 'roundsOverride' | 'sendEarlyOverride'>;
}

/**
 * How long an outcome may take to reach a node over its signer's broadcast tree and still be taken, in ms:
 * a lost or withheld one comes by the tree's repair (an IHAVE flush, graftTimeoutMs, then retries to more
 * announcers, plumtree.ts), about 0.3 s with an honest announcer first and some retries more when peers
 * announce first and never serve. Rounds alone gave that too little time at short rounds: at Δ = 25 ms the
 * window closed about 0.4 s after an outcome was signed, and an observer whose honest peer held it as lazy
 * took it too late, and stopped for good (test/outcome-tree-attack-sim.test.ts).
 */
export const outcomeRepairMs = 5000;

/**
 * Start rounds behind the current one whose outcomes are still checked and carried: the k rounds an instance
 * runs, a margin for a slow path, and the rounds the tree's repair may take (outcomeRepairMs) at `roundMs`.
 */
export function outcomeWindowRounds(k: number, roundMs: number): number {
  return k + 16 + Math.ceil(outcomeRepairMs / roundMs);
}

/**
 * How long a validator's process may stall (its event loop not running: CPU starvation, a GC pause, SIGSTOP)
 * before it counts itself out of synchrony. The timing rule (consensus/timing.ts) gives an honest node's
 * sends until the end of the round it accepted a chain in; a stall of the process delays every send and
 * every read by its length, so a long one breaks the rule for this node alone, and it would decide on a view
 * the others do not share (its proposal refused everywhere as late, its own block decided by it alone).
 * Half the round by default: with the validators' defaults (P = Δ/4, σ up to Δ/4) the rule leaves delivery
 * less than Δ/2, so a stall longer than that breaks it whatever the network; a shorter one breaks it only on
 * a network slow enough to use the rest, and taking every such stall as a loss of synchrony made validators on
 * a busy machine catch up again and again (a quarter of a 1 s round, 250 ms, was exceeded several times in a
 * 30 s load run of 16 validators sharing 2 cores).
 */
export const stallDefaults = {
  stallMsMax: (roundMs: number): number => Math.max(1, Math.floor(roundMs / 2)),
  /** How often the stall probe's timer is due, in ms: a stall is seen at most this much shorter than it was. */
  probeMs: (stallMsMax: number): number => Math.max(5, Math.floor(stallMsMax / 4)),
} as const;

/** What the process's stall probe has seen (the `synchrony` part of a validator's status). */
export interface SynchronyStatus {
  stallMsMax: number;
  /** How often the probe's timer is due, in ms. */
  probeMs: number;
  /** The latest the probe's timer fired, in ms past due: since the start, and over the last 10 probes. */
  lagMsMax: number;
  lagMsRecentMax: number;
  /** Stalls longer than stallMsMax since the start (each made the validator catch up again). */
  stalls: number;
  /** Chains checked since the start, and those whose check ended after the round they arrived in. */
  chainsChecked: number;
  chainsCheckedLate: number;
  /** The least time left in its round when one of the last 64 chains was checked, in ms (null: none yet). */
  chainMarginMsRecentMin: number | null;
  /**
   * Chains checked out of synchrony since the start: their check ran past the end of their round and longer
   * than stallMsMax (each made the validator catch up again, or moved its catch-up on; `late-chain` events).
   */
  chainsOutOfSync: number;
}

/** A validator's status: the state machine's, how late its process ran, and forks it saw. */
export interface ValidatorStatus extends DolevStrongStatus {
  synchrony: SynchronyStatus;
  /** Divergences reported (`diverged` events) since the start, and the last one. */
  divergences: number;
  lastDivergence: Divergence | null;
  /**
   * The chain store's failure (`store-failed`), null while it works: the block whose append failed, and
   * the blocks not stored since, that one included (decided in memory, not reported).
   */
  storeFailure: { code: 'ERR_STORE'; reason: string; height: number; t0: number; blocksNotStored: number } | null;
}

/** Rounds `mine` tries before giving up (each miss means the timer fired past the start of round 1). */
export const mineAttemptsMax = 3;

export { chainReplyBytesMax } from '../consensus/catch-up.ts';

/** Shows a chain block with hex hashes and the payload as text. */
export function blockView(b: ChainBlock): BlockView {
  return {
    hash: toHex(b.hash),
    height: b.height,
    parent: toHex(b.parent),
    miner: b.miner,
    t0: b.t0,
    ts: b.ts,
    payload: new TextDecoder().decode(b.payload),
  };
}

/** What a validator's parts (catch-up, the outcome exchange) share of it. */
export interface ValidatorContext {
  readonly genesis: Genesis;
  readonly core: DolevStrong;
  readonly node: ConsensusNodePort;
  readonly verifier: ChainVerifier;
  readonly clock: Clock;
  /** The validator's index; null for an observer. */
  readonly index: number | null;
  /** The validator's key; null for an observer. */
  readonly identity: Identity | null;
  readonly syncIntervalMs: number;
  now(): number;
}
