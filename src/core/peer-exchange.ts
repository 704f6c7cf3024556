/**
 * Peer exchange on a node: answering a peer's `getpeers` (at most once per getPeersIntervalMs per peer) with
 * the listening addresses of our open peers and a sample of the address book, taking the one `peers` reply
 * to each `getpeers` of ours, and the maintenance host through which the maintainer
 * (peers/peer-maintenance.ts) dials and asks. Only replies we asked for are used: otherwise any peer could
 * fill our book at its own pace and aim our dials at any host and port (a reflection attack).
 */
import { toHex } from '../bytes.ts';
import type { Clock } from '../io/clock.ts';
import type { Random } from '../io/random.ts';
import type { PeerConnection } from '../net/peer-connection.ts';
import type { AddressBook } from '../peers/address-book.ts';
import type { MaintenanceHost } from '../peers/peer-maintenance.ts';
import type { PeerScores } from '../peers/peer-score.ts';
import { listenAddressOf, type PeerTable } from '../peers/peer-table.ts';
import { RequestInterval } from '../peers/request-interval.ts';
import { schemaLimits, type Message, type PeerAddress } from '../wire/schema.ts';
import type { Logger } from '../log.ts';
import { parseHostPort } from './node-options.ts';

/** A peer's getpeers is answered at most this often; more are ignored. */
export const getPeersIntervalMs = 1000;

/** What peer exchange needs from its node. */
export interface ExchangeHost {
  readonly id: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly addresses: AddressBook;
  readonly scores: PeerScores;
  readonly table: PeerTable;
  /** Replies nobody asked for, dropped (they are also scored as ERR_UNSOLICITED). */
  readonly counters: { unsolicitedPeers: number };
  /** How long an ask waits for its reply, in ms (peersReplyTimeoutMs). */
  readonly replyTimeoutMs: number;
  /** Scores a peer. */
  offence(c: PeerConnection, code: 'ERR_UNSOLICITED', reason: string): void;
  /** Sends on one connection, counting the frame by its type; false when the connection did not take it. */
  send(c: PeerConnection, msg: Message): boolean;
  /** One maintenance pass; `ask`: also ask a peer for addresses. */
  maintain(ask: boolean): void;
}

/** A node's side of peer exchange. */
export class PeerExchange {
  readonly #answers = new RequestInterval(getPeersIntervalMs);
  /** Our getpeers awaiting their reply: peer id to when we asked. At most one per open peer. */
  readonly #asked = new Map<string, number>();

  constructor(private readonly host: ExchangeHost) {}

  /** A peer asked for addresses. The list barely changes, and answering costs a frame: once per interval. */
  onGetPeers(c: PeerConnection): void {
    const h = this.host;
    const now = h.clock.now();
    if (!this.#answers.allow(c.peerId, now)) return;
    const addrs: PeerAddress[] = [];
    for (const p of h.table.open.values()) {
      const listen = p === c ? null : listenAddressOf(p);
      if (listen && p.peerHello) addrs.push({ id: p.peerHello.key, ...parseHostPort(listen) });
    }
    for (const a of h.addresses.sample(schemaLimits.peersPerReplyMax, now)) {
      if (addrs.length >= schemaLimits.peersPerReplyMax) break;
      const hex = toHex(a.id);
      if (hex !== c.peerId && !h.table.open.has(hex)) addrs.push(a);
    }
    h.send(c, { t: 'peers', addrs: addrs.slice(0, schemaLimits.peersPerReplyMax) });
  }

  /** Asks a peer for addresses, unless an ask to it still waits for its reply; true when asked. */
  ask(c: PeerConnection): boolean {
    const now = this.host.clock.now();
    const askedAt = this.#asked.get(c.peerId);
    if (askedAt !== undefined && now - askedAt < this.host.replyTimeoutMs) return false;
    if (!this.host.send(c, { t: 'getpeers' })) return false;
    this.#asked.set(c.peerId, now);
    return true;
  }

  /**
   * Addresses a peer sent: used only as the reply to our pending ask of that peer (one reply per ask, within
   * replyTimeoutMs), into the book with the peer as their source, then dial toward targetPeers.
   */
  onPeers(c: PeerConnection, addrs: PeerAddress[]): void {
    const h = this.host;
    const now = h.clock.now();
    const askedAt = this.#asked.get(c.peerId);
    this.#asked.delete(c.peerId);
    if (askedAt === undefined || now - askedAt > h.replyTimeoutMs) {
      h.counters.unsolicitedPeers++;
      return h.offence(c, 'ERR_UNSOLICITED', askedAt === undefined ? 'peers reply without our getpeers' : `peers reply after ${now - askedAt} ms`);
    }
    for (const a of addrs) if (toHex(a.id) !== h.id) h.addresses.add(a, c.remoteAddress, now);
    // Dial only: asking for peers again here would make two nodes trade getpeers/peers without end.
    h.maintain(false);
  }

  /** A peer left: its next ask is answered at once, and a reply to our ask can no longer come. */
  forget(peerId: string): void {
    this.#answers.forget(peerId);
    this.#asked.delete(peerId);
  }

  /** What the maintainer sees of the node and does through it. */
  maintenanceHost(): MaintenanceHost {
    const h = this.host;
    const open = h.table.open;
    return {
      selfId: h.id,
      log: h.log,
      clock: h.clock,
      random: () => h.random.next(),
      openCount: () => open.size,
      isOpen: (id) => open.has(id),
      isBanned: (id, now) => h.scores.isBanned(id, now),
      dialingCount: () => h.table.dialing.size,
      dialsPendingCount: () => h.table.dialsPendingCount,
      isDialing: (key) => h.table.dialing.has(key),
      dial: (host, port, expectedId, done) => h.table.dial(host, port, expectedId, done),
      askForAddresses: () => {
        const peer = [...open.values()][Math.floor(h.random.next() * open.size)];
        if (peer) this.ask(peer);
      },
    };
  }
}
