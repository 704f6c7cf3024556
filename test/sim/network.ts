/**
 * A deterministic simulated network of Dolev-Strong cores (after raft's newNetwork and TigerBeetle's packet
 * simulator): a seeded PRNG, a virtual clock, a delivery queue with a per-message delay below the round
 * length, drop hooks, and Byzantine nodes whose behaviour a test writes. A `send` models the gossip layer:
 * it reaches every node (or every neighbour, with a topology) with independent delays. Honest nodes check
 * every incoming chain as the shell does (round bounds, then SimVerifier with real Ed25519) before the core
 * sees it, a random processing time later. Everything is a function of the seed, which every assertion prints.
 */
import { toHex } from '../../src/bytes.ts';
import { blockHash } from '../../src/consensus/block.ts';
import { DolevStrong, type ConsensusAction } from '../../src/consensus/dolev-strong.ts';
import { createGenesis } from '../../src/consensus/genesis.ts';
import type { ErrorCode } from '../../src/errors.ts';
import type { ConsensusMessage } from '../../src/wire/schema.ts';
import { SimVerifier, testNet, type TestNet } from './chains.ts';
import { testKeys } from './keys.ts';
import { Prng } from '../../src/sim/prng.ts';
import { EventQueue } from '../../src/sim/event-queue.ts';

/** What a Byzantine behaviour can do: anything a coalition holding the Byzantine keys can do on the wire. */
export interface ByzantineContext {
  sim: Sim;
  index: number;
  /** Real (simulation) time in ms. */
  now(): number;
  /** Sends `msg` to the given nodes, after `delayMs` (default: a random honest-like delay). */
  sendTo(to: number | readonly number[] | 'all', msg: ConsensusMessage, delayMs?: number): void;
  /** Runs `fn` at simulation time `ms`. */
  at(ms: number, fn: () => void): void;
}

/** A Byzantine node: it runs no core, only what the test says. A node with `{}` is silent. */
export interface ByzantineBehaviour {
  start?(ctx: ByzantineContext): void;
  onMessage?(ctx: ByzantineContext, msg: ConsensusMessage, from: number): void;
}

/** Options of a simulation. */
export interface SimOptions {
  seed: number;
  n: number;
  /** @default Math.floor((n - 1) / 3) */
  faults?: number;
  /** @default 100 */
  roundMs?: number;
  /** @default 1_000_000 */
  startMs?: number;
  /** @default 1 */
  delayMinMs?: number;
  /** Largest delay of one delivery; with processMaxMs and twice the skew it must stay below roundMs. @default 0.6 * roundMs */
  delayMaxMs?: number;
  /** Largest time between receiving a chain and the core processing it (verification). @default 3 */
  processMaxMs?: number;
  /** Largest clock offset of a node from simulation time, either way (two clocks differ by up to twice it). @default 0 */
  clockSkewMs?: number;
  /** Each node's clock offset, in place of random ones within clockSkewMs (missing entries: 0). */
  offsetsMs?: readonly number[];
  /** Passed to every core. @default twice clockSkewMs (the largest difference of two clocks), or the core's default when that is 0 */
  clockSkewMsMax?: number;
  /** Byzantine nodes by index. */
  byzantine?: Record<number, ByzantineBehaviour>;
  /** Passed to every core: FOR NEGATIVE CONTROLS ONLY. */
  roundsOverride?: number;
  /** Passed to every core: FOR NEGATIVE CONTROLS ONLY. */
  sendEarlyOverride?: boolean;
  /** Neighbours of node i (a multi-hop topology); delivery is then hop by hop. @default everybody */
  neighbours?: (i: number) => readonly number[];
  /** Returns true to drop a delivery (partitions, loss). */
  drop?: (from: number, to: number, msg: ConsensusMessage) => boolean;
  /** Observer nodes (cores with no validator index), numbered n, n+1, ...: they decide and forward only. @default 0 */
  observers?: number;
  /** Events processed before the run is declared a runaway (e.g. a forwarding loop). @default 100000 */
  eventsMax?: number;
}

/** One honest node: a core and what it did. */
export interface HonestNode {
  index: number;
  core: DolevStrong;
  offsetMs: number;
  /** Outcome per instance key 't0/miner': block hash hex, or null for "no block". */
  decisions: Map<string, string | null>;
  rejected: Array<{ code: ErrorCode; reason: string; from: number }>;
  /** Distinct block hashes this node put on the wire (send or forward) per instance key. */
  wireBlocks: Map<string, Set<string>>;
  /** Messages this node put on the wire per instance key (sends and forwards). */
  wireMessages: Map<string, number>;
  /** True for an observer (no validator index). */
  observer: boolean;
}

/** Instance key used in HonestNode maps. */
export function key(miner: number, t0: number): string {
  return `${t0}/${miner}`;
}

/** The simulation. */
export class Sim {
  readonly seed: number;
  readonly rng: Prng;
  readonly net: TestNet;
  /** Validators. */
  readonly n: number;
  /** Validators plus observers. */
  readonly total: number;
  readonly k: number;
  readonly roundMs: number;
  readonly verifier: SimVerifier;
  readonly nodes: ReadonlyArray<HonestNode | null>;
  readonly byzantine: Record<number, ByzantineBehaviour>;
  now = 0;
  /** Events run so far. */
  events = 0;
  readonly #opts: SimOptions;
  readonly #queue = new EventQueue();
    #ticksThrough: number;
  readonly #delayMin: number;
  readonly #delayMax: number;
  readonly #processMax: number;

  constructor(opts: SimOptions) {
    this.#opts = opts;
    this.seed = opts.seed;
    this.rng = new Prng(opts.seed);
    this.n = opts.n;
    this.roundMs = opts.roundMs ?? 100;
    const keys = testKeys(opts.n);
    const genesis = createGenesis({
      publicKeys: keys.map((k) => k.publicKey),
      networkId: 'sim',
      roundMs: this.roundMs,
      startMs: opts.startMs ?? 1_000_000,
      ...(opts.faults === undefined ? {} : { faults: opts.faults }),
    });
    this.net = testNet(genesis, keys);
    this.verifier = new SimVerifier(this.net);
    this.byzantine = opts.byzantine ?? {};
    this.#delayMin = opts.delayMinMs ?? 1;
    this.#delayMax = opts.delayMaxMs ?? Math.floor(0.6 * this.roundMs);
    this.#processMax = opts.processMaxMs ?? 3;
    const skew = opts.clockSkewMs ?? 0;
    if (this.#delayMax + this.#processMax + 2 * skew >= this.roundMs) throw new Error('sim: delayMaxMs + processMaxMs + 2*clockSkewMs must stay below roundMs');
    const clockSkewMsMax = opts.clockSkewMsMax ?? (skew > 0 ? 2 * skew : undefined);
    this.total = opts.n + (opts.observers ?? 0);
    this.nodes = Array.from({ length: this.total }, (_, index) => {
      if (this.byzantine[index]) return null;
      const observer = index >= opts.n;
      const core = new DolevStrong({
        genesis,
        selfIndex: observer ? null : index,
        ...(observer ? {} : { sign: keys[index]?.sign }),
        ...(opts.roundsOverride === undefined ? {} : { roundsOverride: opts.roundsOverride }),
        ...(clockSkewMsMax === undefined ? {} : { clockSkewMsMax }),
        ...(opts.sendEarlyOverride ? { sendEarlyOverride: true } : {}),
      });
      const offsetMs = opts.offsetsMs ? (opts.offsetsMs[index] ?? 0) : skew === 0 ? 0 : this.rng.int(-skew, skew);
      return { index, core, offsetMs, decisions: new Map(), rejected: [], wireBlocks: new Map(), wireMessages: new Map(), observer };
    });
    this.k = opts.roundsOverride ?? genesis.faults + 1;
    this.now = genesis.startMs - this.roundMs;
    this.#ticksThrough = this.now;
    for (const [i, b] of Object.entries(this.byzantine)) b.start?.(this.#byzContext(Number(i)));
  }

  /** The honest nodes (validators and observers). */
  get honest(): HonestNode[] {
    return this.nodes.filter((x): x is HonestNode => x !== null);
  }

  /** Start of round t0 in simulation time (T0). */
  T0(t0: number): number {
    return this.net.genesis.startMs + t0 * this.roundMs;
  }

  /** Runs `fn` at simulation time `ms` (events at the same time run in the order they were scheduled). */
  at(ms: number, fn: () => void): void {
    this.#queue.push(ms, fn);
  }

  /** Honest node `i` proposes `payload` for t0, `lateMs` after T0 by its own clock. */
  propose(i: number, t0: number, payload: Uint8Array, lateMs = 0): void {
    const node = this.nodes[i];
    if (!node) throw new Error(`node ${i} is not honest`);
    this.at(this.T0(t0) - node.offsetMs + lateMs, () => this.#apply(node, node.core.propose(payload, t0, this.#local(node))));
  }

  /** Every honest node watches every miner (or `miners`) of t0, just before it starts. */
  watch(t0: number, miners: readonly number[] = Array.from({ length: this.n }, (_, i) => i)): void {
    this.at(this.T0(t0) - 1, () => {
      for (const node of this.honest) for (const m of miners) node.core.watch(m, t0);
    });
  }

  /** Delivers `msg` from `from` to `to` after `delayMs` (default: a random delay within the bound). */
  deliver(from: number, to: number, msg: ConsensusMessage, delayMs = this.rng.int(this.#delayMin, this.#delayMax)): void {
    if (this.#opts.drop?.(from, to, msg)) return;
    this.at(this.now + delayMs, () => this.#receive(to, from, msg));
  }

  /** Runs every event up to `untilMs`, ticking every honest core at each of its round boundaries. */
  run(untilMs: number): void {
    this.#scheduleTicks(untilMs);
    for (let e = this.#queue.peek(); e !== undefined && e.at <= untilMs; e = this.#queue.peek()) {
      this.#queue.pop();
      if (++this.events > (this.#opts.eventsMax ?? 100_000)) throw new Error(`seed=${this.seed} runaway: more than ${this.#opts.eventsMax ?? 100_000} events`);
      this.now = e.at;
      e.fn();
    }
    this.now = untilMs;
  }

  /** Runs until every instance of t0 has ended and been decided everywhere. */
  runThrough(t0: number): void {
    const offsets = this.honest.map((h) => Math.abs(h.offsetMs));
    this.run(this.T0(t0) + this.k * this.roundMs + Math.max(this.#opts.clockSkewMs ?? 0, ...offsets) + 1);
  }

  /** Each honest node's outcome for (miner, t0): a hash hex, null ("no block"), or undefined (undecided). */
  outcomes(miner: number, t0: number): Array<string | null | undefined> {
    return this.honest.map((n) => n.decisions.get(key(miner, t0)));
  }

  /** Each honest node's chain as one line per block: height, hash, parent, miner, t0. */
  chains(): string[] {
    return this.honest.map((n) =>
      n.core
        .chain()
        .map((b) => `${b.height}:${toHex(b.hash).slice(0, 12)}<-${toHex(b.parent).slice(0, 12)}@${b.t0}/${b.miner}`)
        .join(' '),
    );
  }

  #local(node: HonestNode): number {
    return this.now + node.offsetMs;
  }

  #scheduleTicks(untilMs: number): void {
    for (let t = this.#ticksThrough + this.roundMs; t <= untilMs + this.roundMs; t += this.roundMs) {
      for (const node of this.honest) this.at(t - node.offsetMs, () => this.#apply(node, node.core.tick(this.#local(node))));
      this.#ticksThrough = t;
    }
  }

  #broadcast(from: number, msg: ConsensusMessage): void {
    const to = this.#opts.neighbours?.(from) ?? Array.from({ length: this.total }, (_, i) => i);
    for (const i of to) if (i !== from) this.deliver(from, i, { ...msg, hops: msg.hops + 1 });
  }

  #receive(to: number, from: number, msg: ConsensusMessage): void {
    const node = this.nodes[to];
    if (!node) {
      this.byzantine[to]?.onMessage?.(this.#byzContext(to), msg, from);
      return;
    }
    // The shell's checks before the core: the round by the receiver's clock, then every signature.
    const hash = blockHash(msg.block);
    const timing = node.core.chainTiming(msg.block.t0, this.#local(node));
    if ('code' in timing) {
      node.rejected.push({ code: timing.code, reason: timing.reason, from });
      return;
    }
    const check = this.verifier.checkChain({ msg, blockHash: hash, round: timing.round });
    if (!check.ok) {
      node.rejected.push({ code: check.code, reason: check.reason, from });
      return;
    }
    const processAt = this.now + this.rng.int(0, this.#processMax);
    this.at(processAt, () => this.#apply(node, node.core.onVerifiedChain(msg, this.#local(node), hash), from));
  }

  #apply(node: HonestNode, actions: ConsensusAction[], from = node.index): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
        case 'forward': {
          const k = key(a.msg.block.miner, a.msg.block.t0);
          const set = node.wireBlocks.get(k) ?? new Set<string>();
          set.add(toHex(blockHash(a.msg.block)));
          node.wireBlocks.set(k, set);
          node.wireMessages.set(k, (node.wireMessages.get(k) ?? 0) + 1);
          this.#broadcast(node.index, a.msg);
          break;
        }
        case 'decided':
          node.decisions.set(key(a.instance.miner, a.instance.t0), a.block ? toHex(a.block.hash) : null);
          break;
        case 'rejected':
          node.rejected.push({ code: a.code, reason: a.reason, from });
          break;
        case 'proposed':
        case 'relayed':
          break;
      }
    }
  }

  #byzContext(index: number): ByzantineContext {
    return {
      sim: this,
      index,
      now: () => this.now,
      at: (ms, fn) => this.at(ms, fn),
      sendTo: (to, msg, delayMs) => {
        const targets = to === 'all' ? Array.from({ length: this.total }, (_, i) => i).filter((i) => i !== index) : typeof to === 'number' ? [to] : to;
        for (const t of targets) this.deliver(index, t, msg, delayMs);
      },
    };
  }
}
