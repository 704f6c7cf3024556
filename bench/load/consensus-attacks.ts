/**
 * The two consensus attackers, each a Byzantine validator running a real node (real key, genesis port,
 * connected to every validator) but its own rules instead of the Dolev-Strong core:
 *  - Equivocator: as miner of an instance, signs two different blocks and sends each to a different half of
 *    the honest validators (`equivocate`), or signs one block and gives it to the withholder only
 *    (`withhold`), so the only way honest nodes learn of it is a late release.
 *  - Withholder: never relays in time. For every block it hears of, it keeps the chain with the most
 *    signatures and, late in the last round in which that chain plus its own signature is still acceptable
 *    (round min(k, signatures + 1)), appends its signature and sends it to one honest validator only.
 * Dolev-Strong must still make every honest validator decide the same thing: "no block" for a split, and
 * for a late release either the block everywhere (the receiver relays it in time) or nowhere.
 */
import { concatBytes, toHex } from '../../src/bytes.ts';
import { blockHash } from '../../src/consensus/block.ts';
import { hasBit, maskOf, withBit } from '../../src/consensus/bitmask.ts';
import { genesisHash, type Genesis } from '../../src/consensus/genesis.ts';
import { consensusSignedBytes } from '../../src/consensus/signing.ts';
import type { Identity } from '../../src/crypto/keys.ts';
import type { StrongcastNode } from '../../src/core/node.ts';
import type { ConsensusMessage, WireBlock } from '../../src/wire/schema.ts';
import { Prng } from './prng.ts';

/** Blocks the withholder tracks at once. */
const withheldBlocksMax = 512;
/** How far into its release round the withholder sends, as a fraction of Δ. */
const releaseFraction = 0.6;
/** Delay after an instance's round start before the equivocator sends its blocks, in ms. */
const sendAfterRoundStartMs = 30;

/** What one equivocator action did. */
export interface EquivocationRecord {
  kind: 'equivocate' | 'withhold';
  t0: number;
  hashes: string[];
  /** Honest validators each block was sent to, by block. */
  sentTo: number[][];
}

/** What one late release did. */
export interface ReleaseRecord {
  miner: number;
  t0: number;
  hash: string;
  round: number;
  signatures: number;
  to: number;
  /** How much later than planned the release went out (a busy process fires timers late), in ms. */
  lateMs: number;
}

/** Shared helpers of both attackers. */
class ByzantineValidator {
  readonly index: number;
  readonly k: number;
  protected readonly genesisHash: Uint8Array;
  protected readonly rng: Prng;

  constructor(
    protected readonly node: StrongcastNode,
    protected readonly genesis: Genesis,
    protected readonly identity: Identity,
    readonly honest: readonly number[],
    seed: number,
  ) {
    const hex = toHex(identity.publicKey);
    this.index = genesis.validators.findIndex((v) => toHex(v.publicKey) === hex);
    if (this.index < 0) throw new Error('the key is not a validator of this genesis');
    this.k = genesis.faults + 1;
    this.genesisHash = genesisHash(genesis);
    this.rng = new Prng(seed);
  }

  protected roundStartMs(t0: number): number {
    return this.genesis.startMs + t0 * this.genesis.roundMs;
  }

  protected currentRound(): number {
    return Math.floor((Date.now() - this.genesis.startMs) / this.genesis.roundMs);
  }

  protected sign(block: WireBlock, hash: Uint8Array): Uint8Array {
    return this.identity.sign(
      consensusSignedBytes({ networkId: this.genesis.networkId, genesisHash: this.genesisHash, miner: block.miner, t0: block.t0, blockHash: hash }),
    );
  }

  protected peerIdOf(index: number): string {
    return toHex(this.genesis.validators[index]!.publicKey);
  }

  /** Honest validators this node has an open connection to. */
  protected connectedHonest(): number[] {
    const open = new Set(this.node.peerIds());
    return this.honest.filter((i) => open.has(this.peerIdOf(i)));
  }
}

/** The equivocating miner. */
export class Equivocator extends ByzantineValidator {
  readonly records: EquivocationRecord[] = [];

  constructor(node: StrongcastNode, genesis: Genesis, identity: Identity, honest: readonly number[], seed: number, readonly withholder: number) {
    super(node, genesis, identity, honest, seed);
  }

  /** Two blocks for one instance, each to a different half of the honest validators. */
  async equivocate(): Promise<EquivocationRecord> {
    const t0 = await this.#nextInstance();
    const blocks = ['A', 'B'].map((label) => this.#block(t0, `equivocation ${label} t0=${t0}`));
    const targets = this.rng.shuffle(this.connectedHonest());
    const halves = [targets.slice(0, targets.length >> 1), targets.slice(targets.length >> 1)];
    const sentTo = blocks.map((b, i) => halves[i]!.filter((to) => this.node.sendTo(this.peerIdOf(to), b.msg)));
    const rec: EquivocationRecord = { kind: 'equivocate', t0, hashes: blocks.map((b) => b.hash), sentTo };
    this.records.push(rec);
    return rec;
  }

  /** One block given to the withholder only. */
  async withhold(): Promise<EquivocationRecord> {
    const t0 = await this.#nextInstance();
    const b = this.#block(t0, `withheld t0=${t0}`);
    const sent = this.node.sendTo(this.peerIdOf(this.withholder), b.msg);
    const rec: EquivocationRecord = { kind: 'withhold', t0, hashes: [b.hash], sentTo: [sent ? [this.withholder] : []] };
    this.records.push(rec);
    return rec;
  }

  /** Waits for the start of the round after next and returns its index. */
  async #nextInstance(): Promise<number> {
    const t0 = this.currentRound() + 2;
    await new Promise((r) => setTimeout(r, Math.max(0, this.roundStartMs(t0) + sendAfterRoundStartMs - Date.now())));
    return t0;
  }

  #block(t0: number, text: string): { msg: ConsensusMessage; hash: string } {
    const block: WireBlock = { miner: this.index, t0, ts: Date.now(), payload: new TextEncoder().encode(text) };
    const hash = blockHash(block);
    const msg: ConsensusMessage = { t: 'ds', block, mask: maskOf(this.genesis.validators.length, [this.index]), signers: [this.index], sigs: this.sign(block, hash), hops: 0 };
    return { msg, hash: toHex(hash) };
  }
}

interface Held {
  best: ConsensusMessage;
  hash: Uint8Array;
  timer: NodeJS.Timeout | null;
  releaseAtMs: number;
}

/** The withholder. */
export class Withholder extends ByzantineValidator {
  readonly releases: ReleaseRecord[] = [];
  chainsReceived = 0;
  readonly #held = new Map<string, Held>();
  /** Blocks already released (oldest first), so a block is released once. */
  readonly #released = new Set<string>();

  /** Takes a chain the node received; always answers "valid, do not forward" so the node stays quiet. */
  onChain(msg: ConsensusMessage, hash: Uint8Array): { valid: boolean; forward: boolean } {
    this.chainsReceived++;
    const key = toHex(hash);
    if (this.#released.has(key)) return { valid: true, forward: false };
    let h = this.#held.get(key);
    if (!h) {
      if (this.#held.size >= withheldBlocksMax) return { valid: true, forward: false };
      h = { best: msg, hash, timer: null, releaseAtMs: 0 };
      this.#held.set(key, h);
    } else if (msg.signers.length > h.best.signers.length) {
      h.best = msg;
    } else {
      return { valid: true, forward: false };
    }
    this.#schedule(key, h);
    return { valid: true, forward: false };
  }

  /** Cancels pending releases. */
  stop(): void {
    for (const h of this.#held.values()) if (h.timer) clearTimeout(h.timer);
    this.#held.clear();
  }

  /** Late in round min(k, s + 1) of the instance, where s is the best chain's signature count. */
  #schedule(key: string, h: Held): void {
    if (hasBit(h.best.mask, this.index)) return;
    const round = Math.min(this.k, h.best.signers.length + 1);
    const at = this.roundStartMs(h.best.block.t0) + (round - 1 + releaseFraction) * this.genesis.roundMs;
    if (h.timer && at <= h.releaseAtMs) return;
    if (h.timer) clearTimeout(h.timer);
    h.releaseAtMs = at;
    h.timer = setTimeout(() => this.#release(key, h, round), Math.max(0, at - Date.now()));
  }

  #release(key: string, h: Held, round: number): void {
    this.#held.delete(key);
    this.#released.add(key);
    if (this.#released.size > withheldBlocksMax * 4) this.#released.delete(this.#released.values().next().value as string);
    const m = h.best;
    const targets = this.connectedHonest();
    if (targets.length === 0) return;
    const to = this.rng.pick(targets);
    const msg: ConsensusMessage = {
      t: 'ds',
      block: m.block,
      mask: withBit(m.mask, this.index),
      signers: [...m.signers, this.index],
      sigs: concatBytes(m.sigs, this.sign(m.block, h.hash)),
      hops: 0,
    };
    if (this.node.sendTo(this.peerIdOf(to), msg)) {
      this.releases.push({ miner: m.block.miner, t0: m.block.t0, hash: key, round, signatures: msg.signers.length, to, lateMs: Math.round(Date.now() - h.releaseAtMs) });
    }
  }
}
