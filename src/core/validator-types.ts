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
import type { Logger } from '../log.ts';

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
  /** The node was paused or cut off and catches up again. */
  resync: [{ reason: string }];
  /** Catch-up finished: the node decides and appends on its own from here on. */
  'caught-up': [{ height: number; tip: string }];
  rejected: [{ instance: InstanceId | null; code: ErrorCode; reason: string; from: string }];
}

/** Where a validator keeps its decided chain (store/data-dir.ts on disk; memory in the simulator). */
export interface ChainStore {
  /** The blocks kept so far, oldest first (linked, checked). */
  loadChain(): { blocks: ChainBlock[] };
  /** Resolves once `block` is durable: the validator reports it only then. */
  appendBlock(block: ChainBlock): Promise<void>;
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
   * FOR TESTS ONLY: negative controls of the state machine (DolevStrongOptions roundsOverride, sendEarlyOverride),
   * to show in the simulator that what they switch off is needed. Never set by the CLI.
   */
  consensusOverrides?: Pick<DolevStrongOptions, 'roundsOverride' | 'sendEarlyOverride'>;
}

/**
 * Start rounds behind the current one whose outcomes are still checked and carried: the k rounds an instance
 * runs, and a margin for a slow path.
 */
export function outcomeWindowRounds(k: number): number {
  return k + 16;
}

/** Rounds `mine` tries before giving up (each miss means the timer fired past the start of round 1). */
export const mineAttemptsMax = 3;

/** Bytes of block payload put in one catch-up reply, so it stays well inside one frame. */
export const chainReplyBytesMax = 512 * 1024;

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
