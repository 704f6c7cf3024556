/**
 * Validators' signed outcomes on a node (consensus/outcome.ts, follower.ts): a validator sends the outcome
 * of each start round whose instances added blocks; every node checks each validator's first outcome per
 * round (its signature) and carries it on; an observer follows the chain by the outcomes f+1 validators
 * signed alike, appending and reporting those rounds' blocks, and asks its peers for a block it never saw.
 */
import type { ConsensusAction } from '../consensus/dolev-strong.ts';
import type { ChainBlock } from '../consensus/block.ts';
import { OutcomeGate, outcomeSignedBytes } from '../consensus/outcome.ts';
import { Follower } from '../consensus/follower.ts';
import { DivergenceWatch, type Divergence } from '../consensus/divergence.ts';
import type { OutcomeMessage, WireBlock } from '../wire/schema.ts';
import type { ChainVerdict } from './node-types.ts';
import { outcomeWindowRounds, type ValidatorContext } from './validator-types.ts';

/** What the exchange needs from its validator. */
export interface OutcomeHost extends ValidatorContext {
  /** Whether catch-up runs (an observer then appends nothing by outcomes). */
  catchingUp(): boolean;
  /** A block an observer appended by outcomes: make it durable, then report it `decided`. */
  followed(block: ChainBlock): void;
  /** f+1 other validators signed an outcome our chain contradicts: raise the alarm. */
  diverged(d: Divergence): void;
}

/** One node's side of the outcome exchange. */
export class OutcomeExchange {
  readonly #gate: OutcomeGate;
  /** An observer's view of the outcomes; null for a validator, which decides itself. */
  readonly #follower: Follower | null;
  /** A validator's watch for a fork between its chain and f+1 others' outcomes; null for an observer. */
  readonly #watch: DivergenceWatch | null;
  /** When an observer last asked for blocks it lacks, in ms. */
  #askedMissingAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly host: OutcomeHost,
    stored: readonly ChainBlock[],
  ) {
    this.#gate = new OutcomeGate(outcomeWindowRounds(host.core.k, host.genesis.roundMs));
    const last = stored[stored.length - 1];
    this.#follower = host.index === null ? new Follower({ faults: host.genesis.faults, height: last?.height ?? host.core.tip().height, lastT0: last?.t0 ?? -1 }) : null;
    this.#watch = host.index === null ? null : new DivergenceWatch(host.genesis.faults, host.index);
  }

  /** A validator's decisions: send the signed outcome of each start round that added blocks down its broadcast tree. */
  publish(actions: readonly ConsensusAction[]): void {
    const h = this.host;
    const identity = h.identity;
    if (identity === null || h.index === null) return;
    const byT0 = new Map<number, ChainBlock[]>();
    for (const a of actions) {
      if (a.type !== 'decided' || a.block === null) continue;
      byT0.set(a.instance.t0, [...(byT0.get(a.instance.t0) ?? []), a.block]);
    }
    for (const [t0, blocks] of byT0) {
      const body = { signer: h.index, t0, height: blocks[blocks.length - 1]!.height, blocks: blocks.map((b) => ({ miner: b.miner, hash: b.hash })) };
      const sig = identity.sign(outcomeSignedBytes(h.genesis.networkId, h.core.genesisHash, body));
      this.#gate.admit(h.index, t0, h.core.currentRound(h.now()));
      h.node.publishOutcome({ t: 'outcome', ...body, sig });
    }
  }

  /**
   * A validator's outcome: checked once per signer and round (its signature over outcomeSignedBytes), carried
   * on, and followed by an observer. Outcomes of rounds long past or not yet begun are neither checked nor
   * carried (nor scored: a peer may be behind).
   */
  async onOutcome(msg: OutcomeMessage, from?: string): Promise<ChainVerdict> {
    const h = this.host;
    const key = h.genesis.validators[msg.signer]?.publicKey;
    if (!key) return { valid: false, forward: false, code: 'ERR_BAD_MESSAGE', reason: `outcome signer ${msg.signer} is not a validator` };
    if (!this.#gate.inWindow(msg.t0, h.core.currentRound(h.now()))) return { valid: true, forward: false };
    const message = outcomeSignedBytes(h.genesis.networkId, h.core.genesisHash, msg);
    // A consensus check, in the sender's lane: a broadcast flood must not hold an outcome back.
    const [ok] = await h.verifier.verify([{ publicKey: key, message, signature: msg.sig }], from, 'consensus');
    if (!ok) return { valid: false, forward: false, code: 'ERR_BAD_SIGNATURE', reason: `outcome of validator ${msg.signer} for t0=${msg.t0} has a bad signature` };
    if (!this.#gate.admit(msg.signer, msg.t0, h.core.currentRound(h.now()))) return { valid: true, forward: false };
    if (this.#follower?.onOutcome(msg)) this.follow();
    this.#watch?.onOutcome(msg);
    this.judgeDivergence();
    return { valid: true, forward: true };
  }

  /**
   * Holds our chain against the outcomes f+1 other validators signed alike. Our own decisions for start round
   * t0 fall due at round t0 + k + 1; a round more covers the skew between us and the signers. While catching up
   * our chain may be short for good reason, so only conflicting blocks count then.
   */
  judgeDivergence(): void {
    const h = this.host;
    if (!this.#watch) return;
    const due = h.catchingUp() || h.core.syncing ? Number.NEGATIVE_INFINITY : h.core.currentRound(h.now()) - h.core.k - 2;
    for (const d of this.#watch.judge(h.core.chain(), due)) h.diverged(d);
  }

  /** An observer saw a block's authentic content (in a verified chain, or a catch-up reply it asked for). */
  onBlock(block: WireBlock, hash: Uint8Array): void {
    this.#follower?.onBlock(block, hash);
  }

  /** Whether this node follows outcomes (an observer). */
  get following(): boolean {
    return this.#follower !== null;
  }

  /** The chain moved on by catch-up: the follower continues from its tip. */
  skipTo(height: number, lastT0: number): void {
    this.#follower?.skipTo(height, lastT0);
  }

  /**
   * An observer appends the rounds f+1 validators signed the same outcome of, in order, and reports each block
   * decided once it is durable. While catching up it waits (catch-up's end resumes it). A final round whose
   * blocks it never saw is asked for from its peers (getchain), at most once per syncIntervalMs.
   */
  follow(): void {
    const h = this.host;
    const follower = this.#follower;
    if (!follower || h.catchingUp()) return;
    for (const round of follower.take()) {
      for (const { block, hash } of round.blocks) h.followed(h.core.appendFollowed(block, hash));
    }
    const now = h.now();
    if (follower.missing().length > 0 && now - this.#askedMissingAtMs >= h.syncIntervalMs) {
      this.#askedMissingAtMs = now;
      for (const peer of h.node.peerIds()) h.node.sendTo(peer, { t: 'getchain', from: follower.height + 1 });
    }
  }
}
