/**
 * Catch-up, as pure code: how a validator that restarted or joined late learns the decided blocks it missed.
 *
 * Every validator answers `getchain` with a signed statement "as of round R my chain ends at height H with
 * block X" and the blocks after the asker's tip. A statement vouches for X and every ancestor of X. A block is
 * appended only when f+1 distinct validators vouch for a chain through it: one of them is honest, and an
 * honest validator's chain holds only blocks decided by Dolev-Strong, identical at every honest node.
 *
 * Blocks count only for the validator whose own connection sent them, at the height and parent it sent
 * them: a copy relinked by someone else borrows no honest vouches.
 *
 * A syncing node also has to know when it has everything. Instances that start after the node is up and
 * connected (t0 >= liveFromT0) it decides itself; those before it must come from others, and its own partial
 * view of them is dropped. An honest validator that is not itself syncing, stating in round
 * R >= liveFromT0 - 1 + k, has appended every instance that ended by then, so when f+1 such statements name
 * exactly our chain, one of them is honest and nothing decided before liveFromT0 is missing. "Our chain" is
 * our tip, or our prospective tip: the tip we will have once our held decisions (all of instances from
 * liveFromT0 on) are appended; an honest live chain that ends there has the blocks before liveFromT0 that we
 * have, and no others. Without it, a validator that completed first went live with exactly the blocks the
 * rest held, which they could neither match with their tips nor gather f+1 vouches for while they held them
 * (test/late-start-sim.test.ts: 88 of 200 seeded late starts ended with validators catching up for good).
 *
 * A syncing signer's tip leaves out the decisions it holds: it appends them when its own catch-up ends, so
 * its statement also says `heldFrom`, the earliest of them. Counting its tip alone forked honest validators
 * (test/catch-up-safety.test.ts: three came up late and held a block X, the fourth came up later, counted
 * their tips, completed without X, and they appended it).
 *
 * The quorum rule, for when nobody is live and a validator stays silent (a network-wide stall, or a network
 * restarted with one validator down; before it, catch-up then never ended and the chain stopped for good):
 * `quorum` = max(f + 1, n - f) validators, ours included when we are a validator, each stating in round
 * R >= liveFromT0 - 1 + k exactly our chain (tip or prospective tip), each with `heldFrom` null or not before
 * our liveFromT0. Within the fault bound Dolev-Strong assumes (at most f validators faulty during any one
 * instance; a validator out of synchrony or down during it counts as faulty): were a block B with
 * t0 < liveFromT0 decided by an honest validator, every honest validator in synchrony during instance t0
 * decided it too (Dolev-Strong's agreement). A signer of the quorum names a chain without B, and its
 * `heldFrom` names no decision from before liveFromT0, so it never decided B, or only partially:
 *  - `heldFrom` covers the decisions a signer holds, those it held and dropped (a second outage) and those a
 *    crash may have cost it, held or appended and not yet on disk. The earlier rule's statements left the
 *    dropped and lost ones out, and a review of an n - f rule without them found exactly those two forks
 *    (test/catch-up-safety.test.ts).
 *  - A crash loses nothing without a trace because the crash mark (held.json, store/held-mark.ts) is written
 *    ahead of the decisions it covers (core/disk-order.ts): the earliest held decision or the first instance
 *    still undecided, so no decision is made without a durable mark at or below it, however long its own
 *    write takes, and a restarted validator states that mark until its catch-up ends. A mark that followed
 *    the decisions let a crash on a slow disk forget one, and two such validators forked honest chains within
 *    the bound (test/catch-up-durability.test.ts). A store that holds no mark when it is opened (a first
 *    start, or one after a clean stop, which leaves null when nothing is held) is given a mark of 0 before
 *    the validator starts, so its first decisions are covered while its own first mark is on its way.
 *  - `heldFrom` leaves out partial decisions, those of instances still undecided when the signer found itself
 *    out (restarted, alone, paused, stalled, a chain checked late: each a fault the bound counts, the
 *    validator down, cut off or out of synchrony; DolevStrong.notePartial). It was out during such an
 *    instance, so it counts as faulty there whatever it decided, and the argument needs nothing of that
 *    decision. Counting them, a validator whose catch-up
 *    began while a block was being decided never counted itself, nor was it counted, and within the bound
 *    every validator could stay catching up for good (test/catch-up-liveness.test.ts).
 * So each honest signer was out during instance t0, and so were we (we decide only from liveFromT0 on, and
 * our own `heldFrom` must pass the same test to count us), and every Byzantine signer is faulty:
 * quorum >= f + 1 faulty validators in one instance, outside the bound. f + 1 would do; n - f where that is
 * more, so that outside the bound a minority cannot end anyone's catch-up. Outside the bound (more than f out
 * in one instance) agreement was never promised, and a fork this rule then lets happen is not silent: the
 * divergence checks below and divergence.ts raise `diverged`. The rule before it, "all n - 1 others", was the
 * quorum rule with quorum n.
 *
 * The unanimity rule, for when every validator crashed at once (a power loss, `kill -9` of a testnet on one
 * machine; outside the bound): each comes back stating its crash mark, so none counts for another's quorum,
 * and before this rule all stayed catching up for good (test/all-crash-sim.test.ts). All n validators, ours
 * included when we are one, each stating in round R >= liveFromT0 - 1 + k exactly our chain (tip or
 * prospective tip), each with `appendsFrom` null or not before our liveFromT0, complete us. It needs no
 * fault bound: each honest signer says its chain is ours and that it will append no decision of an instance
 * before liveFromT0; every such instance had ended when it said so, so it decided there all it ever will (a
 * later outage only drops held decisions), and a block it could still learn in catch-up needs f+1 vouches,
 * one honest, from a chain that has it, and none has. So every honest chain up to liveFromT0 is ours,
 * whatever anyone decided and lost. That holds for observers too only because a block leaves a validator (a
 * signed outcome, a block in a reply) once its disk has it (consensus-effects.ts publishDurable, validator-sync.ts
 * answer): a validator that signs an outcome or sends a block comes back from any crash still holding it, so
 * the validators are unanimous without it only if no observer took it (test/all-crash-observer-sim.test.ts:
 * with outcomes and replies sent before the disk kept the block, observers kept a block every validator lost
 * and the validators decided another at its height). The bound it does without is the one on validators down
 * or out of synchrony: vouches still need at most f Byzantine, and decisions from liveFromT0 on are
 * Dolev-Strong's, agreed within the bound. `appendsFrom`, unlike `heldFrom`, leaves out decisions dropped or lost:
 * the rule asks only what each chain will hold. A crash that left a decision on some disks and not others
 * leaves chains that differ by it: fewer than f+1 vouch for it, the chains are not unanimous, and catch-up
 * waits rather than fork.
 *
 * "Names our chain" compares the statement's running chain digest (block.ts chainDigest) with ours, not only
 * the height and last block: a block hash covers neither height nor parent, so two chains of one length can
 * end in the same block (test/catch-up.test.ts, "completeness compares whole chains").
 * Until complete, the node's own decisions wait (dolev-strong.ts holds them) so their heights are right when
 * they are appended.
 *
 * The per-instance rule, for faults in a row. The rules above count evidence only as whole chains from a
 * signer's tip, and a held decision vouches for nothing. When faults come one after another faster than
 * catch-ups end (a node far behind, a slow ask interval), a block can be decided while most validators hold
 * it rather than append it; the f+1 that know it then include held decisions, and no catching-up validator
 * completed any more although all ran in synchrony (test/catch-up-held-vouch-sim.test.ts: 72 of 300 fuzz
 * runs within the bound ended so). The evidence is there per instance, so statements now carry it:
 *  - Before: a statement said its chain (height, tip, digest), `syncing`, `heldFrom` and `appendsFrom`; what
 *    it held it named only by the earliest start round, never by block.
 *  - Now it also carries `decided` (decided-run.ts), a run of start rounds from..through and the blocks
 *    decided in them, (miner, t0, hash) each, in (t0, miner) order; a round of the run without a block in
 *    the list was decided "no block" throughout. A live signer states its chain: it holds every block
 *    decided up to its latest ended round (what the live rule already counts on), from the t0 of its block at
 *    the asker's tip height on (getchain's `from`), through its latest ended round, cut before the first
 *    block not yet durable. A signer catching up has several runs: its chain through the rounds it decided
 *    while live, if this catch-up began after it was, and then the rounds it decided itself between the
 *    outages it noticed (DolevStrong.notePartial, HeldDecisions.runs) with the blocks it holds there (partial
 *    decisions never are); it states the first that reaches the t0 of its block at the asker's tip height.
 *    At most decidedBlocksPerStatementMax (64) blocks: the run then ends before the first t0 left out.
 *  - The rule: the outcome of start round t (its list of decided blocks, empty for none) is known when f+1
 *    distinct validators' latest statements each have t in their run and state that same list, and no other
 *    list also has f+1. Our own chain counts as one when we were live before this catch-up (the run it held
 *    through the rounds decided then, `selfDecided`). From our tip's t0 on (knownThrough + 1, where
 *    knownThrough starts at that t0 - 1), round by round, a known outcome's blocks after our tip are appended
 *    in miner order (content from any reply, checked by hash; its list must hold our tip when t is our tip's
 *    t0) and knownThrough moves to t; a block appended by the vouching rule moves knownThrough to its t0 - 1.
 *    Only rounds before liveFromT0 (we decide the later ones ourselves). Catch-up is complete too when
 *    knownThrough >= liveFromT0 - 1: every block decided before liveFromT0 is on our chain.
 *  - Safety, within the fault bound (at most f validators faulty during any one instance, Byzantine ones
 *    included): of f+1 validators stating one list for t, at most f are faulty during t, so one is honest
 *    and was in synchrony throughout t. It states either its own decision of t (a held run, or a live
 *    chain's own rounds): Dolev-Strong's agreement makes it every non-faulty validator's decision, the honest
 *    outcome; or its live chain below its own rounds, which catch-up built (by induction, only honest
 *    decisions, and complete when that catch-up ended). So the list is the honest outcome of t. A Byzantine
 *    signer may state anything, the asker's own chain or held decisions included (the flatterers of
 *    test/sim-net/byzantine.ts do): to append a block nobody decided, or to skip one that was (stating
 *    "no block"), it needs f+1 signers on that list, and the honest one among them states the honest
 *    outcome. A block appended is the one decided; a round skipped had none. Our tip is on the honest chain
 *    (it was appended so), so the blocks after it are the rest of t's list.
 *  - Outside the bound (more than f out in one instance, or every validator crashed at once) the rule
 *    promises nothing, as Dolev-Strong does not: a restarted signer's run starts at its new live round, so
 *    after a crash of all the rule says nothing about the rounds before it and the unanimity rule above
 *    stays what ends catch-up; where two lists each have f+1 the rule waits rather than choose.
 *  - An observer moves over rounds by it but appends no block by it, only by vouches: a run names held
 *    decisions (in memory only) and a catching-up signer's chain from before its outage (not cut at what is
 *    durable), so f+1 runs can name a block no validator's disk keeps, and an observer that took it with
 *    content from one Byzantine reply forked from validators that all crashed, lost it and went on by the
 *    unanimity rule, which is safe for observers only because a block leaves a validator once its disk has
 *    it (test/catch-up-per-instance-attacks.test.ts). A validator that takes it keeps it on its own disk, so
 *    the validators are then not unanimous without it.
 *  - It replaces no rule: the vouching, live, quorum and unanimity rules still hold and still apply; the new
 *    rule adds evidence they could not count. What it still cannot count: held decisions a restart lost
 *    (they are in memory only), and a block whose content no reply carries (a hash alone is not a block).
 *  - The wire: PROTOCOL_VERSION 8 and the statement's signed bytes (domain v4) cover `decided`; a peer of
 *    another protocol version is refused at the handshake, so an old peer never sees a statement with the
 *    field, nor sends one without it.
 *
 * A fork is never silent here either (issue 18): a node whose chain left the honest one (a fork decided out
 * of synchrony, then a restart that put it outside the outcome window divergence.ts watches) finds no f+1
 * vouches for anything on its tip and would catch up for ever, saying nothing. So a reply contradicts our
 * chain when its statement names, at a height at or below our tip, another chain digest than ours there, or
 * when the block it sent at our tip's height + 1 sits on another block than our tip. f+1 distinct signers
 * doing so include an honest one, whose chain differs from ours below our tip: honest chains have split
 * (`contradictions`).
 */
import { concatBytes, lengthPrefixed, toHex, u32be, u64be, utf8 } from '../bytes.ts';
import type { ChainStatement, DecidedRun, WireChainBlock } from '../wire/schema.ts';
import { blockHash, chainDigest } from './block.ts';
import { decidedRunBytes, outcomeOf } from './decided-run.ts';
import { payloadCapViolation } from './payload-cap.ts';

/** Bytes of block payload put in one catch-up reply, so it stays well inside one frame (frame-bound.ts). */
export const chainReplyBytesMax = 512 * 1024;

/** Domain tag of chain statements. */
export const STATEMENT_DOMAIN = 'strongcast/chain-statement/v4';

/** Limits of the catch-up state. */
export const catchUpDefaults = {
  /** Blocks received and not yet appended that are kept, in all. */
  candidateBlocksMax: 4096,
} as const;

/** What a statement is about, without its signature. */
export type StatementBody = Omit<ChainStatement, 'sig'>;

/**
 * len-prefixed domain || len-prefixed network id || genesis hash (32) || signer (u32 BE) || round (u64 BE) ||
 * height (u64 BE) || tip (32) || digest (32) || syncing (u8, 1 or 0) || holds (u8, 1 when heldFrom is a number, else 0) ||
 * heldFrom (u64 BE, 0 when null) || appends (u8, 1 when appendsFrom is a number, else 0) || appendsFrom (u64 BE,
 * 0 when null) || the decided run (decided-run.ts decidedRunBytes); length prefixes are u32 BE.
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
    s.digest,
    new Uint8Array([s.syncing ? 1 : 0, s.heldFrom === null ? 0 : 1]),
    u64be(s.heldFrom ?? 0),
    new Uint8Array([s.appendsFrom === null ? 0 : 1]),
    u64be(s.appendsFrom ?? 0),
    decidedRunBytes(s.decided),
  );
}

/** The chain position catch-up builds on. */
export interface SyncTip {
  height: number;
  /** Hash of the block at `height`. */
  hash: Uint8Array;
  /** Running digest of the chain through `height` (block.ts chainDigest). */
  digest: Uint8Array;
}

/** Whether a statement names exactly this chain: the same height and the same chain digest there. */
function sameTip(s: ChainStatement, tip: SyncTip): boolean {
  return s.height === tip.height && toHex(s.digest) === toHex(tip.digest);
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
  candidateBlocksMax?: number;
  /**
   * Whether this node is a validator, whose own chain counts as one statement of the quorum; an observer's
   * chain proves nothing about validators. @default true
   */
  selfIsValidator?: boolean;
  /** Start round of the block at our tip; null at genesis. @default null */
  tipT0?: number | null;
  /**
   * Our own run for the per-instance rule (module comment): the rounds we decided while live before this
   * catch-up, and our chain's blocks in them; counted as one validator's, only when we are one. @default null
   */
  selfDecided?: DecidedRun | null;
}

/** Why a block from a peer was not kept. */
export type BlockRefusal = { index: number; reason: string } | null;

/** One validator's reply naming another chain than ours at a height we hold. */
export interface Contradiction {
  signer: number;
  /** The height, at or below our tip. */
  height: number;
  /** Hex hash of the signer's block at that height (its statement's tip, or the parent of the block it sent). */
  hash: string;
}

/** Statements, each validator's chain segment, and the vouch count of one syncing node. */
export class CatchUp {
  readonly n: number;
  readonly f: number;
  readonly k: number;
  /** First t0 this node decides itself; pushed forward while the node has no peers (see the shell). */
  liveFromT0: number;
  private tip: SyncTip;
  private readonly statements = new Map<number, ChainStatement>();
  /**
   * Per signer, the blocks its own reply carried, by height. A block counts as vouched by a signer only if
   * that signer sent it, at that height, over its own authenticated connection: a copy of a block relinked
   * to another height or parent by someone else can never borrow honest vouches.
   */
  private readonly segments = new Map<number, Map<number, WireChainBlock & { hashHex: string }>>();
  private readonly candidateBlocksMax: number;
  private contradictionsReported = false;
  private readonly selfIsValidator: boolean;
  private readonly selfDecided: DecidedRun | null;
  /** Start round of the block at our tip (null at genesis). */
  private tipT0: number | null;
  /** Start round through which our chain holds every decided block (the per-instance rule, module comment). */
  private knownThrough: number;

  constructor(o: CatchUpOptions) {
    this.n = o.n;
    this.f = o.faults;
    this.k = o.k;
    this.liveFromT0 = o.liveFromT0;
    this.tip = o.tip;
    this.candidateBlocksMax = o.candidateBlocksMax ?? catchUpDefaults.candidateBlocksMax;
    this.selfIsValidator = o.selfIsValidator ?? true;
    this.selfDecided = this.selfIsValidator ? (o.selfDecided ?? null) : null;
    this.tipT0 = o.tipT0 ?? null;
    this.knownThrough = (this.tipT0 ?? 0) - 1;
  }

  /** Start round through which our chain holds every decided block, by the per-instance rule or our tip. */
  get knownThroughT0(): number {
    return this.knownThrough;
  }

  /** Our tip now. */
  get tipNow(): SyncTip {
    return this.tip;
  }

  /**
   * Takes one validator's reply: its statement (signature verified by the shell, which also checked that the
   * reply came over that validator's own connection) and the blocks it sent. The latest round per signer
   * wins. Blocks below our tip are ignored; the rest must follow each other by height and parent, each within
   * the network's block payload cap (payload-cap.ts).
   * @returns the first refusal, if the blocks do not link or one is above the cap (the segment is then dropped)
   */
  onReply(s: ChainStatement, blocks: readonly WireChainBlock[]): BlockRefusal {
    const old = this.statements.get(s.signer);
    if (old && s.round < old.round) return null;
    this.statements.set(s.signer, s);
    const segment = new Map<number, WireChainBlock & { hashHex: string }>();
    let prev: WireChainBlock | undefined;
    for (const [i, b] of blocks.entries()) {
      // No honest chain holds a block above the network's cap (every validator refuses its chains), and a
      // candidate kept costs memory: candidateBlocksMax blocks of at most the cap.
      const tooLarge = payloadCapViolation(b.payload.byteLength, this.n);
      if (tooLarge) {
        this.segments.delete(s.signer);
        return { index: i, reason: `block at height ${b.height}: ${tooLarge}` };
      }
      if (prev && (b.height !== prev.height + 1 || toHex(b.parent) !== toHex(blockHash(prev)))) {
        this.segments.delete(s.signer);
        return { index: i, reason: `block at height ${b.height} does not follow the one before it` };
      }
      prev = b;
      if (b.height > this.tip.height) segment.set(b.height, { ...b, hashHex: toHex(blockHash(b)) });
    }
    const others = [...this.segments.entries()].filter(([k]) => k !== s.signer).reduce((a, [, m]) => a + m.size, 0);
    if (others + segment.size > this.candidateBlocksMax) return { index: 0, reason: 'candidate block limit reached' };
    this.segments.set(s.signer, segment);
    return null;
  }

  /**
   * The blocks, from tip + 1 on, that f+1 distinct validators each sent at that height on top of the block
   * before it: one of them is honest, so the block is in the honest chain at that place.
   */
  appendable(): WireChainBlock[] {
    const out: WireChainBlock[] = [];
    let height = this.tip.height;
    let parentHex = toHex(this.tip.hash);
    for (let b = this.vouchedAt(height + 1, parentHex); b; b = this.vouchedAt(height + 1, parentHex)) {
      out.push(b);
      height++;
      parentHex = b.hashHex;
    }
    return out;
  }

  /** The block f+1 distinct validators each sent at `height` on top of the block `parentHex`, if any. */
  private vouchedAt(height: number, parentHex: string): (WireChainBlock & { hashHex: string }) | undefined {
    const groups = new Map<string, { block: WireChainBlock & { hashHex: string }; signers: number }>();
    for (const seg of this.segments.values()) {
      const b = seg.get(height);
      if (!b || toHex(b.parent) !== parentHex) continue;
      const g = groups.get(b.hashHex);
      if (g) g.signers++;
      else groups.set(b.hashHex, { block: b, signers: 1 });
    }
    return [...groups.values()].find((g) => g.signers >= this.f + 1)?.block;
  }

  /**
   * The next block to append on our tip, or null: the vouching rule's (appendable's first, found without
   * walking the rest: the caller appends it and asks again), else the per-instance rule's (module comment),
   * which meanwhile moves knownThrough over rounds f+1 validators state had no block.
   */
  next(): WireChainBlock | null {
    return this.vouchedAt(this.tip.height + 1, toHex(this.tip.hash)) ?? this.nextByInstance();
  }

  private nextByInstance(): WireChainBlock | null {
    const runs: Array<DecidedRun | null | undefined> = [this.selfDecided, ...[...this.statements.values()].map((s) => s.decided)];
    const tipHex = toHex(this.tip.hash);
    for (;;) {
      const t = this.knownThrough + 1;
      if (t >= this.liveFromT0) return null;
      const outcome = outcomeOf(runs, t, this.f + 1);
      if (outcome === null) return null;
      let rest = outcome;
      if (this.tipT0 === t) {
        // Our tip is on the honest chain, so t's honest list holds it; the blocks after it are what is left.
        const at = outcome.findIndex((e) => toHex(e.hash) === tipHex);
        if (at < 0) return null;
        rest = outcome.slice(at + 1);
      }
      const first = rest[0];
      if (first === undefined) {
        this.knownThrough = t;
        continue;
      }
      // An observer takes blocks only by vouches (f+1 copies, one sent from an honest disk): a run may name a
      // block its signers hold in memory only, which a crash of every validator loses (module comment).
      if (!this.selfIsValidator) return null;
      const b = this.contentOf(toHex(first.hash));
      if (!b) return null;
      return { miner: b.miner, t0: b.t0, ts: b.ts, payload: b.payload, height: this.tip.height + 1, parent: this.tip.hash };
    }
  }

  /** A block with this hash from any reply (its hash is checked, so whoever sent it does not matter). */
  private contentOf(hashHex: string): WireChainBlock | undefined {
    for (const seg of this.segments.values()) for (const b of seg.values()) if (b.hashHex === hashHex) return b;
    return undefined;
  }

  /** Moves our tip after the shell appended `block`. */
  advance(block: WireChainBlock, hash: Uint8Array): void {
    this.tip = { height: block.height, hash, digest: chainDigest(this.tip.digest, block.height, hash) };
    this.tipT0 = block.t0;
    this.knownThrough = Math.max(this.knownThrough, block.t0 - 1);
    for (const seg of this.segments.values()) for (const h of [...seg.keys()]) if (h <= block.height) seg.delete(h);
  }

  /**
   * True when nothing decided before liveFromT0 can be missing (module comment): the per-instance rule knows
   * every round before it; or f+1 validators that are not
   * catching up, stating late enough, name exactly our chain; or a quorum of validators, ours included, do,
   * none holding a decision from before liveFromT0 (the quorum rule); or all n do, none appending one (the
   * unanimity rule). Exactly, not "an ancestor of ours": a
   * node that has a block nobody vouches for must not call itself complete. Our chain is our tip, or
   * `prospective`, the tip we will have once our held decisions are appended (DolevStrong.prospectiveTip);
   * `ownHeldFrom` is our own held-decision mark (DolevStrong.heldFrom), which must pass the test the others'
   * pass for our chain to count. `heldWhole` says whether we hold every decision we made since catch-up
   * began (DolevStrong.heldWhole): the per-instance rule knows only the rounds before liveFromT0 and counts on
   * our held decisions for the rest, so with one refused (heldDecisionsMax) it would end us on a chain that
   * skips it; the other rules compare whole chains and need no such flag.
   */
  complete(prospective: SyncTip = this.tip, ownHeldFrom: number | null = null, heldWhole = true): boolean {
    if (heldWhole && this.knownThrough >= this.liveFromT0 - 1) return true;
    const minRound = this.liveFromT0 - 1 + this.k;
    const ours = (s: ChainStatement): boolean => sameTip(s, this.tip) || sameTip(s, prospective);
    const nothingEarlier = (from: number | null): boolean => from === null || from >= this.liveFromT0;
    let live = 0;
    let any = this.selfIsValidator && nothingEarlier(ownHeldFrom) ? 1 : 0;
    // Our own held decisions are all of instances from liveFromT0 on (finishSync drops the rest).
    let all = this.selfIsValidator ? 1 : 0;
    for (const s of this.statements.values()) {
      if (s.round < minRound || !ours(s)) continue;
      if (!s.syncing) live++;
      if (nothingEarlier(s.heldFrom)) any++;
      if (nothingEarlier(s.appendsFrom)) all++;
    }
    return live >= this.f + 1 || any >= this.quorum || all >= this.n;
  }

  /**
   * Statements (ours included) that complete a catch-up whoever made them, catching up or not: f + 1 suffice
   * within the fault bound (the quorum rule, module comment), and n - f where that is more, so a minority
   * cannot end a catch-up outside the bound either. At most n: with f = 0 every validator must state it.
   */
  get quorum(): number {
    return Math.min(this.n, Math.max(this.f + 1, this.n - this.f));
  }

  /**
   * The replies that contradict our chain (module comment), once f+1 distinct signers' latest replies do; each
   * run reports them once (null before, and after). `digestAt` gives our chain's running digest through a
   * height (null where it is not known here: such a statement is not judged).
   */
  contradictions(digestAt: (height: number) => Uint8Array | null): Contradiction[] | null {
    if (this.contradictionsReported) return null;
    const out: Contradiction[] = [];
    for (const s of this.statements.values()) {
      const c = this.contradiction(s, digestAt);
      if (c) out.push(c);
    }
    if (out.length < this.f + 1) return null;
    this.contradictionsReported = true;
    return out.sort((a, b) => a.height - b.height || a.signer - b.signer);
  }

  private contradiction(s: ChainStatement, digestAt: (height: number) => Uint8Array | null): Contradiction | null {
    if (s.height <= this.tip.height) {
      const ours = digestAt(s.height);
      return ours && toHex(ours) !== toHex(s.digest) ? { signer: s.signer, height: s.height, hash: toHex(s.tip) } : null;
    }
    const next = this.segments.get(s.signer)?.get(this.tip.height + 1);
    const parentHex = next ? toHex(next.parent) : null;
    return parentHex !== null && parentHex !== toHex(this.tip.hash) ? { signer: s.signer, height: this.tip.height, hash: parentHex } : null;
  }

  /** Statements held, for status and tests. */
  get statementCount(): number {
    return this.statements.size;
  }
}
