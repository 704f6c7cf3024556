/**
 * What a validator does with the state machine's actions (consensus/dolev-strong.ts): sends and forwards go to
 * the node at once, proposals, relays and refusals are reported at once, and a decision waits for the disk
 * (disk-order.ts): its block is durable before it is reported `decided`, and before the validator signs the
 * round's outcome (outcome-exchange.ts). The crash mark is kept ahead of the decisions, and a failed append is
 * reported once. This is the only place the state machine's output reaches the world.
 */
import { toHex } from '../bytes.ts';
import type { StrongcastError } from '../errors.ts';
import type { ConsensusAction, DolevStrong } from '../consensus/dolev-strong.ts';
import type { ChainBlock } from '../consensus/block.ts';
import type { ConsensusMessage } from '../wire/schema.ts';
import type { ConsensusNodePort } from './node-types.ts';
import type { DiskOrder } from './disk-order.ts';
import type { OutcomeExchange } from './outcome-exchange.ts';
import { blockView, type ValidatorEvents } from './validator-types.ts';

/** A decision of a block (not of "no block"). */
type DecidedBlock = Extract<ConsensusAction, { type: 'decided' }> & { block: ChainBlock };

/** The events the effects report through their validator. */
type EffectEvent = 'proposed' | 'relayed' | 'decided' | 'rejected' | 'store-failed';

/** What the effects need of their validator. */
export interface EffectsHost {
  /** The validator's index; null for an observer. */
  readonly index: number | null;
  readonly node: Pick<ConsensusNodePort, 'publishConsensus' | 'forwardConsensus'>;
  readonly core: Pick<DolevStrong, 'heldFrom' | 'decidedThrough' | 'currentRound' | 'k'>;
  now(): number;
  emit<K extends EffectEvent>(event: K, ...args: ValidatorEvents[K]): boolean;
}

/** The outcome exchange as the effects drive it: blocks seen, an observer's following, a validator's outcomes. */
export type EffectsOutcomes = Pick<OutcomeExchange, 'onBlock' | 'following' | 'follow' | 'publish'>;

/** One validator's hands: the state machine's actions carried out, in its disk order. */
export class ConsensusEffects {
  /**
   * @param running whether the validator runs: an outcome whose block became durable after stop is not
   *   signed, since a stopped validator sends nothing
   */
  constructor(
    private readonly host: EffectsHost,
    private readonly disk: DiskOrder,
    private readonly outcomes: EffectsOutcomes,
    private readonly running: () => boolean,
  ) {}

  /** Carries out the core's actions; a forward of `judged` (the chain being answered) is left to the verdict. */
  apply(actions: ConsensusAction[], from: string, judged?: ConsensusMessage): void {
    for (const a of actions) this.#applyOne(a, from, judged);
    this.keepHeldMark();
    this.#publishDurable(actions);
    if (this.outcomes.following && actions.some((a) => a.type === 'seen')) this.outcomes.follow();
  }

  #applyOne(a: ConsensusAction, from: string, judged?: ConsensusMessage): void {
    const h = this.host;
    switch (a.type) {
      case 'seen':
        this.outcomes.onBlock(a.block, a.blockHash);
        break;
      case 'send':
        h.node.publishConsensus(a.msg);
        break;
      case 'forward':
        // A chain that came early was held until its instance started here: it goes out now.
        if (a.msg !== judged) h.node.forwardConsensus(a.msg);
        break;
      case 'proposed':
        h.emit('proposed', { instance: a.instance, hash: toHex(a.blockHash) });
        break;
      case 'relayed':
        h.emit('relayed', { instance: a.instance, hash: toHex(a.blockHash), round: a.round, signatures: a.signatures });
        break;
      case 'decided': {
        // Durable before reported: the event waits for the disk append (in order, after earlier ones).
        const block = a.block;
        this.disk.after(block, () => h.emit('decided', { instance: a.instance, block: block ? blockView(block) : null }));
        break;
      }
      case 'rejected':
        h.emit('rejected', { instance: a.instance, code: a.code, reason: a.reason, from });
        break;
    }
  }

  /**
   * Signs and floods the outcomes of these decisions once their blocks are on disk, as `decided` waits for
   * it: an observer appends a block that f+1 outcomes name, so one of them must come from an honest
   * validator that will still hold the block after a crash. Signed at once, a crash of every validator
   * before their disks kept it let them all come back without it, complete by the unanimity rule
   * (catch-up.ts) and decide another block at its height, while the observers kept it
   * (test/all-crash-observer-sim.test.ts). Not signed at all when an append failed.
   */
  #publishDurable(actions: readonly ConsensusAction[]): void {
    const decided = actions.filter((a): a is DecidedBlock => a.type === 'decided' && a.block !== null);
    if (decided.length === 0) return;
    const height = Math.max(...decided.map((a) => a.block.height));
    this.disk.after(null, () => {
      if (this.running() && this.disk.durableHeight >= height) this.outcomes.publish(decided);
    });
  }

  /**
   * Keeps the crash mark (disk-order.ts) at or below every decision a crash now would lose: the earliest held
   * one (DolevStrong.heldFrom, with a mark a restart carried over) and every one still to come, which has a
   * start round after decidedThrough (before the first tick, after the last instance already ended). An
   * observer decides nothing itself and states nothing, so it keeps no mark.
   */
  keepHeldMark(): void {
    const h = this.host;
    if (h.index === null) return;
    const through = h.core.decidedThrough ?? h.core.currentRound(h.now()) - h.core.k;
    this.disk.keepHeldMark(h.core.heldFrom(), Math.max(0, through + 1));
  }

  /**
   * The store failed an append, once for good (disk-order.ts): neither that block nor a later one is
   * reported. The alarm first; then `rejected` for the block, as a failed append was always told.
   */
  storeFailed(block: ChainBlock, e: StrongcastError): void {
    this.host.emit('store-failed', { code: 'ERR_STORE', reason: e.message, height: block.height, t0: block.t0 });
    this.host.emit('rejected', { instance: { miner: block.miner, t0: block.t0 }, code: 'ERR_STORE', reason: e.message, from: 'self' });
  }
}
