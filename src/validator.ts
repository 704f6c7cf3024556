/**
 * The validator shell: wires the pure Dolev-Strong state machine to a node (consensus chains travel over
 * gossip), to the verification pool (every chain is checked there before the core sees it) and to real
 * time (a timer at each round boundary). It adds no protocol rules of its own.
 */
import { EventEmitter } from 'node:events';
import { toHex } from './bytes.ts';
import { StrongcastError, type ErrorCode } from './errors.ts';
import type { ChainVerdict, StrongcastNode } from './node.ts';
import type { ConsensusMessage } from './schema.ts';
import type { ChainVerifier } from './crypto/verifier.ts';
import type { Identity } from './crypto/keys.ts';
import { DolevStrong, type ConsensusAction } from './consensus/dolev-strong.ts';
import { roundsPerInstance, validatorIndex, type Genesis } from './consensus/genesis.ts';
import type { ChainBlock, InstanceId } from './consensus/block.ts';
import { silentLogger, type Logger } from './log.ts';

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
  rejected: [{ instance: InstanceId | null; code: ErrorCode; reason: string; from: string }];
}

/** What a validator needs. */
export interface ValidatorOptions {
  node: StrongcastNode;
  genesis: Genesis;
  identity: Identity;
  verifier: ChainVerifier;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  log?: Logger;
}

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

/** One validator of a genesis, running on a node. */
export class Validator extends EventEmitter<ValidatorEvents> {
  readonly index: number;
  readonly core: DolevStrong;
  private readonly node: StrongcastNode;
  private readonly genesis: Genesis;
  private readonly verifier: ChainVerifier;
  private readonly now: () => number;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(o: ValidatorOptions) {
    super();
    const index = validatorIndex(o.genesis, o.identity.publicKey);
    if (index === null) throw new StrongcastError('ERR_NOT_VALIDATOR', `key ${toHex(o.identity.publicKey).slice(0, 16)} is not a validator of network '${o.genesis.networkId}'`);
    this.index = index;
    this.node = o.node;
    this.genesis = o.genesis;
    this.verifier = o.verifier;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? silentLogger;
    this.core = new DolevStrong({ genesis: o.genesis, selfIndex: index, sign: (b) => o.identity.sign(b) });
  }

  /** Joins consensus: receives chains from the node and ticks at every round boundary. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.node.attachConsensus({ onChain: (msg, hash, from) => this.onChain(msg, hash, from) });
    this.scheduleTick();
  }

  /** Leaves consensus; safe to call twice. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Proposes a block at the next round start; resolves once it is sent. */
  async mine(payload: Uint8Array): Promise<{ instance: InstanceId; hash: string }> {
    if (!this.running) throw new StrongcastError('ERR_NOT_STARTED', 'the validator is not started');
    const { t0, atMs } = this.core.nextProposalRound(this.now());
    await new Promise((r) => setTimeout(r, Math.max(0, atMs - this.now())));
    const actions = this.core.propose(payload, t0, this.now(), Date.now());
    this.apply(actions, 'self');
    const proposed = actions.find((a) => a.type === 'proposed');
    if (!proposed || proposed.type !== 'proposed') {
      const rejected = actions.find((a) => a.type === 'rejected');
      throw new StrongcastError('ERR_BAD_CHAIN', rejected && rejected.type === 'rejected' ? rejected.reason : 'proposal refused');
    }
    return { instance: proposed.instance, hash: toHex(proposed.blockHash) };
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
    const k = roundsPerInstance(this.genesis);
    const round = this.core.roundOf(msg.block.t0, this.now());
    if (round < 1) return this.refuse(msg, from, 'ERR_BAD_CHAIN', `instance starts in the future (round ${round})`);
    if (round > k) return this.refuse(msg, from, 'ERR_INSTANCE_OVER', `round ${round} is after the last round ${k}`);
    const check = await this.verifier.checkChain({ msg, blockHash: hash, round });
    if (!check.ok) return this.refuse(msg, from, check.code, check.reason);
    const actions = this.core.onVerifiedChain(msg, this.now(), hash);
    this.apply(actions, from);
    const forward = actions.some((a) => a.type === 'forward');
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

  private apply(actions: ConsensusAction[], from: string): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.node.publishConsensus(a.msg);
          break;
        case 'forward':
          break; // the node floods it on when we answer forward: true
        case 'proposed':
          this.emit('proposed', { instance: a.instance, hash: toHex(a.blockHash) });
          break;
        case 'relayed':
          this.emit('relayed', { instance: a.instance, hash: toHex(a.blockHash), round: a.round, signatures: a.signatures });
          break;
        case 'decided':
          this.emit('decided', { instance: a.instance, block: a.block ? blockView(a.block) : null });
          break;
        case 'rejected':
          this.emit('rejected', { instance: a.instance, code: a.code, reason: a.reason, from });
          break;
      }
    }
  }

  /** Ticks just after each round boundary, where instances end and decisions fall due. */
  private scheduleTick(): void {
    if (!this.running) return;
    const { roundMs, startMs } = this.genesis;
    const now = this.now();
    const next = startMs + (Math.floor((now - startMs) / roundMs) + 1) * roundMs;
    this.timer = setTimeout(() => {
      try {
        this.apply(this.core.tick(this.now()), 'self');
      } catch (e) {
        this.log.warn('consensus tick failed', { error: (e as Error).message });
      }
      this.scheduleTick();
    }, Math.max(1, next - now + 1));
  }
}
