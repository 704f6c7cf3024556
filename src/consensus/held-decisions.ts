/**
 * The decisions a node holds while it catches up (catch-up.ts), part of the pure state machine
 * (dolev-strong.ts). During catch-up the chain below a decided block is still missing blocks, so the block's
 * height is not known yet: it waits here until catch-up ends and is then appended after the synced tip, in
 * (t0, miner) order, or dropped when its instance ran while the node was out (seen only in part). What it
 * holds is also what the node's chain statement must admit to: the earliest held decision (heldFrom), and a
 * mark carried over from the process before a restart, so a validator that decided a block and lost it never
 * states a chain without it as if it had never decided it (catch-up.ts, the quorum rule).
 */
import { toHex } from '../bytes.ts';
import type { ChainBlock, InstanceId } from './block.ts';
import type { Chain } from './chain.ts';
import type { ConsensusAction } from './dolev-strong-options.ts';
import type { PoolEntry } from './instance.ts';
import type { DecidedRun, WireBlock } from '../wire/schema.ts';
import { cappedRun } from './decided-run.ts';

/** Decisions held while catching up; a node stuck syncing this long is reported, not grown without bound. */
export const heldDecisionsMax = 10_000;

/** A decision held for catch-up. */
export interface HeldDecision {
  id: InstanceId;
  block: WireBlock;
  hash: Uint8Array;
  /** Of an instance that ran while the node was out (notePartial): heldFrom leaves it out. */
  partial: boolean;
}

/** What leaving catch-up does with a held decision: already synced, appended, or contradicting the chain. */
export type SettledDecision = { fate: 'synced'; held: HeldDecision; block: ChainBlock } | { fate: 'append' | 'contradicts'; held: HeldDecision };

/** One state machine's decisions held for catch-up, and the start rounds that say which count. */
export class HeldDecisions {
  /** While catching up, decided blocks wait here: their heights are not known yet. */
  #syncing = false;
  #held: HeldDecision[] = [];
  /** The held-decision mark of the process before a restart (heldFrom). */
  #heldFromLost: number | null = null;
  /** The liveFromT0 of the last catch-up: instances before it were seen only in part and are never appended. */
  #decideFrom = 0;
  /** Instances before this start round, undecided when the node last found itself out, are partial (notePartial). */
  #partialBelow = 0;
  /** The earliest start round of a decision hold() refused: the held list is incomplete from there. */
  #refusedFrom: number | null = null;
  /** Start of the run of rounds decided in synchrony since this node last found itself out; null before. */
  #runFrom: number | null = null;
  /** Earlier runs of this catch-up, each ended by an outage noticed while it was catching up (notePartial). */
  #closedRuns: Array<{ from: number; through: number }> = [];

  /** Enters catch-up: decisions are held from now on (DolevStrong.startSync). */
  start(): void {
    this.#syncing = true;
    this.#runFrom = null;
    this.#closedRuns = [];
  }

  /** Whether decisions are being held for catch-up. */
  get syncing(): boolean {
    return this.#syncing;
  }

  /** The live start of the last catch-up: an instance before it is never appended (DolevStrong.finishSync). */
  get decideFrom(): number {
    return this.#decideFrom;
  }

  /**
   * Decisions of instances undecided before `liveFromT0` are partial from now on (DolevStrong.notePartial).
   * Every instance through `decidedThrough` was decided before this outage was noticed: the run of rounds
   * decided since the last one ends there, and a new one starts at `liveFromT0`.
   */
  notePartial(liveFromT0: number, decidedThrough: number | null): void {
    if (liveFromT0 <= this.#partialBelow) return;
    const from = this.#runFrom;
    if (this.#syncing && from !== null && decidedThrough !== null && decidedThrough >= from) {
      this.#closedRuns.push({ from, through: Math.min(decidedThrough, liveFromT0 - 1) });
    }
    this.#partialBelow = liveFromT0;
    if (this.#syncing) this.#runFrom = liveFromT0;
  }

  /** The start round of the earliest held decision that counts, or null (DolevStrong.heldFrom says which). */
  heldFrom(): number | null {
    let first = this.#heldFromLost;
    for (const h of this.#held) if (!h.partial && (first === null || h.id.t0 < first)) first = h.id.t0;
    return first;
  }

  /** The start round of the earliest held decision to be appended, or null (DolevStrong.appendsFrom). */
  appendsFrom(liveFromT0: number): number | null {
    let first: number | null = null;
    for (const h of this.#held) if (!h.partial && h.id.t0 >= liveFromT0 && (first === null || h.id.t0 < first)) first = h.id.t0;
    return first;
  }

  /**
   * The runs of start rounds this node decided itself in synchrony during this catch-up, each from the time
   * it last found itself out to the next (the last one through `decidedThrough`), with the blocks it decided
   * there: all of them held (catch-up.ts, the per-instance rule). Oldest first; each cut before a decision
   * hold() refused, and to at most `blocksMax` blocks (it then ends before the first start round left out).
   * None while syncing is off.
   */
  runs(decidedThrough: number | null, blocksMax: number): DecidedRun[] {
    if (!this.#syncing) return [];
    const last = this.#runFrom === null || decidedThrough === null ? [] : [{ from: this.#runFrom, through: decidedThrough }];
    const sorted = this.#held.filter((h) => !h.partial).sort((a, b) => a.id.t0 - b.id.t0 || a.id.miner - b.id.miner);
    const out: DecidedRun[] = [];
    for (const r of [...this.#closedRuns, ...last]) {
      const through = Math.min(r.through, (this.#refusedFrom ?? Infinity) - 1);
      const entries = sorted.filter((h) => h.id.t0 >= r.from && h.id.t0 <= through).map((h) => ({ miner: h.id.miner, t0: h.id.t0, hash: h.hash }));
      const run = cappedRun(r.from, through, entries, blocksMax);
      if (run) out.push(run);
    }
    return out;
  }

  /**
   * Whether every decision made since catch-up began is held (none refused at heldDecisionsMax): only then is
   * finishing it with the held ones appended a chain without a gap (catch-up.ts, the per-instance rule).
   */
  get whole(): boolean {
    return this.#refusedFrom === null;
  }

  /** Carries over the held-decision mark of the process before a restart. */
  restore(t0: number | null): void {
    this.#heldFromLost = t0;
  }

  /** Holds the decision of instance `id` for `winner`; a refusal when heldDecisionsMax already wait. */
  hold(id: InstanceId, winner: Pick<PoolEntry, 'block' | 'hash'>): ConsensusAction | null {
    if (this.#held.length >= heldDecisionsMax) {
      this.#refusedFrom = Math.min(this.#refusedFrom ?? id.t0, id.t0);
      return { type: 'rejected', instance: id, code: 'ERR_RATE_LIMITED', reason: `${heldDecisionsMax} decisions already wait for catch-up` };
    }
    this.#held.push({ id, block: winner.block, hash: winner.hash, partial: id.t0 < this.#partialBelow });
    return null;
  }

  /** What finishing at `liveFromT0` does with each held decision, in (t0, miner) order, without doing it. */
  settle(chain: Pick<Chain, 'blocks' | 'last'>, liveFromT0: number): SettledDecision[] {
    const known = new Map(chain.blocks().map((b) => [toHex(b.hash), b]));
    const last = chain.last();
    // Decisions are appended in (t0, miner) order: one at or before the synced tip's place would go below it.
    const beforeTip = (id: InstanceId): boolean => last !== undefined && (id.t0 < last.t0 || (id.t0 === last.t0 && id.miner <= last.miner));
    const out: SettledDecision[] = [];
    for (const held of [...this.#held].sort((a, b) => a.id.t0 - b.id.t0 || a.id.miner - b.id.miner)) {
      // An instance that began before the node was live (restarted, alone, paused) was seen only in part:
      // its outcome here is not a decision. If the others decided a block, catch-up brought it.
      if (held.id.t0 < liveFromT0) continue;
      const synced = known.get(toHex(held.hash));
      // Learned from peers meanwhile: this node decided it too, so it still reports the decision.
      if (synced) out.push({ fate: 'synced', held, block: synced });
      else out.push({ fate: beforeTip(held.id) ? 'contradicts' : 'append', held });
    }
    return out;
  }

  /** Leaves catch-up live from `liveFromT0`: nothing is held or carried over after it. */
  finish(liveFromT0: number): void {
    this.#syncing = false;
    this.#decideFrom = Math.max(this.#decideFrom, liveFromT0);
    this.#held = [];
    this.#heldFromLost = null;
    this.#refusedFrom = null;
    this.#runFrom = null;
    this.#closedRuns = [];
  }
}
