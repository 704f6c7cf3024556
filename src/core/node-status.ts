/**
 * A node's status as data: its open peers with their traffic and write queues, and its totals since start,
 * read from the parts that count them (the peer table, the broadcast relay and its tree, the traffic counters,
 * the turn budget). Nothing here counts; it only gathers, for `peers()`, `stats()` and the metrics read from
 * them at scrape time.
 */
import type { PeerConnection } from '../net/peer-connection.ts';
import type { TurnBudget } from '../net/turn-budget.ts';
import { listenAddressOf, type PeerTable } from '../peers/peer-table.ts';
import type { BroadcastRelay } from '../gossip/broadcast-relay.ts';
import type { GossipCore } from '../gossip/gossip-core.ts';
import type { NodeStats, PeerInfo } from './node-types.ts';
import type { TrafficCounters } from './traffic.ts';

/** The node's own counters that its totals report. */
export interface NodeCounters {
  delivered: number;
  published: number;
  relayedFrames: number;
  offences: number;
  bans: number;
}

/** The parts a node's totals are read from. */
export interface StatusSources {
  readonly table: PeerTable;
  readonly counters: NodeCounters;
  readonly broadcastRelay: BroadcastRelay;
  readonly gossip: GossipCore;
  readonly traffic: TrafficCounters;
  readonly turn: TurnBudget;
  /** Bytes waiting to be sent to all open peers together. */
  writeQueuedBytesTotal(): number;
}

/** The open peers, with their frame and byte counts and what waits to be sent to each. */
export function peerInfos(open: ReadonlyMap<string, PeerConnection>): PeerInfo[] {
  return [...open.values()].map((c) => ({
    id: c.peerId,
    addr: c.addr,
    listen: listenAddressOf(c),
    outbound: c.outbound,
    ...c.stats,
    writeQueuedBytes: c.writeQueuedBytes,
  }));
}

/** The node's totals since start. */
export function nodeStats(s: StatusSources): NodeStats {
  const t = s.table.totals();
  const { delivered, published, relayedFrames, offences, bans } = s.counters;
  const r = s.broadcastRelay.counters;
  const tree = {
    ihaveFrames: r.ihaveFrames,
    graftFrames: r.graftFrames,
    pruneFrames: r.pruneFrames,
    graftServed: r.graftServed,
    eagerDeferred: r.eagerDeferred,
    graftHeld: r.graftHeld,
    newOriginAnnounced: r.newOriginAnnounced,
    writeQueuedBytes: s.writeQueuedBytesTotal(),
    ...s.broadcastRelay.tree.sizes,
  };
  const traffic = s.traffic;
  const framesByType = { in: { ...traffic.in }, out: { ...traffic.out } };
  const bytesByType = { in: { ...traffic.bytesIn }, out: { ...traffic.bytesOut } };
  const peers = s.table.open.size;
  return { peers, delivered, published, relayedFrames, ...t, duplicates: s.gossip.counters.duplicates, offences, bans, turnsCut: s.turn.counters.turnsCut, tree, framesByType, bytesByType };
}
