/**
 * How an observer follows the decided chain, as pure code: validators' signed outcomes (outcome.ts) and the
 * blocks seen in consensus chains go in; rounds whose blocks can be appended come out, in order.
 *
 * Rules. An outcome is final when f+1 distinct validators signed it (the same t0, resulting height and
 * blocks): one of them is honest, and honest chains are identical, so it is the honest chain's outcome for
 * t0. A signer's first outcome for a t0 is its vote; an honest validator signs one, so a second is ignored.
 * Rounds without blocks produce no outcome; none is missing between our tip and a final outcome exactly when
 * our height plus its blocks is its height, so final rounds are appended in t0 order under that condition.
 * A block's content comes from a consensus chain whose miner signature was verified (the hash is over the
 * content), or from a catch-up reply, and is checked against the outcome's hash.
 */
import { toHex } from '../bytes.ts';
import type { OutcomeMessage, WireBlock } from '../wire/schema.ts';
import { outcomeKey } from './outcome.ts';

/** Limits of a follower. */
export const followerDefaults = {
  /** Start rounds with votes held at once; beyond it the ones furthest ahead are dropped. */
  roundsHeldMax: 1024,
  /** Blocks seen and not yet appended that are kept. */
  blocksKeptMax: 4096,
} as const;

/** Settings of a follower. */
export interface FollowerOptions {
  /** f: an outcome is final with f+1 signers. */
  faults: number;
  /** Our chain's height and the t0 of its last block (-1 for none). */
  height: number;
  lastT0: number;
  roundsHeldMax?: number;
  blocksKeptMax?: number;
}

/** A final round whose blocks are all known, ready to append in order. */
export interface FollowedRound {
  t0: number;
  blocks: Array<{ block: WireBlock; hash: Uint8Array }>;
}

interface Vote {
  msg: OutcomeMessage;
  signers: Set<number>;
}

/** The votes and blocks of one observer. */
export class Follower {
  readonly f: number;
  #height: number;
  #lastT0: number;
  readonly #roundsHeldMax: number;
  readonly #blocksKeptMax: number;
  /** t0 -> outcome key -> its signers; and per t0 who voted already. */
  readonly #votes = new Map<number, { byKey: Map<string, Vote>; voted: Set<number> }>();
  readonly #blocks = new Map<string, { block: WireBlock; hash: Uint8Array }>();

  constructor(o: FollowerOptions) {
    this.f = o.faults;
    this.#height = o.height;
    this.#lastT0 = o.lastT0;
    this.#roundsHeldMax = o.roundsHeldMax ?? followerDefaults.roundsHeldMax;
    this.#blocksKeptMax = o.blocksKeptMax ?? followerDefaults.blocksKeptMax;
  }

  /** Height of the chain the follower has built on. */
  get height(): number {
    return this.#height;
  }

  /** A validator's outcome whose signature the shell verified. Returns false when it adds nothing (old or a second vote). */
  onOutcome(msg: OutcomeMessage): boolean {
    if (msg.t0 <= this.#lastT0) return false;
    let round = this.#votes.get(msg.t0);
    if (!round) {
      round = { byKey: new Map(), voted: new Set() };
      this.#votes.set(msg.t0, round);
      this.#boundRounds();
    }
    if (round.voted.has(msg.signer)) return false;
    round.voted.add(msg.signer);
    const key = outcomeKey(msg);
    const vote = round.byKey.get(key);
    if (vote) vote.signers.add(msg.signer);
    else round.byKey.set(key, { msg, signers: new Set([msg.signer]) });
    return true;
  }

  /** A block whose content is authentic (its hash matches what was verified). */
  onBlock(block: WireBlock, hash: Uint8Array): void {
    if (block.t0 <= this.#lastT0) return;
    const hex = toHex(hash);
    if (this.#blocks.has(hex)) return;
    if (this.#blocks.size >= this.#blocksKeptMax) {
      const oldest = this.#blocks.keys().next().value as string;
      this.#blocks.delete(oldest);
    }
    this.#blocks.set(hex, { block, hash });
  }

  /**
   * Final rounds that continue our chain, in order, as far as their blocks are known. The caller appends them
   * and the follower moves on past each one it returns.
   */
  take(): FollowedRound[] {
    const out: FollowedRound[] = [];
    for (;;) {
      const next = this.#nextFinal();
      if (!next) return out;
      const blocks = next.blocks.map((e) => this.#blocks.get(toHex(e.hash)));
      if (blocks.some((b) => b === undefined)) return out;
      out.push({ t0: next.t0, blocks: blocks as FollowedRound['blocks'] });
      this.#moveTo(next.t0, next.height);
    }
  }

  /** Hashes of blocks a final, appendable-next round needs and the follower lacks (to fetch them). */
  missing(): Uint8Array[] {
    const next = this.#nextFinal();
    if (!next) return [];
    return next.blocks.filter((e) => !this.#blocks.has(toHex(e.hash))).map((e) => e.hash);
  }

  /** The chain moved on without us (catch-up appended blocks): forget what is now behind it. */
  skipTo(height: number, lastT0: number): void {
    if (height > this.#height) this.#moveTo(lastT0, height);
  }

  /** The final outcome of the lowest t0 that continues our chain (its height fits), if any. */
  #nextFinal(): OutcomeMessage | null {
    const t0s = [...this.#votes.keys()].filter((t) => t > this.#lastT0).sort((a, b) => a - b);
    for (const t0 of t0s) {
      for (const v of this.#votes.get(t0)!.byKey.values()) {
        if (v.signers.size >= this.f + 1 && v.msg.height === this.#height + v.msg.blocks.length) return v.msg;
      }
    }
    return null;
  }

  #moveTo(t0: number, height: number): void {
    this.#lastT0 = t0;
    this.#height = height;
    for (const t of [...this.#votes.keys()]) if (t <= t0) this.#votes.delete(t);
    for (const [hex, b] of [...this.#blocks]) if (b.block.t0 <= t0) this.#blocks.delete(hex);
  }

  #boundRounds(): void {
    if (this.#votes.size <= this.#roundsHeldMax) return;
    const furthest = Math.max(...this.#votes.keys());
    this.#votes.delete(furthest);
  }
}
