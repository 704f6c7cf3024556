/**
 * Options of a node, their defaults and their validation, in one place. Every limit a peer could push
 * against has a named default here, is enforced by the node, and is tested at its edge.
 */
import { StrongcastError } from '../errors.ts';
import { framingDefaults } from '../wire/framing.ts';
import type { GossipOptions } from '../gossip/gossip-core.ts';
import type { BroadcastRelayOptions } from '../gossip/broadcast-relay.ts';
import { peerScoreDefaults } from '../peers/peer-score.ts';
import { backoffDefaults } from '../peers/backoff.ts';
import { turnBudgetDefaults } from '../net/turn-budget.ts';
import { handshakeRateDefaults } from '../peers/handshake-rate.ts';
import { handshakeStrikeDefaults } from '../peers/handshake-strikes.ts';
import { sourceChurnDefaults } from '../peers/source-churn.ts';
import { positiveInt, nonNegativeInt, positiveNumber } from '../options.ts';
import type { Identity } from '../crypto/keys.ts';
import type { PeerAddress } from '../wire/schema.ts';
import { snapshotProblem, type AddressBookSnapshot } from '../peers/address-book-snapshot.ts';
import type { Verifier } from '../crypto/verifier.ts';
import type { Logger } from '../log.ts';
import type { Clock } from '../io/clock.ts';
import type { Random } from '../io/random.ts';
import type { Transport } from '../io/transport.ts';

/** Default network id: nodes only talk to nodes with the same id. */
export const DEFAULT_NETWORK_ID = 'strongcast-dev';

/** Everything a node can be told; every field is optional. */
export interface NodeOptions extends GossipOptions, BroadcastRelayOptions {
  /** Address to listen on. @default '0.0.0.0' */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Host to tell peers we listen on; a peer uses the address it sees us from when this is ''. @default '' */
  advertiseHost?: string;
  /** Network id; peers on another id are refused. @default 'strongcast-dev' */
  networkId?: string;
  /** The node's key pair (its id). @default a fresh random identity */
  identity?: Identity;
  /**
   * Peers to dial at start and to keep reconnecting to, as 'host:port', or 'id@host:port' to accept only the
   * node that proves that id (64 hex characters) in the handshake. @default []
   */
  peers?: string[];
  /** Most open connections, inbound and outbound together. @default 32 */
  maxPeers?: number;
  /** Open connections the node tries to keep by dialing addresses learned from peers. @default 8 */
  targetPeers?: number;
  /**
   * Of the maxPeers slots, how many only our own dials may use: inbound peers hold at most maxPeers minus
   * this many, so sybils that connect to us cannot take every slot (Bitcoin Core reserves its outbound
   * slots the same way). 0 reserves none. @default 8, or a quarter of maxPeers when that is less
   */
  outboundSlotsMin?: number;
  /**
   * Inbound connections in their handshake at once, from every source together; the node's own dials are
   * not counted (dialsPendingMax bounds them). A newcomer to a full pool takes the place of the oldest
   * handshake of the network group holding the most of it (ERR_HANDSHAKE_EVICTED), so stalled connections
   * cannot keep an honest node out. @default 64
   */
  handshakesPendingMax?: number;
  /**
   * Of those, how many one IP may hold; one more from it is refused at once (one in all while its latest
   * handshake timed out within handshakeStrikeMs). Not applied to loopback unless ipLimitsOnLoopback. @default 4
   */
  handshakesPendingPerIpMax?: number;
  /**
   * Of those, how many one network group (/16 of IPv4, /32 of IPv6) may hold; a newcomer beyond takes the
   * place of the group's oldest handshake. Not applied to loopback unless ipLimitsOnLoopback. @default 16
   */
  handshakesPendingPerNetGroupMax?: number;
  /**
   * Inbound connections from one IP, in their handshake or open; one more is refused at once. Not applied to
   * loopback unless ipLimitsOnLoopback. @default 8
   */
  connectionsPerIpMax?: number;
  /**
   * Inbound connections from one network group, in their handshake or open; a newcomer beyond takes the place
   * of the group's oldest handshake, or is refused when all of them are open. Not applied to loopback unless
   * ipLimitsOnLoopback. @default 16
   */
  connectionsPerNetGroupMax?: number;
  /**
   * Time an inbound connection has to send its first whole handshake message, in ms; one that sends nothing
   * is cut then (ERR_HANDSHAKE_TIMEOUT) rather than after handshakeTimeoutMs. An honest dialer sends it as
   * soon as it is connected. @default 2000, or handshakeTimeoutMs when that is less
   */
  handshakeFirstMessageTimeoutMs?: number;
  /**
   * How long an IP whose inbound handshake timed out is held to one handshake at a time, in ms: a light mark,
   * never a ban (an honest slow peer still gets through). Not applied to loopback unless ipLimitsOnLoopback.
   * @default 60000
   */
  handshakeStrikeMs?: number;
  /** IPs marked for a handshake timeout that the node remembers; beyond it the oldest mark is forgotten. @default 4096 */
  handshakeStrikeIpsMax?: number;
  /**
   * Inbound handshakes that do not complete one source address (its exact address, IPv4 or IPv6) may start per
   * second, after a burst of handshakesPendingPerIpMax; one more is refused at once (peers/handshake-rate.ts;
   * a handshake that completes gives its start back). The pool's shares bound the handshakes a source holds
   * at once, not how fast it replaces them: without it, connections that stall were replaced as fast as an
   * attacker could dial, each one a connection's objects and a Noise reply. Not applied to loopback unless
   * ipLimitsOnLoopback. @default 1
   */
  handshakesPerIpPerSec?: number;
  /** Source addresses whose handshake rate the node keeps; beyond it the one that started a handshake least recently is forgotten. @default 4096 */
  handshakeRateSourcesMax?: number;
  /**
   * Half-life of the count of new inbound peers per source address (IPv4, IPv6 /64), in ms. When a full
   * table must evict and the largest network groups tie, the peer whose address keeps coming back (more than
   * arrivalsFree times lately) goes first, so sybils replaced as soon as they are cut evict each other rather
   * than the honest node that joined last. @default 600000
   */
  arrivalsHalfLifeMs?: number;
  /** Source addresses whose arrivals are counted; beyond it the one that arrived least recently is forgotten. @default 4096 */
  arrivalsSourcesMax?: number;
  /** Arrivals from one address lately that never count against it (an honest node's reconnects). @default 2 */
  arrivalsFree?: number;
  /**
   * Whether the per-IP and per-group caps (handshakesPendingPerIpMax, handshakesPendingPerNetGroupMax,
   * connectionsPerIpMax, connectionsPerNetGroupMax) and handshake-timeout marks apply to loopback addresses
   * too. Off by default, as IP bans are: tests, testnets and benchmarks run many nodes on one machine behind
   * 127.0.0.1, and a process on this machine is not the adversary these caps are for. Tests of the caps turn
   * it on and dial from 127.x.y.z addresses (every one is loopback on Linux). @default false
   */
  ipLimitsOnLoopback?: boolean;
  /**
   * Outbound dials to learned addresses in progress at once (connecting or in their handshake), so peer
   * exchange cannot make the node dial without bound; they never take inbound handshake slots. @default 8
   */
  dialsPendingMax?: number;
  /**
   * How long a `getpeers` we sent waits for its one `peers` reply, in ms; a reply nobody asked for, or a
   * late one, is dropped and scored lightly (ERR_UNSOLICITED). @default 5000
   */
  peersReplyTimeoutMs?: number;
  /** Largest frame body accepted or sent, in bytes. @default 1048576 (1 MiB) */
  frameBytesMax?: number;
  /** Time a handshake may take, in ms. @default 5000 */
  handshakeTimeoutMs?: number;
  /** Interval between pings on an idle connection, in ms. @default 5000 */
  pingIntervalMs?: number;
  /** A peer silent for this long is disconnected, in ms. @default 20000 */
  idleTimeoutMs?: number;
  /**
   * Bytes queued for one slow peer before it is dropped. A validator or observer refuses a node whose limit
   * cannot hold one round in which every validator of its genesis mines (consensus/frame-bound.ts): the
   * default does up to 429 validators with the default f. @default 8388608 (8 MiB)
   */
  writeQueueBytesMax?: number;
  /**
   * Bytes queued for writing across all connections together (each peer's as writeQueueBytesMax counts them)
   * beyond which a broadcast's full frame goes only to peers with nothing queued: the others hear its id
   * instead (IHAVE) and ask for it once there is room (GRAFT), and GRAFT answers wait for room the same way.
   * So broadcasts hold at most this and one frame per peer beyond it; a peer that reads slowly gets ids, and
   * does not hold up the others. Consensus frames (chains, outcomes, catch-up) are never held back by it, and
   * count in it. Bounds what a burst of large broadcasts relayed to every peer at once costs in memory, where
   * writeQueueBytesMax alone allows it times maxPeers. In 'flood' gossip mode (no IHAVE) it does not apply.
   * @default 4194304 (4 MiB)
   */
  writeQueuedBytesTotalMax?: number;
  /**
   * Bytes the link to one peer may hold (what its socket has not yet passed to the kernel) before this node
   * stops handing it frames; the rest wait unsealed, consensus frames (chains, outcomes, catch-up) ahead of
   * broadcasts, and go as the link drains. So a chain sent to a peer that takes frames slower than they come
   * waits behind at most this many bytes of broadcasts (and the kernel's buffers), not behind the whole write
   * queue. Counted with them against writeQueueBytesMax, which it must not exceed. @default 65536 (64 KiB)
   */
  socketQueuedBytesTarget?: number;
  /**
   * Frames for one peer leave at most once per this many ms while traffic is steady (an idle link writes at
   * once), so a busy link carries several broadcasts per system call and per wake-up of the peer; 0 writes
   * once per event-loop iteration. Within one long iteration (a large read batch verified inline) frames
   * held this long, or 1 ms with 0, are written at once rather than at its end. @default 2
   */
  writeCoalesceMs?: number;
  /**
   * Work one event-loop turn may do on received frames before the rest waits for a later turn, in ms; the
   * connections with frames waiting then take turns, a slice each. Bounds how long timers, keepalives and
   * writes wait behind a read backlog under overload. @default 50
   */
  turnWorkMsMax?: number;
  /**
   * Frames a connection handles each time its turn comes round while other connections have frames waiting;
   * then it goes to the back of the queue (round robin), so a peer that sends little is served within a round
   * however much others send. @default 64
   */
  turnQuantumFrames?: number;
  /** Messages a peer may send per second (sustained). @default 5000 */
  peerMsgsPerSec?: number;
  /** Messages a peer may send in a burst. @default 10000 */
  peerMsgsBurst?: number;
  /** Bytes a peer may send per second (sustained). @default 16777216 (16 MiB) */
  peerBytesPerSec?: number;
  /** Bytes a peer may send in a burst. @default 33554432 (32 MiB) */
  peerBytesBurst?: number;
  /** Messages from one peer awaiting verification, each class apart (broadcasts; chains and outcomes), before its socket is paused. @default 512 */
  peerInflightMax?: number;
  /** Addresses remembered from peer exchange. @default 1000 */
  knownAddressesMax?: number;
  /** Interval of the peer-maintenance loop (dial to target, ask for peers), in ms. @default 2000 */
  maintainIntervalMs?: number;
  /** Misbehaviour score at which a peer is banned. @default 100 */
  banScore?: number;
  /** How long a ban lasts, in ms. @default 600000 */
  banMs?: number;
  /**
   * Keys banned from one IP within banMs that ban the IP itself, for banMs (keys are free: without it a banned
   * sender comes back at once under a new key). 0: an IP is never banned for its keys. Not applied to loopback
   * unless ipLimitsOnLoopback; off with banIps false. @default 2
   */
  keyBansPerIpMax?: number;
  /** First reconnect delay, in ms. @default 250 */
  reconnectBaseMs?: number;
  /** Longest reconnect delay, in ms. @default 30000 */
  reconnectMaxMs?: number;
  /** Peer addresses remembered from an earlier run (e.g. a data directory), dialed like exchanged ones. @default [] */
  knownPeers?: PeerAddress[];
  /**
   * The address book of an earlier run (`node.addressBookSnapshot()`): its bucket key and its new and tried
   * tables, restored as they were, so the addresses this node reached stay tried across a restart (knownPeers
   * only ever adds new ones). Entries beyond what the tables hold (a smaller knownAddressesMax) are dropped.
   * @default none: a fresh key and empty tables
   */
  addressBook?: AddressBookSnapshot;
  /** Whether the node asks peers for addresses and dials them to reach targetPeers. @default true */
  peerExchange?: boolean;
  /** Whether misbehaviour before a handshake bans the remote IP; loopback addresses are never IP-banned. @default true */
  banIps?: boolean;
  /** Signature verifier (the worker pool in production). @default a main-thread verifier */
  verifier?: Verifier;
  /** Where logs go. @default silent */
  log?: Logger;
  /** Clock in ms, for a node whose clock should read differently (tests); ignored when `clock` is given. @default Date.now */
  now?: () => number;
  /** How the node listens and dials. @default TCP */
  transport?: Transport;
  /** Time and timers. @default the system clock (reading `now` when given) */
  clock?: Clock;
  /** Randomness: handshake nonces, jitter, random choices. @default the system's */
  random?: Random;
}

/** The resolved numeric limits. */
export interface NodeLimits {
  maxPeers: number;
  targetPeers: number;
  outboundSlotsMin: number;
  handshakesPendingMax: number;
  handshakesPendingPerIpMax: number;
  handshakesPendingPerNetGroupMax: number;
  connectionsPerIpMax: number;
  connectionsPerNetGroupMax: number;
  handshakeFirstMessageTimeoutMs: number;
  handshakeStrikeMs: number;
  handshakeStrikeIpsMax: number;
  handshakesPerIpPerSec: number;
  handshakeRateSourcesMax: number;
  arrivalsHalfLifeMs: number;
  arrivalsSourcesMax: number;
  arrivalsFree: number;
  dialsPendingMax: number;
  peersReplyTimeoutMs: number;
  frameBytesMax: number;
  handshakeTimeoutMs: number;
  pingIntervalMs: number;
  idleTimeoutMs: number;
  writeQueueBytesMax: number;
  writeQueuedBytesTotalMax: number;
  socketQueuedBytesTarget: number;
  writeCoalesceMs: number;
  turnWorkMsMax: number;
  turnQuantumFrames: number;
  peerMsgsPerSec: number;
  peerMsgsBurst: number;
  peerBytesPerSec: number;
  peerBytesBurst: number;
  peerInflightMax: number;
  knownAddressesMax: number;
  maintainIntervalMs: number;
  banScore: number;
  banMs: number;
  keyBansPerIpMax: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
}

/** Defaults of every numeric limit. */
export const nodeDefaults: NodeLimits = {
  maxPeers: 32,
  targetPeers: 8,
  outboundSlotsMin: 8,
  handshakesPendingMax: 64,
  handshakesPendingPerIpMax: 4,
  handshakesPendingPerNetGroupMax: 16,
  connectionsPerIpMax: 8,
  connectionsPerNetGroupMax: 16,
  handshakeFirstMessageTimeoutMs: 2000,
  handshakeStrikeMs: handshakeStrikeDefaults.handshakeStrikeMs,
  handshakeStrikeIpsMax: handshakeStrikeDefaults.handshakeStrikeIpsMax,
  handshakesPerIpPerSec: handshakeRateDefaults.handshakesPerIpPerSec,
  handshakeRateSourcesMax: handshakeRateDefaults.handshakeRateSourcesMax,
  arrivalsHalfLifeMs: sourceChurnDefaults.arrivalsHalfLifeMs,
  arrivalsSourcesMax: sourceChurnDefaults.arrivalsSourcesMax,
  arrivalsFree: sourceChurnDefaults.arrivalsFree,
  dialsPendingMax: 8,
  peersReplyTimeoutMs: 5000,
  frameBytesMax: framingDefaults.frameBytesMax,
  handshakeTimeoutMs: 5000,
  pingIntervalMs: 5000,
  idleTimeoutMs: 20_000,
  writeQueueBytesMax: 8 * 1024 * 1024,
  writeQueuedBytesTotalMax: 4 * 1024 * 1024,
  socketQueuedBytesTarget: 64 * 1024,
  writeCoalesceMs: 2,
  turnWorkMsMax: turnBudgetDefaults.turnWorkMsMax,
  turnQuantumFrames: turnBudgetDefaults.turnQuantumFrames,
  peerMsgsPerSec: 5000,
  peerMsgsBurst: 10_000,
  peerBytesPerSec: 16 * 1024 * 1024,
  peerBytesBurst: 32 * 1024 * 1024,
  peerInflightMax: 512,
  knownAddressesMax: 1000,
  maintainIntervalMs: 2000,
  banScore: peerScoreDefaults.banScore,
  banMs: peerScoreDefaults.banMs,
  keyBansPerIpMax: 2,
  reconnectBaseMs: backoffDefaults.reconnectBaseMs,
  reconnectMaxMs: backoffDefaults.reconnectMaxMs,
};

/** Parses 'host:port' or '[v6]:port'. @throws ERR_INVALID_OPTION naming the bad address. */
export function parseHostPort(s: string, what = 'peer address'): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s.trim()) ?? /^([^:\s]+):(\d+)$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StrongcastError('ERR_INVALID_OPTION', `${what} '${s}' must be HOST:PORT with a port in 1..65535`);
  }
  return { host: m[1], port };
}

/** A peer address as the options, the CLI and `connect` take it: HOST:PORT, or ID@HOST:PORT with a pinned id. */
export interface PinnedAddress {
  host: string;
  port: number;
  /** The id (lower-case hex) the node at the address must prove, or null. */
  id: string | null;
}

/**
 * Reads 'host:port' or 'id@host:port' (the id: 64 hex characters, an Ed25519 public key).
 * @throws StrongcastError ERR_INVALID_OPTION naming the entry and what is wrong
 */
export function parsePeerAddress(s: string, what = 'peer address'): PinnedAddress {
  const at = s.indexOf('@');
  if (at < 0) return { ...parseHostPort(s, what), id: null };
  const id = s.slice(0, at).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(id)) {
    throw new StrongcastError('ERR_INVALID_OPTION', `${what} '${s}' must be HOST:PORT or ID@HOST:PORT with an ID of 64 hex characters`);
  }
  const hostPort = s.slice(at + 1);
  try {
    return { ...parseHostPort(hostPort, what), id: id.toLowerCase() };
  } catch {
    throw new StrongcastError('ERR_INVALID_OPTION', `${what} '${s}' must be ID@HOST:PORT with a port in 1..65535`);
  }
}

/** Limits for which 0 means something (flush every iteration; reserve no slot). */
const zeroAllowed: ReadonlySet<keyof NodeLimits> = new Set(['writeCoalesceMs', 'outboundSlotsMin', 'keyBansPerIpMax']);

/** Validates the numeric options once, naming the field of the first bad one. */
export function resolveLimits(o: NodeOptions): NodeLimits {
  const out = {} as NodeLimits;
  for (const key of Object.keys(nodeDefaults) as (keyof NodeLimits)[]) {
    const v = o[key] ?? nodeDefaults[key];
    out[key] = key.endsWith('PerSec') ? positiveNumber(v, key) : zeroAllowed.has(key) ? nonNegativeInt(v, key) : positiveInt(v, key);
  }
  // A small table keeps most of its slots open to inbound peers unless told otherwise.
  if (o.outboundSlotsMin === undefined) out.outboundSlotsMin = Math.min(nodeDefaults.outboundSlotsMin, Math.floor(out.maxPeers / 4));
  if (out.outboundSlotsMin >= out.maxPeers) {
    throw new StrongcastError('ERR_INVALID_OPTION', 'options.outboundSlotsMin must be below options.maxPeers');
  }
  // A short handshake budget shortens the wait for the first message with it unless told otherwise.
  if (o.handshakeFirstMessageTimeoutMs === undefined) out.handshakeFirstMessageTimeoutMs = Math.min(out.handshakeFirstMessageTimeoutMs, out.handshakeTimeoutMs);
  if (out.handshakeFirstMessageTimeoutMs > out.handshakeTimeoutMs) {
    throw new StrongcastError('ERR_INVALID_OPTION', 'options.handshakeFirstMessageTimeoutMs must not exceed options.handshakeTimeoutMs');
  }
  // A small write queue lowers the target with it unless told otherwise.
  if (o.socketQueuedBytesTarget === undefined) out.socketQueuedBytesTarget = Math.min(out.socketQueuedBytesTarget, out.writeQueueBytesMax);
  if (out.socketQueuedBytesTarget > out.writeQueueBytesMax) {
    throw new StrongcastError('ERR_INVALID_OPTION', 'options.socketQueuedBytesTarget must not exceed options.writeQueueBytesMax');
  }
  if (out.writeCoalesceMs >= out.pingIntervalMs) {
    throw new StrongcastError('ERR_INVALID_OPTION', 'options.writeCoalesceMs must be below options.pingIntervalMs');
  }
  if (out.targetPeers > out.maxPeers) {
    throw new StrongcastError('ERR_INVALID_OPTION', 'options.targetPeers must not exceed options.maxPeers');
  }
  return out;
}

/**
 * Checks options.addressBook, naming the bad field (`options.addressBook.entries[2].table must be ...`).
 * @throws StrongcastError ERR_INVALID_OPTION
 */
export function checkAddressBookOption(book: unknown): AddressBookSnapshot | undefined {
  if (book === undefined) return undefined;
  const bad = snapshotProblem(book);
  if (bad !== null) throw new StrongcastError('ERR_INVALID_OPTION', `options.addressBook${bad.startsWith('must') ? ' ' : '.'}${bad}`);
  return book as AddressBookSnapshot;
}

/** Validates the listening port (0 = any free port). */
export function resolvePort(port: number | undefined): number {
  const p = nonNegativeInt(port ?? 0, 'port');
  if (p > 65535) throw new StrongcastError('ERR_INVALID_OPTION', 'options.port must be in 0..65535');
  return p;
}
