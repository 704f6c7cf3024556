/**
 * A strongcast node: listens, dials, keeps a peer table, floods signed broadcasts with spam protection and
 * carries consensus chains for a validator. Protocol rules live in pure modules (gossip/gossip-core.ts,
 * peers/handshake.ts, peers/peer-score.ts); this file wires them together. It reaches the machine only through
 * the environment it is given (a Transport, a Clock, a Random): TCP and the system clock on a machine, an
 * in-memory network and virtual clocks in the simulator, which so runs this very code.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import type { Listener } from '../io/transport.ts';
import { toHex } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { encodeFrame, sealedFrameBytes } from '../wire/framing.ts';
import { encodeGossipFrame } from '../wire/gossip-codec.ts';
import { GossipCore, consensusId, gossipId, gossipSignedBytes } from '../gossip/gossip-core.ts';
import { BroadcastRelay } from '../gossip/broadcast-relay.ts';
import { plumtreeDefaults } from '../gossip/plumtree.ts';
import type { TreeMessageType } from '../gossip/recent-frames.ts';
import { makeNoiseIdentity, type LocalHello } from '../peers/handshake.ts';
import type { PeerConnection } from '../net/peer-connection.ts';
import type { ConnectionContext } from '../net/connection-context.ts';
import { PeerTable, type PeerTableHost } from '../peers/peer-table.ts';
import { RequestInterval } from '../peers/request-interval.ts';
import { TurnBudget } from '../net/turn-budget.ts';
import { TurnFlush } from '../net/turn-flush.ts';
import { OverloadGate } from '../net/overload-gate.ts';
import type { Clock, Timer } from '../io/clock.ts';
import { OffenceLedger } from '../peers/offence-ledger.ts';
import type { ConsensusNodePort, ConsensusPort, NodeEnvironment, NodeEvents, NodeStats, PeerInfo, SyncPort } from './node-types.ts';
import { PeerMaintainer } from '../peers/peer-maintenance.ts';
import { Flooding, type FloodHost } from './flooding.ts';
import { PeerExchange, type ExchangeHost } from './peer-exchange.ts';
import type { AddressBook } from '../peers/address-book.ts';
import type { AddressBookSnapshot } from '../peers/address-book-snapshot.ts';
import { DEFAULT_NETWORK_ID, parsePeerAddress, resolveLimits, resolvePort, type NodeLimits, type NodeOptions } from './node-options.ts';
import { schemaLimits, type ConsensusMessage, type GossipMessage, type Message, type OutcomeMessage, type PeerAddress } from '../wire/schema.ts';
import { outcomeId } from '../consensus/outcome.ts';
import { generateIdentity, type Identity } from '../crypto/keys.ts';
import { createMainThreadVerifier } from '../crypto/main-thread-verifier.ts';
import type { Verifier } from '../crypto/verifier.ts';
import { blockHash } from '../consensus/block.ts';
import { logError, silentLogger, type Logger } from '../log.ts';
import { TrafficCounters } from './traffic.ts';
import { nodeStats, peerInfos } from './node-status.ts';
import { LazyFlush } from './lazy-flush.ts';
import { startAddressBook } from './node-address-book.ts';
import { PeerLifecycle, type PeerLifecycleHost } from './peer-lifecycle.ts';


export { getPeersIntervalMs } from './peer-exchange.ts';

/** A peer's getchain is answered at most this often; more are ignored. */
export const getChainIntervalMs = 100;

export type { ChainVerdict, ConsensusPort, GossipDelivery, NodeEnvironment, NodeEvents, NodeStats, OffenceEvent, PeerEvent, PeerInfo, SyncPort } from './node-types.ts';

/** A peer-to-peer node. Create with `createNode`, then `start()`. */
export class StrongcastNode extends EventEmitter<NodeEvents> implements ConsensusNodePort {
  readonly identity: Identity;
  readonly id: string;
  readonly networkId: string;
  readonly limits: NodeLimits;
  readonly gossip: GossipCore;
  /** Where broadcasts go next: the broadcast tree, its announcements and GRAFT answers. */
  readonly broadcastRelay: BroadcastRelay;
  private readonly log: Logger;
  private readonly env: NodeEnvironment;
  private readonly now: () => number;
  private readonly verifier: Verifier;
  private readonly ownsVerifier: boolean;
  /** Scores of keys and addresses, and who pays for an offence (offence-ledger.ts). */
  private readonly ledger: OffenceLedger;
  private readonly addresses: AddressBook;
  private readonly maintainer: PeerMaintainer;
  private readonly host: string;
  private readonly advertiseHost: string;
  /** Whether the per-IP and per-group connection caps apply to loopback addresses too. */
  private readonly ipLimitsOnLoopback: boolean;
  private readonly peerExchange: boolean;
  private port: number;
  private listener: Listener | null = null;
  private readonly table: PeerTable;
  /** Open connections by peer id (the table's). */
  private readonly open: Map<string, PeerConnection>;
  private consensus: ConsensusPort | null = null;
  private sync: SyncPort | null = null;
  /** Work per event-loop turn on received frames, shared by every connection. */
  private readonly turn: TurnBudget;
  /** The end-of-turn flush of every connection's held writes: one callback a turn for all of them. */
  private readonly turnFlush: TurnFlush;
  /** Room among the broadcasts being verified: senders wait for it rather than have messages dropped. */
  private readonly gate: OverloadGate;
  /** Room among the consensus messages being checked, apart from broadcasts': a broadcast backlog never holds a chain. */
  private readonly consensusGate: OverloadGate;
  private readonly getChainAnswers = new RequestInterval(getChainIntervalMs);
  private readonly flooding: Flooding;
  private readonly exchange: PeerExchange;
  /** What the node does as peers open, close and misbehave (peer-lifecycle.ts). */
  private readonly lifecycle: PeerLifecycle;
  /** Until this time the node is cut off (fault testing): no connections in or out. */
  private isolatedUntilMs = 0;
  private seq: number;
  private maintainTimer: Timer | null = null;
  /** The broadcast tree's tick, on a timer while the tree has work (lazy-flush.ts). */
  private readonly lazyFlush: LazyFlush;
  private running = false;
  /** Counters for status views and tests. */
  readonly counters = { delivered: 0, published: 0, relayedFrames: 0, badSignatures: 0, offences: 0, bans: 0, unsolicitedPeers: 0 };
  /** Key of the hash that ranks network groups for eviction: secret to peers, drawn by each process. */
  private readonly evictionKey: Uint8Array;
  /** Frames in and out by message type (see traffic.ts). */
  readonly traffic = new TrafficCounters();

  /** Use `createNode` (src/create-node.ts), which fills `env` for a machine. */
  constructor(options: NodeOptions, env: NodeEnvironment) {
    super();
    this.env = env;
    this.limits = resolveLimits(options);
    this.port = resolvePort(options.port);
    this.host = options.host ?? '0.0.0.0';
    this.advertiseHost = options.advertiseHost ?? '';
    this.networkId = options.networkId ?? DEFAULT_NETWORK_ID;
    if (this.networkId.length === 0 || Buffer.byteLength(this.networkId) > schemaLimits.networkIdBytesMax) {
      throw new StrongcastError('ERR_INVALID_OPTION', `options.networkId must be 1..${schemaLimits.networkIdBytesMax} bytes`);
    }
    this.identity = options.identity ?? generateIdentity();
    this.id = toHex(this.identity.publicKey);
    this.log = options.log ?? silentLogger;
    this.now = () => env.clock.now();
    this.ipLimitsOnLoopback = options.ipLimitsOnLoopback ?? false;
    this.turn = new TurnBudget({ turnWorkMsMax: this.limits.turnWorkMsMax, turnQuantumFrames: this.limits.turnQuantumFrames, now: this.now, nextTurn: (run) => void env.clock.nextTurn(run) });
    this.turnFlush = new TurnFlush((run) => void env.clock.nextTurn(run));
    this.table = new PeerTable(this.peerTableHost());
    this.open = this.table.open;
    this.ownsVerifier = options.verifier === undefined;
    this.verifier = options.verifier ?? createMainThreadVerifier({});
    this.gossip = new GossipCore(options);
    this.gate = new OverloadGate(() => this.gossip.inflightCount, this.gossip.inflightMax);
    this.consensusGate = new OverloadGate(() => this.gossip.consensusInflightCount, this.gossip.consensusInflightMax);
    // Every open peer's announcement of a missing message is kept (plumtree.ts announcersPerIdMax), and every
    // open peer can always open its own missingPerPeerMax entries: with fewer, peers that announce first and
    // never serve, or that fill the table with ids they never serve, crowd out an honest announcer, and an
    // outcome a withholding feed kept back never comes (test/outcome-tree-attack-sim.test.ts).
    const { maxPeers } = this.limits;
    const announcersPerIdMax = options.announcersPerIdMax ?? Math.max(plumtreeDefaults.announcersPerIdMax, maxPeers);
    const perPeer = options.missingPerPeerMax ?? plumtreeDefaults.missingPerPeerMax;
    // A bad missingPerPeerMax is left for the tree's own check, which names it.
    const missingEntriesMax = options.missingEntriesMax ?? (Number.isSafeInteger(perPeer) ? Math.max(plumtreeDefaults.missingEntriesMax, maxPeers * perPeer) : undefined);
    this.broadcastRelay = new BroadcastRelay({ ...options, announcersPerIdMax, ...(missingEntriesMax === undefined ? {} : { missingEntriesMax }) }, {
      sendFrame: (peer, frame, type) => this.sendTreeFrame(peer, frame, type),
      send: (peer, msg) => this.sendTo(peer, msg),
      writeRoom: () => this.limits.writeQueuedBytesTotalMax - this.writeQueuedBytesTotal(),
      writeQueuedBytes: (peer) => this.open.get(peer)?.writeQueuedBytes ?? 0,
    });
    this.peerExchange = options.peerExchange ?? true;
    const { banScore, banMs, keyBansPerIpMax } = this.limits;
    this.ledger = new OffenceLedger({ banScore, banMs, keyBansPerIpMax, banIps: options.banIps ?? true, ipLimitsOnLoopback: this.ipLimitsOnLoopback });
    this.evictionKey = env.random.bytes(16);
    const { knownAddressesMax } = this.limits;
    this.addresses = startAddressBook(options, { selfId: this.id, knownAddressesMax, evictionKey: this.evictionKey, random: env.random, log: this.log });
    this.flooding = new Flooding(this.floodHost());
    this.lazyFlush = new LazyFlush(this.broadcastRelay, env.clock, this.now, (id) => this.gossip.known(id, this.now()));
    this.exchange = new PeerExchange(this.exchangeHost());
    this.maintainer = new PeerMaintainer(options.peers ?? [], this.addresses, { ...this.limits, peerExchange: this.peerExchange }, this.exchange.maintenanceHost());
    this.lifecycle = new PeerLifecycle(this.lifecycleHost());
    // Sequence numbers start from the clock so a restarted node never reuses one (ids would collide).
    this.seq = this.now() * 1000;
  }

  /** The node's clock (the system clock on a machine, a virtual one in the simulator). */
  get clock(): Clock {
    return this.env.clock;
  }

  /** The port the node listens on (after start). */
  get listenPort(): number {
    return this.port;
  }

  /** Starts listening and dialing the configured peers. @throws ERR_PORT_IN_USE, ERR_INVALID_OPTION */
  async start(): Promise<{ host: string; port: number; id: string }> {
    if (this.running) return { host: this.host, port: this.port, id: this.id };
    const listener = await this.env.transport.listen(
      this.host,
      this.port,
      (link) => this.table.accept(link),
      (error) => logError(this.log, 'server error', { error }),
    );
    this.port = listener.port;
    this.listener = listener;
    this.running = true;
    const clock = this.env.clock;
    this.maintainTimer = clock.setRepeating(() => this.maintain(), this.limits.maintainIntervalMs);
    this.lazyFlush.start();
    const info = { host: this.host, port: this.port, id: this.id };
    this.log.info('listening', info);
    this.emit('listening', info);
    this.maintain();
    return info;
  }

  /** Closes every connection and the listener; safe to call twice. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.maintainTimer?.cancel();
    this.lazyFlush.stop();
    this.maintainTimer = null;
    this.table.closeAll('ERR_CONNECTION_CLOSED', 'node shutting down');
    // What follows the verdicts that came back and waited for a turn is done now (closed, it only settles).
    this.turn.finish();
    this.gate.clear();
    this.consensusGate.clear();
    const listener = this.listener;
    this.listener = null;
    if (listener) await listener.close();
    if (this.ownsVerifier) await this.verifier.close();
    this.log.info('stopped');
  }

  /** Lets a validator shell receive consensus chains. */
  attachConsensus(port: ConsensusPort | null): void {
    this.consensus = port;
  }

  /**
   * Cuts the node off for `ms` (fault testing): closes every connection and refuses or skips new ones until
   * the time is up; then bootstrap peers and peer exchange reconnect it as after any outage.
   */
  isolate(ms: number): void {
    this.requireRunning();
    this.isolatedUntilMs = this.now() + ms;
    this.table.closeAll('ERR_CONNECTION_CLOSED', `isolated for ${ms} ms`);
    this.maintainer.deferUntil(this.isolatedUntilMs);
  }

  /** Whether the node is cut off by `isolate` now. */
  get isolated(): boolean {
    return this.now() < this.isolatedUntilMs;
  }

  /** Lets a validator shell answer and receive catch-up traffic. */
  attachSync(port: SyncPort | null): void {
    this.sync = port;
  }

  /** Sends a message to one open peer; false when it is not connected. */
  sendTo(peerId: string, msg: Message): boolean {
    const c = this.open.get(peerId);
    return c ? this.sendOn(c, msg) : false;
  }

  /** Sends on one connection, counting the frame and its bytes by its type when the connection took it. */
  private sendOn(c: PeerConnection, msg: Message): boolean {
    if (c.isClosed()) return false;
    const frame = encodeFrame(msg, this.limits.frameBytesMax);
    const sent = c.sendFrame(frame, msg.t);
    if (sent) this.traffic.sent(msg.t, 1, sealedFrameBytes(frame.byteLength));
    return sent;
  }

  /** Bytes waiting to be sent to all open peers together (each peer's `writeQueuedBytes`). */
  writeQueuedBytesTotal(): number {
    let bytes = 0;
    for (const c of this.open.values()) bytes += c.writeQueuedBytes;
    return bytes;
  }

  /** A broadcast's (or an outcome's) frame, encoded once, to one peer (the relay's port). */
  private sendTreeFrame(peerId: string, frame: Buffer, type: TreeMessageType): boolean {
    const sent = this.open.get(peerId)?.sendFrame(frame, type) ?? false;
    if (sent) this.traffic.sent(type, 1, sealedFrameBytes(frame.byteLength));
    return sent;
  }

  /** Listening addresses this node knows (peer exchange and open peers), tried ones first. */
  knownAddresses(): PeerAddress[] {
    return this.addresses.all();
  }

  /**
   * The address book as data, for saving across restarts: its bucket key and every known address with its
   * table (new or tried), the network group that told us of it, its failed dials and its last success. Pass
   * it back as options.addressBook. It holds the key that keeps the buckets secret from peers: keep it private.
   */
  addressBookSnapshot(): AddressBookSnapshot {
    return this.addresses.snapshot();
  }

  /** Ids of the open peers. */
  peerIds(): string[] {
    return [...this.open.keys()];
  }

  /** Open peers. */
  peers(): PeerInfo[] {
    return peerInfos(this.open);
  }

  /** Totals since start. */
  stats(): NodeStats {
    const { table, counters, broadcastRelay, gossip, traffic, turn } = this;
    return nodeStats({ table, counters, broadcastRelay, gossip, traffic, turn, writeQueuedBytesTotal: () => this.writeQueuedBytesTotal() });
  }

  /** Signs and floods a broadcast. Resolves with its id once sent to every open peer. */
  async broadcast(topic: string, data: Uint8Array | string): Promise<{ id: string; peers: number }> {
    this.requireRunning();
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    if (Buffer.byteLength(topic) > schemaLimits.topicBytesMax) {
      throw new StrongcastError('ERR_INVALID_OPTION', `topic must be at most ${schemaLimits.topicBytesMax} bytes`);
    }
    if (bytes.byteLength > schemaLimits.gossipDataBytesMax) {
      throw new StrongcastError('ERR_INVALID_OPTION', `data must be at most ${schemaLimits.gossipDataBytesMax} bytes`);
    }
    const unsigned = { origin: this.identity.publicKey, seq: ++this.seq, topic, data: bytes };
    const signed = gossipSignedBytes(this.networkId, unsigned);
    const msg: GossipMessage = { t: 'gossip', ...unsigned, hops: 0, sig: this.identity.sign(signed) };
    const id = gossipId(signed);
    this.gossip.markOwn(id, this.now());
    this.counters.published++;
    const peers = this.broadcastRelay.relay(id, this.id, encodeGossipFrame(msg, 0, this.limits.frameBytesMax), null, new Set(), this.now());
    return { id, peers };
  }

  /** Floods our own consensus message (a proposal or a signed relay). */
  publishConsensus(msg: ConsensusMessage): number {
    if (!this.running) return 0;
    this.gossip.markOwn(consensusId(blockHash(msg.block), msg), this.now());
    const frame = encodeFrame(msg, this.limits.frameBytesMax);
    const sent = this.flooding.sendToAll(frame, 'ds', new Set());
    this.traffic.sent('ds', sent, sealedFrameBytes(frame.byteLength));
    return sent;
  }

  /**
   * Sends our own signed outcome of a round down its signer's broadcast tree (flooding.ts onOutcome says why
   * a tree and not a flood). Nothing goes out without a validator attached: it names the signer's key.
   */
  publishOutcome(msg: OutcomeMessage): number {
    const key = this.consensus?.validatorKey(msg.signer);
    if (!this.running || !key) return 0;
    const id = outcomeId(msg);
    this.gossip.markOwn(id, this.now());
    const frame = encodeFrame(msg, this.limits.frameBytesMax);
    return this.broadcastRelay.relay(id, toHex(key), frame, null, new Set(), this.now(), 'outcome');
  }

  /**
   * Sends someone else's verified chain on to every open peer, for a validator shell whose state machine held
   * the forward back (a chain that arrived before its instance started here waits for the start). Peers that
   * already have it drop it as a duplicate.
   */
  forwardConsensus(msg: ConsensusMessage): number {
    if (!this.running) return 0;
    return this.flooding.relay({ ...msg, hops: this.gossip.relayHops(msg.hops) }, new Set());
  }

  /**
   * Dials HOST:PORT, or ID@HOST:PORT to accept only the node that proves that id (ERR_WRONG_PEER otherwise);
   * resolves with the peer once the handshake is done.
   */
  connect(address: string): Promise<PeerInfo> {
    this.requireRunning();
    const { host, port, id } = parsePeerAddress(address);
    return new Promise((resolve, reject) => {
      this.table.dial(host, port, id, (err, conn) => {
        if (err || !conn) return reject(err);
        const info = this.peers().find((p) => p.id === conn.peerId);
        if (info) resolve(info);
        else reject(new StrongcastError('ERR_CONNECT_FAILED', `connection to ${address} closed right after opening`));
      });
    });
  }

  /** Misbehaviour score of a peer id or IP (for tests and status). */
  scoreOf(key: string): number {
    return this.ledger.score(key, this.now());
  }

  /** Whether a peer id or IP is banned now. */
  isBanned(key: string): boolean {
    return this.ledger.isBanned(key, this.now());
  }

  /** Connections still in their handshake. */
  get handshakingCount(): number {
    return this.table.handshakingCount;
  }

  /** Inbound peers disconnected to make room for another, since start. */
  get evictions(): number {
    return this.table.evictions;
  }

  /**
   * Inbound connections refused at once by a per-IP or per-group cap, handshakes cut to make room for a newer
   * one, and inbound handshakes that timed out, since start.
   */
  get handshakeCounters(): { refused: number; evicted: number; timedOut: number; rateRefused: number } {
    return { ...this.table.handshakeCounters };
  }

  private requireRunning(): void {
    if (!this.running) throw new StrongcastError('ERR_NOT_STARTED', 'the node is not started');
  }

  /** The Noise static key this run handshakes with, and our id's signature over it; made on first use. */
  private noiseIdentity: Pick<LocalHello, 'noiseStatic' | 'noiseStaticSig'> | null = null;

  private localHello(): LocalHello {
    this.noiseIdentity ??= makeNoiseIdentity((m) => this.identity.sign(m), this.env.random);
    return { networkId: this.networkId, publicKey: this.identity.publicKey, host: this.advertiseHost, port: this.port, ...this.noiseIdentity };
  }

  private connectionContext(outbound: boolean, expectedKeyHex: string | null = null): ConnectionContext {
    return {
      local: this.localHello(),
      verifier: this.verifier,
      helloContext: {
        networkId: this.networkId,
        selfKeyHex: this.id,
        isBanned: (k) => this.ledger.keys.isBanned(k, this.now()),
        isFull: (k) => this.table.isFull(k, outbound),
        expectedKeyHex,
      },
      limits: this.limits,
      clock: this.env.clock,
      random: this.env.random,
      turn: this.turn,
      turnFlush: this.turnFlush,
      gate: this.gate,
      consensusGate: this.consensusGate,
      events: {
        onOpen: (c) => this.table.onOpen(c),
        onMessage: (c, m, frameBytes) => this.onMessage(c, m, frameBytes),
        onOffence: (c, code, reason) => this.lifecycle.offence(c, code, reason),
        onClose: (c, code, reason) => this.table.onClose(c, code, reason),
      },
    };
  }

  private peerTableHost(): PeerTableHost {
    return {
      selfId: this.id,
      limits: this.limits,
      ipLimitsOnLoopback: this.ipLimitsOnLoopback,
      log: this.log,
      transport: this.env.transport,
      now: this.now,
      accepting: () => this.running && !this.isolated,
      isIpBanned: (ip, now) => this.ledger.ips.isBanned(ip, now),
      connectionContext: (outbound, expectedKeyHex) => this.connectionContext(outbound, expectedKeyHex),
      netGroupRank: (group) => createHash('sha256').update(this.evictionKey).update(group).digest().readUInt32BE(0),
      peerOpened: (c) => this.lifecycle.opened(c),
      peerClosed: (c, code, reason) => this.lifecycle.closed(c, code, reason),
      dialedDuplicate: (c) => this.maintainer.noteReached(c.remoteAddress, c.remotePort, c.peerId, false),
    };
  }

  private onMessage(c: PeerConnection, msg: Message, frameBytes: number): void {
    this.traffic.received(msg.t, frameBytes);
    switch (msg.t) {
      case 'gossip':
        return this.flooding.onGossip(c, msg);
      case 'ihave':
        return this.broadcastRelay.onIhave(c.peerId, msg, this.now(), (id) => this.gossip.known(id, this.now()));
      case 'graft':
        return this.broadcastRelay.onGraft(c.peerId, msg, this.now());
      case 'prune':
        return this.broadcastRelay.onPrune(c.peerId, msg);
      case 'ds':
        return this.flooding.onConsensus(c, msg);
      case 'outcome':
        return this.flooding.onOutcome(c, msg);
      case 'getpeers':
        return this.exchange.onGetPeers(c);
      case 'peers':
        return this.peerExchange ? this.exchange.onPeers(c, msg.addrs) : undefined;
      case 'getchain':
        return this.onGetChain(c, msg.from);
      case 'chain':
        return this.sync?.onChainReply(msg, c.peerId);
      default:
        // ping, pong, reject, hello and auth are handled by the connection itself
        return;
    }
  }

  /**
   * Tells the application. Its listeners run inside the node's handling of the network, and one that throws
   * must not leave that half done (a broadcast not relayed, a peer not banned, a read never finished): its
   * error is rethrown in a microtask once this work is done, so it still surfaces as an uncaught exception,
   * as any listener's does.
   */
  private notify(emit: () => void): void {
    try {
      emit();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  private onGetChain(c: PeerConnection, from: number): void {
    if (!this.sync || !this.getChainAnswers.allow(c.peerId, this.now())) return;
    const reply = this.sync.onGetChain(from, c.peerId);
    if (reply) this.sendOn(c, reply);
  }

  /** What flooding sees of this node. */
  private floodHost(): FloodHost {
    return {
      networkId: this.networkId,
      gossip: this.gossip,
      broadcastRelay: this.broadcastRelay,
      verifier: this.verifier,
      limits: this.limits,
      log: this.log,
      counters: this.counters,
      traffic: this.traffic,
      openPeers: this.open,
      now: this.now,
      consensusPort: () => this.consensus,
      offence: (c, code, reason) => this.lifecycle.offence(c, code, reason),
      checkEnded: (consensus) => (consensus ? this.consensusGate : this.gate).release(),
      deliver: (d) => this.notify(() => this.emit('message', d)),
    };
  }

  /** What the peer lifecycle sees of this node. */
  private lifecycleHost(): PeerLifecycleHost {
    return {
      log: this.log,
      now: this.now,
      limits: this.limits,
      counters: this.counters,
      ledger: this.ledger,
      addresses: this.addresses,
      maintainer: this.maintainer,
      broadcastRelay: this.broadcastRelay,
      exchange: this.exchange,
      peerExchange: this.peerExchange,
      getChainAnswers: this.getChainAnswers,
      emitPeer: (ev) => this.notify(() => this.emit('peer', ev)),
      emitOffence: (ev) => this.notify(() => this.emit('offence', ev)),
    };
  }

  /** What peer exchange sees of this node. */
  private exchangeHost(): ExchangeHost {
    return {
      id: this.id,
      log: this.log,
      clock: this.env.clock,
      random: this.env.random,
      addresses: this.addresses,
      scores: this.ledger.keys,
      table: this.table,
      counters: this.counters,
      replyTimeoutMs: this.limits.peersReplyTimeoutMs,
      offence: (c, code, reason) => this.lifecycle.offence(c, code, reason),
      send: (c, msg) => this.sendOn(c, msg),
      maintain: (ask) => this.maintain(ask),
    };
  }

  /** One maintenance pass (see peer-maintenance.ts); skipped while stopped or isolated. */
  private maintain(ask = true): void {
    if (this.running && !this.isolated) this.maintainer.run(ask);
  }
}
