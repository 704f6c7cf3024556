/**
 * Which inbound connections may be in their handshake (issue 16, item 1). Every source shares one pool of
 * handshakesPendingMax; within it one IP holds at most handshakesPendingPerIpMax and one network group at
 * most handshakesPendingPerNetGroupMax, and one IP or group has at most connectionsPerIpMax or
 * connectionsPerNetGroupMax inbound connections, in their handshake or open. The node's own dials are not
 * counted: they have their own budget (dialsPendingMax). Pure: the peer table passes the inbound connections
 * it has and acts on the answer.
 *
 * A newcomer beyond its IP's share is refused: one address is one operator, and it already holds what it may.
 * A newcomer beyond its group's share, or arriving at a full pool, is let in, and the oldest handshake of its
 * group, or of the group holding the most of the pool, is cut to make room. So connections that stall cannot
 * keep an honest joiner out, and a flood from one group displaces only itself. (libp2p's
 * maxIncomingPendingConnections refuses the newcomer instead, which lets stalled connections win; Bitcoin
 * Core's eviction counts peers by network group, as peers/eviction.ts does for open peers.)
 */
import { assert } from '../errors.ts';

/** The caps admission applies, all counts of inbound connections. */
export interface SlotLimits {
  handshakesPendingMax: number;
  handshakesPendingPerIpMax: number;
  handshakesPendingPerNetGroupMax: number;
  connectionsPerIpMax: number;
  connectionsPerNetGroupMax: number;
}

/** An inbound connection as admission sees it. */
export interface InboundEntry {
  /** Its IP, normalized (peers/net-group.ts normalizeHost). */
  ip: string;
  /** Its network group (peers/net-group.ts netGroup). */
  group: string;
  /** True while it is in its handshake; false once open. */
  pending: boolean;
}

/** The connection asking to come in. */
export interface Newcomer {
  ip: string;
  group: string;
  /** Whether the per-IP and per-group caps apply to it (loopback is exempt unless the node says otherwise). */
  capped: boolean;
  /** Its IP's inbound handshake timed out lately (handshake-strikes.ts): it may hold one handshake at a time. */
  struck: boolean;
}

/** Admission's answer: refused, naming the cap; or admitted, with the handshake to cut for it, if any. */
export type Admission<T> = { admit: false; limit: keyof SlotLimits } | { admit: true; evict: T | null };

/**
 * Whether `newcomer` may start a handshake, given the node's inbound connections (`inbound`, oldest first),
 * and which handshake in progress makes room for it.
 */
export function admitInbound<T extends InboundEntry>(newcomer: Newcomer, inbound: readonly T[], limits: SlotLimits): Admission<T> {
  const pending = inbound.filter((c) => c.pending);
  if (newcomer.capped) {
    const capped = admitWithinShares(newcomer, inbound, pending, limits);
    if (capped) return capped;
  }
  if (pending.length < limits.handshakesPendingMax) return { admit: true, evict: null };
  return { admit: true, evict: poolVictim(pending, newcomer.group) };
}

/** The per-IP and per-group rules; null when the newcomer is within every share. */
function admitWithinShares<T extends InboundEntry>(n: Newcomer, inbound: readonly T[], pending: readonly T[], limits: SlotLimits): Admission<T> | null {
  const fromIp = inbound.filter((c) => c.ip === n.ip);
  if (fromIp.length >= limits.connectionsPerIpMax) return { admit: false, limit: 'connectionsPerIpMax' };
  const ipPendingMax = n.struck ? 1 : limits.handshakesPendingPerIpMax;
  if (fromIp.filter((c) => c.pending).length >= ipPendingMax) return { admit: false, limit: 'handshakesPendingPerIpMax' };
  const groupPending = pending.filter((c) => c.group === n.group);
  const overConnections = inbound.filter((c) => c.group === n.group).length >= limits.connectionsPerNetGroupMax;
  if (!overConnections && groupPending.length < limits.handshakesPendingPerNetGroupMax) return null;
  // The group's oldest handshake makes room; when all of the group's connections are open, none can.
  const oldest = groupPending[0];
  if (oldest === undefined) return { admit: false, limit: 'connectionsPerNetGroupMax' };
  return { admit: true, evict: oldest };
}

/**
 * The handshake a full pool cuts: the oldest of the network group holding the most handshakes, the newcomer
 * counted in its own; between groups holding as many, the one whose oldest handshake is older.
 */
function poolVictim<T extends InboundEntry>(pending: readonly T[], newcomerGroup: string): T {
  const groups = new Map<string, { count: number; oldest: T }>();
  for (const c of pending) {
    const g = groups.get(c.group);
    if (g) g.count++;
    else groups.set(c.group, { count: 1, oldest: c });
  }
  const own = groups.get(newcomerGroup);
  if (own) own.count++;
  // `pending` is oldest first, so the first group met with the top count has the oldest handshake among them
  let best: { count: number; oldest: T } | null = null;
  for (const g of groups.values()) if (best === null || g.count > best.count) best = g;
  assert(best !== null, 'a full pool holds at least one handshake');
  return best.oldest;
}
