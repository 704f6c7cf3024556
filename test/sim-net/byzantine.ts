/**
 * Byzantine hosts of the full-node simulator. They speak on the same simulated links as honest nodes, so
 * everything they send goes through framing, the gossip core and the validator's checks:
 *  - Flooder: a non-validator peer that floods one node with duplicates of valid gossip and chains, replays
 *    of old consensus chains, forged and mutated copies, its own gossip, protocol violations and garbage
 *    frames; when a connection closes or it is banned it reconnects, under a fresh identity if need be.
 *  - ByzValidator: a coalition member holding its own validator key (and signing with the coalition's keys
 *    only) that never relays honest traffic and, by role, equivocates when mining, withholds signature
 *    chains and releases them late to one honest node, or answers catch-up requests with forged chains.
 */
import { toHex, utf8 } from '../../src/bytes.ts';
import { blockHash } from '../../src/consensus/block.ts';
import { statementSignedBytes } from '../../src/consensus/catch-up.ts';
import { cappedRun } from '../../src/consensus/decided-run.ts';
import type { ChainBlock } from '../../src/consensus/block.ts';
import { encodeFrame } from '../../src/wire/framing.ts';
import { gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { PROTOCOL_VERSION, schemaLimits, type DecidedEntry, type DecidedRun, type ConsensusMessage, type GossipMessage, type Message, type WireBlock, type WireChainBlock } from '../../src/wire/schema.ts';
import { SimHost } from '../../src/sim/sim-host.ts';
import { buildChain, extendChain } from '../sim/chains.ts';
import { RawHost, type RawConn, type RawKey } from './raw-host.ts';
import { simIdentity, simPort, validatorIp, type World } from './world.ts';

/** What every Byzantine host shares: a raw host on the simulated network, always up. */
export abstract class ByzHost {
  readonly raw: RawHost;

  constructor(
    readonly world: World,
    readonly id: string,
    key: RawKey,
    ip: string,
  ) {
    const host = new SimHost(world.sched, ip);
    this.raw = new RawHost(world.net, host, key, world.networkId, world.rng, simPort);
    this.raw.onMessage = (c, m) => this.onMessage(c, m);
  }

  /** Open connections by peer id (key hex). */
  get open(): Map<string, RawConn> {
    return this.raw.open;
  }

  abstract onMessage(c: RawConn, msg: Message): void;

  /** Random bytes from the world's PRNG (never from the OS: a run must replay from its seed). */
  bytes(n: number): Uint8Array {
    return this.raw.bytes(n);
  }
}

/** Counters of what flooders sent, to show a run really exercised each path. */
export const floodKinds = ['duplicate', 'replay', 'forged', 'own', 'mutated', 'garbage', 'violation', 'getchain'] as const;
export type FloodKind = (typeof floodKinds)[number];

/** A peer that floods whichever node it is told to. */
export class Flooder extends ByzHost {
  readonly sent = new Map<FloodKind, number>();
  readonly #gossip: GossipMessage[] = [];
  readonly #chains: ConsensusMessage[] = [];
  readonly #own: GossipMessage[] = [];
  #seq = 0;

  constructor(world: World, generation: number) {
    super(world, `x${generation}`, simIdentity(generation, 77), `10.1.0.${generation + 1}`);
  }

  get key(): RawKey {
    return this.raw.key;
  }

  onMessage(_c: RawConn, msg: Message): void {
    // Keep a bounded sample of what honest nodes relay to us, to copy, replay and mutate.
    if (msg.t === 'gossip') keep(this.#gossip, msg, 64, this.world);
    else if (msg.t === 'ds') keep(this.#chains, msg, 64, this.world);
  }

  /** Floods validator `target` every few ms until `untilMs`; redials after each close while it is let in. */
  flood(target: number, untilMs: number): void {
    const w = this.world;
    const targetId = toHex(w.identities[target]!.publicKey);
    const step = (): void => {
      if (w.sched.now >= untilMs) return;
      const c = this.open.get(targetId);
      if (c) this.#act(c);
      else this.raw.dial(validatorIp(target), simPort);
      w.sched.after(c ? w.rng.int(1, 6) : w.rng.int(20, 80), step);
    };
    this.raw.dial(validatorIp(target), simPort);
    w.sched.after(2 * w.opts.delayMaxMs + 1, step);
  }

  #count(kind: FloodKind): void {
    this.sent.set(kind, (this.sent.get(kind) ?? 0) + 1);
  }

  #act(c: RawConn): void {
    const rng = this.world.rng;
    const roll = rng.next();
    const g = this.#gossip.length > 0 ? rng.pick(this.#gossip) : undefined;
    const ch = this.#chains.length > 0 ? rng.pick(this.#chains) : undefined;
    if (roll < 0.35 && g) {
      this.#count('duplicate');
      c.send({ ...g, hops: rng.next() < 0.5 ? g.hops : rng.int(0, 40) });
    } else if (roll < 0.6 && ch) {
      this.#count('replay');
      c.send({ ...ch, hops: rng.int(0, 40) });
    } else if (roll < 0.66 && g) {
      this.#count('forged');
      const sig = g.sig.slice();
      sig[rng.int(0, 63)]! ^= 1 << rng.int(0, 7);
      c.send(rng.next() < 0.5 ? { ...g, sig } : { ...g, data: utf8('forged') });
    } else if (roll < 0.78) {
      this.#count('own');
      if (this.#own.length > 0 && rng.next() < 0.5) return void c.send(rng.pick(this.#own));
      const unsigned = { origin: this.key.publicKey, seq: ++this.#seq, topic: 'flood', data: this.bytes(rng.int(0, 40)) };
      const msg: GossipMessage = { t: 'gossip', ...unsigned, hops: 0, sig: this.key.sign(gossipSignedBytes(this.world.networkId, unsigned)) };
      keep(this.#own, msg, 32, this.world);
      c.send(msg);
    } else if (roll < 0.86 && (g || ch)) {
      this.#count('mutated');
      c.sendFrame(mutate(encodeFrame((g ?? ch)!), this));
    } else if (roll < 0.9) {
      this.#count('garbage');
      const body = this.bytes(rng.int(0, 48));
      // unsealed garbage on the stream, or garbage sealed as a frame body
      if (rng.next() < 0.5) c.sendRaw(body);
      else c.sendFrame(frameOf(body));
    } else if (roll < 0.94) {
      this.#count('violation');
      const key = this.key.publicKey;
      c.send(rng.pick<Message>([
        { t: 'graft', ids: this.bytes(32) },
        { t: 'getchain', from: rng.int(0, 1000) },
        { t: 'reject', code: rng.pick(['ERR_BANNED', 'ERR_MADE_UP', 'nonsense']), reason: 'flood' },
        { t: 'ping', n: rng.int(0, 1000) },
        { t: 'getpeers' },
      ]));
    } else {
      this.#count('getchain');
      c.send({ t: 'getchain', from: rng.int(0, 5) });
    }
  }
}

/** Adds `x` to a bounded sample, replacing a random element once full. */
function keep<T>(xs: T[], x: T, max: number, w: World): void {
  if (xs.length < max) xs.push(x);
  else xs[w.rng.int(0, max - 1)] = x;
}

/** A frame around `body`. */
function frameOf(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

/** Bit flips, byte overwrites, truncation or a corrupted length header on a valid frame. */
function mutate(frame: Uint8Array, h: ByzHost): Uint8Array {
  const rng = h.world.rng;
  // a copy: encodeFrame returns a Buffer from the shared pool, and Buffer#slice would be a view into it
  const out = new Uint8Array(frame);
  switch (rng.int(0, 3)) {
    case 0:
      for (let i = rng.int(1, 3); i > 0; i--) out[rng.int(4, out.length - 1)]! ^= 1 << rng.int(0, 7);
      return out;
    case 1:
      for (let i = rng.int(1, 4); i > 0; i--) out[rng.int(4, out.length - 1)] = rng.int(0, 255);
      return out;
    case 2:
      // a truncated body with a matching header: msgpack that ends early
      return frameOf(out.subarray(4, rng.int(5, out.length - 1)));
    default:
      new DataView(out.buffer, out.byteOffset).setUint32(0, rng.pick([0, out.length - 5, out.length - 3, 0xffffffff]));
      return out;
  }
}

/** What a Byzantine validator does. */
export interface ByzRoles {
  /** Sends different blocks to different neighbours when it mines. */
  equivocate: boolean;
  /** Withholds chains (its own blocks and extended honest chains) and releases them late to one node. */
  withhold: boolean;
  /** Answers getchain with forged statements and blocks. */
  lie: boolean;
  /**
   * Also answers getchain with a decided block relinked onto the asker's tip (the block before it left
   * out): the same block hash at another height and parent. Off in npm test: CatchUp keys candidates by
   * block hash, so such a copy replaces the honest one and honest vouches then carry it (a known bug).
   */
  relink?: boolean;
  /**
   * Answers getchain with a statement naming exactly the asker's chain (its prospective tip while it catches
   * up, else its tip), `heldFrom` null, and no blocks: a vouch for whatever the asker has, in the quorum rule
   * and, with `flatterLive`, in the live rule too (catch-up.ts).
   */
  flatter?: boolean;
  /** A flatterer's statements say `syncing: false` (else true). */
  flatterLive?: boolean;
}

/** A Byzantine validator, member of a coalition that shares its keys. */
export class ByzValidator extends ByzHost {
  readonly released: Record<'equivocations' | 'withheld' | 'lies', number> = { equivocations: 0, withheld: 0, lies: 0 };

  constructor(
    world: World,
    readonly index: number,
    readonly coalition: readonly number[],
    readonly roles: ByzRoles,
  ) {
    super(world, `v${index}`, world.identities[index]!, validatorIp(index));
    void this.raw.listen();
  }

  onMessage(c: RawConn, msg: Message): void {
    if (msg.t === 'ds' && this.roles.withhold) this.#maybeWithhold(msg);
    else if (msg.t === 'getchain' && this.roles.flatter) this.#flatter(c);
    else if (msg.t === 'getchain' && this.roles.lie) this.#lie(c, msg.from);
  }

  /** States the asker's own chain (the coalition can read it), at a round ahead of every clock, holding nothing. */
  #flatter(c: RawConn): void {
    const w = this.world;
    const i = w.indexOf(c.peerId);
    const v = i === undefined ? undefined : w.nodes[i]?.validator;
    if (!v) return;
    this.released.lies++;
    const run = (v as unknown as { sync: { run: { liveFromT0: number } | null } }).sync.run;
    const tip = run ? v.core.prospectiveTip(run.liveFromT0) : v.core.tip();
    const g = w.testNet.genesis;
    // A round well ahead of any clock, so the statement is late enough wherever the asker stands.
    const round = Math.max(0, Math.floor((w.sched.now - g.startMs) / g.roundMs)) + 50;
    // Per instance too: every round up to then decided exactly as the asker has it, its chain and the
    // decisions it holds ("no block" wherever it lacks one), to make it skip a decided block.
    const decided = flattering(v.chain(), v.core.heldRuns(Number.MAX_SAFE_INTEGER), round);
    const body = { signer: this.index, round, height: tip.height, tip: tip.hash, digest: tip.digest, syncing: !this.roles.flatterLive, heldFrom: null, appendsFrom: null, decided };
    const sig = w.testNet.keys[this.index]!.sign(statementSignedBytes(g.networkId, w.testNet.genesisHash, body));
    c.send({ t: 'chain', statement: { ...body, sig }, blocks: [] });
  }

  /** Honest validators with an open connection. */
  #targets(): RawConn[] {
    return [...this.open.values()].filter((c) => {
      const i = this.world.indexOf(c.peerId);
      return i !== undefined && !this.coalition.includes(i);
    });
  }

  /** Mines for t0 (now is T0): equivocates, or withholds its block for a late release to one node. */
  mine(t0: number): void {
    const w = this.world;
    const rng = w.rng;
    const block = (j: number): WireBlock => ({ miner: this.index, t0, ts: w.sched.now, payload: utf8(`seed ${w.seed} byzantine ${this.index}@${t0}#${j}`) });
    const cosigners = (): number[] => rng.shuffle(this.coalition.filter((i) => i !== this.index)).slice(0, rng.int(0, this.coalition.length - 1));
    const targets = rng.shuffle(this.#targets());
    if (targets.length === 0) return;
    if (this.roles.equivocate) {
      this.released.equivocations++;
      const groups = rng.int(1, 3);
      targets.forEach((c, i) => {
        const j = i % groups;
        w.sched.after(rng.int(0, 10), () => c.send(buildChain(w.testNet, block(j), [this.index, ...(rng.next() < 0.3 ? cosigners() : [])])));
      });
      return;
    }
    if (this.roles.withhold) {
      const chain = buildChain(w.testNet, block(0), [this.index, ...cosigners()]);
      this.#release(chain, rng.int(1, chain.signers.length + 1));
    }
  }

  /** An honest chain without our bit: sometimes extend it with the coalition's signatures and hold it. */
  #maybeWithhold(msg: ConsensusMessage): void {
    const w = this.world;
    const rng = w.rng;
    if (msg.signers.includes(this.index) || rng.next() < 0.6) return;
    let chain = extendChain(w.testNet, { ...msg, hops: 0 }, this.index);
    for (const i of this.coalition) if (!chain.signers.includes(i) && rng.next() < 0.5) chain = extendChain(w.testNet, chain, i);
    const now = w.sched.now;
    const current = Math.max(1, Math.floor((now - w.T0(msg.block.t0)) / w.opts.roundMs) + 1);
    this.#release(chain, rng.int(current, Math.min(w.testNet.genesis.faults + 2, chain.signers.length + 1)));
  }

  /** Sends `chain` to one honest neighbour so it arrives shortly before the end of round `round`. */
  #release(chain: ConsensusMessage, round: number): void {
    const w = this.world;
    const endOfRound = w.T0(chain.block.t0) + round * w.opts.roundMs;
    const sendAt = endOfRound - w.opts.delayMaxMs - w.rng.int(1, Math.floor(w.opts.roundMs / 4));
    w.sched.at(sendAt, () => {
      const targets = this.#targets();
      if (targets.length === 0) return;
      this.released.withheld++;
      w.rng.pick(targets).send(chain);
    });
  }

  /** Sends the honest block at height from+1 relinked onto height from-1; false when there is none yet. */
  #relink(c: RawConn, from: number): boolean {
    const w = this.world;
    const live = w.nodes.find((x) => x !== null && !x.validator.syncing)?.validator;
    const chain = live?.chain() ?? [];
    const skipped = chain.find((b) => b.height === from);
    const next = chain.find((b) => b.height === from + 1);
    if (!skipped || !next) return false;
    const relinked: WireChainBlock = { miner: next.miner, t0: next.t0, ts: next.ts, payload: next.payload, height: from, parent: skipped.parent };
    const g = w.testNet.genesis;
    const tip = live!.core.tip();
    const body = { signer: this.index, round: Math.floor((w.sched.now - g.startMs) / g.roundMs), height: tip.height, tip: tip.hash, digest: tip.digest, syncing: false, heldFrom: null, appendsFrom: null };
    const sig = w.testNet.keys[this.index]!.sign(statementSignedBytes(g.networkId, w.testNet.genesisHash, body));
    c.send({ t: 'chain', statement: { ...body, sig }, blocks: [relinked] });
    return true;
  }

  /**
   * A forged reply: our signed statement about a fork nobody decided. The fork hangs off the asker's real
   * chain (the coalition can read the honest chain), so its blocks do link up and only the f+1 vouch rule
   * keeps them out. Some replies carry a statement in another validator's name with a made-up signature.
   */
  #lie(c: RawConn, from: number): void {
    const w = this.world;
    const rng = w.rng;
    this.released.lies++;
    if (this.roles.relink && rng.next() < 0.5 && this.#relink(c, from)) return;
    const honest = w.nodes.find((x) => x !== null && x.validator.core.tip().height >= from - 1);
    const below = honest?.validator.chain().find((b) => b.height === from - 1);
    let parent = from <= 1 ? w.testNet.genesisHash : (below?.hash ?? this.bytes(32));
    const blocks: WireChainBlock[] = [];
    for (let h = Math.max(1, from), end = h + rng.int(1, 4); h < end; h++) {
      const b: WireChainBlock = { miner: this.index, t0: rng.int(0, 50), ts: 0, payload: utf8(`lie ${w.seed} ${h}`), height: h, parent };
      blocks.push(b);
      parent = blockHash(b);
    }
    const g = w.testNet.genesis;
    const syncing = rng.next() < 0.3;
    // A lying signer may claim to hold nothing, or anything: the rules must not depend on its word.
    const heldFrom = syncing && rng.next() < 0.5 ? rng.int(0, 50) : null;
    // And what it will append: nothing (a crash mark alone), or from its mark on.
    const appendsFrom = heldFrom !== null && rng.next() < 0.5 ? heldFrom + rng.int(0, 20) : null;
    // The digest a liar names is its own choice too: made up, or the honest chain's (a flatterer).
    const digest = honest && rng.next() < 0.5 ? honest.validator.core.tip().digest : this.bytes(32);
    // And per instance: nothing, "no block" over a span of rounds, or the fork's blocks as decided there.
    const decided = this.#lieDecided(blocks);
    const body = { signer: this.index, round: rng.int(0, 1000), height: blocks[blocks.length - 1]!.height, tip: parent, digest, syncing, heldFrom, appendsFrom, decided };
    const forged = rng.next() < 0.2;
    const signer = forged ? rng.int(0, g.validators.length - 1) : this.index;
    const sig = forged ? this.bytes(64) : w.testNet.keys[this.index]!.sign(statementSignedBytes(g.networkId, w.testNet.genesisHash, body));
    c.send({ t: 'chain', statement: { ...body, signer, sig }, blocks });
  }

  /** A made-up decided run: none, "no block" over rounds, or the given fork blocks as decided (one per t0). */
  #lieDecided(blocks: readonly WireChainBlock[]): DecidedRun | null {
    const rng = this.world.rng;
    const x = rng.next();
    if (x < 0.2) return null;
    const from = rng.int(0, 50);
    const through = from + rng.int(0, 60);
    if (x < 0.6) return { from, through, blocks: [] };
    const byT0 = new Map<number, WireChainBlock>();
    for (const b of blocks) byT0.set(b.t0, b);
    const entries = [...byT0.values()].sort((a, b) => a.t0 - b.t0).map((b) => ({ miner: b.miner, t0: b.t0, hash: blockHash(b) }));
    const lo = Math.min(from, ...entries.map((e) => e.t0));
    const hi = Math.max(through, ...entries.map((e) => e.t0));
    return { from: lo, through: hi, blocks: entries };
  }
}

/**
 * The run that suits an asker: every round from 0 through `round` decided exactly as its chain and its held
 * decisions say, "no block" elsewhere (within the statement's limit on blocks).
 */
function flattering(chain: readonly ChainBlock[], held: readonly DecidedRun[], round: number): DecidedRun | null {
  const byKey = new Map<string, DecidedEntry>();
  for (const b of chain) byKey.set(`${b.t0}/${b.miner}`, { miner: b.miner, t0: b.t0, hash: b.hash });
  for (const e of held.flatMap((r) => r.blocks)) byKey.set(`${e.t0}/${e.miner}`, e);
  const entries = [...byKey.values()].filter((e) => e.t0 <= round).sort((a, b) => a.t0 - b.t0 || a.miner - b.miner);
  // Keep the latest rounds when there are too many: those are where a catching-up asker needs evidence.
  const max = schemaLimits.decidedBlocksPerStatementMax;
  const kept = entries.slice(-max);
  const from = entries.length > max ? kept[0]!.t0 + 1 : 0;
  return cappedRun(from, round, kept.filter((e) => e.t0 >= from), max);
}
