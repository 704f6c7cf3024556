/**
 * The simulated world: one virtual timeline, a seeded PRNG, the in-memory network (src/sim), durable stores
 * that survive a kill, and the fault hooks a scenario drives (kill / restart, pause, cut). Every honest
 * validator is the shipped code: a StrongcastNode and a Validator (src/core) on a SimHost's transport, clock
 * and randomness, with the real verifier core answering after a simulated verification time. Nothing of
 * node or validator behaviour is written here; the world only keeps the records the checks read:
 * deliveries, link up/down times, offences and refusals, and a digest of what happened when.
 */
import type { BroadcastRelayOptions } from '../../src/gossip/broadcast-relay.ts';
import type { GossipOptions } from '../../src/gossip/gossip-core.ts';
import { toHex, utf8 } from '../../src/bytes.ts';
import type { ChainBlock } from '../../src/consensus/block.ts';
import { createGenesis, genesisHash, type Genesis } from '../../src/consensus/genesis.ts';
import { identityFromSeed, type Identity } from '../../src/crypto/keys.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { createNode } from '../../src/create-node.ts';
import type { StrongcastNode } from '../../src/core/node.ts';
import { Validator, type ChainStore, type ValidatorOptions } from '../../src/core/validator.ts';
import { MemoryNetwork, type NetworkPolicy } from '../../src/sim/memory-network.ts';
import { Prng } from '../../src/sim/prng.ts';
import { Scheduler } from '../../src/sim/scheduler.ts';
import { seededRandom, SimHost } from '../../src/sim/sim-host.ts';
import { simPoolVerifier, simVerifierOf, type SimPoolCapacity, type SimVerifierKind } from '../../src/sim/sim-verifier.ts';
import { verifyPoolDefaults, type VerifyPool } from '../../src/crypto/verify-pool.ts';
import { testNet, type TestNet } from '../sim/chains.ts';

/** Timing and size of a world. */
export interface WorldOptions {
  seed: number;
  /** Validators. */
  n: number;
  /** f: faulty or Byzantine validators tolerated at once; instances last f + 1 rounds. */
  faults: number;
  /** Δ in ms. */
  roundMs: number;
  /** One-way link delay bounds in ms. */
  delayMinMs: number;
  delayMaxMs: number;
  /** Largest time a verification batch takes, in ms. */
  verifyMsMax: number;
  /** Least time a verification batch takes, in ms. @default 0 */
  verifyMsMin?: number;
  /**
   * The time a verification batch of node `i` takes when it is sent at `nowMs` (timeline), in place of a draw
   * in verifyMsMin..verifyMsMax; undefined keeps the draw. A node whose checks are slower than the round while
   * its process runs on time is a CPU-overloaded validator. @default the draw for every node
   */
  verifyMsOf?: (i: number, nowMs: number) => number | undefined;
  /**
   * The verifier of node `i` as a pool of that capacity (threads at a fixed time a signature, work queueing
   * behind the batch scheduler) in place of the per-batch draw; undefined keeps the draw. A pool that the
   * work offered to it outruns is an overloaded validator whose queue decides who waits. @default the draw
   */
  poolOf?: (i: number) => SimPoolCapacity | undefined;
  /**
   * The kind of verifier of node `i` when poolOf gives none (src/sim/sim-verifier.ts): 'main-thread' and
   * 'pool' (two threads) verify at signatureMs a signature, and on the node's own thread when the shipped
   * kind would; 'queued' answers every batch after the draw above. @default 'queued' for every node
   */
  verifierKindOf?: (i: number) => SimVerifierKind;
  /** Virtual ms one signature takes for the 'main-thread' and 'pool' kinds. @default verifyMsMax / 64 (a full batch in verifyMsMax) */
  signatureMs?: number;
  /** Largest time a block takes to become durable, in ms. */
  diskMsMax: number;
  /**
   * The time a disk write of node `i` issued at `nowMs` (timeline) takes, in place of a draw in 0..diskMsMax;
   * undefined keeps the draw. Writes still complete in order. A disk that stalls (an fsync held up for
   * seconds on a busy host) while the process runs on time. @default the draw for every node
   */
  diskMsOf?: (i: number, nowMs: number) => number | undefined;
  /** How often a catching-up node asks its peers, in ms. */
  syncIntervalMs: number;
  eventsMax: number;
  /** Broadcast-tree and gossip-core options of every honest node (gossipMode, timers, limits, inflightMax). @default node defaults */
  gossip?: BroadcastRelayOptions & GossipOptions;
  /** Each validator's clock offset from the timeline, in ms. @default all 0 */
  offsetsMs?: readonly number[];
  /** Passed to every validator. @default the validator's default (Δ/4) */
  clockSkewMsMax?: number;
  /** Observers (nodes with the genesis and no key), numbered n, n+1, ... in mesh, hosts and nodes. @default 0 */
  observers?: number;
  /** The one-way delay of one send, in place of a uniform draw in delayMinMs..delayMaxMs. */
  delayMs?: (from: SimHost, to: SimHost) => number;
  /** The rate and send buffer of each direction of a link (memory-network.ts). @default none: bytes leave at once */
  capacity?: NetworkPolicy['capacity'];
  /** FOR NEGATIVE CONTROLS ONLY: passed to every validator's state machine. */
  consensusOverrides?: ValidatorOptions['consensusOverrides'];
}

/** An honest validator's link to a peer going up or down. */
export interface LinkEvent {
  at: number;
  node: number;
  peer: string;
  up: boolean;
}

/** The port every simulated host listens on. */
export const simPort = 7000;

/** The address of validator `i` on the simulated network. */
export function validatorIp(i: number): string {
  return `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** The identity of test key `i` (the same on every run; `salt` gives another family). */
export function simIdentity(i: number, salt = 0): Identity {
  const seed = Buffer.alloc(32);
  seed.writeUInt32BE(i, 0);
  seed.writeUInt32BE(salt, 4);
  seed.write('strongcast-test', 8);
  return identityFromSeed(seed);
}

/** One incarnation of an honest validator: the shipped node and validator, and what they reported. */
export class SimValidator {
  /** Gossip ids delivered to the application by this incarnation, with how often (must stay 1). */
  readonly delivered = new Map<string, number>();
  readonly counters = { offences: 0, rejected: 0, synced: 0, resyncs: 0, decided: 0, diverged: 0, lateChains: 0 };
  /** Every `decided` block of this incarnation (not `synced` ones): its height and hash. */
  readonly decidedBlocks: Array<{ height: number; hash: string; t0: number }> = [];
  /** Every offence this incarnation scored: which peer (key hex), the code, and whether it banned it. */
  readonly offencesSeen: Array<{ peer: string; code: string; reason: string; banned: boolean }> = [];
  /** Whether this incarnation started with a catch-up, and whether it finished one (or never needed one). */
  beganCatchUp = false;
  caughtUp = true;

  constructor(
    readonly index: number,
    readonly host: SimHost,
    readonly node: StrongcastNode,
    readonly validator: Validator,
    /** The verifier its node and validator share (its stats show where it verified). */
    readonly verifier: VerifyPool,
  ) {}

  get id(): string {
    return `v${this.index}`;
  }

  /** Hex hashes of the decided chain, oldest first. */
  chainHashes(): string[] {
    return this.validator.chain().map((b) => toHex(b.hash));
  }
}

/** Hosts, stores and records of one simulated run. */
export class World {
  readonly seed: number;
  readonly sched: Scheduler;
  readonly rng: Prng;
  readonly net: MemoryNetwork;
  readonly testNet: TestNet;
  readonly genesis: Genesis;
  readonly networkId: string;
  readonly opts: WorldOptions;
  readonly identities: Identity[];
  /** The machine of each validator index (honest or Byzantine). */
  readonly hosts: SimHost[];
  /** Durable chain of each validator index (what its data directory holds). */
  readonly stores: ChainBlock[][];
  /** Durable held-decision mark of each validator index (its held.json). */
  readonly heldMarks: Array<number | null> = [];
  /** Current incarnation of each honest validator (null while killed or for a Byzantine index). */
  readonly nodes: Array<SimValidator | null>;
  /** Validators plus observers: the size of hosts, nodes, stores and mesh. */
  readonly total: number;
  /** Who is linked to whom (set by the scenario); every honest node keeps dialing these peers. */
  mesh: ReadonlyArray<ReadonlySet<number>> = [];
  /** Every incarnation ever started, for the duplicate-delivery check. */
  readonly incarnations: SimValidator[] = [];
  readonly links: LinkEvent[] = [];
  /** Deliveries: gossip id -> validator indices (any incarnation) that delivered it. */
  readonly deliveries = new Map<string, Set<number>>();
  readonly offences = new Map<string, number>();
  readonly rejections = new Map<string, number>();
  /** A running hash of what happened when (deliveries, links, stores, offences): two runs of a seed must match. */
  digest = 0;
  readonly #keyIndex = new Map<string, number>();

  constructor(opts: WorldOptions) {
    this.opts = opts;
    this.seed = opts.seed;
    this.rng = new Prng(opts.seed);
    this.identities = Array.from({ length: opts.n }, (_, i) => simIdentity(i));
    const startMs = 1_000_000;
    this.genesis = createGenesis({ publicKeys: this.identities.map((k) => k.publicKey), networkId: 'sim-net', faults: opts.faults, roundMs: opts.roundMs, startMs });
    this.testNet = testNet(this.genesis, this.identities);
    this.networkId = this.genesis.networkId;
    this.identities.forEach((k, i) => this.#keyIndex.set(toHex(k.publicKey), i));
    // Nodes start a second before round 0, as a network brought up for a genesis that starts in the future:
    // the handshakes (hello, auth, its verification, a few link delays each) are done by then.
    this.sched = new Scheduler(startMs - Math.max(opts.roundMs, 1000), opts.eventsMax, `seed=${opts.seed}`);
    this.net = new MemoryNetwork(this.sched, {
      delayMs: opts.delayMs ?? (() => this.rng.int(opts.delayMinMs, opts.delayMaxMs)),
      cuts: (length) => this.#cuts(length),
      ...(opts.capacity ? { capacity: opts.capacity } : {}),
    });
    this.total = opts.n + (opts.observers ?? 0);
    this.hosts = Array.from({ length: this.total }, (_, i) => new SimHost(this.sched, validatorIp(i), opts.offsetsMs?.[i] ?? 0));
    this.stores = Array.from({ length: this.total }, () => []);
    this.nodes = Array.from({ length: this.total }, () => null);
  }

  /** T0 of instance start round t0, on the timeline. */
  T0(t0: number): number {
    return this.genesis.startMs + t0 * this.opts.roundMs;
  }

  /** The validator index of a node id (key hex), or undefined for a non-validator. */
  indexOf(peerId: string): number | undefined {
    return this.#keyIndex.get(peerId);
  }

  /** A peer id as the records show it: `v3` for a validator, the key's first bytes otherwise. */
  label(peerId: string): string {
    const i = this.indexOf(peerId);
    return i === undefined ? peerId.slice(0, 8) : `v${i}`;
  }

  /** Whether index `i` is an observer rather than a validator. */
  isObserver(i: number): boolean {
    return i >= this.opts.n;
  }

  /** Links every validator to every other (the mesh), and starts them all. */
  startFullMesh(): this {
    const all = Array.from({ length: this.opts.n }, (_, i) => i);
    this.mesh = all.map((i) => new Set(all.filter((j) => j !== i)));
    for (const i of all) this.startNode(i);
    return this;
  }

  /** Validator `m` asks to mine `text` 10 ms before T0(t0), so it proposes at T0(t0); a refusal is ignored. */
  mineAt(m: number, t0: number, text: string): void {
    this.sched.at(this.T0(t0) - 10, () => {
      const sv = this.nodes[m]!;
      sv.host.run(sv.host.incarnation, () => void sv.validator.mine(utf8(text)).catch(() => undefined));
    });
  }

  /**
   * Starts (or restarts) honest validator or observer `i` from its durable chain; it catches up if the
   * network runs.
   */
  startNode(i: number): SimValidator {
    const host = this.hosts[i]!;
    host.restart();
    const observer = this.isObserver(i);
    // An observer's node key is its own, not a validator's.
    const identity = observer ? simIdentity(i, 55) : this.identities[i]!;
    const consensus = { networkId: this.networkId, genesisHash: genesisHash(this.genesis), validatorKeys: this.identities.map((k) => k.publicKey) };
    const pool = this.opts.poolOf?.(i);
    const verifier = pool
      ? simPoolVerifier(host, pool, consensus)
      : simVerifierOf(host, {
          kind: this.opts.verifierKindOf?.(i) ?? 'queued',
          consensus,
          batchMs: () => this.opts.verifyMsOf?.(i, this.sched.now) ?? this.rng.int(this.opts.verifyMsMin ?? 0, this.opts.verifyMsMax),
          signatureMs: this.opts.signatureMs ?? this.opts.verifyMsMax / verifyPoolDefaults.batchMax,
        });
    const node = createNode({
      host: host.ip,
      port: simPort,
      networkId: this.networkId,
      identity,
      verifier,
      transport: this.net.transport(host),
      clock: host.clock(),
      random: seededRandom(this.rng.int(0, 2 ** 31)),
      peers: [...(this.mesh[i] ?? [])].map((j) => `${validatorIp(j)}:${simPort}`),
      peerExchange: false,
      maintainIntervalMs: 100,
      reconnectBaseMs: 50,
      reconnectMaxMs: 400,
      ...(this.opts.gossip ?? {}),
    });
    const validator = new Validator({
      node,
      genesis: this.genesis,
      identity: observer ? null : identity,
      verifier,
      ...(this.opts.consensusOverrides ? { consensusOverrides: this.opts.consensusOverrides } : {}),
      store: this.#store(i, host),
      syncIntervalMs: this.opts.syncIntervalMs,
      ...(this.opts.clockSkewMsMax === undefined ? {} : { clockSkewMsMax: this.opts.clockSkewMsMax }),
    });
    const sv = new SimValidator(i, host, node, validator, verifier);
    this.#record(sv);
    this.nodes[i] = sv;
    this.incarnations.push(sv);
    void node.start().then(() => {
      validator.start();
      sv.beganCatchUp = validator.syncing;
      sv.caughtUp = !validator.syncing;
    });
    return sv;
  }

  /** SIGKILL of validator `i`: its memory, links and timers are gone, its durable chain stays. */
  kill(i: number): void {
    const host = this.hosts[i]!;
    this.net.dropHost(host);
    host.kill();
    this.nodes[i] = null;
  }

  /** Starts validator `i` again from its durable chain (it redials its peers and catches up). */
  restart(i: number): SimValidator {
    return this.startNode(i);
  }

  /** SIGSTOP of validator `i` for `ms`, then SIGCONT. */
  pause(i: number, ms: number): void {
    this.hosts[i]!.pause(ms);
  }

  /** The `isolate MS` console command on validator `i`: cut off, then it redials its peers. */
  cut(i: number, ms: number): void {
    const sv = this.nodes[i];
    sv?.host.run(sv.host.incarnation, () => sv.node.isolate(ms));
  }

  /** Records what incarnation `sv` reports through the shipped events. */
  #record(sv: SimValidator): void {
    const { node, validator, index } = sv;
    node.on('message', (m) => {
      sv.delivered.set(m.id, (sv.delivered.get(m.id) ?? 0) + 1);
      this.#note('d', index, m.id);
      let set = this.deliveries.get(m.id);
      if (!set) this.deliveries.set(m.id, (set = new Set()));
      set.add(index);
    });
    node.on('peer', (p) => {
      const peer = this.label(p.id);
      this.links.push({ at: this.sched.now, node: index, peer, up: p.state === 'connected' });
      this.#note('l', index, peer, p.state);
    });
    node.on('offence', (o) => {
      sv.counters.offences++;
      sv.offencesSeen.push({ peer: o.peer, code: o.code, reason: o.reason, banned: o.banned });
      this.offences.set(o.code, (this.offences.get(o.code) ?? 0) + 1);
      this.#note('o', index, this.label(o.peer), o.code);
    });
    validator.on('rejected', (r) => {
      sv.counters.rejected++;
      this.rejections.set(r.code, (this.rejections.get(r.code) ?? 0) + 1);
    });
    validator.on('decided', (e) => {
      sv.counters.decided++;
      if (e.block) sv.decidedBlocks.push({ height: e.block.height, hash: e.block.hash, t0: e.block.t0 });
    });
    validator.on('synced', () => void sv.counters.synced++);
    validator.on('diverged', () => void sv.counters.diverged++);
    validator.on('late-chain', () => void sv.counters.lateChains++);
    validator.on('resync', () => {
      sv.counters.resyncs++;
      sv.beganCatchUp = true;
      sv.caughtUp = false;
    });
    validator.on('caught-up', () => void (sv.caughtUp = true));
  }

  /** The durable chain of validator `i`: an append becomes durable a simulated disk time later, in order. */
  #store(i: number, host: SimHost): ChainStore {
    let diskAtMs = Number.NEGATIVE_INFINITY;
    // Opening the store claims it, as openDataDir does (store/held-mark.ts): a mark of 0 in place of none,
    // durable before the process is up; the validator is told what the process before it left.
    const found = this.heldMarks[i] ?? null;
    if (found === null) this.heldMarks[i] = 0;
    return {
      loadChain: () => ({ blocks: [...this.stores[i]!], base: { height: 0, hash: this.testNet.genesisHash, digest: this.testNet.genesisHash } }),
      loadHeldFrom: () => found,
      saveHeldFrom: (heldFrom) =>
        new Promise<void>((resolve) => {
          diskAtMs = Math.max(this.sched.now + this.#diskMs(i), diskAtMs);
          host.at(diskAtMs, () => {
            this.heldMarks[i] = heldFrom;
            resolve();
          });
        }),
      appendBlock: (block) =>
        new Promise<void>((resolve) => {
          diskAtMs = Math.max(this.sched.now + this.#diskMs(i), diskAtMs);
          host.at(diskAtMs, () => {
            this.#persist(i, block);
            resolve();
          });
        }),
    };
  }

  /** How long a disk write of node `i` issued now takes (WorldOptions.diskMsOf). */
  #diskMs(i: number): number {
    return this.opts.diskMsOf?.(i, this.sched.now) ?? this.rng.int(0, this.opts.diskMsMax);
  }

  /** The durable append: blocks must arrive in order, each on the one before. */
  #persist(i: number, block: ChainBlock): void {
    const store = this.stores[i]!;
    const prev = store[store.length - 1];
    const parentOk = toHex(prev ? prev.hash : this.testNet.genesisHash) === toHex(block.parent);
    if (block.height !== store.length + 1 || !parentOk) {
      throw new Error(`seed=${this.seed} v${i} stored block at height ${block.height} that does not sit on its durable tip ${store.length}`);
    }
    store.push(block);
    this.#note('s', i, block.height);
  }

  /** TCP may deliver a write in pieces: 1..3 of them, cut anywhere. */
  #cuts(length: number): number[] {
    const cuts: number[] = [];
    for (let k = this.rng.int(0, 2); k > 0 && length > 1; k--) cuts.push(this.rng.int(1, length - 1));
    return cuts.sort((a, b) => a - b);
  }

  #note(...xs: Array<string | number>): void {
    let h = this.digest;
    for (const x of [this.sched.now, ...xs]) {
      const s = String(x);
      for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) >>> 0;
    }
    this.digest = h;
  }
}
