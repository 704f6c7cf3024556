/**
 * The node's connections: sockets being dialed, connections in their handshake and open peers by id, with
 * the rules that decide which connections live: inbound admission (isolation, banned IPs, the handshake and
 * connection caps of handshake-slots.ts, per IP and per network group), one connection per peer (the
 * simultaneous-dial tie-break) and maxPeers. What an open or closed peer means to gossip, peer exchange and
 * the application is the node's business, through the host.
 */
import { StrongcastError, type ErrorCode } from '../errors.ts';
import type { Link, Transport } from '../io/transport.ts';
import { keepsConnection } from './handshake.ts';
import { netGroup, normalizeHost } from './net-group.ts';
import { selectEvictionVictim, type EvictionCandidate } from './eviction.ts';
import { admitInbound, type InboundEntry } from './handshake-slots.ts';
import { HandshakeStrikes } from './handshake-strikes.ts';
import { HandshakeRate, handshakeRateSource as rateSource } from './handshake-rate.ts';
import { SourceChurn, arrivalSource } from './source-churn.ts';
import { isLoopback } from './offences.ts';
import { PeerConnection } from '../net/peer-connection.ts';
import type { ConnectionContext } from '../net/connection-context.ts';
import type { NodeLimits } from '../core/node-options.ts';
import type { Logger } from '../log.ts';

/** Called once when a dial ends: the open connection, or why there is none. */
export type DialDone = (err: StrongcastError | null, c?: PeerConnection) => void;

/** Frame and byte totals of a set of connections. */
export interface TrafficTotals {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Times reading from a peer stopped because it went over its message or byte rate (backpressure). */
  rateHolds: number;
}

/** What the table needs from its node. */
export interface PeerTableHost {
  readonly selfId: string;
  readonly limits: NodeLimits;
  /** Whether the per-IP and per-group caps and handshake-timeout marks apply to loopback addresses too. */
  readonly ipLimitsOnLoopback: boolean;
  readonly log: Logger;
  readonly transport: Transport;
  now(): number;
  /** Whether new connections may be made: the node is running and not isolated. */
  accepting(): boolean;
  isIpBanned(ip: string, nowMs: number): boolean;
  /** A fresh context for a new connection, inbound or `outbound` (its events come back to the node). */
  /** The context of a new connection; `expectedKeyHex` pins a dial to the id its address was given with. */
  connectionContext(outbound: boolean, expectedKeyHex?: string | null): ConnectionContext;
  /** A keyed hash of a network group, secret to peers (eviction protects the highest). */
  netGroupRank(group: string): number;
  /** A connection became the open connection of its peer. */
  peerOpened(c: PeerConnection): void;
  /** The open connection of a peer closed. */
  peerClosed(c: PeerConnection, code: ErrorCode, reason: string): void;
  /** An outbound connection lost the duplicate tie-break: that address reaches a peer we already have. */
  dialedDuplicate(c: PeerConnection): void;
}

/** Every connection of a node, from dial or accept to close. */
export class PeerTable {
  /** Every live connection, handshaking or open. */
  readonly connections = new Set<PeerConnection>();
  /** Open connections by peer id. */
  readonly open = new Map<string, PeerConnection>();
  /** HOST:PORT being dialed (TCP connect not yet done). */
  readonly dialing = new Set<string>();
  readonly #pendingDials = new Map<PeerConnection, DialDone>();
  /** When each open connection opened, in ms (eviction protects the oldest). */
  readonly #openedAtMs = new Map<PeerConnection, number>();
  /** Inbound peers disconnected to make room, since start. */
  evictions = 0;
  /**
   * Inbound connections refused at accept by a per-IP or per-group cap, handshakes cut to make room for a
   * newer one, and inbound handshakes that timed out (each marks its IP), since start.
   */
  readonly handshakeCounters = { refused: 0, evicted: 0, timedOut: 0, rateRefused: 0 };
  /** IPs whose inbound handshake timed out lately: one handshake at a time each. */
  readonly #strikes: HandshakeStrikes;
  /** Handshake starts per source address (handshakesPerIpPerSec). */
  readonly #handshakeRate: HandshakeRate;
  /** New inbound peers lately per source address (eviction takes a churning address first). */
  readonly #arrivals: SourceChurn;
  /** Frame and byte totals of connections already closed. */
  readonly #closedTotals: TrafficTotals = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, rateHolds: 0 };

  constructor(private readonly host: PeerTableHost) {
    this.#strikes = new HandshakeStrikes(host.limits.handshakeStrikeMs, host.limits.handshakeStrikeIpsMax);
    const { handshakesPerIpPerSec, handshakesPendingPerIpMax, handshakeRateSourcesMax } = host.limits;
    this.#handshakeRate = new HandshakeRate(handshakesPerIpPerSec, handshakesPendingPerIpMax, handshakeRateSourcesMax);
    const { arrivalsHalfLifeMs, arrivalsSourcesMax, arrivalsFree } = host.limits;
    this.#arrivals = new SourceChurn(arrivalsHalfLifeMs, arrivalsSourcesMax, arrivalsFree);
  }

  /** Connections still in their handshake. */
  get handshakingCount(): number {
    return this.connections.size - this.open.size;
  }

  /** Frame and byte totals of every connection since start, closed ones included. */
  totals(): TrafficTotals {
    const t = { ...this.#closedTotals };
    for (const c of this.connections) {
      t.framesIn += c.stats.framesIn;
      t.framesOut += c.stats.framesOut;
      t.bytesIn += c.stats.bytesIn;
      t.bytesOut += c.stats.bytesOut;
      t.rateHolds += c.stats.rateHolds;
    }
    return t;
  }

  /** Outbound connections not open yet: being dialed or in their handshake. */
  get dialsPendingCount(): number {
    let n = this.dialing.size;
    for (const c of this.connections) if (c.outbound && c.state === 'handshaking') n++;
    return n;
  }

  /** Inbound connections still in their handshake. */
  get inboundHandshakingCount(): number {
    let n = 0;
    for (const c of this.connections) if (!c.outbound && c.state === 'handshaking') n++;
    return n;
  }

  /** Open inbound connections. */
  get inboundOpenCount(): number {
    let n = 0;
    for (const c of this.open.values()) if (!c.outbound) n++;
    return n;
  }

  /**
   * Whether a peer may not open now: there is no slot for its direction and, for an inbound peer, no inbound
   * peer to evict either. A peer already open may always replace its connection.
   */
  isFull(peerId: string, outbound: boolean): boolean {
    if (this.open.has(peerId)) return false;
    if (this.#hasRoom(outbound)) return false;
    return outbound || this.#evictionVictim() === null;
  }

  /**
   * Whether a slot is free for a connection in this direction. Inbound peers hold at most maxPeers minus
   * outboundSlotsMin slots (Bitcoin Core's reserved outbound slots), so they can never take all of them.
   */
  #hasRoom(outbound: boolean): boolean {
    const { maxPeers, outboundSlotsMin } = this.host.limits;
    if (this.open.size >= maxPeers) return false;
    return outbound || this.inboundOpenCount < maxPeers - outboundSlotsMin;
  }

  /** The open inbound connection eviction would disconnect (eviction.ts), or null. */
  #evictionVictim(): PeerConnection | null {
    const inbound: EvictionCandidate[] = [];
    const now = this.host.now();
    for (const c of this.open.values()) {
      if (c.outbound) continue;
      const group = netGroup(c.remoteAddress);
      const { minRttMs, lastUsefulMs } = c;
      const sourceChurn = this.#arrivals.churn(arrivalSource(c.remoteAddress), now);
      inbound.push({ id: c.peerId, netGroup: group, netGroupRank: this.host.netGroupRank(group), minRttMs, lastUsefulMs, openedAtMs: this.#openedAtMs.get(c) ?? 0, sourceChurn });
    }
    const id = selectEvictionVictim(inbound);
    return id === null ? null : (this.open.get(id) ?? null);
  }

  /**
   * Takes an inbound link, or destroys it when the node does not accept it now. Only inbound connections count
   * against the handshake and connection caps: our own dials (capped by dialsPendingMax, or by the configured
   * peers) never crowd them out. Open peers are bounded by maxPeers, so inbound connections are bounded too.
   */
  accept(link: Link): void {
    const ip = normalizeHost(link.remoteAddress);
    const now = this.host.now();
    if (!this.host.accepting() || this.host.isIpBanned(ip, now)) return void link.destroy();
    const capped = this.#ipLimitsApply(ip);
    // Asked first: a source past its rate costs a socket closed at once, no connection's objects. Per exact
    // address, not per IPv6 /64 (handshake-rate.ts says why).
    if (capped && !this.#handshakeRate.take(rateSource(ip), now)) {
      this.handshakeCounters.refused++;
      this.handshakeCounters.rateRefused++;
      this.host.log.debug('refused inbound', { ip, limit: 'handshakesPerIpPerSec' });
      return void link.destroy();
    }
    const newcomer = { ip, group: netGroup(ip), capped, struck: capped && this.#strikes.has(ip, now) };
    const verdict = admitInbound(newcomer, this.#inboundEntries(), this.host.limits);
    if (!verdict.admit) {
      this.handshakeCounters.refused++;
      this.host.log.debug('refused inbound', { ip, limit: verdict.limit });
      return void link.destroy();
    }
    if (verdict.evict) {
      this.handshakeCounters.evicted++;
      verdict.evict.conn.close('ERR_HANDSHAKE_EVICTED', `cut to make room for a newer handshake from ${newcomer.group}`);
    }
    this.#track(new PeerConnection(link, false, this.host.connectionContext(false)));
  }

  /** The inbound connections, in their handshake or open, oldest first (the order they were taken). */
  #inboundEntries(): Array<InboundEntry & { conn: PeerConnection }> {
    const out: Array<InboundEntry & { conn: PeerConnection }> = [];
    for (const c of this.connections) {
      if (c.outbound || c.state === 'closed') continue;
      const ip = normalizeHost(c.remoteAddress);
      out.push({ ip, group: netGroup(ip), pending: c.state === 'handshaking', conn: c });
    }
    return out;
  }

  /** Loopback is exempt from the per-IP and per-group caps unless the node says otherwise. */
  #ipLimitsApply(ip: string): boolean {
    return this.host.ipLimitsOnLoopback || !isLoopback(ip);
  }

  /** Dials HOST:PORT, pinned to `expectedId` (hex) when given; `done` hears once whether it opened. */
  dial(host: string, port: number, expectedId: string | null, done?: DialDone): void {
    const key = `${host}:${port}`;
    if (!this.host.accepting()) return void done?.(new StrongcastError('ERR_CONNECT_FAILED', `not dialing ${key}: the node is stopped or isolated`));
    this.dialing.add(key);
    this.host.transport.dial(host, port, this.host.limits.handshakeTimeoutMs, (err, link) => {
      this.dialing.delete(key);
      if (err || !link) return void done?.(err ?? new StrongcastError('ERR_CONNECT_FAILED', `cannot connect to ${key}`));
      if (!this.host.accepting()) return void link.destroy();
      const c = new PeerConnection(link, true, this.host.connectionContext(true, expectedId));
      if (done) this.#pendingDials.set(c, done);
      this.#track(c);
    });
  }

  /**
   * A connection finished its handshake: keep one connection per peer, within maxPeers and the inbound
   * share of it; a full table makes room for an inbound peer by evicting another inbound one.
   */
  onOpen(c: PeerConnection): void {
    // A whole handshake does not count against its source's rate (handshake-rate.ts).
    if (!c.outbound && this.#ipLimitsApply(normalizeHost(c.remoteAddress))) this.#handshakeRate.completed(rateSource(c.remoteAddress), this.host.now());
    const existing = this.open.get(c.peerId);
    if (existing) {
      const dialerOf = (x: PeerConnection): string => (x.outbound ? this.host.selfId : x.peerId);
      const keepNew = dialerOf(existing) !== dialerOf(c) && keepsConnection(dialerOf(c), dialerOf(existing));
      const loser = keepNew ? existing : c;
      loser.close('ERR_DUPLICATE_PEER', `already connected to ${c.peerId.slice(0, 16)}`);
      if (!keepNew) return;
    }
    if (!existing && !this.#hasRoom(c.outbound) && !this.#evictFor(c)) {
      return c.close('ERR_TOO_MANY_PEERS', `node has its maximum of ${this.host.limits.maxPeers} peers`);
    }
    this.open.set(c.peerId, c);
    this.#openedAtMs.set(c, this.host.now());
    // A new peer taking a slot, not a connection replacing one it had (simultaneous dials, a reconnect in place).
    if (!c.outbound && !existing) this.#arrivals.note(arrivalSource(c.remoteAddress), this.host.now());
    this.host.peerOpened(c);
    this.#pendingDials.get(c)?.(null, c);
    this.#pendingDials.delete(c);
  }

  /** Makes room for the inbound `c` by evicting an inbound peer; false when `c` is outbound or none may go. */
  #evictFor(c: PeerConnection): boolean {
    const victim = c.outbound ? null : this.#evictionVictim();
    if (!victim) return false;
    this.evictions++;
    this.host.log.info('evicting an inbound peer to make room', { id: victim.peerId.slice(0, 16), addr: victim.addr, for: c.addr });
    victim.close('ERR_EVICTED', `evicted to make room for another inbound peer (${this.host.limits.maxPeers} slots full)`);
    return true;
  }

  /** A connection closed (exactly once per connection). */
  onClose(c: PeerConnection, code: ErrorCode, reason: string): void {
    this.connections.delete(c);
    if (!c.outbound && code === 'ERR_HANDSHAKE_TIMEOUT') this.#noteTimeout(c);
    this.#openedAtMs.delete(c);
    for (const k of ['framesIn', 'framesOut', 'bytesIn', 'bytesOut', 'rateHolds'] as const) this.#closedTotals[k] += c.stats[k];
    const pending = this.#pendingDials.get(c);
    if (pending) {
      this.#pendingDials.delete(c);
      pending(new StrongcastError(code, `connection to ${c.addr} closed: ${reason}`));
    }
    if (c.outbound && code === 'ERR_DUPLICATE_PEER') this.host.dialedDuplicate(c);
    if (this.open.get(c.peerId) !== c) {
      this.host.log.debug('connection closed before open', { addr: c.addr, code, reason });
      return;
    }
    this.open.delete(c.peerId);
    this.host.peerClosed(c, code, reason);
  }

  /** An inbound handshake timed out: its IP is held to one handshake at a time for a while (handshake-strikes.ts). */
  #noteTimeout(c: PeerConnection): void {
    this.handshakeCounters.timedOut++;
    const ip = normalizeHost(c.remoteAddress);
    if (this.#ipLimitsApply(ip)) this.#strikes.note(ip, this.host.now());
  }

  /** Closes every connection with one reason. */
  closeAll(code: ErrorCode, reason: string): void {
    for (const c of [...this.connections]) c.close(code, reason);
  }

  #track(c: PeerConnection): void {
    this.connections.add(c);
    c.start();
  }
}

/** The address a peer listens on: the IP we see it from (not spoofable) and the port it announced. */
export function listenAddressOf(c: PeerConnection): string | null {
  if (!c.peerHello || c.peerHello.port === 0) return null;
  if (c.outbound) return c.addr;
  const ip = normalizeHost(c.remoteAddress);
  // An IPv6 address holds colons (a normalized IPv4 one never does): it is bracketed before the port.
  return ip.includes(':') ? `[${ip}]:${c.peerHello.port}` : `${ip}:${c.peerHello.port}`;
}
