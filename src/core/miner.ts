/**
 * A validator's proposals: a block goes out at the start of the next round this validator can still make
 * (DolevStrong.nextProposalRound), waited for on the node's Clock, and in a later round when that start was
 * missed, up to mineAttemptsMax rounds. What no round would take (a payload above the network's cap, a block
 * nobody else would hear of) fails at once, before any wait.
 */
import { toHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { payloadCapViolation } from '../consensus/payload-cap.ts';
import type { Clock } from '../io/clock.ts';
import type { ConsensusAction, DolevStrong } from '../consensus/dolev-strong.ts';
import type { Genesis } from '../consensus/genesis.ts';
import type { InstanceId } from '../consensus/block.ts';
import type { OutageWatch } from './outage-watch.ts';
import { mineAttemptsMax } from './validator-types.ts';

/** What the miner needs of its validator. */
export interface MinerHost {
  /** The validator's index; null for an observer. */
  readonly index: number | null;
  readonly genesis: Genesis;
  readonly clock: Clock;
  readonly core: Pick<DolevStrong, 'nextProposalRound' | 'propose'>;
  now(): number;
  /** Catches up again if the node was out since the last call (Validator.checkOutage). */
  checkOutage(): void;
  /** Carries out the state machine's actions. */
  apply(actions: ConsensusAction[], from: string): void;
}

/** One validator's proposals at round starts. */
export class Miner {
  /** @param running whether the validator runs: checked before the wait for a round and after each one */
  constructor(
    private readonly host: MinerHost,
    private readonly outage: Pick<OutageWatch, 'isAlone'>,
    private readonly running: () => boolean,
  ) {}

  /**
   * Proposes a block at the next round start; resolves once it is sent (Validator.mine says what it throws).
   */
  async mine(payload: Uint8Array): Promise<{ instance: InstanceId; hash: string }> {
    const h = this.host;
    if (h.index === null) throw new StrongcastError('ERR_NOT_VALIDATOR', 'an observer cannot mine');
    // Before waiting for a round: no round would take it (the core refuses it too).
    const tooLarge = payloadCapViolation(payload.byteLength, h.genesis.validators.length);
    if (tooLarge) throw new StrongcastError('ERR_PAYLOAD_TOO_LARGE', tooLarge);
    if (!this.running()) throw new StrongcastError('ERR_NOT_STARTED', 'the validator is not started');
    if (this.outage.isAlone()) {
      // Alone, only this node would see the block: it would decide it and nobody else would.
      throw new StrongcastError('ERR_NO_PEERS', 'no peer is connected: a block mined now would reach nobody');
    }
    let lastReason = 'proposal refused';
    // A timer can fire a little early (Node rounds to whole ms) or, on a busy machine, too late for round 1:
    // wait until the round has really begun, and if the moment was missed, try the next round instead.
    for (let attempt = 0; attempt < mineAttemptsMax; attempt++) {
      const { t0, atMs } = h.core.nextProposalRound(h.now());
      while (h.now() < atMs) await new Promise<void>((r) => void h.clock.setTimer(r, Math.max(1, atMs - h.now())));
      if (!this.running()) throw new StrongcastError('ERR_NOT_STARTED', 'the validator stopped');
      h.checkOutage();
      const now = h.now();
      const actions = h.core.propose(payload, t0, now, now);
      h.apply(actions, 'self');
      const proposed = actions.find((a) => a.type === 'proposed');
      if (proposed && proposed.type === 'proposed') return { instance: proposed.instance, hash: toHex(proposed.blockHash) };
      const rejected = actions.find((a) => a.type === 'rejected');
      if (rejected && rejected.type === 'rejected') lastReason = rejected.reason;
    }
    throw new StrongcastError('ERR_INSTANCE_OVER', `no round could be caught for the proposal: ${lastReason}`);
  }
}
