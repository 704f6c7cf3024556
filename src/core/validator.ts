/**
 * The validator: wires the pure Dolev-Strong state machine to a node (consensus chains travel over gossip),
 * to the verifier (every chain is checked before the state machine sees it) and to the node's clock (a timer
 * at each round boundary). Its parts, each in a file of its own: the round timer (round-ticker.ts), proposals
 * (miner.ts), the judging of chains (chain-judge.ts), the state machine's actions carried out in the order of
 * its disk writes (consensus-effects.ts, disk-order.ts), catch-up (validator-sync.ts), validators' signed
 * outcomes (outcome-exchange.ts) and the watch for outages that send it back to catch-up (outage-watch.ts).
 * Run without a key it is an observer. It adds no protocol rules of its own.
 */
import { EventEmitter } from 'node:events';
import { toHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import type { Clock } from '../io/clock.ts';
import type { ConsensusNodePort } from './node-types.ts';
import type { ChainMessage, ConsensusMessage } from '../wire/schema.ts';
import type { ChainVerifier } from '../crypto/verifier.ts';
import type { Identity } from '../crypto/keys.ts';
import { DolevStrong, type ConsensusAction } from '../consensus/dolev-strong.ts';
import type { Genesis } from '../consensus/genesis.ts';
import { blockHash, type ChainBlock, type InstanceId } from '../consensus/block.ts';
import type { ChainTip } from '../consensus/chain.ts';
import { silentLogger, type Logger } from '../log.ts';
import { ValidatorSync, type SyncHost } from './validator-sync.ts';
import { OutcomeExchange, type OutcomeHost } from './outcome-exchange.ts';
import { blockView, stallDefaults, type ValidatorEvents, type ValidatorOptions, type ValidatorStatus } from './validator-types.ts';
import { OutageWatch } from './outage-watch.ts';
import { DiskOrder } from './disk-order.ts';
import { checkNodeLimits, checkStoredPayloads, selfIndex } from './validator-checks.ts';
import { ChainJudge, stoppedVerdict, type ChainJudgeHost } from './chain-judge.ts';
import { ConsensusEffects, type EffectsHost } from './consensus-effects.ts';
import { RoundTicker, type TickerHost } from './round-ticker.ts';
import { Miner, type MinerHost } from './miner.ts';
import type { Divergence } from '../consensus/divergence.ts';
import { positiveInt } from '../options.ts';

export { blockView, chainReplyBytesMax, mineAttemptsMax, outcomeWindowRounds, stallDefaults } from './validator-types.ts';
export type { BlockView, ChainStore, SynchronyStatus, ValidatorEvents, ValidatorOptions, ValidatorStatus } from './validator-types.ts';

/** One validator of a genesis (or an observer of it), running on a node. */
export class Validator extends EventEmitter<ValidatorEvents> implements SyncHost, OutcomeHost, ChainJudgeHost, EffectsHost, TickerHost, MinerHost {
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
  /** The state machine's actions carried out: sends, events, and what waits for the disk. */
  private readonly effects: ConsensusEffects;
  /** Each chain's verdict, and how much of its round its check left. */
  private readonly chainJudge: ChainJudge;
  /** The state machine's tick at every round boundary. */
  private readonly ticker: RoundTicker;
  /** Proposals at round starts. */
  private readonly miner: Miner;
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
    this.disk = new DiskOrder({ store, storedHeight, heldMark, log: this.log, onAppendFailed: (block, e) => this.effects.storeFailed(block, e) });
    this.sync = new ValidatorSync(this);
    this.outcomes = new OutcomeExchange(this, stored);
    this.outage = new OutageWatch(this, this.sync, this.stallMsMax);
    this.effects = new ConsensusEffects(this, this.disk, this.outcomes, () => this.running);
    this.chainJudge = new ChainJudge(this, this.outage, () => this.stopped);
    this.ticker = new RoundTicker(this, this.outage, this.outcomes);
    this.miner = new Miner(this, this.outage, () => this.running);
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
      onChain: (msg, hash, from) => (this.stopped ? Promise.resolve(stoppedVerdict) : this.chainJudge.judge(msg, hash, from)),
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
    this.effects.keepHeldMark();
    this.ticker.start();
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
    this.ticker.stop();
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
  mine(payload: Uint8Array): Promise<{ instance: InstanceId; hash: string }> {
    return this.miner.mine(payload);
  }

  /** Decided blocks, oldest first. */
  chain(): readonly ChainBlock[] {
    return this.core.chain();
  }

  /** Current round and open instances, how late this process has run, and forks seen. */
  status(): ValidatorStatus {
    const synchrony = { ...this.outage.probeStatus(), ...this.chainJudge.marginStatus(), chainsOutOfSync: this.outage.chainsOutOfSync };
    const f = this.disk.failure();
    const storeFailure = f && { code: 'ERR_STORE' as const, reason: f.error.message, height: f.height, t0: f.t0, blocksNotStored: f.blocksNotStored };
    return { ...this.core.status(this.now()), synchrony, divergences: this.divergences, lastDivergence: this.lastDivergence, storeFailure };
  }

  /** Carries out the core's actions (consensus-effects.ts); a forward of `judged`, the chain being answered, is the verdict's. */
  apply(actions: ConsensusAction[], from: string, judged?: ConsensusMessage): void {
    this.effects.apply(actions, from, judged);
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
   * Catches up again if the node was paused, stalled past stallMsMax, had a chain checked out of synchrony or
   * was cut off since the last call (outage-watch.ts). Called before anything reaches the core, so no decision
   * of a paused node slips in before the check.
   */
  checkOutage(): void {
    this.outage.check();
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
