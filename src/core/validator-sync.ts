/**
 * Catch-up as a validator (or observer) runs it: asks its peers for their chains every syncIntervalMs while
 * it is behind, answers their asks with its own signed statement and blocks, checks every statement's
 * signature and hands what arrives to the pure rules (consensus/catch-up.ts), appending what f+1 validators
 * vouch for. The state machine holds this node's own decisions meanwhile (DolevStrong.startSync), and
 * `finish` releases them in order.
 */
import { toHex } from '../bytes.ts';
import type { ConsensusAction } from '../consensus/dolev-strong.ts';
import type { Timer } from '../io/clock.ts';
import { blockHash, type ChainBlock } from '../consensus/block.ts';
import { CatchUp, statementSignedBytes } from '../consensus/catch-up.ts';
import { chainRun, runFor } from '../consensus/decided-run.ts';
import { catchUpDivergence, type Divergence } from '../consensus/divergence.ts';
import { schemaLimits, type ChainMessage, type ChainStatement, type DecidedRun, type WireChainBlock } from '../wire/schema.ts';
import { logError, type Logger } from '../log.ts';
import { chainReplyBytesMax, type ValidatorContext } from './validator-types.ts';

/** What catch-up needs from its validator. */
export interface SyncHost extends ValidatorContext {
  readonly log: Logger;
  /** Carries out the state machine's actions (decisions released by finishSync among them). */
  apply(actions: ConsensusAction[], from: string): void;
  /** A block learned from peers, appended to the chain: make it durable, then report it `synced`. */
  synced(block: ChainBlock): void;
  /** Catch-up finished at this tip. */
  caughtUp(): void;
  /** A reply outside catch-up (an observer fetching blocks it lacks). */
  strayReply(msg: ChainMessage): void;
  /** Called before answering, so a paused node notices before it speaks (Validator.checkOutage). */
  checkOutage(): void;
  /** f+1 validators' replies name another chain than ours at heights we hold: raise the alarm. */
  diverged(d: Divergence): void;
  /** Height of the newest block on disk (disk-order.ts); a reply carries no block above it. */
  durableHeight(): number;
}

/** One validator's catch-up: the run in progress, if any, and the answers it gives. */
export class ValidatorSync {
  #run: CatchUp | null = null;
  #timer: Timer | null = null;
  /** Replies are handled one at a time: each awaits a signature check. */
  #queue: Promise<void> = Promise.resolve();
  /** The validator stopped: replies still queued reach neither catch-up nor the state machine. */
  #halted = false;
  /** Our chain's run (catch-up.ts, the per-instance rule) when this catch-up began after we were live, else null. */
  #chainRun: DecidedRun | null = null;

  constructor(private readonly host: SyncHost) {}

  /** The catch-up in progress, or null. */
  get run(): CatchUp | null {
    return this.#run;
  }

  /** Starts catching up from our tip: decisions are held from now on, and peers are asked every syncIntervalMs. */
  begin(): void {
    const h = this.host;
    const tip = h.core.tip();
    const tipT0 = h.core.chain().at(-1)?.t0 ?? null;
    // Live until now (not a restart, which has decided nothing yet): our chain holds every block decided
    // through the rounds decided here, one validator's evidence for the per-instance rule (catch-up.ts).
    const through = h.core.syncing ? null : h.core.decidedThrough;
    const selfDecided = through === null ? null : chainRun(h.core.chain(), 0, through, Number.MAX_SAFE_INTEGER);
    this.#chainRun = selfDecided;
    h.core.startSync();
    const liveFromT0 = h.core.currentRound(h.now()) + 1;
    // The instances not yet decided here ran while this node was out (restarted, alone or paused).
    h.core.notePartial(liveFromT0);
    this.#run = new CatchUp({ n: h.genesis.validators.length, faults: h.genesis.faults, k: h.core.k, liveFromT0, tip, tipT0, selfDecided, selfIsValidator: h.index !== null });
    const ask = () => {
      const from = (this.#run?.tipNow.height ?? 0) + 1;
      for (const peer of h.node.peerIds()) h.node.sendTo(peer, { t: 'getchain', from });
    };
    // Each ask also checks for completion: a reply is not the only way to it. With f = 0 our own chain is
    // the quorum, and a lone validator (n = 1) gets no replies at all: it stayed catching up for good after
    // a pause (test/solo-stall-sim.test.ts).
    this.#timer = h.clock.setRepeating(() => {
      ask();
      this.#finishIfComplete();
    }, h.syncIntervalMs);
    ask();
  }

  /**
   * The node found itself out again while catching up: it decides itself only from `t0` on (when that is
   * later than now), and what it decides in the instances before, not decided yet, is partial
   * (DolevStrong.notePartial).
   */
  raiseLiveFrom(t0: number): void {
    const run = this.#run;
    if (!run) return;
    run.liveFromT0 = Math.max(run.liveFromT0, t0);
    this.host.core.notePartial(run.liveFromT0);
  }

  /** Stops asking; safe twice. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** The validator stops for good: stops asking, and drops the replies still queued. */
  halt(): void {
    this.#halted = true;
    this.stop();
  }

  /**
   * Our signed statement about our chain, and the blocks from `from` on (bounded in count and bytes). An
   * observer has no key of the genesis to sign a statement with, and a block vouches for nothing without
   * one: it does not answer.
   */
  answer(from: number): ChainMessage | null {
    const h = this.host;
    const identity = h.identity;
    if (identity === null || h.index === null) return null;
    h.checkOutage();
    h.apply(h.core.tick(h.now()), 'self');
    const tip = h.core.tip();
    // Rounds count from 0 at the genesis start; before it, say 0 (the wire format has no negative rounds).
    const syncing = h.core.syncing;
    const heldFrom = syncing ? h.core.heldFrom() : null;
    const appendsFrom = syncing ? h.core.appendsFrom(this.#run?.liveFromT0 ?? 0) : null;
    const decided = this.#decidedRun(from);
    const body = { signer: h.index, round: Math.max(0, h.core.currentRound(h.now())), height: tip.height, tip: tip.hash, digest: tip.digest, syncing, heldFrom, appendsFrom, decided };
    const statement: ChainStatement = { ...body, sig: identity.sign(statementSignedBytes(h.genesis.networkId, h.core.genesisHash, body)) };
    // Only blocks already on disk vouch: a block taken from a reply stays with the asker for good, and one
    // not yet on any validator's disk is lost by a crash of them all, after which the unanimity rule lets
    // them go on without it (test/all-crash-observer-sim.test.ts). The statement still names the whole
    // chain, so an asker waits for the rest rather than call a shorter chain complete.
    return { t: 'chain', statement, blocks: blocksFrom(h.core.chain(), from, h.durableHeight()) };
  }

  /**
   * Our evidence per instance (catch-up.ts, the per-instance rule), from the t0 of our block at the asker's
   * tip height (`from` - 1; our tip's when we have no block there) on. Live: our chain, which holds every
   * block decided through our latest ended round, up to the blocks already durable (as for the blocks a reply
   * carries). Catching up: our chain through the rounds we decided while live before this catch-up, then the
   * rounds decided since, between outages, with the blocks held there; the first of these that reaches it.
   */
  #decidedRun(from: number): DecidedRun | null {
    const h = this.host;
    const chain = h.core.chain();
    const hintT0 = from <= 1 ? 0 : (chain.find((b) => b.height === from - 1) ?? chain.at(-1))?.t0 ?? 0;
    const max = schemaLimits.decidedBlocksPerStatementMax;
    if (h.core.syncing) return runFor([...(this.#chainRun ? [this.#chainRun] : []), ...h.core.heldRuns(Number.MAX_SAFE_INTEGER)], hintT0, max);
    const through = h.core.decidedThrough;
    if (through === null) return null;
    const notDurable = chain.find((b) => b.height > h.durableHeight());
    return chainRun(chain, hintT0, Math.min(through, (notDurable?.t0 ?? Infinity) - 1), max);
  }

  /** A peer's reply, queued behind the ones before it. */
  onReply(msg: ChainMessage, peer: string): void {
    this.#queue = this.#queue.then(() => this.#absorb(msg, peer)).catch((e: unknown) => {
      logError(this.host.log, 'catch-up reply failed', { error: (e as Error).message });
    });
  }

  async #absorb(msg: ChainMessage, peer: string): Promise<void> {
    const h = this.host;
    const cu = this.#run;
    if (this.#halted) return;
    if (!cu) return h.strayReply(msg);
    const st = msg.statement;
    if (!st || st.signer >= h.genesis.validators.length || st.signer === h.index) return;
    const key = h.genesis.validators[st.signer]!.publicKey;
    // The blocks of a reply count for the statement's signer only when that signer's own connection sent it.
    if (toHex(key) !== peer) return;
    // A consensus check: catch-up must not wait behind a broadcast flood either.
    const [ok] = await h.verifier.verify([{ publicKey: key, message: statementSignedBytes(h.genesis.networkId, h.core.genesisHash, st), signature: st.sig }], peer, 'consensus');
    if (!ok || this.#run !== cu || this.#halted) return;
    const refused = cu.onReply(st, msg.blocks);
    if (refused) h.log.warn('catch-up blocks refused', { signer: st.signer, reason: refused.reason });
    for (let b = cu.next(); b !== null; b = cu.next()) {
      const block: ChainBlock = { ...b, hash: blockHash(b) };
      h.core.appendLinked(block);
      cu.advance(b, block.hash);
      h.synced(block);
    }
    // Nothing f+1 vouch for sits on a tip they contradict: without this the node would catch up for ever, silent.
    const claims = cu.contradictions((height) => h.core.digestAt(height));
    if (claims) h.diverged(catchUpDivergence(claims, h.core.chain()));
    this.#finishIfComplete();
  }

  /** Leaves catch-up if it is complete (CatchUp.complete) and every instance it covers has ended here. */
  #finishIfComplete(): void {
    const h = this.host;
    // Every instance up to the synced tip's t0 (and before liveFromT0) must have ended here, so that its
    // decision is held and settled by finishSync rather than appended again after it (a node whose clock is
    // behind syncs a block from peers whose clocks are ahead while the instance is still open here).
    h.checkOutage();
    h.apply(h.core.tick(h.now()), 'self');
    const cu = this.#run;
    if (!cu || this.#halted) return;
    const tipT0 = h.core.chain().at(-1)?.t0 ?? -1;
    const endedHere = h.core.currentRound(h.now()) >= Math.max(cu.liveFromT0 - 1, tipT0) + h.core.k;
    if (endedHere && cu.complete(h.core.prospectiveTip(cu.liveFromT0), h.core.heldFrom(), h.core.heldWhole)) this.finish();
  }

  /** Leaves catch-up: the held decisions of live instances are appended and reported, in order. */
  finish(): void {
    const cu = this.#run;
    if (!cu) return;
    this.#run = null;
    this.#chainRun = null;
    this.stop();
    this.host.apply(this.host.core.finishSync(cu.liveFromT0), 'self');
    this.host.caughtUp();
  }
}

/**
 * Our blocks from height `from` up to `durable`, at most chainBlocksPerReplyMax of them and about
 * chainReplyBytesMax of payload.
 */
function blocksFrom(chain: readonly ChainBlock[], from: number, durable: number): WireChainBlock[] {
  const blocks: WireChainBlock[] = [];
  let bytes = 0;
  for (const b of chain) {
    if (b.height < from) continue;
    if (b.height > durable) break;
    if (blocks.length >= schemaLimits.chainBlocksPerReplyMax || (blocks.length > 0 && bytes + b.payload.byteLength > chainReplyBytesMax)) break;
    blocks.push({ miner: b.miner, t0: b.t0, ts: b.ts, payload: b.payload, height: b.height, parent: b.parent });
    bytes += b.payload.byteLength;
  }
  return blocks;
}
