/**
 * Keeping a node connected: configured (bootstrap) peers are redialed with exponential backoff and jitter
 * whenever they are not connected, and addresses learned through peer exchange are dialed until the node
 * has targetPeers connections. The node supplies the facts and the dialing through a small host interface.
 */
import { toHex } from '../bytes.ts';
import type { StrongcastError } from '../errors.ts';
import { backoffDelayMs } from './backoff.ts';
import { addressKey, normalizeHost, type AddressBook } from './address-book.ts';
import { parsePeerAddress, type PinnedAddress } from '../core/node-options.ts';
import type { Logger } from '../log.ts';
import type { Clock } from '../io/clock.ts';

/** What the maintainer needs from its node. */
export interface MaintenanceHost {
  readonly selfId: string;
  readonly log: Logger;
  /** The node's clock: the time, and the timer of a bootstrap redial. */
  readonly clock: Clock;
  /** A number in [0, 1) for the backoff's jitter. */
  random(): number;
  openCount(): number;
  isOpen(peerId: string): boolean;
  isBanned(peerId: string, nowMs: number): boolean;
  dialingCount(): number;
  /** Outbound connections not open yet (dialing or in their handshake). */
  dialsPendingCount(): number;
  isDialing(hostPort: string): boolean;
  /** Dials host:port; with `expectedId` (hex) only the node that proves that id may open. */
  dial(host: string, port: number, expectedId: string | null, done: (err: StrongcastError | null) => void): void;
  /** Asks one random open peer for the addresses it knows. */
  askForAddresses(): void;
}

/** Settings of the maintainer (resolved node options). */
export interface MaintenanceSettings {
  targetPeers: number;
  dialsPendingMax: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  peerExchange: boolean;
}

interface Bootstrap {
  host: string;
  port: number;
  /** The id given with the address (ID@HOST:PORT), which the node there must prove; null when none was. */
  expectedId: string | null;
  attempt: number;
  nextAtMs: number;
  dialing: boolean;
  /** The node id reached at this address, while connected (either direction). */
  peerId: string | null;
  /** Times this peer evicted us; never reset, so the redial delay after an eviction grows to reconnectMaxMs. */
  evictions: number;
}

/** Bootstrap reconnects and peer-exchange dialing for one node. */
export class PeerMaintainer {
  private readonly bootstraps: Bootstrap[];

  constructor(
    peers: readonly string[],
    private readonly addresses: AddressBook,
    private readonly settings: MaintenanceSettings,
    private readonly host: MaintenanceHost,
  ) {
    this.bootstraps = peers.map((p) => ({ ...pinned(parsePeerAddress(p)), attempt: 0, nextAtMs: 0, dialing: false, peerId: null, evictions: 0 }));
  }

  /**
   * One pass: redial bootstrap peers that are due, dial learned addresses up to targetPeers (with at most
   * dialsPendingMax dials in progress), and with `ask` ask a peer for more addresses (only the periodic
   * timer asks, so requests stay bounded).
   */
  run(ask: boolean): void {
    const now = this.host.clock.now();
    for (const b of this.bootstraps) this.runBootstrap(b, now);
    if (!this.settings.peerExchange) return;
    const pending = this.host.dialsPendingCount();
    let want = Math.min(this.settings.dialsPendingMax - pending, this.settings.targetPeers - this.host.openCount() - pending);
    for (const a of want > 0 ? this.addresses.candidates(now) : []) {
      if (want <= 0) break;
      const hex = toHex(a.id);
      const key = addressKey(a);
      if (hex === this.host.selfId || this.host.isOpen(hex) || this.host.isDialing(key) || this.host.isBanned(hex, now)) continue;
      this.addresses.attempted(a, now);
      // An address learned with an id is pinned to it: announcing our address for another id gets it nothing.
      this.host.dial(a.host, a.port, hex, (err) => {
        if (err) this.host.log.debug('peer-exchange dial failed', { addr: key, code: err.code });
      });
      want--;
    }
    if (ask && this.host.openCount() > 0 && this.host.openCount() < this.settings.targetPeers) this.host.askForAddresses();
  }

  /** No bootstrap redial before `untilMs` (the node is isolated until then). */
  deferUntil(untilMs: number): void {
    for (const b of this.bootstraps) b.nextAtMs = Math.max(b.nextAtMs, untilMs);
  }

  /**
   * An outbound connection to host:port reached `peerId`: connected (`opened`), or refused as a duplicate
   * because we are already connected the other way, which counts as connected too.
   */
  noteReached(remoteHost: string, remotePort: number, peerId: string, opened: boolean): void {
    for (const b of this.bootstraps) {
      if (normalizeHost(remoteHost) !== normalizeHost(b.host) || remotePort !== b.port) continue;
      b.peerId = peerId;
      if (opened) b.attempt = 0;
    }
  }

  /**
   * A peer evicted us to make room (its inbound slots are full): a configured peer is redialed only after the
   * backoff, as after a failed dial. Redialing at once would evict another of its peers, which would do the
   * same, and honest nodes sharing a full seed would churn through it every maintenance pass.
   */
  noteEvicted(peerId: string): void {
    const { reconnectBaseMs, reconnectMaxMs } = this.settings;
    for (const b of this.bootstraps) {
      if (b.peerId !== peerId) continue;
      const delay = backoffDelayMs(b.evictions++, { reconnectBaseMs, reconnectMaxMs }, () => this.host.random());
      b.nextAtMs = Math.max(b.nextAtMs, this.host.clock.now() + delay);
      this.host.log.debug('evicted by a configured peer', { addr: `${b.host}:${b.port}`, retryInMs: Math.round(delay) });
    }
  }

  private runBootstrap(b: Bootstrap, now: number): void {
    if (b.dialing || now < b.nextAtMs) return;
    if (b.peerId && this.host.isOpen(b.peerId)) return;
    b.peerId = null;
    b.dialing = true;
    this.host.dial(b.host, b.port, b.expectedId, (err) => {
      b.dialing = false;
      if (!err) return;
      const { reconnectBaseMs, reconnectMaxMs } = this.settings;
      const delay = backoffDelayMs(b.attempt++, { reconnectBaseMs, reconnectMaxMs }, () => this.host.random());
      b.nextAtMs = this.host.clock.now() + delay;
      this.host.log.debug('bootstrap dial failed', { addr: `${b.host}:${b.port}`, code: err.code, retryInMs: Math.round(delay) });
      this.host.clock.setTimer(() => this.run(false), delay + 5, true);
    });
  }
}

/** A bootstrap's address and the id pinned to it. */
function pinned(a: PinnedAddress): { host: string; port: number; expectedId: string | null } {
  return { host: a.host, port: a.port, expectedId: a.id };
}
