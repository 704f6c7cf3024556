/**
 * The validator shell: wires the pure Dolev-Strong state machine to a node (consensus chains travel over
 * gossip), to the verification pool (every chain is checked there before the core sees it) and to real
 * time (a timer at each round boundary). It adds no protocol rules of its own.
 */
import { EventEmitter } from 'node:events';
import { toHex } from '../bytes.ts';
import { StrongcastError, type ErrorCode } from '../errors.ts';
import type { Clock, Timer } from '../io/clock.ts';
import type { ChainVerdict, ConsensusNodePort } from './node-types.ts';
import type { ConsensusMessage } from '../wire/schema.ts';
import type { ChainVerifier } from '../crypto/verifier.ts';
import type { Identity } from '../crypto/keys.ts';
import { DolevStrong, type ConsensusAction, type DolevStrongOptions } from '../consensus/dolev-strong.ts';
import { roundsPerInstance, validatorIndex, type Genesis } from '../consensus/genesis.ts';
import { blockHash, type ChainBlock, type InstanceId } from '../consensus/block.ts';
import { CatchUp, statementSignedBytes } from '../consensus/catch-up.ts';
import { schemaLimits, type ChainMessage, type ChainStatement, type OutcomeMessage, type WireChainBlock } from '../wire/schema.ts';
import { OutcomeGate, outcomeSignedBytes } from '../consensus/outcome.ts';
import { Follower } from '../consensus/follower.ts';
import { silentLogger, type Logger } from '../log.ts';

/** A block as events and the `chain` command show it. */
export interface BlockView {
  hash: string;
  height: number;
  parent: string;
  miner: number;
  t0: number;
  ts: number;
  payload: string;
}

/** Typed events of a validator (the CLI prints them as `proposed`, `relayed`, `decided`, `rejected`). */
export interface ValidatorEvents {
  proposed: [{ instance: InstanceId; hash: string }];
  relayed: [{ instance: InstanceId; hash: string; round: number; signatures: number }];
  decided: [{ instance: InstanceId; block: BlockView | null }];
  /** A missed block learned from peers (f+1 validators vouched for it), durable on disk when emitted. */
  synced: [{ block: BlockView; vouchers: number }];
  /** The node was paused or cut off and catches up again. */
  resync: [{ reason: string }];
  /** Catch-up finished: the node decides and appends on its own from here on. */
  'caught-up': [{ height: number; tip: string }];
  rejected: [{ instance: InstanceId | null; code: ErrorCode; reason: string; from: string }];
}

/** Where a validator keeps its decided chain (store/data-dir.ts on disk; memory in the simulator). */
export interface ChainStore {
  /** The blocks kept so far, oldest first (linked, checked). */
  loadChain(): { blocks: ChainBlock[] };
  /** Resolves once `block` is durable: the validator reports it only then. */
  appendBlock(block: ChainBlock): Promise<void>;
}

/** What a validator needs. */
export interface ValidatorOptions {
  /** The node that carries its traffic (a StrongcastNode), and whose clock it keeps time by. */
  node: ConsensusNodePort;
  genesis: Genesis;
  /**
   * The validator's key, or null for an observer: a node that follows the genesis without a key of it. An
   * observer verifies consensus chains with the same rules, forwards them (so validators that reach each
   * other only through observers still agree), decides, keeps the decided chain and catches up, but never
   * signs, mines or vouches in catch-up.
   */
  identity: Identity | null;
  verifier: ChainVerifier;
  /** Reads the time in ms, for a validator whose clock should read differently (tests). @default node.clock.now */
  now?: () => number;
  log?: Logger;
  /** Where decided blocks are kept; a block is durable before it is reported decided. @default none (memory only) */
  store?: ChainStore;
  /** How often a catching-up node asks its peers for their chain, in ms. @default max(roundMs, 500) */
  syncIntervalMs?: number;
  /**
   * Largest difference between two honest validators' clocks, in ms: a chain that arrives up to this long
   * before its instance starts here is counted in round 1 (DolevStrongOptions.clockSkewMsMax).
   * @default Math.floor(roundMs / 4)
   */
  clockSkewMsMax?: number;
  /**
   * FOR TESTS ONLY: negative controls of the state machine (DolevStrongOptions roundsOverride, sendEarlyOverride),
   * to show in the simulator that what they switch off is needed. Never set by the CLI.
   */
  consensusOverrides?: Pick<DolevStrongOptions, 'roundsOverride' | 'sendEarlyOverride'>;
}

/**
 * Start rounds behind the current one whose outcomes are still checked and carried: the k rounds an instance
 * runs, and a margin for a slow path.
 */
export function outcomeWindowRounds(k: number): number {
  return k + 16;
}

/** Rounds `mine` tries before giving up (each miss means the timer fired past the start of round 1). */
export const mineAttemptsMax = 3;

/** Bytes of block payload put in one catch-up reply, so it stays well inside one frame. */
export const chainReplyBytesMax = 512 * 1024;

/** Shows a chain block with hex hashes and the payload as text. */
export function blockView(b: ChainBlock): BlockView {
  return {
    hash: toHex(b.hash),
    height: b.height,
    parent: toHex(b.parent),
    miner: b.miner,
    t0: b.t0,
    ts: b.ts,
    payload: new TextDecoder().decode(b.payload),
  };
}

/** One validator of a genesis (or an observer of it), running on a node. */
export class Validator extends EventEmitter<ValidatorEvents> {
  /** This validator's index in the genesis; null for an observer. */
  readonly index: number | null;
  readonly core: DolevStrong;
  private readonly node: ConsensusNodePort;
  private readonly clock: Clock;
  private readonly genesis: Genesis;
  private readonly verifier: ChainVerifier;
  private readonly now: () => number;
  private readonly log: Logger;
  private timer: Timer | null = null;
  private syncTimer: Timer | null = null;
  private running = false;
  private readonly identity: Identity | null;
  private readonly store: ChainStore | null;
  private readonly syncIntervalMs: number;
  private catchUp: CatchUp | null = null;
  /** Disk appends and the events that wait for them, in order. */
  private diskQueue: Promise<void> = Promise.resolve();
  /** Since when the node has had no peer at all (null while it has some). */
  private aloneSince: number | null = null;
  /** When the next round tick is due; time far past it means the process was paused. */
  private nextTickDueMs = Infinity;
  /** Height of the newest block on disk (a block reported twice, synced then decided, is written once). */
  private storedHeight = 0;
  /** Catch-up replies are handled one at a time. */
  private syncQueue: Promise<void> = Promise.resolve();
  /** Which validators' outcomes are checked and carried on (the first of each per round, recent rounds only). */
  private readonly outcomes: OutcomeGate;
  /** An observer's view of validators' outcomes (null for a validator, which decides itself). */
  private readonly follower: Follower | null;
  /** When an observer last asked for blocks it lacks, in ms. */
  private askedMissingAtMs = Number.NEGATIVE_INFINITY;

  constructor(o: ValidatorOptions) {
    super();
    const index = o.identity === null ? null : validatorIndex(o.genesis, o.identity.publicKey);
    if (o.identity !== null && index === null) {
      throw new StrongcastError('ERR_NOT_VALIDATOR', `key ${toHex(o.identity.publicKey).slice(0, 16)} is not a validator of network '${o.genesis.networkId}'`);
    }
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
    const stored = this.store?.loadChain().blocks ?? [];
    const first = stored[0];
    const identity = o.identity;
    this.core = new DolevStrong({
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
      ...(first ? { tip: { height: first.height - 1, hash: first.parent } } : {}),
      ...(o.clockSkewMsMax === undefined ? {} : { clockSkewMsMax: o.clockSkewMsMax }),
      ...(o.consensusOverrides ?? {}),
    });
    for (const b of stored) this.core.appendLinked(b);
    this.storedHeight = this.core.tip().height;
    this.outcomes = new OutcomeGate(outcomeWindowRounds(this.core.k));
    this.follower = index === null ? new Follower({ faults: o.genesis.faults, height: this.storedHeight, lastT0: stored[stored.length - 1]?.t0 ?? -1 }) : null;
  }

  /** Joins consensus: receives chains from the node and ticks at every round boundary. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.node.attachConsensus({ onChain: (msg, hash, from) => this.onChain(msg, hash, from), onOutcome: (msg, from) => this.onOutcome(msg, from) });
    this.node.attachSync({ onGetChain: (from) => this.onGetChain(from), onChainReply: (msg, peer) => this.onChainReply(msg, peer) });
    // A node that starts after the network did may have missed decisions: it catches up first (catch-up.ts).
    if (this.now() >= this.genesis.startMs) this.beginCatchUp();
    this.scheduleTick();
  }

  /** True while the node is still learning missed blocks from its peers. */
  get syncing(): boolean {
    return this.catchUp !== null;
  }

  /** Resolves once every decided block reported so far is on disk. */
  flushed(): Promise<void> {
    return this.diskQueue;
  }

  /** Leaves consensus; safe to call twice. */
  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.syncTimer?.cancel();
    this.timer = null;
    this.syncTimer = null;
  }

  /** Proposes a block at the next round start; resolves once it is sent. */
  async mine(payload: Uint8Array): Promise<{ instance: InstanceId; hash: string }> {
    if (this.index === null) throw new StrongcastError('ERR_NOT_VALIDATOR', 'an observer cannot mine');
    if (!this.running) throw new StrongcastError('ERR_NOT_STARTED', 'the validator is not started');
    if (this.genesis.validators.length > 1 && this.node.peerIds().length === 0) {
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

  /** Current round and open instances. */
  status(): ReturnType<DolevStrong['status']> {
    return this.core.status(this.now());
  }

  /** The node hands us a chain: check round, then the pool, then the core (README "Validation order"). */
  private async onChain(msg: ConsensusMessage, hash: Uint8Array, from: string): Promise<ChainVerdict> {
    this.checkOutage();
    const timing = this.core.chainTiming(msg.block.t0, this.now());
    if ('code' in timing) return this.refuse(msg, from, timing.code, timing.reason);
    const check = await this.verifier.checkChain({ msg, blockHash: hash, round: timing.round });
    if (!check.ok) return this.refuse(msg, from, check.code, check.reason);
    this.checkOutage();
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
  private apply(actions: ConsensusAction[], from: string, judged?: ConsensusMessage): void {
    for (const a of actions) this.applyOne(a, from, judged);
    this.publishOutcomes(actions);
    if (this.follower && actions.some((a) => a.type === 'seen')) this.followOutcomes();
  }

  private applyOne(a: ConsensusAction, from: string, judged?: ConsensusMessage): void {
    switch (a.type) {
      case 'seen':
        this.follower?.onBlock(a.block, a.blockHash);
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

  /**
   * After deciding, a validator floods its signed outcome of each start round whose instances added blocks
   * (outcome.ts): observers follow the chain by them. Rounds that added nothing send nothing.
   */
  private publishOutcomes(actions: ConsensusAction[]): void {
    const identity = this.identity;
    if (identity === null || this.index === null) return;
    const byT0 = new Map<number, ChainBlock[]>();
    for (const a of actions) {
      if (a.type !== 'decided' || a.block === null) continue;
      const list = byT0.get(a.instance.t0) ?? [];
      list.push(a.block);
      byT0.set(a.instance.t0, list);
    }
    for (const [t0, blocks] of byT0) {
      const body = { signer: this.index, t0, height: blocks[blocks.length - 1]!.height, blocks: blocks.map((b) => ({ miner: b.miner, hash: b.hash })) };
      const sig = identity.sign(outcomeSignedBytes(this.genesis.networkId, this.core.genesisHash, body));
      this.outcomes.admit(this.index, t0, this.core.currentRound(this.now()));
      this.node.publishOutcome({ t: 'outcome', ...body, sig });
    }
  }

  /**
   * A validator's outcome: checked once per signer and round (its signature over outcomeSignedBytes), carried
   * on, and followed by an observer. Outcomes of rounds long past or not yet begun are neither checked nor
   * carried (nor scored: a peer may be behind).
   */
  private async onOutcome(msg: OutcomeMessage, from: string): Promise<ChainVerdict> {
    const key = this.genesis.validators[msg.signer]?.publicKey;
    if (!key) return { valid: false, forward: false, code: 'ERR_BAD_MESSAGE', reason: `outcome signer ${msg.signer} is not a validator` };
    const round = this.core.currentRound(this.now());
    if (!this.outcomes.inWindow(msg.t0, round)) return { valid: true, forward: false };
    const [ok] = await this.verifier.verify([{ publicKey: key, message: outcomeSignedBytes(this.genesis.networkId, this.core.genesisHash, msg), signature: msg.sig }]);
    if (!ok) return { valid: false, forward: false, code: 'ERR_BAD_SIGNATURE', reason: `outcome of validator ${msg.signer} for t0=${msg.t0} has a bad signature` };
    if (!this.outcomes.admit(msg.signer, msg.t0, this.core.currentRound(this.now()))) return { valid: true, forward: false };
    if (this.follower?.onOutcome(msg)) this.followOutcomes();
    void from;
    return { valid: true, forward: true };
  }

  /**
   * An observer appends the rounds f+1 validators signed the same outcome of, in order, and reports each block
   * decided once it is durable. While catching up it waits (finishCatchUp resumes it). A final round whose
   * blocks it never saw is asked for from its peers (getchain), at most once per syncIntervalMs.
   */
  private followOutcomes(): void {
    const follower = this.follower;
    if (!follower || this.catchUp) return;
    for (const round of follower.take()) {
      for (const { block, hash } of round.blocks) {
        const appended = this.core.appendFollowed(block, hash);
        this.afterDisk(appended, () => this.emit('decided', { instance: { miner: block.miner, t0: block.t0 }, block: blockView(appended) }));
      }
    }
    const now = this.now();
    if (follower.missing().length > 0 && now - this.askedMissingAtMs >= this.syncIntervalMs) {
      this.askedMissingAtMs = now;
      for (const peer of this.node.peerIds()) this.node.sendTo(peer, { t: 'getchain', from: follower.height + 1 });
    }
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
        this.log.warn('could not store a decided block; not reported', { error: (e as Error).message });
        this.emit('rejected', { instance: block ? { miner: block.miner, t0: block.t0 } : null, code: 'ERR_STORE', reason: (e as Error).message, from: 'self' });
      });
  }

  private beginCatchUp(): void {
    const tip = this.core.tip();
    this.core.startSync();
    this.catchUp = new CatchUp({
      n: this.genesis.validators.length,
      faults: this.genesis.faults,
      k: this.core.k,
      liveFromT0: this.core.currentRound(this.now()) + 1,
      tip,
    });
    const ask = () => {
      const from = (this.catchUp?.tipNow.height ?? 0) + 1;
      for (const peer of this.node.peerIds()) this.node.sendTo(peer, { t: 'getchain', from });
    };
    this.syncTimer = this.clock.setRepeating(ask, this.syncIntervalMs);
    ask();
  }

  /**
   * Our signed statement about our chain, and the blocks from `from` on (bounded in count and bytes). An
   * observer has no key of the genesis to sign a statement with, and a block vouches for nothing without
   * one: it does not answer.
   */
  private onGetChain(from: number): ChainMessage | null {
    const identity = this.identity;
    if (identity === null || this.index === null) return null;
    this.checkOutage();
    this.apply(this.core.tick(this.now()), 'self');
    const tip = this.core.tip();
    // Rounds count from 0 at the genesis start; before it, say 0 (the wire format has no negative rounds).
    const body = { signer: this.index, round: Math.max(0, this.core.currentRound(this.now())), height: tip.height, tip: tip.hash, syncing: this.core.syncing };
    const statement: ChainStatement = { ...body, sig: identity.sign(statementSignedBytes(this.genesis.networkId, this.core.genesisHash, body)) };
    const blocks: WireChainBlock[] = [];
    let bytes = 0;
    for (const b of this.core.chain()) {
      if (b.height < from) continue;
      if (blocks.length >= schemaLimits.chainBlocksPerReplyMax || (blocks.length > 0 && bytes + b.payload.byteLength > chainReplyBytesMax)) break;
      blocks.push({ miner: b.miner, t0: b.t0, ts: b.ts, payload: b.payload, height: b.height, parent: b.parent });
      bytes += b.payload.byteLength;
    }
    return { t: 'chain', statement, blocks };
  }

  private onChainReply(msg: ChainMessage, peer: string): void {
    this.syncQueue = this.syncQueue.then(() => this.absorbChainReply(msg, peer)).catch((e: unknown) => {
      this.log.warn('catch-up reply failed', { error: (e as Error).message });
    });
  }

  private async absorbChainReply(msg: ChainMessage, peer: string): Promise<void> {
    const cu = this.catchUp;
    // Outside catch-up, an observer takes blocks it lacks from any reply: the follower appends a block only if
    // its hash is in an outcome f+1 validators signed.
    if (!cu && this.follower) {
      for (const b of msg.blocks) this.follower.onBlock(b, blockHash(b));
      return this.followOutcomes();
    }
    const st = msg.statement;
    if (!cu || !st || st.signer >= this.genesis.validators.length || st.signer === this.index) return;
    const key = this.genesis.validators[st.signer]!.publicKey;
    // The blocks of a reply count for the statement's signer only when that signer's own connection sent it.
    if (toHex(key) !== peer) return;
    const [ok] = await this.verifier.verify([{ publicKey: key, message: statementSignedBytes(this.genesis.networkId, this.core.genesisHash, st), signature: st.sig }]);
    if (!ok || this.catchUp !== cu) return;
    const refused = cu.onReply(st, msg.blocks);
    if (refused) this.log.warn('catch-up blocks refused', { signer: st.signer, reason: refused.reason });
    for (const b of cu.appendable()) {
      const block: ChainBlock = { ...b, hash: blockHash(b) };
      this.core.appendLinked(block);
      cu.advance(b, block.hash);
      this.afterDisk(block, () => this.emit('synced', { block: blockView(block), vouchers: this.genesis.faults + 1 }));
    }
    if (cu.complete()) this.finishCatchUp();
  }

  private finishCatchUp(): void {
    const cu = this.catchUp;
    if (!cu) return;
    this.catchUp = null;
    this.syncTimer?.cancel();
    this.syncTimer = null;
    this.apply(this.core.finishSync(cu.liveFromT0), 'self');
    const tip = this.core.tip();
    this.follower?.skipTo(tip.height, this.core.chain().at(-1)?.t0 ?? -1);
    this.afterDisk(null, () => this.emit('caught-up', { height: tip.height, tip: toHex(tip.hash) }));
    this.followOutcomes();
  }

  /** Ticks just after each round boundary, where instances end and decisions fall due. */
  private scheduleTick(): void {
    if (!this.running) return;
    const { roundMs, startMs } = this.genesis;
    const now = this.now();
    const next = startMs + (Math.floor((now - startMs) / roundMs) + 1) * roundMs;
    this.nextTickDueMs = next;
    this.timer = this.clock.setTimer(() => {
      try {
        this.checkOutage();
        this.nextTickDueMs = Infinity;
        this.apply(this.core.tick(this.now()), 'self');
      } catch (e) {
        this.log.warn('consensus tick failed', { error: (e as Error).message });
      }
      this.scheduleTick();
    }, Math.max(1, next - now + 1));
  }

  /**
   * A node that was paused (time jumped more than a round past the tick it expected) or cut off (no peer at
   * all) may miss decisions, and its next blocks would then get wrong heights. It catches up as after a
   * restart, from the moment it notices: decisions are held at once, and while it stays alone the instances
   * it sees are only partial views, so liveFromT0 moves past them and their outcomes are dropped.
   * Called before anything reaches the core, so no decision of a paused node slips in before the check.
   */
  private checkOutage(): void {
    const now = this.now();
    // Before round 0 nothing can be decided, so nothing can be missed.
    if (now < this.genesis.startMs) {
      this.aloneSince = null;
      return;
    }
    const alone = this.genesis.validators.length > 1 && this.node.peerIds().length === 0;
    let reason: string | null = null;
    if (now - this.nextTickDueMs > this.genesis.roundMs) reason = `time jumped ${now - this.nextTickDueMs} ms past the expected round tick`;
    if (alone) {
      this.aloneSince ??= now;
      reason ??= 'no peers';
    } else this.aloneSince = null;
    if (reason && !this.catchUp) {
      this.log.info('catching up again', { reason });
      this.emit('resync', { reason });
      this.beginCatchUp();
    }
    if (this.catchUp && (alone || reason)) {
      this.catchUp.liveFromT0 = Math.max(this.catchUp.liveFromT0, this.core.currentRound(now) + 1);
    }
  }
}
