/**
 * An honest full node in the simulator: the gossip core, the Dolev-Strong core and catch-up, wired the way
 * the socket shell wires them, in the same order of checks:
 *  - src/core/node.ts onGossip / onConsensus / admit / relay / sendToAll / onGetChain (rate limit) / onOffence
 *    (penalties from offences.ts); broadcasts go through the same BroadcastRelay (the Plumtree broadcast
 *    tree: eager links, IHAVE every lazyFlushMs, GRAFT of missing broadcasts, PRUNE of redundant links);
 *  - src/core/validator.ts onChain (round check, then checkChain, then the core), apply, afterDisk (a block is
 *    durable before it counts, written once), beginCatchUp / absorbChainReply / finishCatchUp, onGetChain, the
 *    round tick and its outage check (watchForOutage: resync after a pause or a time without peers).
 * Verification is synchronous here (SimVerifier from test/sim: chain-rules.ts then real Ed25519), but its
 * result is acted on a seeded verification delay later, as the pool's promise would be. Not modelled: peer
 * exchange, keepalive pings and pausing a socket while its peer has 512 messages in verification.
 *
 * Every incarnation of a node is a new SimNode: a kill loses all memory but the durable chain, and events
 * of a dead incarnation are dropped.
 */
import { toHex } from '../../src/bytes.ts';
import { blockHash, type ChainBlock } from '../../src/consensus/block.ts';
import { CatchUp, statementSignedBytes } from '../../src/consensus/catch-up.ts';
import { DolevStrong, type ConsensusAction } from '../../src/consensus/dolev-strong.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { encodeFrame, framingDefaults } from '../../src/wire/framing.ts';
import { encodeGossipFrame } from '../../src/wire/gossip-codec.ts';
import { consensusId, GossipCore, gossipId, gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { BroadcastRelay } from '../../src/gossip/broadcast-relay.ts';
import { getChainIntervalMs } from '../../src/core/node.ts';
import { RequestInterval } from '../../src/peers/request-interval.ts';
import { penaltyFor } from '../../src/peers/offences.ts';
import { PeerScores } from '../../src/peers/peer-score.ts';
import { schemaLimits, type ChainMessage, type ConsensusMessage, type GossipMessage, type Message, type WireChainBlock } from '../../src/wire/schema.ts';
import { chainReplyBytesMax } from '../../src/core/validator.ts';
import { verifyEd25519 } from '../sim/keys.ts';
import type { ConnSide, Host } from './links.ts';
import type { World } from './world.ts';

/** A chain verdict as node.ts receives it from the validator shell. */
interface Verdict {
  valid: boolean;
  forward: boolean;
  code?: ErrorCode;
  reason?: string;
}

/** One incarnation of an honest validator node. */
export class SimNode implements Host {
  readonly id: string;
  alive = true;
  readonly gossip = new GossipCore();
  readonly relay: BroadcastRelay;
  readonly core: DolevStrong;
  readonly open = new Map<string, ConnSide>();
  /** Gossip ids delivered to the application by this incarnation, with how often (must stay 1). */
  readonly delivered = new Map<string, number>();
  readonly counters = { offences: 0, bans: 0, rejected: 0, synced: 0, resyncs: 0 };
  catchUp: CatchUp | null = null;
  /** Whether this incarnation ever finished a catch-up (or never needed one). */
  caughtUp = true;
  /** Whether this incarnation started with a catch-up (a restart after the genesis start). */
  beganCatchUp = false;
  readonly #world: World;
  readonly #scores = new PeerScores({});
  readonly #getChainAnswers = new RequestInterval(getChainIntervalMs);
  #pausedUntilMs = Number.NEGATIVE_INFINITY;
  #cutUntilMs = Number.NEGATIVE_INFINITY;
  #backlog: Array<() => void> = [];
  #seq: number;
  #diskAtMs = Number.NEGATIVE_INFINITY;
  /** Since when the node has had no peer at all (null while it has some). */
  #aloneSinceMs: number | null = null;
  #nextTickDueMs = Infinity;
  /** validator.ts storedHeight: a block reported twice (synced, then decided) is written once. */
  #storedHeight: number;

  constructor(world: World, readonly index: number) {
    this.#world = world;
    this.id = `v${index}`;
    const key = world.testNet.keys[index]!;
    // Validator constructor: continue from the durable chain.
    const stored = world.stores[index]!;
    const first = stored[0];
    this.core = new DolevStrong({
      genesis: world.testNet.genesis,
      selfIndex: index,
      sign: (b) => key.sign(b),
      ...(first ? { tip: { height: first.height - 1, hash: first.parent } } : {}),
    });
    for (const b of stored) this.core.appendLinked(b);
    this.#storedHeight = this.core.tip().height;
    // node.ts: sequence numbers start from the clock so a restarted node never reuses one.
    this.#seq = world.sched.now * 1000;
    this.relay = new BroadcastRelay(world.opts.gossip ?? {}, {
      sendFrame: (peer, frame) => this.open.get(peer)?.sendFrame(frame) ?? false,
      send: (peer, msg) => this.open.get(peer)?.send(msg) ?? false,
    });
    // node.ts start(): the lazy-push timer, one per incarnation (a dead one's events are dropped).
    if (this.relay.tree.lazyPush) this.#lazyTick();
  }

  #lazyTick(): void {
    this.#later(this.relay.tree.settings.lazyFlushMs, () => {
      this.relay.tick(this.#world.sched.now, (id) => this.gossip.known(id, this.#world.sched.now));
      this.#lazyTick();
    });
  }

  // ---- process model -------------------------------------------------------------------------------

  run(fn: () => void): void {
    if (!this.alive) return;
    if (this.paused) this.#backlog.push(fn);
    else this.#world.guard(this, fn);
  }

  get paused(): boolean {
    return this.#world.sched.now < this.#pausedUntilMs;
  }

  get cut(): boolean {
    return this.#world.sched.now < this.#cutUntilMs;
  }

  /** SIGSTOP for `ms`: arriving bytes, timers and verifications queue up and run, in order, at SIGCONT. */
  pause(ms: number): void {
    const until = this.#world.sched.now + ms;
    this.#pausedUntilMs = until;
    this.#world.sched.at(until, () => {
      if (!this.alive || this.paused) return;
      while (this.#backlog.length > 0 && !this.paused) this.#world.guard(this, this.#backlog.shift()!);
    });
  }

  /** node.isolate(ms): every connection closes, none opens until the time is up, then it redials its peers. */
  isolate(ms: number, redial: () => void): void {
    this.#cutUntilMs = this.#world.sched.now + ms;
    for (const c of [...this.open.values()]) c.close('ERR_CONNECTION_CLOSED', `isolated for ${ms} ms`);
    this.#world.sched.at(this.#cutUntilMs, () => this.run(redial));
  }

  /** SIGKILL: memory is gone, connections drop, disk writes not yet done are lost. */
  kill(): void {
    this.alive = false;
    this.#backlog = [];
    for (const c of this.#world.net.sidesOf(this.id)) c.drop();
    this.open.clear();
  }

  /** Runs `fn` `ms` later as this incarnation's own event. */
  #later(ms: number, fn: () => void): void {
    this.#world.sched.after(ms, () => this.run(fn));
  }

  // ---- connections (node.ts onOpen / onClose / onOffence) -----------------------------------------------

  accepts(peerId: string): boolean {
    return this.alive && !this.cut && !this.#scores.isBanned(peerId, this.#world.sched.now);
  }

  onOpen(c: ConnSide): void {
    if (this.cut) return c.close('ERR_CONNECTION_CLOSED', 'isolated');
    this.open.set(c.peerId, c);
    this.relay.peerUp(c.peerId);
    this.#world.onLink(this, c.peerId, true);
  }

  onClose(c: ConnSide): void {
    if (this.open.get(c.peerId) !== c) return;
    this.open.delete(c.peerId);
    this.relay.peerDown(c.peerId);
    this.#getChainAnswers.forget(c.peerId);
    this.#world.onLink(this, c.peerId, false);
  }

  onOffence(c: ConnSide, code: ErrorCode, reason: string): void {
    this.counters.offences++;
    const r = this.#scores.penalize(c.peerId, penaltyFor(code), this.#world.sched.now);
    this.#world.onOffence(this, c.peerId, code, reason);
    if (r.banned && c.open) {
      this.counters.bans++;
      c.close('ERR_BANNED', `banned for misbehaviour (last: ${code})`);
    }
  }

  onMessage(c: ConnSide, msg: Message): void {
    switch (msg.t) {
      case 'gossip':
        return this.#onGossip(c, msg);
      case 'ihave':
        return this.relay.onIhave(c.peerId, msg, this.#world.sched.now, (id) => this.gossip.known(id, this.#world.sched.now));
      case 'graft':
        return this.relay.onGraft(c.peerId, msg, this.#world.sched.now);
      case 'prune':
        return this.relay.onPrune(c.peerId, msg);
      case 'ds':
        return this.#onConsensus(c, msg);
      case 'getchain':
        return this.#onGetChain(c, msg.from);
      case 'chain':
        return this.#absorbChainReply(msg, c.peerId);
      default:
        return; // getpeers and peers: peer exchange is not modelled (the mesh is fixed)
    }
  }

  // ---- gossip (node.ts) ----------------------------------------------------------------------------

  /** node.broadcast: sign, mark our own id seen, send to every open peer. */
  broadcast(topic: string, data: Uint8Array): string {
    const key = this.#world.testNet.keys[this.index]!;
    const unsigned = { origin: key.publicKey, seq: ++this.#seq, topic, data };
    const signed = gossipSignedBytes(this.#world.networkId, unsigned);
    const msg: GossipMessage = { t: 'gossip', ...unsigned, hops: 0, sig: key.sign(signed) };
    const id = gossipId(signed);
    this.gossip.markOwn(id, this.#world.sched.now);
    this.relay.relay(id, toHex(key.publicKey), encodeGossipFrame(msg, 0, framingDefaults.frameBytesMax), null, new Set(), this.#world.sched.now);
    return id;
  }

  #admit(c: ConnSide, id: string, origin?: Uint8Array): boolean {
    const a = this.gossip.admit(c.peerId, id, this.#world.sched.now);
    if (a.verdict === 'verify') return true;
    if (a.code !== 'DUPLICATE') this.onOffence(c, a.code, a.reason);
    else if (origin && !this.gossip.isVerifying(id)) this.relay.duplicate(c.peerId, origin, this.#world.sched.now);
    return false;
  }

  #onGossip(c: ConnSide, msg: GossipMessage): void {
    const signed = gossipSignedBytes(this.#world.networkId, msg);
    const id = gossipId(signed);
    if (!this.#admit(c, id, msg.origin)) return;
    this.#later(this.#world.verifyDelay(), () => {
      const ok = this.#world.verifyGossip(id, msg, signed);
      const senders = this.gossip.settle(id, ok, this.#world.sched.now);
      if (!ok) {
        this.relay.verifyFailed(id, senders, c.peerId, this.#world.sched.now);
        return this.onOffence(c, 'ERR_BAD_SIGNATURE', `gossip ${id.slice(0, 16)} has a bad signature`);
      }
      this.delivered.set(id, (this.delivered.get(id) ?? 0) + 1);
      this.#world.onDeliver(this, id);
      const frame = encodeGossipFrame(msg, this.gossip.relayHops(msg.hops), framingDefaults.frameBytesMax);
      this.relay.relay(id, toHex(msg.origin), frame, c.peerId, senders, this.#world.sched.now);
    });
  }

  #onConsensus(c: ConnSide, msg: ConsensusMessage): void {
    const hash = blockHash(msg.block);
    const id = consensusId(hash, msg);
    if (!this.#admit(c, id)) return;
    this.#onChain(msg, hash, c.peerId, (v) => {
      const senders = this.gossip.settle(id, v.valid, this.#world.sched.now);
      if (!v.valid) return this.onOffence(c, v.code ?? 'ERR_BAD_CHAIN', v.reason ?? 'invalid chain');
      if (v.forward) this.#relay({ ...msg, hops: this.gossip.relayHops(msg.hops) }, senders);
    });
  }

  #relay(msg: Message, skip: ReadonlySet<string>): void {
    this.#sendToAll(encodeFrame(msg), skip);
  }

  #sendToAll(frame: Uint8Array, skip: ReadonlySet<string>): number {
    let sent = 0;
    for (const id of this.gossip.relayTargets(this.open.keys(), skip)) if (this.open.get(id)?.sendFrame(frame)) sent++;
    return sent;
  }

  #onGetChain(c: ConnSide, from: number): void {
    if (!this.#getChainAnswers.allow(c.peerId, this.#world.sched.now)) return;
    c.send(this.#chainReply(from));
  }

  // ---- validator (validator.ts) ---------------------------------------------------------------------

  /** validator.onChain: the round by our clock, then every signature, then the core at processing time. */
  #onChain(msg: ConsensusMessage, hash: Uint8Array, from: string, done: (v: Verdict) => void): void {
    this.#checkOutage();
    const core = this.core;
    const timing = core.chainTiming(msg.block.t0, this.#world.sched.now);
    if ('code' in timing) return done({ valid: false, forward: false, code: timing.code, reason: timing.reason });
    this.#later(this.#world.verifyDelay(), () => {
      const check = this.#world.verifier.checkChain({ msg, blockHash: hash, round: timing.round });
      if (!check.ok) return done({ valid: false, forward: false, code: check.code, reason: check.reason });
      this.#checkOutage();
      const actions = core.onVerifiedChain(msg, this.#world.sched.now, hash);
      this.#apply(actions, from, msg);
      done({ valid: true, forward: actions.some((a) => a.type === 'forward' && a.msg === msg) });
    });
  }

  /**
   * validator.mine at the round start: propose for t0 now (refused by the core if now is too late, e.g.
   * after a pause). Returns the block hash in hex when the proposal went out.
   */
  propose(t0: number, payload: Uint8Array): string | null {
    if (this.#world.testNet.genesis.validators.length > 1 && this.open.size === 0) return null; // refused while alone
    this.#checkOutage();
    const actions = this.core.propose(payload, t0, this.#world.sched.now);
    this.#apply(actions, 'self');
    const p = actions.find((a) => a.type === 'proposed');
    return p && p.type === 'proposed' ? toHex(p.blockHash) : null;
  }

  /** The round timer just after the boundary at `dueMs`: first the outage check, then the core's tick. */
  tick(dueMs: number): void {
    this.#checkOutage();
    this.#nextTickDueMs = dueMs + this.#world.opts.roundMs;
    this.#apply(this.core.tick(this.#world.sched.now), 'self');
  }

  /**
   * validator.checkOutage, called before anything reaches the core: time far past the expected tick (a pause)
   * or no peer at all (a cut) starts catch-up at once; while alone, liveFromT0 moves past what it sees.
   */
  #checkOutage(): void {
    const now = this.#world.sched.now;
    const alone = this.#world.testNet.genesis.validators.length > 1 && this.open.size === 0;
    let reason: string | null = null;
    if (now - this.#nextTickDueMs > this.#world.opts.roundMs) reason = 'time jump';
    if (alone) {
      this.#aloneSinceMs ??= now;
      reason ??= 'no peers';
    } else this.#aloneSinceMs = null;
    if (reason && !this.catchUp) {
      this.counters.resyncs++;
      this.beginCatchUp();
    }
    if (this.catchUp && (alone || reason)) this.catchUp.liveFromT0 = Math.max(this.catchUp.liveFromT0, this.core.currentRound(now) + 1);
  }

  #apply(actions: ConsensusAction[], from: string, judged?: ConsensusMessage): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.gossip.markOwn(consensusId(blockHash(a.msg.block), a.msg), this.#world.sched.now);
          this.#sendToAll(encodeFrame(a.msg), new Set());
          break;
        case 'forward':
          // validator.apply / node.forwardConsensus: a held forward now due; the verdict carries `judged`'s.
          if (a.msg !== judged) this.#relay({ ...a.msg, hops: this.gossip.relayHops(a.msg.hops) }, new Set());
          break;
        case 'decided':
          if (a.block) this.#afterDisk(a.block);
          break;
        case 'rejected':
          this.counters.rejected++;
          this.#world.onRejected(this, a.code, a.reason, from);
          break;
        default:
          break; // proposed / relayed: events only
      }
    }
  }

  /** A decided or synced block becomes durable a little later, in order; a kill before then loses it. */
  #afterDisk(block: ChainBlock): void {
    this.#diskAtMs = Math.max(this.#world.sched.now + this.#world.diskDelay(), this.#diskAtMs);
    this.#world.sched.at(this.#diskAtMs, () =>
      this.run(() => {
        if (block.height <= this.#storedHeight) return;
        this.#world.persist(this, block);
        this.#storedHeight = block.height;
      }),
    );
  }

  /** validator.beginCatchUp, as the shell does on a start after the genesis start. */
  beginCatchUp(): void {
    const now = this.#world.sched.now;
    const tip = this.core.tip();
    this.core.startSync();
    this.caughtUp = false;
    this.beganCatchUp = true;
    const g = this.#world.testNet.genesis;
    this.catchUp = new CatchUp({ n: g.validators.length, faults: g.faults, k: this.core.k, liveFromT0: this.core.currentRound(now) + 1, tip });
    const cu = this.catchUp;
    const ask = (): void => {
      if (this.catchUp !== cu) return;
      const from = cu.tipNow.height + 1;
      for (const c of this.open.values()) c.send({ t: 'getchain', from });
      this.#later(this.#world.syncIntervalMs, ask);
    };
    ask();
  }

  /** validator.onGetChain: our signed statement and our blocks from `from` on, bounded. */
  #chainReply(from: number): ChainMessage {
    this.#checkOutage();
    this.#apply(this.core.tick(this.#world.sched.now), 'self');
    const { genesis } = this.#world.testNet;
    const tip = this.core.tip();
    const body = { signer: this.index, round: this.core.currentRound(this.#world.sched.now), height: tip.height, tip: tip.hash, syncing: this.core.syncing };
    const sig = this.#world.testNet.keys[this.index]!.sign(statementSignedBytes(genesis.networkId, this.core.genesisHash, body));
    const blocks: WireChainBlock[] = [];
    let bytes = 0;
    for (const b of this.core.chain()) {
      if (b.height < from) continue;
      if (blocks.length >= schemaLimits.chainBlocksPerReplyMax || (blocks.length > 0 && bytes + b.payload.byteLength > chainReplyBytesMax)) break;
      blocks.push({ miner: b.miner, t0: b.t0, ts: b.ts, payload: b.payload, height: b.height, parent: b.parent });
      bytes += b.payload.byteLength;
    }
    return { t: 'chain', statement: { ...body, sig }, blocks };
  }

  /** validator.absorbChainReply: a verified statement, candidate blocks, append what f+1 vouch for. */
  #absorbChainReply(msg: ChainMessage, peer: string): void {
    const cu = this.catchUp;
    const st = msg.statement;
    const { genesis } = this.#world.testNet;
    if (!cu || !st || st.signer >= genesis.validators.length || st.signer === this.index) return;
    const key = genesis.validators[st.signer]!.publicKey;
    // A reply counts only from the signer's own connection (sim node ids are `v<index>`, the shell's are key hex).
    if (peer !== `v${st.signer}`) return;
    if (!verifyEd25519(key, statementSignedBytes(genesis.networkId, this.core.genesisHash, st), st.sig)) return;
    cu.onReply(st, msg.blocks);
    for (const b of cu.appendable()) {
      const block: ChainBlock = { ...b, hash: blockHash(b) };
      this.core.appendLinked(block);
      cu.advance(b, block.hash);
      this.counters.synced++;
      this.#afterDisk(block);
    }
    if (cu.complete()) {
      this.catchUp = null;
      this.caughtUp = true;
      this.#apply(this.core.finishSync(cu.liveFromT0), 'self');
    }
  }

  /** Hex hashes of the chain, oldest first. */
  chainHashes(): string[] {
    return this.core.chain().map((b) => toHex(b.hash));
  }
}
