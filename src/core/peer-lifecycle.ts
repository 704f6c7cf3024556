/**
 * What a node does as its peers come, go and misbehave: an opened peer joins the broadcast tree, its address
 * goes into the address book (proven when we dialed it, hearsay when it announced itself) and it is asked for
 * addresses; a closed one leaves the tree and the per-peer request intervals; an offence is charged to the
 * offender (offence-ledger.ts) and bans it once its score is spent. Each is told to the application as a
 * `peer` or `offence` event.
 */
import type { ErrorCode } from '../errors.ts';
import type { PeerConnection } from '../net/peer-connection.ts';
import type { BroadcastRelay } from '../gossip/broadcast-relay.ts';
import { normalizeHost, type AddressBook } from '../peers/address-book.ts';
import type { OffenceLedger } from '../peers/offence-ledger.ts';
import type { PeerMaintainer } from '../peers/peer-maintenance.ts';
import { listenAddressOf } from '../peers/peer-table.ts';
import type { RequestInterval } from '../peers/request-interval.ts';
import type { Logger } from '../log.ts';
import { parseHostPort, type NodeLimits } from './node-options.ts';
import type { OffenceEvent, PeerEvent } from './node-types.ts';
import type { PeerExchange } from './peer-exchange.ts';

/** What the peer lifecycle needs from its node. */
export interface PeerLifecycleHost {
  readonly log: Logger;
  readonly now: () => number;
  readonly limits: Pick<NodeLimits, 'keyBansPerIpMax'>;
  /** Offences charged and peers banned, since start. */
  readonly counters: { offences: number; bans: number };
  readonly ledger: OffenceLedger;
  readonly addresses: AddressBook;
  readonly maintainer: PeerMaintainer;
  readonly broadcastRelay: BroadcastRelay;
  readonly exchange: PeerExchange;
  /** Whether the node asks its peers for addresses (options.peerExchange). */
  readonly peerExchange: boolean;
  /** The per-peer interval of getchain answers, forgotten with the peer. */
  readonly getChainAnswers: RequestInterval;
  /** Tells the application of a peer connected or disconnected. */
  emitPeer(ev: PeerEvent): void;
  /** Tells the application of an offence. */
  emitOffence(ev: OffenceEvent): void;
}

/** A node's answers to its peers opening, closing and misbehaving. */
export class PeerLifecycle {
  constructor(private readonly host: PeerLifecycleHost) {}

  /** The peer table opened a connection: the handshake is done. */
  opened(c: PeerConnection): void {
    const h = this.host;
    h.broadcastRelay.peerUp(c.peerId);
    const listen = listenAddressOf(c);
    // An address we dialed and reached is proven (tried); one a peer announced for itself is hearsay (new).
    if (c.outbound) h.addresses.markGood({ id: c.peerHello!.key, host: c.remoteAddress, port: c.remotePort }, h.now());
    else if (listen) h.addresses.add({ id: c.peerHello!.key, ...parseHostPort(listen) }, c.remoteAddress, h.now());
    if (c.outbound) h.maintainer.noteReached(c.remoteAddress, c.remotePort, c.peerId, true);
    const ev: PeerEvent = { state: 'connected', id: c.peerId, addr: listen ?? c.addr, socket: c.addr, outbound: c.outbound };
    h.log.info('peer connected', { id: c.peerId.slice(0, 16), addr: ev.addr, socket: c.addr, outbound: c.outbound });
    h.emitPeer(ev);
    if (h.peerExchange) h.exchange.ask(c);
  }

  /** The peer table closed an open connection. */
  closed(c: PeerConnection, code: ErrorCode, reason: string): void {
    const h = this.host;
    h.broadcastRelay.peerDown(c.peerId);
    h.getChainAnswers.forget(c.peerId);
    h.exchange.forget(c.peerId);
    if (code === 'ERR_EVICTED' && c.outbound) h.maintainer.noteEvicted(c.peerId);
    const addr = listenAddressOf(c) ?? c.addr;
    const ev: PeerEvent = { state: 'disconnected', id: c.peerId, addr, socket: c.addr, outbound: c.outbound, code, reason };
    h.log.info('peer disconnected', { id: c.peerId.slice(0, 16), addr, socket: c.addr, code, reason });
    h.emitPeer(ev);
  }

  /** Charges an offence of the peer on `c` (its key once proven, else its address) and bans it when due. */
  offence(c: PeerConnection, code: ErrorCode, reason: string): void {
    const h = this.host;
    const now = h.now();
    const ip = normalizeHost(c.remoteAddress);
    h.counters.offences++;
    const { score, banned, ipBanned } = h.ledger.charge({ peerId: c.peerId, proven: c.wasOpen, ip }, code, now);
    if (ipBanned) h.log.warn('address banned: its keys were banned', { ip, keyBans: h.limits.keyBansPerIpMax });
    const ev: OffenceEvent = { peer: c.peerId, addr: c.addr, code, reason, score, banned };
    h.log.warn('peer offence', { id: c.peerId.slice(0, 16), addr: c.addr, code, reason, score: Math.round(score), banned });
    h.emitOffence(ev);
    if (banned && c.state !== 'closed') {
      h.counters.bans++;
      c.close('ERR_BANNED', `banned for misbehaviour (last: ${code})`);
    }
  }
}
