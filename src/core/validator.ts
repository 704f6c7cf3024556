/**
 * The validator: wires the pure Dolev-Strong state machine to a node (consensus chains travel over gossip),
 * to the verifier (every chain is checked before the state machine sees it) and to the node's clock (a timer
 * at each round boundary). Catch-up (validator-sync.ts), validators' signed outcomes (outcome-exchange.ts), the
 * watch for outages that send it back to catch-up (outage-watch.ts) and the order of its disk writes and
 * reports (disk-order.ts) are parts of its own. Run without a key it is an observer. It adds no protocol rules
 * of its own.
 */
import { EventEmitter } from 'node:events';
import { toHex } from '../bytes.ts';
import { StrongcastError, type ErrorCode } from '../errors.ts';
import { payloadCapViolation } from '../consensus/payload-cap.ts';
import type { Clock, Timer } from '../io/clock.ts';
import type { ChainVerdict, ConsensusNodePort } from './node-types.ts';
import type { ChainMessage, ConsensusMessage } from '../wire/schema.ts';
import type { ChainVerifier } from '../crypto/verifier.ts';
import type { Identity } from '../crypto/keys.ts';
import { DolevStrong, type ConsensusAction } from '../consensus/dolev-strong.ts';
import type { Genesis } from '../consensus/genesis.ts';
import { blockHash, type ChainBlock, type InstanceId } from '../consensus/block.ts';
import type { ChainTip } from '../consensus/chain.ts';
import { logError, silentLogger, type Logger } from '../log.ts';
import { ValidatorSync, type SyncHost } from './validator-sync.ts';
import { OutcomeExchange, type OutcomeHost } from './outcome-exchange.ts';
import { blockView, mineAttemptsMax, stallDefaults, type ValidatorEvents, type ValidatorOptions, type ValidatorStatus } from './validator-types.ts';
import { ChainMargins } from './chain-margins.ts';
import { OutageWatch } from './outage-watch.ts';
import { DiskOrder } from './disk-order.ts';
import { checkNodeLimits, checkStoredPayloads, selfIndex } from './validator-checks.ts';
import type { Divergence } from '../consensus/divergence.ts';
import { positiveInt } from '../options.ts';

/** A decision of a block (not of "no block"). */
type DecidedBlock = Extract<ConsensusAction, { type: 'decided' }> & { block: ChainBlock };

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
  /** Set by stop, for good: nothing reaches the state machine after it, so the last mark written stays true. */
  private stopped = false;
  private readonly sync: ValidatorSync;
  private readonly outcomes: OutcomeExchange;
  /** Disk appends and the events that wait for them, in order. */
  private readonly disk: DiskOrder;
  /** Longest stall taken as within the timing rule, in ms (ValidatorOptions.stallMsMax). */
  readonly stallMsMax: number;
  /** Stalls, late chain checks, pauses and cuts: when to catch up again. */
  private readonly outage: OutageWatch;
  private readonly margins = new ChainMargins();
  private divergences = 0;
  private lastDivergence: Divergence | null = null;

  constructor(o: ValidatorOptions) {
    super();
    const index = selfIndex(o.genesis, o.identity);
    checkNodeLimits(o.node.limits, o.genesis);
    this.index = index;
    this.node = o.node;
    this.genesis = o.genesis;
    this.verifier = o.verifier;
    this.clock = o.node.clock;
    this.now = o.now ?? (() => this.clock.now());
    this.log = o.log ?? silentLogger;
    this.identity = o.identity;
    const store = o.store ?? null;
    this.syncIntervalMs = o.syncIntervalMs ?? Math.max(o.genesis.roundMs, 500);
    this.stallMsMax = positiveInt(o.stallMsMax ?? stallDefaults.stallMsMax(o.genesis.roundMs), 'stallMsMax');
    const loaded = store?.loadChain();
    const stored = loaded?.blocks ?? [];
    checkStoredPayloads(stored, o.genesis.validators.length);
    this.core = new DolevStrong(coreOptions(o, index, loaded?.base));
    for (const b of stored) this.core.appendLinked(b);
    const storedHeight = this.core.tip().height;
    const heldMark = store?.loadHeldFrom() ?? null;
    this.core.restoreHeldFrom(heldMark);
    this.disk = new DiskOrder({ store, storedHeight, heldMark, log: this.log, onAppendFailed: (block, e) => this.storeFailed(block, e) });
    this.sync = new ValidatorSync(this);
    this.outcomes = new OutcomeExchange(this, stored);
    this.outage = new OutageWatch(this, this.sync, this.stallMsMax);
  }

  /**
   * Joins consensus: receives chains from the node and ticks at every round boundary.
   * @throws StrongcastError ERR_NOT_STARTED after stop: a stopped validator's store holds its last mark, so a
   *   new Validator takes over from the store instead.
   */
  start(): void {
    if (this.stopped) throw new StrongcastError('ERR_NOT_STARTED', 'a stopped validator does not start again');
    if (this.running) return;
    this.running = true;
    this.node.attachConsensus({
      onChain: (msg, hash, from) => (this.stopped ? Promise.resolve(stoppedVerdict) : this.onChain(msg, hash, from)),
      onOutcome: (msg, from) => (this.stopped ? Promise.resolve(stoppedVerdict) : this.outcomes.onOutcome(msg, from)),
      validatorKey: (index) => this.genesis.validators[index]?.publicKey,
    });
    this.node.attachSync({
      onGetChain: (from) => (this.stopped ? null : this.sync.answer(from)),
      onChainReply: (msg, peer) => void (this.stopped || this.sync.onReply(msg, peer)),
    });
    // A node that starts after the network did may have missed decisions: it catches up first (catch-up.ts).
    if (this.now() >= this.genesis.startMs) {
      this.outage.noteIfAlone();
      this.sync.begin();
    }
    // The first crash mark, ahead of any decision of this process (disk-order.ts).
    this.keepHeldMark();
    this.scheduleTick();
    this.outage.start();
  }

  /** True while the node is still learning missed blocks from its peers. */
  get syncing(): boolean {
    return this.sync.run !== null;
  }

  /** Resolves once every decided block reported so far is on disk. */
  flushed(): Promise<void> {
    return this.disk.flushed();
  }

  /**
   * Leaves consensus for good; safe to call twice. The last crash mark names only the decisions still held:
   * every decided block is queued for the disk before it, and nothing reaches the state machine after it
   * (`flushed` resolves once all of it is durable).
   */
  stop(): void {
    // Detached first: a stopped validator neither judges, signs nor relays chains, nor answers catch-up.
    if (this.running) {
      this.node.attachConsensus(null);
      this.node.attachSync(null);
    }
    this.running = false;
    if (!this.stopped) this.disk.close(this.core.heldFrom());
    this.stopped = true;
    this.sync.halt();
    this.timer?.cancel();
    this.timer = null;
    this.outage.stop();
    this.sync.stop();
  }

  /**
   * Proposes a block at the next round start; resolves once it is sent.
   * @throws StrongcastError ERR_PAYLOAD_TOO_LARGE at once when the payload is above the network's block
   *   payload cap (payload-cap.ts: min(256 KiB, floor(4 MiB / n))), which every validator would refuse.
   * @throws StrongcastError ERR_NO_PEERS at once when no peer is connected (in a network of more than one
   *   validator): only this validator would see the block. ERR_NOT_STARTED when the validator is not running.
   */
  async mine(payload: Uint8Array): Promise<{ instance: InstanceId; hash: string }> {
    if (this.index === null) throw new StrongcastError('ERR_NOT_VALIDATOR', 'an observer cannot mine');
    // Before waiting for a round: no round would take it (the core refuses it too).
    const tooLarge = payloadCapViolation(payload.byteLength, this.genesis.validators.length);
    if (tooLarge) throw new StrongcastError('ERR_PAYLOAD_TOO_LARGE', tooLarge);
    if (!this.running) throw new StrongcastError('ERR_NOT_STARTED', 'the validator is not started');
    if (this.outage.isAlone()) {
      // Alone, only this node would see the block: it would decide it and nobody else would.
      throw new StrongcastError('ERR_NO_PEERS', 'no peer is connected: a block mined now would reach nobody');
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
    const synchrony = { ...this.outage.probeStatus(), ...this.margins.status(), chainsOutOfSync: this.outage.chainsOutOfSync };
    const f = this.disk.failure();
    const storeFailure = f && { code: 'ERR_STORE' as const, reason: f.error.message, height: f.height, t0: f.t0, blocksNotStored: f.blocksNotStored };
    return { ...this.core.status(this.now()), synchrony, divergences: this.divergences, lastDivergence: this.lastDivergence, storeFailure };
  }

  /** The node hands us a chain: check round, then the pool, then the core (docs/PROTOCOL.md "Validation order"). */
  private async onChain(msg: ConsensusMessage, hash: Uint8Array, from: string): Promise<ChainVerdict> {
    this.checkOutage();
    const timing = this.core.chainTiming(msg.block.t0, this.now());
    if ('code' in timing) return this.refuse(msg, from, timing.code, timing.reason);
    const deadlineMs = this.genesis.startMs + (msg.block.t0 + timing.round) * this.genesis.roundMs;
    const running = this.outage.checkBegan({ miner: msg.block.miner, t0: msg.block.t0 }, timing.round, deadlineMs);
    let check;
    try {
      // In the sender's lane of the consensus class: ahead of broadcasts, and one peer's flood of chains
      // does not queue the others' behind it.
      check = await this.verifier.checkChain({ msg, blockHash: hash, round: timing.round, lane: from });
    } finally {
      this.outage.checkEnded(running);
    }
    // Stopped while the chain was checked: its last mark is written, so the state machine takes nothing more.
    if (this.stopped) return stoppedVerdict;
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
    this.publishDurable(actions);
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
        this.disk.after(block, () => this.emit('decided', { instance: a.instance, block: block ? blockView(block) : null }));
        break;
      }
      case 'rejected':
        this.emit('rejected', { instance: a.instance, code: a.code, reason: a.reason, from });
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
  private publishDurable(actions: readonly ConsensusAction[]): void {
    const decided = actions.filter((a): a is DecidedBlock => a.type === 'decided' && a.block !== null);
    if (decided.length === 0) return;
    const height = Math.max(...decided.map((a) => a.block.height));
    this.disk.after(null, () => {
      if (this.running && this.disk.durableHeight >= height) this.outcomes.publish(decided);
    });
  }

  /** Height of the newest block on disk: catch-up replies carry blocks up to it (validator-sync.ts). */
  durableHeight(): number {
    return this.disk.durableHeight;
  }

  // ---- SyncHost and OutcomeHost: what catch-up and the outcome exchange report back ----

  /** A block catch-up appended: durable, then reported `synced`. */
  synced(block: ChainBlock): void {
    this.disk.after(block, () => this.emit('synced', { block: blockView(block), vouchers: this.genesis.faults + 1 }));
  }

  /** Catch-up finished: report it once durable; an observer follows outcomes from the new tip. */
  caughtUp(): void {
    const tip = this.core.tip();
    this.outcomes.skipTo(tip.height, this.core.chain().at(-1)?.t0 ?? -1);
    this.disk.after(null, () => this.emit('caught-up', { height: tip.height, tip: toHex(tip.hash) }));
    this.outcomes.follow();
  }

  /** Outside catch-up, an observer takes blocks it lacks from any reply: it appends one only if f+1 validators' outcomes name its hash. */
  strayReply(msg: ChainMessage): void {
    if (!this.outcomes.following) return;
    for (const b of msg.blocks) this.outcomes.onBlock(b, blockHash(b));
    this.outcomes.follow();
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
    this.disk.after(block, () => this.emit('decided', { instance: { miner: block.miner, t0: block.t0 }, block: blockView(block) }));
  }

  /**
   * The store failed an append, once for good (disk-order.ts): neither that block nor a later one is
   * reported. The alarm first; then `rejected` for the block, as a failed append was always told.
   */
  private storeFailed(block: ChainBlock, e: StrongcastError): void {
    this.emit('store-failed', { code: 'ERR_STORE', reason: e.message, height: block.height, t0: block.t0 });
    this.emit('rejected', { instance: { miner: block.miner, t0: block.t0 }, code: 'ERR_STORE', reason: e.message, from: 'self' });
  }

  /**
   * Keeps the crash mark (disk-order.ts) at or below every decision a crash now would lose: the earliest held
   * one (DolevStrong.heldFrom, with a mark a restart carried over) and every one still to come, which has a
   * start round after decidedThrough (before the first tick, after the last instance already ended). An
   * observer decides nothing itself and states nothing, so it keeps no mark.
   */
  private keepHeldMark(): void {
    if (this.index === null) return;
    const through = this.core.decidedThrough ?? this.core.currentRound(this.now()) - this.core.k;
    this.disk.keepHeldMark(this.core.heldFrom(), Math.max(0, through + 1));
  }

  /** Ticks just after each round boundary, where instances end and decisions fall due. */
  private scheduleTick(): void {
    if (!this.running) return;
    const { roundMs, startMs } = this.genesis;
    const now = this.now();
    const next = startMs + (Math.floor((now - startMs) / roundMs) + 1) * roundMs;
    // Just past the boundary, so the round has really begun; lateness is measured from that moment.
    const delayMs = Math.max(1, next - now + 1);
    this.outage.tickDue(now + delayMs);
    this.timer = this.clock.setTimer(() => {
      try {
        this.checkOutage();
        this.outage.tickRan();
        this.apply(this.core.tick(this.now()), 'self');
        this.outcomes.judgeDivergence();
      } catch (e) {
        logError(this.log, 'consensus tick failed', { error: (e as Error).message });
      }
      this.scheduleTick();
    }, delayMs);
  }

  /**
   * Catches up again if the node was paused, stalled past stallMsMax, had a chain checked out of synchrony or
   * was cut off since the last call (outage-watch.ts). Called before anything reaches the core, so no decision
   * of a paused node slips in before the check.
   */
  checkOutage(): void {
    this.outage.check();
  }
}

/** The answer to a chain or outcome that comes after stop: taken as valid (it may well be), and not forwarded. */
const stoppedVerdict: ChainVerdict = { valid: true, forward: false };

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
