/**
 * The node's connections: sockets being dialed, connections in their handshake and open peers by id, with
 * the rules that decide which connections live: inbound admission (isolation, banned IPs, handshake and
 * connection caps), one connection per peer (the simultaneous-dial tie-break) and maxPeers. What an open or
 * closed peer means to gossip, peer exchange and the application is the node's business, through the host.
 */
import { StrongcastError, type ErrorCode } from '../errors.ts';
import type { Link, Transport } from '../io/transport.ts';
import { keepsConnection } from './handshake.ts';
import { normalizeHost } from './address-book.ts';
import { PeerConnection, type ConnectionContext } from '../net/peer-connection.ts';
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
}

/** What the table needs from its node. */
export interface PeerTableHost {
  readonly selfId: string;
  readonly limits: NodeLimits;
  readonly log: Logger;
  readonly transport: Transport;
  now(): number;
  /** Whether new connections may be made: the node is running and not isolated. */
  accepting(): boolean;
  isIpBanned(ip: string, nowMs: number): boolean;
  /** A fresh context for a new connection (its events come back to the node). */
  connectionContext(): ConnectionContext;
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
  /** Frame and byte totals of connections already closed. */
  readonly #closedTotals: TrafficTotals = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };

  constructor(private readonly host: PeerTableHost) {}

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
    }
    return t;
  }

  /** Whether a peer may still open: the table has room, or the peer is already open (a replacement). */
  isFull(peerId: string): boolean {
    return this.open.size >= this.host.limits.maxPeers && !this.open.has(peerId);
  }

  /** Takes an inbound link, or destroys it when the node does not accept it now. */
  accept(link: Link): void {
    const { limits, log } = this.host;
    const ip = normalizeHost(link.remoteAddress);
    if (!this.host.accepting() || this.host.isIpBanned(ip, this.host.now())) return void link.destroy();
    if (this.handshakingCount >= limits.handshakesPendingMax || this.connections.size >= limits.maxPeers + limits.handshakesPendingMax) {
      log.debug('refused inbound: too many connections', { ip });
      return void link.destroy();
    }
    this.#track(new PeerConnection(link, false, this.host.connectionContext()));
  }

  /** Dials HOST:PORT; `done` hears once whether it opened. */
  dial(host: string, port: number, done?: DialDone): void {
    const key = `${host}:${port}`;
    if (!this.host.accepting()) return void done?.(new StrongcastError('ERR_CONNECT_FAILED', `not dialing ${key}: the node is stopped or isolated`));
    this.dialing.add(key);
    this.host.transport.dial(host, port, this.host.limits.handshakeTimeoutMs, (err, link) => {
      this.dialing.delete(key);
      if (err || !link) return void done?.(err ?? new StrongcastError('ERR_CONNECT_FAILED', `cannot connect to ${key}`));
      if (!this.host.accepting()) return void link.destroy();
      const c = new PeerConnection(link, true, this.host.connectionContext());
      if (done) this.#pendingDials.set(c, done);
      this.#track(c);
    });
  }

  /** A connection finished its handshake: keep one connection per peer, within maxPeers. */
  onOpen(c: PeerConnection): void {
    const existing = this.open.get(c.peerId);
    if (existing) {
      const dialerOf = (x: PeerConnection): string => (x.outbound ? this.host.selfId : x.peerId);
      const keepNew = dialerOf(existing) !== dialerOf(c) && keepsConnection(dialerOf(c), dialerOf(existing));
      const loser = keepNew ? existing : c;
      loser.close('ERR_DUPLICATE_PEER', `already connected to ${c.peerId.slice(0, 16)}`);
      if (!keepNew) return;
    }
    if (this.open.size >= this.host.limits.maxPeers) {
      return c.close('ERR_TOO_MANY_PEERS', `node has its maximum of ${this.host.limits.maxPeers} peers`);
    }
    this.open.set(c.peerId, c);
    this.host.peerOpened(c);
    this.#pendingDials.get(c)?.(null, c);
    this.#pendingDials.delete(c);
  }

  /** A connection closed (exactly once per connection). */
  onClose(c: PeerConnection, code: ErrorCode, reason: string): void {
    this.connections.delete(c);
    for (const k of ['framesIn', 'framesOut', 'bytesIn', 'bytesOut'] as const) this.#closedTotals[k] += c.stats[k];
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
