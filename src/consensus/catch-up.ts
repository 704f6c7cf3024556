/**
 * Catch-up, as pure code: how a validator that restarted or joined late learns the decided blocks it missed.
 *
 * Every validator answers `getchain` with a signed statement "as of round R my chain ends at height H with
 * block X" and the blocks after the asker's tip. A statement vouches for X and every ancestor of X. A block is
 * appended only when f+1 distinct validators vouch for a chain through it: one of them is honest, and an
 * honest validator's chain holds only blocks decided by Dolev-Strong, identical at every honest node.
 *
 * A syncing node also has to know when it has everything. Instances that start after the node is up
 * (t0 >= liveFromT0) it decides itself; those before it must come from others. An honest validator that is not
 * itself syncing, stating in round R >= liveFromT0 - 1 + k, has appended every instance that ended by then,
 * so when f+1 such statements name chains that our chain already contains, one of them is honest and nothing
 * decided before liveFromT0 is missing. The one way out when nobody is live (every validator restarted at
 * once): statements from all other n-1 validators whose chains our chain contains. Until complete, the node's own
 * decisions wait (dolev-strong.ts holds them) so their heights are right when they are appended.
 */
import { concatBytes, lengthPrefixed, toHex, u32be, u64be, utf8 } from '../bytes.ts';
import type { ChainStatement, WireChainBlock } from '../schema.ts';
import { blockHash } from './block.ts';

/** Domain tag of chain statements. */
export const STATEMENT_DOMAIN = 'strongcast/chain-statement/v1';

/** Limits of the catch-up state. */
export const catchUpDefaults = {
  /** Blocks received and not yet appended that are kept, in all. */
  candidateBlocksMax: 4096,
} as const;

/** What a statement is about, without its signature. */
export type StatementBody = Omit<ChainStatement, 'sig'>;

/**
 * domain || network id || genesis hash || signer (u32) || round (u64) || height (u64) || tip (32) || syncing (u8).
 */
export function statementSignedBytes(networkId: string, genesisHash: Uint8Array, s: StatementBody): Uint8Array {
  return concatBytes(
    lengthPrefixed(utf8(STATEMENT_DOMAIN)),
    lengthPrefixed(utf8(networkId)),
    genesisHash,
    u32be(s.signer),
    u64be(s.round),
    u64be(s.height),
    s.tip,
    new Uint8Array([s.syncing ? 1 : 0]),
  );
}

/** The chain position catch-up builds on. */
export interface SyncTip {
  height: number;
  hash: Uint8Array;
}

/** Settings of one catch-up run. */
export interface CatchUpOptions {
  /** Number of validators. */
  n: number;
  /** Tolerated faults; f+1 vouches append a block. */
  faults: number;
  /** Rounds per instance (f+1, or the test override). */
  k: number;
  /** First t0 this node decides itself. */
  liveFromT0: number;
  /** Our chain's tip when catch-up starts. */
  tip: SyncTip;
  /** Blocks of our chain below the tip (so a statement naming one of them counts as contained). @default none */
  known?: Iterable<SyncTip>;
  candidateBlocksMax?: number;
}

/** Why a block from a peer was not kept. */
export type BlockRefusal = { index: number; reason: string } | null;

/** Statements, candidate blocks and the vouch count of one syncing node. */
export class CatchUp {
  readonly n: number;
  readonly f: number;
  readonly k: number;
  liveFromT0: number;
  private tip: SyncTip;
  /** Hashes (hex) of our chain from the catch-up start on, so "contains" can be answered for statements. */
  private readonly ours = new Map<string, number>();
  private readonly statements = new Map<number, ChainStatement>();
  private readonly candidates = new Map<string, WireChainBlock & { hashHex: string }>();
  private readonly candidateBlocksMax: number;

  constructor(o: CatchUpOptions) {
    this.n = o.n;
    this.f = o.faults;
    this.k = o.k;
    this.liveFromT0 = o.liveFromT0;
    this.tip = o.tip;
    this.candidateBlocksMax = o.candidateBlocksMax ?? catchUpDefaults.candidateBlocksMax;
    this.ours.set(toHex(o.tip.hash), o.tip.height);
    for (const b of o.known ?? []) this.ours.set(toHex(b.hash), b.height);
  }

  /** Our tip now. */
  get tipNow(): SyncTip {
    return this.tip;
  }

  /** Records a statement whose signature the shell verified; the latest round per signer wins. */
  onStatement(s: ChainStatement): void {
    const old = this.statements.get(s.signer);
    if (!old || s.round >= old.round) this.statements.set(s.signer, s);
  }

  /**
   * Keeps blocks above our tip whose hash, height and parent are self-consistent; the vouch count decides
   * later whether they are appended. Returns the first refusal, if any (the sender is then not trusted further).
   */
  onBlocks(blocks: readonly WireChainBlock[]): BlockRefusal {
    for (const [i, b] of blocks.entries()) {
      if (b.height <= this.tip.height) continue;
      const prev = i > 0 ? blocks[i - 1] : undefined;
      if (prev && (b.height !== prev.height + 1 || toHex(b.parent) !== toHex(blockHash(prev)))) {
        return { index: i, reason: `block at height ${b.height} does not follow the one before it` };
      }
      if (this.candidates.size >= this.candidateBlocksMax) return { index: i, reason: 'candidate block limit reached' };
      const hashHex = toHex(blockHash(b));
      this.candidates.set(hashHex, { ...b, hashHex });
    }
    return null;
  }

  /**
   * The blocks, in height order from tip + 1, that f+1 distinct validators vouch for (a statement vouches
   * for its tip and every ancestor of it that we can link back to our tip through candidate blocks).
   */
  appendable(): WireChainBlock[] {
    const vouches = new Map<string, Set<number>>();
    for (const s of this.statements.values()) {
      for (const hashHex of this.pathToTip(s)) {
        let set = vouches.get(hashHex);
        if (!set) vouches.set(hashHex, (set = new Set()));
        set.add(s.signer);
      }
    }
    const out: WireChainBlock[] = [];
    let at = toHex(this.tip.hash);
    for (;;) {
      // Of several children (a peer may send a fork), at most one can have f+1 vouches: that needs an honest one.
      const next = this.childrenOf(at).find((c) => (vouches.get(c.hashHex)?.size ?? 0) >= this.f + 1);
      if (!next) return out;
      out.push(next);
      at = next.hashHex;
    }
  }

  /** Moves our tip after the shell appended `block` (a synced one or our own decision). */
  advance(block: WireChainBlock, hash: Uint8Array): void {
    const hex = toHex(hash);
    this.tip = { height: block.height, hash };
    this.ours.set(hex, block.height);
    this.candidates.delete(hex);
    for (const [h, c] of this.candidates) if (c.height <= block.height) this.candidates.delete(h);
  }

  /** True when nothing decided before liveFromT0 can be missing any more (see the module comment). */
  complete(): boolean {
    const minRound = this.liveFromT0 - 1 + this.k;
    let live = 0;
    let any = 0;
    for (const s of this.statements.values()) {
      if (s.round < minRound || !this.ours.has(toHex(s.tip))) continue;
      any++;
      if (!s.syncing) live++;
    }
    // `any + 1`: our own chain is one of the n, and it contains itself.
    return live >= this.f + 1 || any + 1 >= this.n;
  }

  /** Statements held, for status and tests. */
  get statementCount(): number {
    return this.statements.size;
  }

  private childrenOf(parentHex: string): (WireChainBlock & { hashHex: string })[] {
    return [...this.candidates.values()].filter((c) => toHex(c.parent) === parentHex);
  }

  /** Hashes from a statement's tip back to (not including) our tip, or [] when they do not link up. */
  private pathToTip(s: ChainStatement): string[] {
    const path: string[] = [];
    let hex = toHex(s.tip);
    const tipHex = toHex(this.tip.hash);
    while (hex !== tipHex) {
      const c = this.candidates.get(hex);
      if (!c) return [];
      path.push(hex);
      hex = toHex(c.parent);
    }
    return path;
  }
}

/** A short form of a statement for logs. */
export function statementLabel(s: StatementBody): string {
  return `${s.signer}@r${s.round}:h${s.height}:${toHex(s.tip).slice(0, 8)}`;
}
