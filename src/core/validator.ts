/**
 * The validator: wires the pure Dolev-Strong state machine to a node (consensus chains travel over gossip),
 * to the verifier (every chain is checked before the state machine sees it) and to the node's clock (a timer
 * at each round boundary). Catch-up (validator-sync.ts) and validators' signed outcomes (outcome-exchange.ts)
 * are parts of its own. Run without a key it is an observer. It adds no protocol rules of its own.
 */
import { EventEmitter } from 'node:events';
import { toHex } from '../bytes.ts';
import { StrongcastError, type ErrorCode } from '../errors.ts';
import { consensusFrameBytesMin, consensusWriteQueueBytesMin } from '../consensus/frame-bound.ts';
import { blockPayloadBytesCap, payloadCapViolation } from '../consensus/payload-cap.ts';
import type { Clock, Timer } from '../io/clock.ts';
import type { ChainVerdict, ConsensusNodePort } from './node-types.ts';
import type { ChainMessage, ConsensusMessage } from '../wire/schema.ts';
import type { ChainVerifier } from '../crypto/verifier.ts';
import type { Identity } from '../crypto/keys.ts';
import { DolevStrong, type ConsensusAction } from '../consensus/dolev-strong.ts';
import { roundsPerInstance, validatorIndex, type Genesis } from '../consensus/genesis.ts';
import { blockHash, type ChainBlock, type InstanceId } from '../consensus/block.ts';
import type { ChainTip } from '../consensus/chain.ts';
import { logError, silentLogger, type Logger } from '../log.ts';
import { ValidatorSync, type SyncHost } from './validator-sync.ts';
import { OutcomeExchange, type OutcomeHost } from './outcome-exchange.ts';
import { blockView, mineAttemptsMax, stallDefaults, type ChainStore, type ValidatorEvents, type ValidatorOptions, type ValidatorStatus } from './validator-types.ts';
import { StallProbe } from './stall-probe.ts';
import { ChainMargins } from './chain-margins.ts';
import { LateChecks, type LateCheck } from './late-checks.ts';
import type { Divergence } from '../consensus/divergence.ts';
import { positiveInt } from '../options.ts';

export { blockView, chainReplyBytesMax, mineAttemptsMax, outcomeWindowRounds, stallDefaults } from './validator-types.ts';
export type { BlockView, ChainStore, SynchronyStatus, ValidatorEvents, ValidatorOptions, ValidatorStatus } from './validator-types.ts';

/** One validator of a genesis (or an observer of it), running on a node. */
export class Validator extends EventEmitter<ValidatorEvents> implements SyncHost, OutcomeHost {
  /** This validator's index in the genesis; null for an observer. */
  readonly index: number | null;
  readonly core: DolevStrong;
  readonly node: ConsensusNodePort;
  readonly clock: Clock;
  readonly genesis: Genesis;
  readonly verifier: ChainVerifier;
  readonly identity: Identity | null;
  readonly log: Logger;
  readonly syncIntervalMs: number;
  readonly now: () => number;
  private timer: Timer | null = null;
  private running = false;
  private readonly store: ChainStore | null;
  private readonly sync: ValidatorSync;
  private readonly outcomes: OutcomeExchange;
  /** Disk appends and the events that wait for them, in order. */
  private diskQueue: Promise<void> = Promise.resolve();
  /** Since when the node has had no peer at all (null while it has some). */
  private aloneSince: number | null = null;
  private aloneWatch: Timer | null = null;
  /** When the next round tick is due; time far past it means the process was paused. */
  private nextTickDueMs = Infinity;
  /** Height of the newest block on disk (a block reported twice, synced then decided, is written once). */
  private storedHeight = 0;
  /** The held-decision mark last given to the store (DolevStrong.heldFrom, store/held-mark.ts). */
  private heldMarkStored: number | null = null;
  /** Longest stall taken as within the timing rule, in ms (ValidatorOptions.stallMsMax). */
  readonly stallMsMax: number;
  private readonly probe: StallProbe;
  private readonly margins = new ChainMargins();
  /** Chain checks running now, and those that ran past their round (out of synchrony). */
  private readonly checks: LateChecks;
  /** Start round of the last instance a `late-chain` event named: one event per start round. */
  private lateReportedT0 = Number.NEGATIVE_INFINITY;
  /** Why the process last found itself out of synchrony (a stall, a late check), until checkOutage acts on it. */
  private stallReason: string | null = null;
  private divergences = 0;
  private lastDivergence: Divergence | null = null;

  constructor(o: ValidatorOptions) {
    super();
    const index = o.identity === null ? null : validatorIndex(o.genesis, o.identity.publicKey);
    if (o.identity !== null && index === null) {
      throw new StrongcastError('ERR_NOT_VALIDATOR', `key ${toHex(o.identity.publicKey).slice(0, 16)} is not a validator of network '${o.genesis.networkId}'`);
    }
    checkFrameLimit(o.node.limits.frameBytesMax, o.genesis.validators.length);
    checkWriteQueueLimit(o.node.limits.writeQueueBytesMax, o.genesis);
    this.index = index;
    this.node = o.node;
    this.genesis = o.genesis;
    this.verifier = o.verifier;
    this.clock = o.node.clock;
    this.now = o.now ?? (() => this.clock.now());
    this.log = o.log ?? silentLogger;
    this.identity = o.identity;
    this.store = o.store ?? null;
    this.syncIntervalMs = o.syncIntervalMs ?? Math.max(o.genesis.roundMs, 500);
    this.stallMsMax = positiveInt(o.stallMsMax ?? stallDefaults.stallMsMax(o.genesis.roundMs), 'stallMsMax');
    this.probe = new StallProbe(this.clock, this.now, stallDefaults.probeMs(this.stallMsMax), this.stallMsMax, (lateMs) => this.onStall(lateMs));
    this.checks = new LateChecks(this.stallMsMax);
    const loaded = this.store?.loadChain();
    const stored = loaded?.blocks ?? [];
    checkStoredPayloads(stored, o.genesis.validators.length);
    this.core = new DolevStrong(coreOptions(o, index, loaded?.base));
    for (const b of stored) this.core.appendLinked(b);
    this.storedHeight = this.core.tip().height;
    this.heldMarkStored = this.store?.loadHeldFrom() ?? null;
    this.core.restoreHeldFrom(this.heldMarkStored);
    this.sync = new ValidatorSync(this);
    this.outcomes = new OutcomeExchange(this, stored);
  }

  /** Joins consensus: receives chains from the node and ticks at every round boundary. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.node.attachConsensus({ onChain: (msg, hash, from) => this.onChain(msg, hash, from), onOutcome: (msg, from) => this.outcomes.onOutcome(msg, from) });
    this.node.attachSync({ onGetChain: (from) => this.sync.answer(from), onChainReply: (msg, peer) => this.sync.onReply(msg, peer) });
    // A node that starts after the network did may have missed decisions: it catches up first (catch-up.ts).
    if (this.now() >= this.genesis.startMs) {
      this.noteIfAlone();
      this.sync.begin();
    }
    this.scheduleTick();
    this.probe.start();
    this.aloneWatch = this.clock.setRepeating(() => this.noteIfAlone(), this.probe.probeMs);
  }

  /** Without a peer in a network of several validators: nothing this node hears or sends reaches anyone. */
  private isAlone(): boolean {
    return this.genesis.validators.length > 1 && this.node.peerIds().length === 0;
  }

  /** After the start, notes a moment without peers; the next checkOutage takes it as an outage. */
  private noteIfAlone(): void {
    if (this.now() >= this.genesis.startMs && this.isAlone()) this.aloneSince ??= this.now();
  }

  /** True while the node is still learning missed blocks from its peers. */
  get syncing(): boolean {
    return this.sync.run !== null;
  }

  /** Resolves once every decided block reported so far is on disk. */
  flushed(): Promise<void> {
    return this.diskQueue;
  }

  /** Leaves consensus; safe to call twice. */
  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
    this.probe.stop();
    this.aloneWatch?.cancel();
    this.aloneWatch = null;
    this.sync.stop();
  }

  /**
   * Proposes a block at the next round start; resolves once it is sent.
   * @throws StrongcastError ERR_PAYLOAD_TOO_LARGE at once when the payload is above the network's block
   *   payload cap (payload-cap.ts: min(256 KiB, floor(4 MiB / n))), which every validator would refuse.
   */
  async mine(payload: Uint8Array): Promise<{ instance: InstanceId; hash: string }> {
    if (this.index === null) throw new StrongcastError('ERR_NOT_VALIDATOR', 'an observer cannot mine');
    // Before waiting for a round: no round would take it (the core refuses it too).
    const tooLarge = payloadCapViolation(payload.byteLength, this.genesis.validators.length);
    if (tooLarge) throw new StrongcastError('ERR_PAYLOAD_TOO_LARGE', tooLarge);
    if (!this.running) throw new StrongcastError('ERR_NOT_STARTED', 'the validator is not started');
    if (this.isAlone()) {
      // Alone, only this node would see the block: it would decide it and nobody else would.
      throw new StrongcastError('ERR_NOT_STARTED', 'no peers connected: a block mined now would reach nobody');
    }
    let lastReason = 'proposal refused';
    // A timer can fire a little early (Node rounds to whole ms) or, on a busy machine, too late for round 1:
    // wait until the round has really begun, and if the moment was missed, try the next round instead.
    for (let attempt = 0; attempt < mineAttemptsMax; attempt++) {
      const { t0, atMs } = this.core.nextProposalRound(this.now());
      while (this.now() < atMs) await new Promise<void>((r) => void this.clock.setTimer(r, Math.max(1, atMs - this.now())));
      if (!this.running) throw new StrongcastError('ERR_NOT_STARTED', 'the validator stopped');
      this.checkOutage();
      const now = this.now();
      const actions = this.core.propose(payload, t0, now, now);
      this.apply(actions, 'self');
      const proposed = actions.find((a) => a.type === 'proposed');
      if (proposed && proposed.type === 'proposed') return { instance: proposed.instance, hash: toHex(proposed.blockHash) };
      const rejected = actions.find((a) => a.type === 'rejected');
      if (rejected && rejected.type === 'rejected') lastReason = rejected.reason;
    }
    throw new StrongcastError('ERR_INSTANCE_OVER', `no round could be caught for the proposal: ${lastReason}`);
  }

  /** Decided blocks, oldest first. */
  chain(): readonly ChainBlock[] {
    return this.core.chain();
  }

  /** Current round and open instances, how late this process has run, and forks seen. */
  status(): ValidatorStatus {
    const synchrony = { ...this.probe.status(), ...this.margins.status(), chainsOutOfSync: this.checks.outOfSync };
    return { ...this.core.status(this.now()), synchrony, divergences: this.divergences, lastDivergence: this.lastDivergence };
  }

  /** The node hands us a chain: check round, then the pool, then the core (docs/PROTOCOL.md "Validation order"). */
  private async onChain(msg: ConsensusMessage, hash: Uint8Array, from: string): Promise<ChainVerdict> {
    this.checkOutage();
    const timing = this.core.chainTiming(msg.block.t0, this.now());
    if ('code' in timing) return this.refuse(msg, from, timing.code, timing.reason);
    const deadlineMs = this.genesis.startMs + (msg.block.t0 + timing.round) * this.genesis.roundMs;
    const running = this.checks.begin({ miner: msg.block.miner, t0: msg.block.t0 }, timing.round, deadlineMs, this.now());
    let check;
    try {
      // In the sender's lane of the consensus class: ahead of broadcasts, and one peer's flood of chains
      // does not queue the others' behind it.
      check = await this.verifier.checkChain({ msg, blockHash: hash, round: timing.round, lane: from });
    } finally {
      const late = this.checks.end(running, this.now());
      if (late) this.onLateCheck(late);
    }
    // Before the core sees this chain, or anything else: a check that ran out of synchrony puts this node in catch-up.
    this.checkOutage();
    if (!check.ok) return this.refuse(msg, from, check.code, check.reason);
    this.margins.record(deadlineMs - this.now());
    const actions = this.core.onVerifiedChain(msg, this.now(), hash);
    // The node floods this chain on when we answer forward: true; other forwards are held ones now due.
    const forward = actions.some((a) => a.type === 'forward' && a.msg === msg);
    this.apply(actions, from, msg);
    const rejected = actions.find((a) => a.type === 'rejected');
    if (rejected && rejected.type === 'rejected' && !forward) {
      // Valid signatures, but refused by the core at processing time (e.g. the round moved on): not the
      // sender's fault, so report it as valid-but-not-forwarded rather than scoring the peer.
      return { valid: true, forward: false };
    }
    return { valid: true, forward };
  }

  private refuse(msg: ConsensusMessage, from: string, code: ErrorCode, reason: string): ChainVerdict {
    const instance = { miner: msg.block.miner, t0: msg.block.t0 };
    this.emit('rejected', { instance, code, reason, from });
    return { valid: false, forward: false, code, reason };
  }

  /** Carries out the core's actions; a forward of `judged` (the chain being answered) is left to the verdict. */
  apply(actions: ConsensusAction[], from: string, judged?: ConsensusMessage): void {
    for (const a of actions) this.applyOne(a, from, judged);
    this.keepHeldMark();
    this.outcomes.publish(actions);
    if (this.outcomes.following && actions.some((a) => a.type === 'seen')) this.outcomes.follow();
  }

  private applyOne(a: ConsensusAction, from: string, judged?: ConsensusMessage): void {
    switch (a.type) {
      case 'seen':
        this.outcomes.onBlock(a.block, a.blockHash);
        break;
      case 'send':
        this.node.publishConsensus(a.msg);
        break;
      case 'forward':
        // A chain that came early was held until its instance started here: it goes out now.
        if (a.msg !== judged) this.node.forwardConsensus(a.msg);
        break;
      case 'proposed':
        this.emit('proposed', { instance: a.instance, hash: toHex(a.blockHash) });
        break;
      case 'relayed':
        this.emit('relayed', { instance: a.instance, hash: toHex(a.blockHash), round: a.round, signatures: a.signatures });
        break;
      case 'decided': {
        // Durable before reported: the event waits for the disk append (in order, after earlier ones).
        const block = a.block;
        this.afterDisk(block, () => this.emit('decided', { instance: a.instance, block: block ? blockView(block) : null }));
        break;
      }
      case 'rejected':
        this.emit('rejected', { instance: a.instance, code: a.code, reason: a.reason, from });
        break;
    }
  }

  // ---- SyncHost and OutcomeHost: what catch-up and the outcome exchange report back ----

  /** A block catch-up appended: durable, then reported `synced`. */
  synced(block: ChainBlock): void {
    this.afterDisk(block, () => this.emit('synced', { block: blockView(block), vouchers: this.genesis.faults + 1 }));
  }

  /** Catch-up finished: report it once durable; an observer follows outcomes from the new tip. */
  caughtUp(): void {
    const tip = this.core.tip();
    this.outcomes.skipTo(tip.height, this.core.chain().at(-1)?.t0 ?? -1);
    this.afterDisk(null, () => this.emit('caught-up', { height: tip.height, tip: toHex(tip.hash) }));
    this.outcomes.follow();
  }

  /** Outside catch-up, an observer takes blocks it lacks from any reply: it appends one only if f+1 validators' outcomes name its hash. */
  strayReply(msg: ChainMessage): void {
    if (!this.outcomes.following) return;
    for (const b of msg.blocks) this.outcomes.onBlock(b, blockHash(b));
    this.outcomes.follow();
  }

  /**
   * The process did not run for longer than stallMsMax: the timing rule may not have held for this node, so
   * it takes the instances running now from f+1 validators (catch-up) rather than from its own view. Catch-up
   * needs f+1 validators among its peers; with fewer (a validator linked through observers only) it could
   * never finish, so the node says so and decides on its own view, and the divergence watch stands guard.
   */
  private onStall(lateMs: number): void {
    if (this.now() < this.genesis.startMs) return;
    const vouchers = this.validatorPeers();
    const catchingUp = vouchers >= this.genesis.faults + 1;
    this.emit('stalled', { lateMs, stallMsMax: this.stallMsMax, catchingUp });
    if (!catchingUp) {
      this.log.warn('process stalled; too few validator peers to catch up from', { lateMs, stallMsMax: this.stallMsMax, validatorPeers: vouchers });
      return;
    }
    this.stallReason = `process stalled ${lateMs} ms (stallMsMax ${this.stallMsMax})`;
    this.checkOutage();
  }

  /** Validators among the peers: catch-up needs f+1 of them to vouch (observers do not). */
  private validatorPeers(): number {
    const keys = new Set(this.genesis.validators.map((v) => toHex(v.publicKey)));
    return this.node.peerIds().filter((p) => keys.has(p)).length;
  }

  /**
   * A chain was checked out of synchrony (late-checks.ts): its check ran past the end of its round, and longer
   * than stallMsMax. The state machine would take it a round late or not at all, where the others took it in
   * time, so, as after a stall, the instances running now are taken from f+1 validators (the caller's
   * checkOutage starts catch-up, or moves its live start past them). One `late-chain` event per start round;
   * every such chain is counted in status. An observer decides nothing itself (it follows outcomes f+1
   * validators signed), so it only counts them.
   */
  private onLateCheck(late: LateCheck): void {
    if (this.index === null || this.now() < this.genesis.startMs) return;
    const vouchers = this.validatorPeers();
    const catchingUp = vouchers >= this.genesis.faults + 1;
    const { miner, t0 } = late.instance;
    if (t0 > this.lateReportedT0) {
      this.lateReportedT0 = t0;
      this.emit('late-chain', { ...late, stallMsMax: this.stallMsMax, catchingUp });
      if (!catchingUp) this.log.warn('chain checked after its round; too few validator peers to catch up from', { miner, t0, lateMs: late.lateMs, checkMs: late.checkMs, validatorPeers: vouchers });
    }
    if (!catchingUp) return;
    const when = late.ended ? 'was checked' : 'was still being checked';
    this.stallReason ??= `a chain of instance (miner ${miner}, t0 ${t0}) ${when} ${late.lateMs} ms after its round ${late.round} ended, its check ${late.checkMs} ms long (stallMsMax ${this.stallMsMax})`;
  }

  /** The outcome exchange or catch-up found our chain contradicted by f+1 other validators: loud, never silent. */
  diverged(d: Divergence): void {
    this.divergences++;
    this.lastDivergence = d;
    this.log.warn('this chain diverged from the one f+1 other validators hold', { source: d.source, reason: d.reason, t0: d.t0, height: d.height, signers: d.signers.join(',') });
    this.emit('diverged', d);
  }

  /** Whether catch-up runs. */
  catchingUp(): boolean {
    return this.sync.run !== null;
  }

  /** A block an observer appended by outcomes: durable, then reported `decided`. */
  followed(block: ChainBlock): void {
    this.afterDisk(block, () => this.emit('decided', { instance: { miner: block.miner, t0: block.t0 }, block: blockView(block) }));
  }

  /** Appends `block` to the store (when there is one and a block), then runs `then`, keeping order. */
  private afterDisk(block: ChainBlock | null, then: () => void): void {
    const store = this.store;
    this.diskQueue = this.diskQueue
      .then(async () => {
        if (block && store && block.height > this.storedHeight) {
          await store.appendBlock(block);
          this.storedHeight = block.height;
        }
        then();
      })
      .catch((e: unknown) => {
        logError(this.log, 'could not store a decided block; not reported', { error: (e as Error).message });
        this.emit('rejected', { instance: block ? { miner: block.miner, t0: block.t0 } : null, code: 'ERR_STORE', reason: (e as Error).message, from: 'self' });
      });
  }

  /**
   * Gives the store the held-decision mark when it changed: a decision held for catch-up must survive a
   * restart as a mark, so the restarted node does not state a chain without it as if it had never decided it
   * (catch-up.ts, the quorum rule). Queued behind the disk appends, so the mark is cleared only once the
   * blocks catch-up appended are durable. A decision counts as made once its mark is durable: a crash before
   * that is a crash during its instance.
   */
  private keepHeldMark(): void {
    const mark = this.core.heldFrom();
    const store = this.store;
    if (mark === this.heldMarkStored || !store) return;
    this.heldMarkStored = mark;
    this.diskQueue = this.diskQueue
      .then(() => store.saveHeldFrom(mark))
      .catch((e: unknown) => logError(this.log, 'could not store the held-decision mark', { error: (e as Error).message }));
  }

  /** Ticks just after each round boundary, where instances end and decisions fall due. */
  private scheduleTick(): void {
    if (!this.running) return;
    const { roundMs, startMs } = this.genesis;
    const now = this.now();
    const next = startMs + (Math.floor((now - startMs) / roundMs) + 1) * roundMs;
    // Just past the boundary, so the round has really begun; lateness is measured from that moment.
    const delayMs = Math.max(1, next - now + 1);
    this.nextTickDueMs = now + delayMs;
    this.timer = this.clock.setTimer(() => {
      try {
        this.checkOutage();
        this.nextTickDueMs = Infinity;
        this.apply(this.core.tick(this.now()), 'self');
        this.outcomes.judgeDivergence();
      } catch (e) {
        logError(this.log, 'consensus tick failed', { error: (e as Error).message });
      }
      this.scheduleTick();
    }, delayMs);
  }

  /**
   * A node that was paused (time jumped more than a round past the tick it expected), stalled past
   * stallMsMax (onStall), had a chain checked out of synchrony (onLateCheck: a check still running here past
   * its round and stallMsMax is found now) or cut off (no peer at all) may miss decisions or decide on a view
   * the others do not share, and its next blocks would then get wrong heights. It catches up as after a
   * restart, from the moment it notices: decisions are held at once, and while it stays alone (or out of
   * synchrony) the instances it sees are only partial views, so liveFromT0 moves past them and their outcomes
   * are dropped. Called before anything reaches the core, so no decision of a paused node slips in before the
   * check.
   */
  checkOutage(): void {
    const now = this.now();
    const overdue = this.checks.overdue(now);
    if (overdue) this.onLateCheck(overdue);
    // Before round 0 nothing can be decided, so nothing can be missed.
    if (now < this.genesis.startMs) {
      this.aloneSince = null;
      return;
    }
    const alone = this.isAlone();
    // Links came up since the last check: an instance whose round 1 ran before them was seen only in part.
    const wasAlone = this.aloneSince !== null;
    let reason: string | null = null;
    if (now - this.nextTickDueMs > this.genesis.roundMs) reason = `time jumped ${now - this.nextTickDueMs} ms past the expected round tick`;
    reason ??= this.stallReason;
    this.stallReason = null;
    // Alone now, or at some moment since the last check (the watcher in start saw it): a cut shorter than
    // a round between two checks still cost this node chains.
    if (alone || wasAlone) reason ??= 'no peers';
    if (alone) this.aloneSince ??= now;
    else this.aloneSince = null;
    if (reason && !this.sync.run) {
      this.log.info('catching up again', { reason });
      this.emit('resync', { reason });
      this.sync.begin();
    }
    const run = this.sync.run;
    if (run && (alone || reason || wasAlone)) run.liveFromT0 = Math.max(run.liveFromT0, this.core.currentRound(now + this.core.clockSkewMsMax) + 1);
  }
}

/** The state machine's options for this validator: its signer (which remembers its own signatures), its tip. */
function coreOptions(o: ValidatorOptions, index: number | null, base: ChainTip | undefined): ConstructorParameters<typeof DolevStrong>[0] {
  const identity = o.identity;
  return {
    genesis: o.genesis,
    selfIndex: index,
    ...(identity === null || index === null
      ? {}
      : {
          sign: (b: Uint8Array) => {
            const sig = identity.sign(b);
            o.verifier.rememberOwn(index, b, sig);
            return sig;
          },
        }),
    ...(base ? { tip: base } : {}),
    ...(o.clockSkewMsMax === undefined ? {} : { clockSkewMsMax: o.clockSkewMsMax }),
    ...(o.consensusOverrides ?? {}),
  };
}

/**
 * A validator must be able to send a chain of every validator's signature over a largest payload, and a
 * full catch-up reply: below that, its own relays and replies would fail to encode mid-round.
 * @throws StrongcastError ERR_INVALID_OPTION naming frameBytesMax, what it is and what the genesis needs.
 */
function checkFrameLimit(frameBytesMax: number, n: number): void {
  const need = consensusFrameBytesMin(n);
  if (frameBytesMax < need) {
    throw new StrongcastError('ERR_INVALID_OPTION', `options.frameBytesMax (${frameBytesMax}) is below the ${need} bytes of the largest consensus frame of this genesis (${n} validators): a chain of all ${n} signatures over a largest block, or a full catch-up reply`);
  }
}

/**
 * A validator must keep its links through a round in which all n validators mine: each link then carries n
 * chains of up to the network's largest payload and k signatures (payload-cap.ts). Below that, the node would
 * close honest peers' links as ERR_SLOW_PEER in such a round.
 * @throws StrongcastError ERR_INVALID_OPTION naming writeQueueBytesMax, what it is and what the genesis needs.
 */
function checkWriteQueueLimit(writeQueueBytesMax: number, genesis: Genesis): void {
  const n = genesis.validators.length;
  const k = roundsPerInstance(genesis);
  const need = consensusWriteQueueBytesMin(n, k);
  if (writeQueueBytesMax < need) {
    throw new StrongcastError('ERR_INVALID_OPTION', `options.writeQueueBytesMax (${writeQueueBytesMax}) is below the ${need} bytes one link must queue in a round in which all ${n} validators of this genesis mine: ${n} chains of a largest block (${blockPayloadBytesCap(n)} bytes) with ${k} signatures`);
  }
}

/**
 * A stored chain holds only blocks within the network's payload cap: this node decides no other and catch-up
 * takes no other. A block above it was decided before the cap existed (protocol version 5 or earlier); served
 * in catch-up replies, every peer would refuse it, so the node says so at start rather than leave peers
 * catching up for ever.
 * @throws StrongcastError ERR_STORE naming the block's height, its size and the cap.
 */
function checkStoredPayloads(blocks: readonly ChainBlock[], n: number): void {
  for (const b of blocks) {
    const tooLarge = payloadCapViolation(b.payload.byteLength, n);
    if (tooLarge) throw new StrongcastError('ERR_STORE', `the stored chain's block at height ${b.height}: ${tooLarge}; it was decided under an earlier protocol version, and peers of this one refuse it: start from a new genesis and data directory`);
  }
}
