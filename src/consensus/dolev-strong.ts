/**
 * The Dolev-Strong authenticated broadcast (Dolev & Strong 1983) on blocks, as a pure state machine: verified
 * chains and the time go in, actions come out (`send`, `forward`, `decided` ...). It never reads a clock, never
 * touches a socket and never verifies a signature: the shell verifies every chain (ChainVerifier.checkChain)
 * and passes only verified ones to `onVerifiedChain`, and it hands in `nowMs` on every call.
 *
 * One instance per (miner, t0). Its round at this node comes only from this node's clock:
 * r = floor((now - T0) / Δ) + 1 with T0 = startMs + t0·Δ, never from a field of a message. Rules:
 *  - round 1: the miner signs its block and sends it with only its own bit set (`propose`);
 *  - in round r (1..k), a chain for block B carrying the miner's signature and r - 1 other distinct ones,
 *    for a B not yet in the pool (and a pool holding fewer than two blocks), puts B in the pool; a validator
 *    also sets its bit, appends its signature and relays it, unless r = k (nobody could use it in time);
 *  - after round k (now >= T0 + kΔ): exactly one block in the pool is decided, none or two mean "no block";
 *  - decided blocks are appended in (t0, miner) order: every instance of one t0 ends at the same moment, so
 *    each honest node appends a t0's decided blocks together, in miner order, and all chains stay identical.
 * k = f + 1 is what makes it agree: a chain accepted in round k holds k > f signatures, so one came from an
 * honest validator, which relayed the block to everyone while there was still time.
 */
import { concatBytes, toHex } from '../bytes.ts';
import { StrongcastError, assert, type ErrorCode } from '../errors.ts';
import { SIGNATURE_BYTES, type ConsensusMessage, type DecidedRun, type WireBlock } from '../wire/schema.ts';
import { hasBit, maskOf, withBit } from './bitmask.ts';
import { blockHash, type ChainBlock, type InstanceId } from './block.ts';
import { Chain, nextTip, type ChainTip } from './chain.ts';
import { checkChainStructure } from './chain-rules.ts';
import { genesisHash, type Genesis } from './genesis.ts';
import {
  resolveDolevStrongOptions,
  type ChainTiming,
  type ConsensusAction,
  type DolevStrongOptions,
  type DolevStrongStatus,
} from './dolev-strong-options.ts';
import { Instance, instanceKey, type PoolEntry } from './instance.ts';
import { HeldDecisions } from './held-decisions.ts';
import { payloadCapViolation } from './payload-cap.ts';
import { consensusSignedBytes } from './signing.ts';

export type { ChainTiming, ConsensusAction, DolevStrongOptions, DolevStrongStatus, InstanceStatus } from './dolev-strong-options.ts';
export { heldDecisionsMax } from './held-decisions.ts';

/** Blocks of one instance an observer tracks: two per validator, what n honest ones could ever sign. */
export function observedBlocksPerInstanceMax(n: number): number {
  return 2 * n;
}

/** The Dolev-Strong state machine of one node. */
export class DolevStrong {
  readonly genesis: Genesis;
  readonly genesisHash: Uint8Array;
  /** Number of validators. */
  readonly n: number;
  /** Rounds per instance (f + 1). */
  readonly k: number;
  readonly selfIndex: number | null;
  readonly instancesOpenMax: number;
  readonly proposeLateMsMax: number;
  readonly clockSkewMsMax: number;
  readonly #sendEarly: boolean;
  readonly #sign: ((bytes: Uint8Array) => Uint8Array) | null;
  readonly #instances = new Map<string, Instance>();
  /** Instances holding sends until their T0 (chains that came early within clockSkewMsMax). */
  readonly #early = new Set<Instance>();
  readonly #chain: Chain;
  /** Latest time seen: the core's time never runs backwards, so a clock step back cannot reopen an instance. */
  #nowMs = Number.NEGATIVE_INFINITY;
  /** The #endedThrough value at the last scan for ended instances. */
  #scannedThrough = Number.NEGATIVE_INFINITY;
  /** While catching up (catch-up.ts), decided blocks wait here: their heights are not known yet. */
  readonly #holds = new HeldDecisions();

  constructor(opts: DolevStrongOptions) {
    const o = resolveDolevStrongOptions(opts);
    this.genesis = o.genesis;
    this.genesisHash = genesisHash(o.genesis);
    this.n = o.n;
    this.k = o.k;
    this.selfIndex = o.selfIndex;
    this.#sign = o.sign;
    this.instancesOpenMax = o.instancesOpenMax;
    this.proposeLateMsMax = o.proposeLateMsMax;
    this.clockSkewMsMax = o.clockSkewMsMax;
    this.#sendEarly = o.sendEarly;
    this.#chain = new Chain({
      genesisHash: this.genesisHash,
      ...(o.tip ? { tip: o.tip } : {}),
      ...(o.chainBlocksKeptMax === undefined ? {} : { blocksKeptMax: o.chainBlocksKeptMax }),
    });
  }

  /** Start of round t0 in ms: T0 = startMs + t0·Δ. */
  roundStartMs(t0: number): number {
    return this.genesis.startMs + t0 * this.genesis.roundMs;
  }

  /** The round (1..k while it runs) of instance t0 at `nowMs`: floor((now - T0)/Δ) + 1; below 1 before it starts. */
  roundOf(t0: number, nowMs: number): number {
    return Math.floor((nowMs - this.roundStartMs(t0)) / this.genesis.roundMs) + 1;
  }

  /** The global round index t = floor((now - startMs)/Δ): the t0 a proposal made now belongs to. */
  currentRound(nowMs: number): number {
    return Math.floor((nowMs - this.genesis.startMs) / this.genesis.roundMs);
  }

  /**
   * Where a chain of instance t0 arriving at `nowMs` stands: refused after round k; counted in round 1 from
   * clockSkewMsMax before T0 on, because an honest sender (whose clock may be that far ahead) sends nothing of
   * the instance before its own T0; refused before that (ERR_TOO_EARLY: only a dishonest or badly
   * misconfigured sender gets there). The shell asks this before verifying, the core again when it acts.
   */
  chainTiming(t0: number, nowMs: number): ChainTiming {
    const r = this.roundOf(t0, nowMs);
    if (r > this.k) return { code: 'ERR_INSTANCE_OVER', reason: `round ${r} of instance t0=${t0} is after the last round k=${this.k}` };
    if (r >= 1) return { round: r };
    const earlyMs = this.roundStartMs(t0) - nowMs;
    if (earlyMs <= this.clockSkewMsMax) return { round: 1 };
    return { code: 'ERR_TOO_EARLY', reason: `instance t0=${t0} starts in ${earlyMs} ms here, more than clockSkewMsMax=${this.clockSkewMsMax}` };
  }

  /** When this node should next propose: the current round if it is still early enough and unused, else the next. */
  nextProposalRound(nowMs: number): { t0: number; atMs: number } {
    if (nowMs < this.genesis.startMs) return { t0: 0, atMs: this.genesis.startMs };
    const t = this.currentRound(nowMs);
    const early = nowMs - this.roundStartMs(t) <= this.proposeLateMsMax;
    if (early && !this.#proposedIn(t)) return { t0: t, atMs: this.roundStartMs(t) };
    return { t0: t + 1, atMs: this.roundStartMs(t + 1) };
  }

  /**
   * Round 1 of instance (self, t0): signs `payload` as a block and sends it with only this node's bit set.
   * Refused (a `rejected` action) unless now is in round 1 of t0, at most proposeLateMsMax after T0, and this
   * node has not proposed for t0 already: a miner starts at most one instance per round; and refused with
   * ERR_PAYLOAD_TOO_LARGE when the payload is above the network's cap (payload-cap.ts).
   * @throws StrongcastError ERR_NOT_VALIDATOR on an observer.
   */
  propose(payload: Uint8Array, t0: number, nowMs: number, ts: number = nowMs): ConsensusAction[] {
    const self = this.selfIndex;
    const sign = this.#sign;
    if (self === null || sign === null) throw new StrongcastError('ERR_NOT_VALIDATOR', 'an observer cannot propose');
    const out = this.#advance(nowMs);
    const id = { miner: self, t0 };
    const refused = this.#proposalRefusal(payload, t0, ts);
    if (refused) return [...out, { type: 'rejected', instance: id, ...refused }];
    const inst = this.#open(id);
    if (inst === null) return [...out, this.#full(id)];
    if (inst.pool.length > 0) return [...out, { type: 'rejected', instance: id, code: 'ERR_INVALID_OPTION', reason: `already proposed for t0=${t0}` }];
    const block: WireBlock = { miner: self, t0, ts: Math.floor(ts), payload };
    const hash = blockHash(block);
    const entry = inst.add(block, hash, 1);
    const sig = this.#signBlock(block, hash);
    entry.wireSignatures = 1;
    const msg: ConsensusMessage = { t: 'ds', block, mask: maskOf(this.n, [self]), signers: [self], sigs: sig, hops: 0 };
    out.push({ type: 'send', msg }, { type: 'proposed', instance: id, blockHash: hash });
    return out;
  }

  /**
   * A chain the shell verified (every signature valid). Applies the structural rules again with this node's
   * round at processing time, because verification takes time and the round that counts is the one in which
   * this node acts: a relay it makes now must still reach the others before their next round ends.
   * `hash` is blockHash(msg.block), passed when the shell already computed it.
   */
  onVerifiedChain(msg: ConsensusMessage, nowMs: number, hash: Uint8Array = blockHash(msg.block)): ConsensusAction[] {
    const out = this.#advance(nowMs);
    const id = { miner: msg.block.miner, t0: msg.block.t0 };
    const timing = this.chainTiming(id.t0, this.#nowMs);
    if ('code' in timing) return [...out, { type: 'rejected', instance: id, ...timing }];
    const r = timing.round;
    const violation = checkChainStructure(msg, this.n, r);
    if (violation) return [...out, { type: 'rejected', instance: id, ...violation }];
    const inst = this.#open(id);
    if (inst === null) return [...out, this.#full(id)];
    // Before T0 here (an early chain within the skew bound) what this node sends waits for T0: so nothing of
    // an instance leaves an honest node before its own T0, and every honest receiver gets it no earlier than
    // clockSkewMsMax before its T0, the window it accepts. Sent at once, a Byzantine miner's early proposal
    // could be relayed into a receiver's "too early" range by a chain of honest hops.
    const early = this.#nowMs < this.roundStartMs(id.t0) && !this.#sendEarly;
    const sends = early ? inst.held : out;
    const hex = toHex(hash);
    if (this.selfIndex === null) {
      this.#observe(msg, inst, hash, hex, sends, out);
      if (inst.held.length > 0) this.#early.add(inst);
      return out;
    }
    let entry = inst.entry(hex);
    if (entry === undefined) {
      // A third distinct block changes no outcome (two already mean "no block"), so it is neither pooled,
      // relayed nor forwarded: this bounds what a Byzantine miner can make honest nodes send.
      if (inst.full) return out;
      entry = inst.add(msg.block, hash, r);
      this.#relay(msg, entry, r, sends);
    }
    this.#forward(msg, entry, sends);
    if (inst.held.length > 0) this.#early.add(inst);
    return out;
  }

  /** Decides every instance whose round k has ended and appends the decided blocks in (t0, miner) order. */
  tick(nowMs: number): ConsensusAction[] {
    return this.#advance(nowMs);
  }

  /**
   * Opens instance (miner, t0) so its outcome is reported even when nothing arrives (a silent miner yields a
   * `decided` action with block null). Returns false when the instance has already ended or no instance slot
   * is free.
   * @throws StrongcastError ERR_INVALID_OPTION when miner or t0 is not a valid index.
   */
  watch(miner: number, t0: number): boolean {
    if (!Number.isSafeInteger(miner) || miner < 0 || miner >= this.n || !Number.isSafeInteger(t0) || t0 < 0) {
      throw new StrongcastError('ERR_INVALID_OPTION', `watch(miner, t0) needs miner in 0..${this.n - 1} and t0 >= 0`);
    }
    if (t0 <= this.#endedThrough()) return false;
    return this.#open({ miner, t0 }) !== null;
  }

  /** A snapshot of the round and the open instances at `nowMs` (reads only; decides nothing). */
  status(nowMs: number): DolevStrongStatus {
    const instances = [...this.#instances.values()].sort(byInstance).map((inst) => ({
      miner: inst.id.miner,
      t0: inst.id.t0,
      round: this.roundOf(inst.id.t0, nowMs),
      poolSize: inst.pool.length,
      blocks: inst.pool.map((e) => e.hashHex),
    }));
    return { round: this.currentRound(nowMs), k: this.k, height: this.#chain.tip.height, instances };
  }

  /**
   * Enters catch-up: from now on blocks decided here are held, not appended, until `finishSync`, because the
   * chain below them is still missing blocks and their heights would be wrong.
   */
  startSync(): void {
    this.#holds.start();
  }

  /**
   * The node found itself out (restarted, alone, paused, stalled, a chain checked late: core/outage-watch.ts)
   * and decides itself only from `liveFromT0` on. The instances before it that it has not decided yet ran
   * while it was out, so it counts as faulty in them whatever it decides there: those decisions are partial.
   * heldFrom leaves them out, and finishSync drops them (they are before liveFromT0). Decisions it made before
   * it found itself out are not partial, whatever comes after (a second outage).
   */
  notePartial(liveFromT0: number): void {
    this.#holds.notePartial(liveFromT0, this.decidedThrough);
  }

  /** Whether decisions are being held for catch-up. */
  get syncing(): boolean {
    return this.#holds.syncing;
  }

  /**
   * The start round of the earliest decision this node held for catch-up and has not appended, or null: what
   * its chain statement says it holds. Decisions finishSync will drop count too (a second outage raised the
   * round the node is live from), and so does `heldFromLost`, a mark a restart carried over: a validator that
   * decided a block and lost it must not state a chain without it as if it had never decided it (catch-up.ts,
   * the quorum rule). Partial decisions (notePartial) do not count: the node was out during their instances,
   * so it counts as faulty there whatever it decided, and the quorum rule needs nothing of them; counting
   * them, a validator whose catch-up began while a block was being decided could never count itself, nor the
   * others it (test/catch-up-liveness.test.ts). Cleared by finishSync.
   */
  heldFrom(): number | null {
    return this.#holds.heldFrom();
  }

  /**
   * The start round of the earliest decision this node holds and will append when its catch-up ends, or
   * null: those of instances from `liveFromT0` on (finishSync drops the rest), partial ones aside. Unlike
   * heldFrom it leaves out what was dropped or lost, which this node will never append: catch-up's unanimity
   * rule asks only what each validator's chain will hold (catch-up.ts).
   */
  appendsFrom(liveFromT0: number): number | null {
    return this.#holds.appendsFrom(liveFromT0);
  }

  /**
   * The highest start round whose instances this state machine has decided (null before its first tick): an
   * instance it decides from now on has a later t0, since a chain of an ended instance is refused.
   */
  get decidedThrough(): number | null {
    return Number.isFinite(this.#scannedThrough) ? this.#scannedThrough : null;
  }

  /**
   * While catching up: the runs of start rounds this node decided itself in synchrony, one for each stretch
   * between the outages it noticed, with the blocks it decided and holds there, at most `blocksMax` each
   * (HeldDecisions.runs); none when not syncing. What its chain statement states per instance (catch-up.ts,
   * the per-instance rule).
   */
  heldRuns(blocksMax: number): DecidedRun[] {
    return this.#holds.runs(this.decidedThrough, blocksMax);
  }

  /**
   * Whether this catch-up holds every decision made since it began: false once one was refused at
   * heldDecisionsMax (HeldDecisions.whole). Catch-up then must not end by the per-instance rule, which
   * vouches only for the rounds before the live start and counts on the held decisions for the rest.
   */
  get heldWhole(): boolean {
    return this.#holds.whole;
  }

  /** Carries over the held-decision mark of the process before a restart (ChainStore.loadHeldFrom). */
  restoreHeldFrom(t0: number | null): void {
    this.#holds.restore(t0);
  }

  /** Appends a block catch-up proved (f+1 vouches) or the store loaded. @throws ERR_BAD_CHAIN when it does not link */
  appendLinked(block: ChainBlock): ChainBlock {
    return this.#chain.appendLinked(block);
  }

  /**
   * Leaves catch-up: drops held decisions of instances that began before `liveFromT0` (seen only in part),
   * appends the other held decisions of instances after the synced tip, in (t0, miner) order, and
   * reports them `decided`. A held block already in the synced chain is reported decided as it is there; one
   * that contradicts it cannot happen while f+1 vouches include an honest validator, and is reported, never
   * appended.
   */
  finishSync(liveFromT0 = 0): ConsensusAction[] {
    const settled = this.#holds.settle(this.#chain, liveFromT0);
    this.#holds.finish(liveFromT0);
    const out: ConsensusAction[] = [];
    for (const s of settled) {
      const h = s.held;
      if (s.fate === 'synced') out.push({ type: 'decided', instance: h.id, block: s.block });
      else if (s.fate === 'contradicts') out.push({ type: 'rejected', instance: h.id, code: 'ERR_BAD_CHAIN', reason: 'a block decided here is missing from the synced chain' });
      else out.push({ type: 'decided', instance: h.id, block: this.#chain.append(h.block, h.hash) });
    }
    return out;
  }

  /**
   * The tip this node's chain would have if catch-up ended now with `liveFromT0`: the synced tip with the
   * held decisions that finishSync would append on top. Catch-up compares statements with it too: a live
   * validator whose chain ends there holds exactly the synced chain and this node's own later decisions.
   */
  prospectiveTip(liveFromT0: number): ChainTip {
    let tip = this.#chain.tip;
    for (const s of this.#holds.settle(this.#chain, liveFromT0)) if (s.fate === 'append') tip = nextTip(tip, s.held.hash);
    return tip;
  }

  /** The decided blocks kept in memory, oldest first. */
  chain(): readonly ChainBlock[] {
    return this.#chain.blocks();
  }

  /** Height and hash of the newest decided block (the genesis hash at height 0). */
  tip(): ChainTip {
    return this.#chain.tip;
  }

  /** The decided chain's running digest through `height`; null above the tip or below the blocks kept. */
  digestAt(height: number): Uint8Array | null {
    return this.#chain.digestAt(height);
  }

  #proposedIn(t0: number): boolean {
    const self = this.selfIndex;
    return self !== null && (this.#instances.get(instanceKey({ miner: self, t0 }))?.pool.length ?? 0) > 0;
  }

  #proposalRefusal(payload: Uint8Array, t0: number, ts: number): { code: ErrorCode; reason: string } | null {
    if (!Number.isSafeInteger(t0) || t0 < 0) return { code: 'ERR_INVALID_OPTION', reason: 't0 must be a non-negative integer' };
    if (!Number.isSafeInteger(Math.floor(ts)) || ts < 0) return { code: 'ERR_INVALID_OPTION', reason: 'ts must be a non-negative integer' };
    // Every validator refuses a chain whose block is above the cap (chain-rules.ts): never sign one.
    const tooLarge = payloadCapViolation(payload.byteLength, this.n);
    if (tooLarge) return { code: 'ERR_PAYLOAD_TOO_LARGE', reason: tooLarge };
    const r = this.roundOf(t0, this.#nowMs);
    if (r < 1) return { code: 'ERR_INVALID_OPTION', reason: `round t0=${t0} has not started` };
    if (r > 1) return { code: 'ERR_INSTANCE_OVER', reason: `round 1 of t0=${t0} is over` };
    const lateMs = this.#nowMs - this.roundStartMs(t0);
    if (lateMs > this.proposeLateMsMax) {
      return { code: 'ERR_INSTANCE_OVER', reason: `${lateMs} ms into round 1 is past proposeLateMsMax=${this.proposeLateMsMax}` };
    }
    return null;
  }

  /** Signs the block and relays the chain extended by this node's signature, unless it cannot help anyone. */
  #relay(msg: ConsensusMessage, entry: PoolEntry, r: number, out: ConsensusAction[]): void {
    const self = this.selfIndex;
    // In round k a relay would carry k+1 signatures to nodes already past round k: useless (Dolev-Strong).
    // A chain already holding our bit means we signed it before (e.g. before a restart): never sign twice.
    if (self === null || r >= this.k || hasBit(msg.mask, self)) return;
    const sig = this.#signBlock(msg.block, entry.hash);
    const relay: ConsensusMessage = {
      t: 'ds',
      block: msg.block,
      mask: withBit(msg.mask, self),
      signers: [...msg.signers, self],
      sigs: concatBytes(msg.sigs, sig),
      hops: 0,
    };
    entry.wireSignatures = relay.signers.length;
    out.push({ type: 'send', msg: relay });
    out.push({ type: 'relayed', instance: { miner: msg.block.miner, t0: msg.block.t0 }, blockHash: entry.hash, round: r, signatures: relay.signers.length });
  }

  /**
   * Forwarding rule for a multi-hop gossip network: pass a verified chain on unchanged only when it carries
   * more signatures than anything this node already sent or forwarded for that block (and only for the first
   * two blocks of the instance). Why the Dolev-Strong timing argument survives: it needs every honest node to
   * receive, within Δ of an honest node accepting B with s signatures, some chain for B it will accept, i.e.
   * one with at least s signatures. On every path each honest hop, when the chain reaches it, either relays B
   * with s+1 signatures (first sight), forwards it (more than it sent before), or has already sent a chain for
   * B with at least s signatures earlier, which arrives earlier and so is accepted too. So a chain good enough
   * is always on its way no later than plain flooding would deliver it. The count only grows and is at most n
   * per block, so a node puts at most 2n chains per instance on the wire.
   */
  #forward(msg: ConsensusMessage, entry: PoolEntry, out: ConsensusAction[]): void {
    if (msg.signers.length <= entry.wireSignatures) return;
    entry.wireSignatures = msg.signers.length;
    out.push({ type: 'forward', msg });
  }

  /**
   * An observer signs nothing and decides nothing itself (it follows validators' signed outcomes, follower.ts):
   * it forwards by its own rule (Instance.observe) and hands on the content of each new block.
   */
  #observe(msg: ConsensusMessage, inst: Instance, hash: Uint8Array, hex: string, sends: ConsensusAction[], out: ConsensusAction[]): void {
    const { forward, isNew } = inst.observe(msg, hex, observedBlocksPerInstanceMax(this.n));
    if (isNew) out.push({ type: 'seen', block: msg.block, blockHash: hash });
    if (forward) sends.push({ type: 'forward', msg });
  }

  /** Appends a block an observer followed (f+1 validators signed its outcome). @throws ERR_BAD_CHAIN if it does not link */
  appendFollowed(block: WireBlock, hash: Uint8Array): ChainBlock {
    return this.#chain.append(block, hash);
  }

  #signBlock(block: WireBlock, hash: Uint8Array): Uint8Array {
    const sign = this.#sign;
    assert(sign !== null, 'only a validator signs');
    const bytes = consensusSignedBytes({ networkId: this.genesis.networkId, genesisHash: this.genesisHash, miner: block.miner, t0: block.t0, blockHash: hash });
    const sig = sign(bytes);
    assert(sig instanceof Uint8Array && sig.byteLength === SIGNATURE_BYTES, 'sign returns a 64-byte signature');
    return sig;
  }

  /** Highest t0 whose instances have all ended (round k over) at the core's current time. */
  #endedThrough(): number {
    return this.currentRound(this.#nowMs) - this.k;
  }

  #open(id: InstanceId): Instance | null {
    const key = instanceKey(id);
    const existing = this.#instances.get(key);
    if (existing) return existing;
    if (this.#instances.size >= this.instancesOpenMax) return null;
    const inst = new Instance(id);
    this.#instances.set(key, inst);
    return inst;
  }

  #full(id: InstanceId): ConsensusAction {
    return { type: 'rejected', instance: id, code: 'ERR_RATE_LIMITED', reason: `instancesOpenMax=${this.instancesOpenMax} instances are open` };
  }

  /**
   * Moves the core's time to `nowMs` and decides every instance that has ended. A pool never changes after
   * its round k (later chains are refused), so deciding at the first call after the end gives the same result
   * on every node, whenever that call comes.
   */
  #advance(nowMs: number): ConsensusAction[] {
    if (!Number.isFinite(nowMs)) throw new StrongcastError('ERR_INVALID_OPTION', 'nowMs must be a finite number');
    if (nowMs > this.#nowMs) this.#nowMs = nowMs;
    const out = this.#releaseHeld();
    const through = this.#endedThrough();
    // Nothing can end between two calls in the same round, so most calls skip the scan.
    if (through <= this.#scannedThrough) return out;
    this.#scannedThrough = through;
    const ended = [...this.#instances.values()].filter((i) => i.id.t0 <= through).sort(byInstance);
    for (const inst of ended) {
      this.#instances.delete(instanceKey(inst.id));
      this.#early.delete(inst);
      if (this.selfIndex === null) continue; // an observer follows validators' outcomes instead
      const winner = inst.decision();
      if (winner !== null && this.#holds.syncing) {
        const refused = this.#holds.hold(inst.id, winner);
        if (refused) out.push(refused);
        continue;
      }
      // An instance from before the last catch-up's live start was seen here only in part; catch-up ended
      // after it ended here (validator-sync.ts), so this is a guard: such an outcome is never appended.
      if (winner !== null && inst.id.t0 < this.#holds.decideFrom) continue;
      const block = winner === null ? null : this.#chain.append(winner.block, winner.hash);
      out.push({ type: 'decided', instance: inst.id, block });
    }
    return out;
  }

  /** The sends of early chains whose instance has started by now, in (t0, miner) order. */
  #releaseHeld(): ConsensusAction[] {
    if (this.#early.size === 0) return [];
    const due = [...this.#early].filter((i) => this.roundStartMs(i.id.t0) <= this.#nowMs).sort(byInstance);
    const out: ConsensusAction[] = [];
    for (const inst of due) {
      out.push(...inst.held.splice(0));
      this.#early.delete(inst);
    }
    return out;
  }
}

function byInstance(a: Instance, b: Instance): number {
  return a.id.t0 - b.id.t0 || a.id.miner - b.id.miner;
}
