/**
 * The simulated world: virtual clock, seeded PRNG, the network of hosts, durable stores that survive a kill,
 * and the fault hooks a scenario drives: kill / restart, pause, cut (Byzantine hosts, byzantine.ts, bring
 * flood, equivocation, withholding and lies). It
 * also keeps the records the checks read: deliveries, link up/down times, offences and errors.
 */
import type { BroadcastRelayOptions } from '../../src/gossip/broadcast-relay.ts';
import { toHex } from '../../src/bytes.ts';
import type { ChainBlock } from '../../src/consensus/block.ts';
import { createGenesis } from '../../src/consensus/genesis.ts';
import type { ErrorCode } from '../../src/errors.ts';
import type { GossipMessage } from '../../src/wire/schema.ts';
import { SimVerifier, testNet, type TestNet } from '../sim/chains.ts';
import { testKeys, verifyEd25519 } from '../sim/keys.ts';
import { Prng } from '../sim/prng.ts';
import { Network, type Host } from './links.ts';
import { Scheduler } from './scheduler.ts';
import { SimNode } from './sim-node.ts';

/** Timing and size of a world. */
export interface WorldOptions {
  seed: number;
  /** Validators. */
  n: number;
  /** f: faulty or Byzantine validators tolerated at once; instances last f + 1 rounds. */
  faults: number;
  /** Δ in ms. */
  roundMs: number;
  /** One-way link delay bounds in ms; the largest must stay below Δ/3 (two hops plus a short pause fit in Δ). */
  delayMinMs: number;
  delayMaxMs: number;
  /** Largest time a verification takes, in ms. */
  verifyMsMax: number;
  /** Largest time a block takes to become durable, in ms. */
  diskMsMax: number;
  /** How often a catching-up node asks its peers, in ms (validator.ts default: max(roundMs, 500)). */
  syncIntervalMs: number;
  eventsMax: number;
  /** Broadcast-tree options of every honest node (gossipMode, timers, limits). @default node defaults */
  gossip?: BroadcastRelayOptions;
}

/** An honest validator's link to a peer going up or down. */
export interface LinkEvent {
  at: number;
  node: number;
  peer: string;
  up: boolean;
}

/** Hosts, stores and records of one simulated run. */
export class World {
  readonly seed: number;
  readonly sched: Scheduler;
  readonly rng: Prng;
  readonly net: Network;
  readonly testNet: TestNet;
  readonly networkId: string;
  readonly verifier: SimVerifier;
  readonly opts: WorldOptions;
  /** Durable chain of each validator index (what its data directory holds). */
  readonly stores: ChainBlock[][];
  /** Current incarnation of each honest validator (null while killed or for a Byzantine index). */
  readonly nodes: Array<SimNode | null>;
  /** Who is linked to whom (set by the scenario); restarted and reconnected nodes redial these peers. */
  mesh: ReadonlyArray<ReadonlySet<number>> = [];
  /** Every incarnation ever started, for the duplicate-delivery check. */
  readonly incarnations: SimNode[] = [];
  readonly links: LinkEvent[] = [];
  /** Deliveries: gossip id -> validator indices (any incarnation) that delivered it. */
  readonly deliveries = new Map<string, Set<number>>();
  readonly offences = new Map<string, number>();
  readonly rejections = new Map<string, number>();
  /** A running hash of what happened when (deliveries, links, stores, offences): two runs of a seed must match. */
  digest = 0;
  readonly #gossipChecks = new Map<string, boolean>();

  constructor(opts: WorldOptions) {
    this.opts = opts;
    this.seed = opts.seed;
    this.rng = new Prng(opts.seed);
    const keys = testKeys(opts.n);
    const startMs = 1_000_000;
    const genesis = createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId: 'sim-net', faults: opts.faults, roundMs: opts.roundMs, startMs });
    this.testNet = testNet(genesis, keys);
    this.networkId = genesis.networkId;
    this.verifier = new SimVerifier(this.testNet);
    this.sched = new Scheduler(startMs - opts.roundMs, opts.eventsMax, `seed=${opts.seed}`);
    this.net = new Network(this.sched, this.rng, { delayMinMs: opts.delayMinMs, delayMaxMs: opts.delayMaxMs });
    this.stores = Array.from({ length: opts.n }, () => []);
    this.nodes = Array.from({ length: opts.n }, () => null);
  }

  get genesisStartMs(): number {
    return this.testNet.genesis.startMs;
  }

  /** T0 of instance start round t0. */
  T0(t0: number): number {
    return this.genesisStartMs + t0 * this.opts.roundMs;
  }

  verifyDelay(): number {
    return this.rng.int(0, this.opts.verifyMsMax);
  }

  diskDelay(): number {
    return this.rng.int(0, this.opts.diskMsMax);
  }

  get syncIntervalMs(): number {
    return this.opts.syncIntervalMs;
  }

  /** Runs a host's handler; an exception anywhere in the shell or the cores fails the run with the seed. */
  guard(host: Host, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      const err = new Error(`seed=${this.seed} at ${this.sched.now} ms, ${host.id} threw: ${(e as Error).stack ?? String(e)}`);
      throw err;
    }
  }

  /** Starts (or restarts) honest validator `i` from its durable chain. */
  startNode(i: number): SimNode {
    const node = new SimNode(this, i);
    this.nodes[i] = node;
    this.incarnations.push(node);
    this.net.add(node);
    return node;
  }

  /** SIGKILL of validator `i`: its memory is gone, its durable chain stays. */
  kill(i: number): void {
    this.nodes[i]?.kill();
    this.nodes[i] = null;
  }

  /**
   * Starts validator `i` again from its durable chain, redials its peers and, since the network started
   * long ago, begins catch-up as the validator shell does on a start after the genesis start.
   */
  restart(i: number): SimNode {
    const node = this.startNode(i);
    this.#redial(i);
    node.beginCatchUp();
    return node;
  }

  /** SIGSTOP of validator `i` for `ms`, then SIGCONT. */
  pause(i: number, ms: number): void {
    this.nodes[i]?.pause(ms);
  }

  /** node.isolate(ms) on validator `i`: cut off, then it redials its peers. */
  cut(i: number, ms: number): void {
    this.nodes[i]?.isolate(ms, () => this.#redial(i));
  }

  #redial(i: number): void {
    for (const nb of this.mesh[i] ?? []) this.net.dial(`v${i}`, `v${nb}`);
  }

  /** Registers a Byzantine host. */
  addHost(h: Host): void {
    this.net.add(h);
  }

  /** Gossip signature check with a cache (a pure function of id and signature, so sharing it is exact). */
  verifyGossip(id: string, msg: GossipMessage, signed: Uint8Array): boolean {
    const key = `${id}:${toHex(msg.sig)}:${toHex(msg.origin)}`;
    let ok = this.#gossipChecks.get(key);
    if (ok === undefined) {
      ok = verifyEd25519(msg.origin, signed, msg.sig);
      this.#gossipChecks.set(key, ok);
    }
    return ok;
  }

  /** The durable append (DataDir.appendBlock): blocks must arrive in order, each on the one before. */
  persist(node: SimNode, block: ChainBlock): void {
    const store = this.stores[node.index]!;
    const prev = store[store.length - 1];
    const parentOk = prev ? toHex(prev.hash) === toHex(block.parent) : toHex(this.testNet.genesisHash) === toHex(block.parent);
    if (block.height !== store.length + 1 || !parentOk) {
      throw new Error(`seed=${this.seed} ${node.id} stored block at height ${block.height} that does not sit on its durable tip ${store.length}`);
    }
    store.push(block);
    this.#note('s', node.index, block.height);
  }

  #note(...xs: Array<string | number>): void {
    let h = this.digest;
    for (const x of [this.sched.now, ...xs]) {
      const s = String(x);
      for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) >>> 0;
    }
    this.digest = h;
  }

  onDeliver(node: SimNode, id: string): void {
    this.#note('d', node.index, id);
    let set = this.deliveries.get(id);
    if (!set) this.deliveries.set(id, (set = new Set()));
    set.add(node.index);
  }

  onLink(node: SimNode, peer: string, up: boolean): void {
    this.links.push({ at: this.sched.now, node: node.index, peer, up });
    this.#note('l', node.index, peer, up ? 1 : 0);
  }

  onOffence(_node: SimNode, _peer: string, code: ErrorCode, _reason: string): void {
    this.offences.set(code, (this.offences.get(code) ?? 0) + 1);
    this.#note('o', _node.index, _peer, code);
  }

  onRejected(_node: SimNode, code: ErrorCode, _reason: string, _from: string): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
  }
}
