/**
 * How a validator judges a consensus chain the node hands it, in the order docs/PROTOCOL.md ("Validation
 * order") gives: the round it arrived in by this node's clock (DolevStrong.chainTiming), then its signatures
 * (the verifier, in the sender's lane of the consensus class), then the state machine. The verdict tells the
 * node whether to carry the chain on and whether its sender is at fault. Around the check it tells the outage
 * watch, since a check that runs past its round leaves this node out of synchrony (late-checks.ts), and it
 * records how much of the round was left when the check ended (chain-margins.ts).
 */
import type { ErrorCode } from '../errors.ts';
import type { ChainVerifier } from '../crypto/verifier.ts';
import type { ConsensusAction, DolevStrong } from '../consensus/dolev-strong.ts';
import type { Genesis } from '../consensus/genesis.ts';
import type { ConsensusMessage } from '../wire/schema.ts';
import type { ChainVerdict } from './node-types.ts';
import type { OutageWatch } from './outage-watch.ts';
import type { ValidatorEvents } from './validator-types.ts';
import { ChainMargins } from './chain-margins.ts';

/** What the judge needs of its validator. */
export interface ChainJudgeHost {
  readonly genesis: Genesis;
  readonly core: Pick<DolevStrong, 'chainTiming' | 'onVerifiedChain'>;
  readonly verifier: ChainVerifier;
  now(): number;
  /** Catches up again if the node was out since the last call (Validator.checkOutage). */
  checkOutage(): void;
  /** Carries out the state machine's actions; a forward of `judged` is left to the verdict. */
  apply(actions: ConsensusAction[], from: string, judged?: ConsensusMessage): void;
  emit(event: 'rejected', ...args: ValidatorEvents['rejected']): boolean;
}

/** The part of the outage watch that follows chain checks in progress. */
export type ChainCheckWatch = Pick<OutageWatch, 'checkBegan' | 'checkEnded'>;

/** The answer to a chain or outcome that comes after stop: taken as valid (it may well be), and not forwarded. */
export const stoppedVerdict: ChainVerdict = { valid: true, forward: false };

/** One validator's judge of the chains it receives, and the margins its checks left. */
export class ChainJudge {
  readonly #margins = new ChainMargins();

  /** @param stopped whether the validator has stopped for good: the state machine then takes nothing more */
  constructor(
    private readonly host: ChainJudgeHost,
    private readonly outage: ChainCheckWatch,
    private readonly stopped: () => boolean,
  ) {}

  /** The node hands us a chain: check round, then the pool, then the core (docs/PROTOCOL.md "Validation order"). */
  async judge(msg: ConsensusMessage, hash: Uint8Array, from: string): Promise<ChainVerdict> {
    const h = this.host;
    h.checkOutage();
    const timing = h.core.chainTiming(msg.block.t0, h.now());
    if ('code' in timing) return this.#refuse(msg, from, timing.code, timing.reason);
    const deadlineMs = h.genesis.startMs + (msg.block.t0 + timing.round) * h.genesis.roundMs;
    const running = this.outage.checkBegan({ miner: msg.block.miner, t0: msg.block.t0 }, timing.round, deadlineMs);
    let check;
    try {
      // In the sender's lane of the consensus class: ahead of broadcasts, and one peer's flood of chains
      // does not queue the others' behind it.
      check = await h.verifier.checkChain({ msg, blockHash: hash, round: timing.round, lane: from });
    } finally {
      this.outage.checkEnded(running);
    }
    // Stopped while the chain was checked: its last mark is written, so the state machine takes nothing more.
    if (this.stopped()) return stoppedVerdict;
    // Before the core sees this chain, or anything else: a check that ran out of synchrony puts this node in catch-up.
    h.checkOutage();
    if (!check.ok) return this.#refuse(msg, from, check.code, check.reason);
    this.#margins.record(deadlineMs - h.now());
    const actions = h.core.onVerifiedChain(msg, h.now(), hash);
    // The node floods this chain on when we answer forward: true; other forwards are held ones now due.
    const forward = actions.some((a) => a.type === 'forward' && a.msg === msg);
    h.apply(actions, from, msg);
    const rejected = actions.find((a) => a.type === 'rejected');
    if (rejected && rejected.type === 'rejected' && !forward) {
      // Valid signatures, but refused by the core at processing time (e.g. the round moved on): not the
      // sender's fault, so report it as valid-but-not-forwarded rather than scoring the peer.
      return { valid: true, forward: false };
    }
    return { valid: true, forward };
  }

  /** Chains checked, those checked too late, and the least recent margin (the validator's status). */
  marginStatus(): ReturnType<ChainMargins['status']> {
    return this.#margins.status();
  }

  #refuse(msg: ConsensusMessage, from: string, code: ErrorCode, reason: string): ChainVerdict {
    const instance = { miner: msg.block.miner, t0: msg.block.t0 };
    this.host.emit('rejected', { instance, code, reason, from });
    return { valid: false, forward: false, code, reason };
  }
}
