/**
 * The adversary of the agreement runs: a coalition of Byzantine validators that controls everything no
 * signature covers, and uses it against honest validators and observers on sparse topologies:
 *  - hop counts: copies of honest chains passed on with hops at 0, at the limit or far past it;
 *  - field order: msgpack maps re-encoded with their keys shuffled;
 *  - the bitmask beyond the signers: stray bits set (a copy no honest node may accept or be shadowed by);
 *  - timing and targets: copies duplicated, held back and released late, older (shorter) chains replayed
 *    after newer ones, honest chains extended with the coalition's signatures and released just before the
 *    end of a round to one chosen node;
 *  - as miner: equivocation to chosen subsets, a proposal released early (inside some honest clocks' skew
 *    window and outside others'), a proposal released late with co-signers, or silence;
 *  - validators' outcomes, which ride their signer's broadcast tree: passed on at once to every honest
 *    neighbour until a time of its choosing (so that, first with them, those prune their honest links to
 *    lazy), then withheld, and in some runs announced at once (IHAVE) with every GRAFT left unanswered.
 * It signs only with the coalition's keys: what f Byzantine validators can really do.
 */
import { utf8 } from '../../src/bytes.ts';
import { encodeFrame } from '../../src/wire/framing.ts';
import { gossipDefaults } from '../../src/gossip/gossip-core.ts';
import type { ConsensusMessage, Message, OutcomeMessage, WireBlock } from '../../src/wire/schema.ts';
import { outcomeId } from '../../src/consensus/outcome.ts';
import { packIds } from '../../src/gossip/broadcast-relay.ts';
import { Prng } from '../../src/sim/prng.ts';
import { buildChain, extendChain } from '../sim/chains.ts';
import { ByzHost } from './byzantine.ts';
import type { RawConn } from './raw-host.ts';
import { simPort, validatorIp, type World } from './world.ts';

/** How a coalition miner behaves when its turn comes. */
export const minerModes = ['equivocate', 'early', 'late', 'silent', 'honest-looking'] as const;
export type MinerMode = (typeof minerModes)[number];

/** What the rewriters of a run did, to show the attacks really happened. */
export interface RewriterCounters {
  hopsEdited: number;
  fieldOrder: number;
  maskEdited: number;
  duplicates: number;
  replays: number;
  lateReleases: number;
  earlyReleases: number;
  equivocations: number;
  outcomesFed: number;
  outcomesWithheld: number;
  outcomesAnnounced: number;
}

/** A fresh, zeroed set of counters. */
export function rewriterCounters(): RewriterCounters {
  return { hopsEdited: 0, fieldOrder: 0, maskEdited: 0, duplicates: 0, replays: 0, lateReleases: 0, earlyReleases: 0, equivocations: 0, outcomesFed: 0, outcomesWithheld: 0, outcomesAnnounced: 0 };
}

/** One Byzantine validator of the coalition. */
export class Rewriter extends ByzHost {
  readonly #history: ConsensusMessage[] = [];
  /**
   * Its own generator for the outcome attack, so the draws of everything else in a run stay those of the
   * seed without it: from when it withholds outcomes, and whether it announces them.
   */
  readonly #outcomeRng: Prng;
  readonly #withholdFromMs: number;
  readonly #announce: boolean;

  constructor(
    world: World,
    readonly index: number,
    readonly coalition: readonly number[],
    readonly counters: RewriterCounters,
    /** Honest nodes it dials besides its topology neighbours (an adversary picks its own links). */
    readonly extraLinks: readonly number[],
  ) {
    super(world, `v${index}`, world.identities[index]!, validatorIp(index));
    void this.raw.listen();
    this.#outcomeRng = new Prng((world.seed * 7919 + index * 104729 + 1) >>> 0);
    this.#withholdFromMs = world.T0(this.#outcomeRng.int(0, 5)) + this.#outcomeRng.int(0, world.opts.roundMs);
    this.#announce = this.#outcomeRng.next() < 0.5;
  }

  /** Dials its topology neighbours and the extra honest nodes it chose. */
  connect(neighbours: Iterable<number>): void {
    for (const j of new Set([...neighbours, ...this.extraLinks])) if (!this.coalition.includes(j)) this.raw.dial(validatorIp(j), simPort);
  }

  onMessage(_c: RawConn, msg: Message): void {
    if (msg.t === 'outcome') return this.#onOutcome(msg);
    if (msg.t !== 'ds' || msg.signers.includes(this.index)) return;
    const rng = this.world.rng;
    this.#history.push(msg);
    if (this.#history.length > 64) this.#history.splice(rng.int(0, 63), 1);
    if (rng.next() < 0.6) this.#passOnRewritten(msg);
    if (rng.next() < 0.35) this.#extendAndHold(msg);
    if (rng.next() < 0.2) this.#replayOld();
  }

  /** An honest validator's outcome: first passed on at once, to be the feed; later withheld (and announced). */
  #onOutcome(msg: OutcomeMessage): void {
    const w = this.world;
    if (w.sched.now < this.#withholdFromMs) {
      this.counters.outcomesFed++;
      for (const c of this.#targets()) c.send(msg);
      return;
    }
    this.counters.outcomesWithheld++;
    if (!this.#announce) return;
    this.counters.outcomesAnnounced++;
    for (const c of this.#targets()) c.send({ t: 'ihave', ids: packIds([outcomeId(msg)]) });
  }

  /** Our turn as miner of t0 (now is a little before T0 on the timeline). */
  mine(t0: number, mode: MinerMode): void {
    const w = this.world;
    const rng = w.rng;
    const block = (j: number): WireBlock => ({ miner: this.index, t0, ts: w.T0(t0), payload: utf8(`seed ${w.seed} byz ${this.index}@${t0}#${j}`) });
    const targets = this.#targets();
    if (targets.length === 0 || mode === 'silent') return;
    const T0 = w.T0(t0);
    if (mode === 'equivocate') {
      this.counters.equivocations++;
      const groups = rng.int(2, 3);
      rng.shuffle(targets).forEach((c, i) => w.sched.at(T0 + rng.int(0, 5), () => this.#send(c, buildChain(w.testNet, block(i % groups), [this.index]))));
    } else if (mode === 'early') {
      // Before T0: inside the skew window of receivers whose clocks read ahead, outside that of others.
      this.counters.earlyReleases++;
      const skew = w.opts.clockSkewMsMax ?? 0;
      const at = T0 - rng.int(1, 2 * skew + 2);
      w.sched.at(at, () => this.#send(rng.pick(targets), buildChain(w.testNet, block(0), [this.index]), 0));
    } else if (mode === 'late') {
      const chain = buildChain(w.testNet, block(0), [this.index, ...this.#cosigners()]);
      this.#releaseLate(chain);
    } else {
      w.sched.at(T0, () => {
        for (const c of targets) this.#send(c, buildChain(w.testNet, block(0), [this.index]));
      });
    }
  }

  /** Honest nodes with an open connection. */
  #targets(): RawConn[] {
    return [...this.open.values()].filter((c) => {
      const i = this.world.indexOf(c.peerId);
      return i === undefined || !this.coalition.includes(i);
    });
  }

  #cosigners(): number[] {
    const rng = this.world.rng;
    return rng.shuffle(this.coalition.filter((i) => i !== this.index)).slice(0, rng.int(0, this.coalition.length - 1));
  }

  /** The same signed content, to some honest nodes, with what no signature covers changed. */
  #passOnRewritten(msg: ConsensusMessage): void {
    const w = this.world;
    const rng = w.rng;
    const targets = rng.shuffle(this.#targets()).slice(0, rng.int(1, 3));
    for (const c of targets) {
      const copies = rng.next() < 0.3 ? rng.int(2, 4) : 1;
      if (copies > 1) this.counters.duplicates++;
      for (let k = 0; k < copies; k++) {
        const hops = rng.pick([0, 1, gossipDefaults.hopLimit - 1, gossipDefaults.hopLimit, 255]);
        if (hops !== msg.hops) this.counters.hopsEdited++;
        const delay = rng.next() < 0.5 ? 0 : rng.int(0, w.opts.roundMs);
        w.sched.after(delay, () => this.#send(c, { ...msg, hops }));
      }
    }
    if (rng.next() < 0.3 && targets[0]) {
      // A stray bit beyond the signers: the copy is invalid; it must not shadow the genuine one.
      const mask = msg.mask.slice();
      const free = [...Array(w.opts.n).keys()].find((i) => !msg.signers.includes(i));
      if (free !== undefined) {
        mask[free >> 3]! |= 1 << (free & 7);
        this.counters.maskEdited++;
        this.#send(targets[0], { ...msg, mask });
      }
    }
  }

  /** An honest chain extended with our coalition's signatures, held and released late to one node. */
  #extendAndHold(msg: ConsensusMessage): void {
    const w = this.world;
    let chain = extendChain(w.testNet, { ...msg, hops: 0 }, this.index);
    for (const i of this.coalition) if (!chain.signers.includes(i) && w.rng.next() < 0.5) chain = extendChain(w.testNet, chain, i);
    this.#releaseLate(chain);
  }

  /** Sends `chain` to one honest node so it arrives just before the end of a round it is still valid in. */
  #releaseLate(chain: ConsensusMessage): void {
    const w = this.world;
    const rng = w.rng;
    const k = w.genesis.faults + 1;
    const round = rng.int(1, Math.min(k, chain.signers.length));
    const endOfRound = w.T0(chain.block.t0) + round * w.opts.roundMs;
    const sendAt = endOfRound - rng.int(1, Math.max(2, Math.floor(w.opts.roundMs / 6)));
    if (sendAt < w.sched.now) return;
    w.sched.at(sendAt, () => {
      const targets = this.#targets();
      if (targets.length === 0) return;
      this.counters.lateReleases++;
      this.#send(rng.pick(targets), chain, 0);
    });
  }

  /** An older chain from the history, after newer ones have gone by. */
  #replayOld(): void {
    const rng = this.world.rng;
    const old = this.#history[rng.int(0, this.#history.length - 1)];
    const c = rng.pick(this.#targets().concat([]));
    if (!old || !c) return;
    this.counters.replays++;
    this.#send(c, { ...old, hops: rng.int(0, 40) });
  }

  /** Sends a chain; now and then with the msgpack keys in another order (the signed bytes do not see it). */
  #send(c: RawConn, msg: ConsensusMessage, fieldOrderChance = 0.3): void {
    const rng = this.world.rng;
    if (rng.next() >= fieldOrderChance) return void c.send(msg);
    this.counters.fieldOrder++;
    const block = shuffled(msg.block as unknown as Record<string, unknown>, rng.shuffle(Object.keys(msg.block)));
    const body = shuffled({ ...msg, block } as unknown as Record<string, unknown>, rng.shuffle(Object.keys(msg)));
    c.sendFrame(encodeFrame(body as unknown as Message));
  }
}

/** A copy of `o` whose keys were inserted in `order` (msgpack writes them in insertion order). */
function shuffled(o: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) out[k] = o[k];
  return out;
}
