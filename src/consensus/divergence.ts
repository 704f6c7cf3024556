/**
 * A validator's watch for a fork it is on the wrong side of, as pure code. Dolev-Strong keeps honest
 * validators' chains identical only while the timing rule holds (timing.ts); an overloaded machine, a stalled
 * process or a network slower than the round length break it, and then honest chains can differ with nobody
 * noticing. This watch makes such a fork loud.
 *
 * Rule. An outcome signed alike by f+1 validators is an honest validator's (one of them is honest): the same
 * reasoning as the observer's (follower.ts). Our own chain must then hold exactly its blocks at its heights.
 * Where it holds other blocks there, or (once our own decisions for that t0 are due and we are not catching
 * up) holds nothing there, an honest validator decided otherwise than we did: a divergence. Our own outcome
 * is not counted among the f+1, so the quorum is always others'.
 *
 * Outcomes are carried for a window of recent rounds only, so a node that forked and then restarted (or was
 * away past the window) never hears the outcomes that contradict it; catch-up's statements do
 * (catch-up.ts `contradictions`), and `catchUpDivergence` reports them the same way.
 */
import { toHex } from '../bytes.ts';
import type { ChainBlock } from './block.ts';
import type { Contradiction } from './catch-up.ts';
import type { OutcomeMessage } from '../wire/schema.ts';
import { outcomeKey } from './outcome.ts';

/** Limits of the watch. */
export const divergenceDefaults = {
  /** Start rounds with votes held at once; beyond it the oldest are dropped. */
  roundsHeldMax: 256,
  /** Quorum outcomes waiting for our own decisions to fall due. */
  pendingMax: 256,
  /** Start rounds already reported, remembered so each is reported once. */
  reportedMax: 1024,
} as const;

/** A fork between this validator and f+1 others, as reported. */
export interface Divergence {
  /**
   * What showed it: `outcomes`, f+1 other validators' signed outcome of one start round; `catch-up`, f+1
   * validators' catch-up statements (or the blocks they sent) naming another chain at heights ours holds.
   */
  source: 'outcomes' | 'catch-up';
  /** The same in words, for a log line. */
  reason: string;
  /** The start round of the outcome (catch-up: of our block at `height`; -1 when it is not held in memory). */
  t0: number;
  /** Height of the chain after the quorum's blocks (catch-up: the lowest height named). */
  height: number;
  /** The validators that signed the quorum outcome (catch-up: the statements). */
  signers: number[];
  /**
   * The quorum's blocks, oldest first, at heights height - blocks.length + 1 .. height (catch-up: the blocks
   * the signers name at heights we hold, by height; miner null, a statement does not say it).
   */
  theirs: Array<{ height: number; miner: number | null; hash: string }>;
  /** What our chain holds at those heights (null: nothing). */
  ours: Array<{ height: number; hash: string | null }>;
}

interface Quorum {
  msg: OutcomeMessage;
  signers: number[];
}

interface Round {
  byKey: Map<string, { msg: OutcomeMessage; signers: Set<number> }>;
  voted: Set<number>;
}

/** Votes of other validators, the quorums not yet judged, and what was reported. */
export class DivergenceWatch {
  readonly #rounds = new Map<number, Round>();
  #pending: Quorum[] = [];
  readonly #reported = new Set<number>();

  constructor(
    readonly faults: number,
    readonly selfIndex: number,
  ) {}

  /** A verified outcome of another validator (its first for t0 counts). */
  onOutcome(msg: OutcomeMessage): void {
    if (msg.signer === this.selfIndex || this.#reported.has(msg.t0)) return;
    let round = this.#rounds.get(msg.t0);
    if (!round) {
      this.#rounds.set(msg.t0, (round = { byKey: new Map(), voted: new Set() }));
      if (this.#rounds.size > divergenceDefaults.roundsHeldMax) this.#rounds.delete(Math.min(...this.#rounds.keys()));
    }
    if (round.voted.has(msg.signer)) return;
    round.voted.add(msg.signer);
    const key = outcomeKey(msg);
    let vote = round.byKey.get(key);
    if (!vote) round.byKey.set(key, (vote = { msg, signers: new Set() }));
    vote.signers.add(msg.signer);
    if (vote.signers.size === this.faults + 1) {
      this.#pending.push({ msg: vote.msg, signers: [...vote.signers].sort((a, b) => a - b) });
      if (this.#pending.length > divergenceDefaults.pendingMax) this.#pending.shift();
    }
  }

  /**
   * Judges the quorums against our chain. `dueThroughT0`: the last start round whose instances we have
   * decided ourselves (-Infinity while catching up, when our chain may still be short for good reason). A
   * quorum whose blocks we lack waits until its t0 is due; one that conflicts with blocks we hold is reported
   * at once. Each t0 is reported at most once.
   */
  judge(chain: readonly ChainBlock[], dueThroughT0: number): Divergence[] {
    const out: Divergence[] = [];
    const waiting: Quorum[] = [];
    for (const q of this.#pending) {
      if (this.#reported.has(q.msg.t0)) continue;
      const d = compare(q.msg, q.signers, chain);
      if (d === null) continue;
      const conflict = d.ours.some((o, i) => o.hash !== null && o.hash !== d.theirs[i]!.hash);
      if (!conflict && q.msg.t0 > dueThroughT0) {
        waiting.push(q);
        continue;
      }
      this.#report(q.msg.t0);
      out.push(d);
    }
    this.#pending = waiting;
    return out;
  }

  #report(t0: number): void {
    this.#reported.add(t0);
    this.#rounds.delete(t0);
    if (this.#reported.size > divergenceDefaults.reportedMax) this.#reported.delete(Math.min(...this.#reported));
  }
}

/** The block of our chain at `height`, if we hold it. */
function blockAt(chain: readonly ChainBlock[], height: number): ChainBlock | undefined {
  const first = chain[0]?.height ?? 1;
  const b = chain[height - first];
  return b && b.height === height ? b : undefined;
}

/** The quorum outcome against our chain: null when our chain holds exactly its blocks. */
function compare(msg: OutcomeMessage, signers: number[], chain: readonly ChainBlock[]): Divergence | null {
  const first = msg.height - msg.blocks.length + 1;
  const theirs = msg.blocks.map((b, i) => ({ height: first + i, miner: b.miner, hash: toHex(b.hash) }));
  const ours = theirs.map((t) => {
    const b = blockAt(chain, t.height);
    return { height: t.height, hash: b ? toHex(b.hash) : null };
  });
  if (ours.every((o, i) => o.hash === theirs[i]!.hash)) return null;
  const reason = `validators ${signers.join(', ')} signed the outcome of round ${msg.t0} with other blocks than this chain holds at heights ${first}..${msg.height}`;
  return { source: 'outcomes', reason, t0: msg.t0, height: msg.height, signers, theirs, ours };
}

/**
 * The divergence that f+1 contradicting catch-up replies show (catch-up.ts `contradictions`, sorted by
 * height): every block they name, and ours at those heights.
 */
export function catchUpDivergence(claims: readonly Contradiction[], chain: readonly ChainBlock[]): Divergence {
  const signers = [...new Set(claims.map((c) => c.signer))].sort((a, b) => a - b);
  const theirs = [...new Map(claims.map((c) => [`${c.height}:${c.hash}`, { height: c.height, miner: null, hash: c.hash }])).values()];
  const heights = [...new Set(theirs.map((t) => t.height))];
  const ours = heights.map((height) => {
    const b = blockAt(chain, height);
    return { height, hash: b ? toHex(b.hash) : null };
  });
  const height = heights[0]!;
  const reason = `catch-up statements of validators ${signers.join(', ')} name another chain than this one at height ${height}${heights.length > 1 ? ` (and ${heights.slice(1).join(', ')})` : ''}`;
  return { source: 'catch-up', reason, t0: blockAt(chain, height)?.t0 ?? -1, height, signers, theirs, ours };
}
