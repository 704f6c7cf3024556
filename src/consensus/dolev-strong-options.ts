/**
 * The public shapes of the Dolev-Strong core (options, actions, status) and the one-time validation of its
 * options, kept apart from the state machine so dolev-strong.ts holds only protocol rules.
 */
import { StrongcastError, type ErrorCode } from '../errors.ts';
import type { ConsensusMessage } from '../wire/schema.ts';
import type { ChainBlock, InstanceId } from './block.ts';
import type { ChainTip } from './chain.ts';
import { roundsPerInstance, type Genesis } from './genesis.ts';

/** Options of a DolevStrong state machine. */
export interface DolevStrongOptions {
  genesis: Genesis;
  /** This node's validator index, or null for an observer, which decides and forwards but never signs. */
  selfIndex: number | null;
  /** Ed25519 signature of `bytes` with this validator's key; required when selfIndex is set. */
  sign?: (bytes: Uint8Array) => Uint8Array;
  /**
   * Instances open at once (pool, watched, or waiting for their decision). An instance is open only during its
   * k rounds and a miner has one per t0, so n·k are ever needed; the extra n lets every miner of the next round
   * be watched in advance. @default n * (k + 1)
   */
  instancesOpenMax?: number;
  /**
   * Latest a proposal may start after T0, in ms. The proposal must reach every node before round 1 ends, so
   * it goes out early in the round; a timer that fired late skips a round rather than risk that only the
   * miner accepts its own block. @default Math.floor(roundMs / 4)
   */
  proposeLateMsMax?: number;
  /**
   * Largest difference between two honest validators' clocks, in ms. An honest node sends nothing of
   * instance t0 before T0 by its own clock, so by another honest node's clock it arrives no earlier than
   * T0 - clockSkewMsMax: a chain that early is kept and counted in round 1 (its relay waits for T0 here,
   * which keeps that bound true for the next hop); one from further ahead is refused (ERR_TOO_EARLY).
   * It is one term of the timing rule (docs/PROTOCOL.md "Timing"): Δ > proposeLateMsMax + clockSkewMsMax + the
   * delivery bound. @default Math.floor(roundMs / 4)
   */
  clockSkewMsMax?: number;
  /** Decided blocks kept in memory by `chain()`. @default 10000 */
  chainBlocksKeptMax?: number;
  /** Where the chain continues from. @default the genesis */
  tip?: ChainTip;
  /**
   * FOR TESTS ONLY: rounds per instance instead of f + 1. Any value below f + 1 breaks agreement; it exists
   * so a test can show that the f + 1 rounds are needed. @default f + 1
   */
  roundsOverride?: number;
  /**
   * FOR TESTS ONLY: send what an early chain causes at once instead of holding it until T0. It lets a
   * Byzantine miner's early proposal be relayed into honest receivers' "too early" range, and exists so a
   * test can show that the hold is needed. @default false
   */
  sendEarlyOverride?: boolean;
}

/** An action for the shell to carry out, in the order returned. */
export type ConsensusAction =
  /** This node's own proposal or signed relay: broadcast it through gossip. */
  | { type: 'send'; msg: ConsensusMessage }
  /** Someone else's verified chain, to flood on unchanged. */
  | { type: 'forward'; msg: ConsensusMessage }
  /** Observers: a block seen for the first time in a verified chain (its content is authentic). */
  | { type: 'seen'; block: ConsensusMessage['block']; blockHash: Uint8Array }
  | { type: 'proposed'; instance: InstanceId; blockHash: Uint8Array }
  | { type: 'relayed'; instance: InstanceId; blockHash: Uint8Array; round: number; signatures: number }
  /** The instance's outcome after round k: the appended block, or null for "no block". */
  | { type: 'decided'; instance: InstanceId; block: ChainBlock | null }
  | { type: 'rejected'; instance: InstanceId | null; code: ErrorCode; reason: string };

/** Where an arriving chain stands by this node's clock: the round to check it for, or why it is refused. */
export type ChainTiming = { round: number } | { code: 'ERR_TOO_EARLY' | 'ERR_INSTANCE_OVER'; reason: string };

/** What `status` reports about one open instance. */
export interface InstanceStatus {
  miner: number;
  t0: number;
  round: number;
  poolSize: number;
  /** Hex hashes of the pool's blocks. */
  blocks: string[];
}

/** A snapshot for logs and the status command. */
export interface DolevStrongStatus {
  /** Global round index t = floor((now - startMs) / Δ). */
  round: number;
  /** Rounds per instance. */
  k: number;
  height: number;
  instances: InstanceStatus[];
}

/** DolevStrongOptions with every default filled in and every field checked. */
export interface ResolvedDolevStrongOptions {
  genesis: Genesis;
  n: number;
  k: number;
  selfIndex: number | null;
  sign: ((bytes: Uint8Array) => Uint8Array) | null;
  instancesOpenMax: number;
  proposeLateMsMax: number;
  clockSkewMsMax: number;
  sendEarly: boolean;
  chainBlocksKeptMax: number | undefined;
  tip: ChainTip | undefined;
}

function invalid(field: string, what: string): never {
  throw new StrongcastError('ERR_INVALID_OPTION', `options.${field} ${what}`);
}

/** `v` when it is an integer in min..max. @throws ERR_INVALID_OPTION naming options.<field> */
export function intOption(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) invalid(field, `must be an integer in ${min}..${max}`);
  return v;
}

/**
 * Fills the defaults of DolevStrongOptions and checks every field once.
 * @throws StrongcastError ERR_INVALID_OPTION naming the first bad field.
 */
export function resolveDolevStrongOptions(opts: DolevStrongOptions): ResolvedDolevStrongOptions {
  const g = opts.genesis;
  if (typeof g !== 'object' || g === null || !Array.isArray(g.validators) || g.validators.length === 0) {
    invalid('genesis', 'must be a parsed genesis');
  }
  const n = g.validators.length;
  const k = opts.roundsOverride === undefined ? roundsPerInstance(g) : intOption(opts.roundsOverride, 'roundsOverride', 1, n);
  const selfIndex = opts.selfIndex === null ? null : intOption(opts.selfIndex, 'selfIndex', 0, n - 1);
  if (selfIndex !== null && typeof opts.sign !== 'function') invalid('sign', 'must be a function when options.selfIndex is set');
  return {
    genesis: g,
    n,
    k,
    selfIndex,
    sign: selfIndex === null ? null : (opts.sign ?? null),
    instancesOpenMax: intOption(opts.instancesOpenMax ?? n * (k + 1), 'instancesOpenMax', 1, Number.MAX_SAFE_INTEGER),
    proposeLateMsMax: intOption(opts.proposeLateMsMax ?? Math.floor(g.roundMs / 4), 'proposeLateMsMax', 0, g.roundMs - 1),
    clockSkewMsMax: intOption(opts.clockSkewMsMax ?? Math.floor(g.roundMs / 4), 'clockSkewMsMax', 0, g.roundMs - 1),
    sendEarly: opts.sendEarlyOverride === true,
    chainBlocksKeptMax: opts.chainBlocksKeptMax === undefined ? undefined : intOption(opts.chainBlocksKeptMax, 'chainBlocksKeptMax', 1, Number.MAX_SAFE_INTEGER),
    tip: opts.tip,
  };
}
