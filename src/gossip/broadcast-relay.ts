/**
 * How a node sends broadcasts on: the broadcast tree (plumtree.ts), the frames kept for GRAFT requests
 * (recent-frames.ts) and the per-peer limit on serving them, behind one small port. The socket node
 * (node.ts) and the simulator's node (test/sim-net) both drive it, so the two cannot drift apart.
 *
 * It never reads a clock or sets a timer: the caller passes `now` and calls `tick()` every `lazyFlushMs`.
 */
import { HASH_BYTES, schemaLimits, type GraftMessage, type IhaveMessage, type Message, type PruneMessage } from '../wire/schema.ts';
import { toHex } from '../bytes.ts';
import { Plumtree, plumtreeDefaults, type PlumtreeOptions } from './plumtree.ts';
import { RecentFrames, type RecentFrame, type RecentFramesOptions, type TreeMessageType } from './recent-frames.ts';
import { TokenBucket } from '../token-bucket.ts';
import { optionsObject, positiveInt, positiveNumber } from '../options.ts';
import { encodeBody, framingDefaults, sealedFrameBytes } from '../wire/framing.ts';
import { StrongcastError } from '../errors.ts';

/** Options of BroadcastRelay. */
export interface BroadcastRelayOptions extends PlumtreeOptions, RecentFramesOptions {
  /** Broadcasts served to one peer in answer to its GRAFTs, per second (and as a burst). @default 2000 */
  graftServePerSec?: number;
  /** Bytes of broadcasts served to one peer in answer to its GRAFTs, per second (and as a burst). @default 8388608 (8 MiB) */
  graftServeBytesPerSec?: number;
  /**
   * Largest frame body sent (the node's own limit). An IHAVE of `ihaveIdsMax` ids and a GRAFT of `graftIdsMax`
   * must fit: unset, those two default to what fits (at most their usual defaults); set too large, refused.
   * @default 1048576 (1 MiB)
   */
  frameBytesMax?: number;
  /**
   * Peers a large broadcast (a frame of `newOriginLazyFrameBytesMin` bytes or more) of an origin with no tree
   * here yet is sent to in full; the node's other eager peers hear its id (IHAVE) and ask for it (GRAFT) if no
   * copy reached them first. A new origin's tree starts with every link eager, so without it every node sent
   * the first broadcast of every new origin to all its peers, and each node took a full copy from nearly every
   * peer (about 14 of a 256 KiB broadcast in a mesh of 16): what a sybil pays one signature for. The paper's
   * eager set starts as a small active view (Plumtree, Leitão et al. 2007, §3.1); here it is only the first
   * broadcast's. @default 4
   */
  newOriginEagerPeersMax?: number;
  /** Frame size from which `newOriginEagerPeersMax` applies, in bytes: below it an id saves little over the frame. @default 16384 (16 KiB) */
  newOriginLazyFrameBytesMin?: number;
}

/** Defaults of BroadcastRelayOptions beyond those of the tree and the frame store. */
export const broadcastRelayDefaults = {
  graftServePerSec: 2000,
  graftServeBytesPerSec: 8 * 1024 * 1024,
  newOriginEagerPeersMax: 4,
  newOriginLazyFrameBytesMin: 16 * 1024,
} as const;

/** Where the relay's frames go. */
export interface RelayPort {
  /** Sends an encoded frame of a message of `type` to an open peer; false when it is not open (or its queue is full). */
  sendFrame(peer: string, frame: Buffer, type: TreeMessageType): boolean;
  /** Encodes and sends a message to an open peer. */
  send(peer: string, msg: Message): boolean;
  /**
   * Bytes that may still be queued for writing, all connections together, before the node's total bound
   * (writeQueuedBytesTotalMax); absent: no such bound. Past it a broadcast's full frame goes only to peers
   * with nothing queued: the others hear its id instead (IHAVE) and ask for it later, and GRAFT answers wait
   * for room the same way.
   */
  writeRoom?(): number;
  /** Bytes queued for writing to `peer` (with writeRoom). */
  writeQueuedBytes?(peer: string): number;
}

/** Turns ids (hex) into the wire form: their 32-byte values concatenated. */
export function packIds(ids: readonly string[]): Uint8Array {
  const out = Buffer.allocUnsafe(ids.length * HASH_BYTES);
  ids.forEach((id, i) => out.write(id, i * HASH_BYTES, HASH_BYTES, 'hex'));
  return out;
}

/** The ids (hex) of an IHAVE or GRAFT, whose length the schema already checked. */
export function unpackIds(ids: Uint8Array): string[] {
  const b = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  const out: string[] = [];
  for (let o = 0; o < b.byteLength; o += HASH_BYTES) out.push(b.toString('hex', o, o + HASH_BYTES));
  return out;
}

/**
 * Batch sizes that fit one frame: an IHAVE or GRAFT above `frameBytesMax` would throw inside `tick` (a timer
 * callback), long after the options were accepted. A size left unset defaults to what fits; a size set too
 * large is refused.
 */
function fitIdBatches(o: BroadcastRelayOptions, frameBytesMax: number): PlumtreeOptions {
  const out: PlumtreeOptions = { ...o };
  for (const [k, t] of [['ihaveIdsMax', 'ihave'], ['graftIdsMax', 'graft']] as const) {
    const probe = schemaLimits[k];
    const overheadBytes = encodeBody({ t, ids: new Uint8Array(probe * HASH_BYTES) }).byteLength - probe * HASH_BYTES;
    const fit = Math.floor((frameBytesMax - overheadBytes) / HASH_BYTES);
    if (fit < 1) throw new StrongcastError('ERR_INVALID_OPTION', `options.frameBytesMax must be at least ${overheadBytes + HASH_BYTES}, so that one ${t} fits`);
    const v = o[k];
    if (v === undefined) out[k] = Math.min(plumtreeDefaults[k], fit);
    else if (typeof v === 'number' && v > fit && v <= probe) {
      throw new StrongcastError('ERR_INVALID_OPTION', `options.${k} must be at most ${fit}, so that one ${t} fits in options.frameBytesMax (${frameBytesMax} bytes)`);
    }
  }
  return out;
}

/** The relay half of a node's gossip: sending on, announcing, asking and answering. */
export class BroadcastRelay {
  readonly tree: Plumtree;
  /** Broadcasts' frames kept for GRAFTs. */
  readonly frames: RecentFrames;
  /**
   * Validators' outcomes' frames kept for GRAFTs, apart from broadcasts' (same limits): in one store a flood
   * of broadcasts (four of the largest frame fill its 4 MiB) pushed every outcome out before its IHAVE flush,
   * so a node whose eager feed withheld one never heard of it. Outcomes a node carries are few: one per
   * validator per start round, within the outcome window (consensus/outcome.ts OutcomeGate).
   */
  readonly outcomeFrames: RecentFrames;
  private readonly servePerSec: number;
  private readonly serveBytesPerSec: number;
  private readonly serveBuckets = new Map<string, { frames: TokenBucket; bytes: TokenBucket }>();
  private readonly newOriginEagerPeersMax: number;
  private readonly newOriginLazyFrameBytesMin: number;
  /**
   * Frames sent, by kind; GRAFT requests refused by the serve limit; full frames not sent for want of room in
   * the node's write queues (`eagerDeferred`: the id was announced instead) and GRAFTs answered later for the
   * same reason (`graftHeld`: the id was announced again); eager peers that heard only the id of a large
   * first broadcast of a new origin (`newOriginAnnounced`, newOriginEagerPeersMax).
   */
  readonly counters = { fullFrames: 0, ihaveFrames: 0, graftFrames: 0, pruneFrames: 0, graftServed: 0, graftRefused: 0, graftUnknown: 0, eagerDeferred: 0, graftHeld: 0, newOriginAnnounced: 0 };

  constructor(
    options: BroadcastRelayOptions,
    private readonly port: RelayPort,
  ) {
    optionsObject(options);
    const frameBytesMax = positiveInt(options.frameBytesMax ?? framingDefaults.frameBytesMax, 'frameBytesMax');
    this.tree = new Plumtree(fitIdBatches(options, frameBytesMax));
    this.frames = new RecentFrames(options);
    this.outcomeFrames = new RecentFrames(options);
    this.servePerSec = positiveNumber(options.graftServePerSec ?? broadcastRelayDefaults.graftServePerSec, 'graftServePerSec');
    this.serveBytesPerSec = positiveNumber(options.graftServeBytesPerSec ?? broadcastRelayDefaults.graftServeBytesPerSec, 'graftServeBytesPerSec');
    this.newOriginEagerPeersMax = positiveInt(options.newOriginEagerPeersMax ?? broadcastRelayDefaults.newOriginEagerPeersMax, 'newOriginEagerPeersMax');
    this.newOriginLazyFrameBytesMin = positiveInt(options.newOriginLazyFrameBytesMin ?? broadcastRelayDefaults.newOriginLazyFrameBytesMin, 'newOriginLazyFrameBytesMin');
    // A frame the store or the serve limit can never hold would be announced and then never served.
    for (const [k, v] of [['recentFrameBytesMax', this.frames.bytesMax], ['graftServeBytesPerSec', this.serveBytesPerSec]] as const) {
      if (v < frameBytesMax) throw new StrongcastError('ERR_INVALID_OPTION', `options.${k} must be at least options.frameBytesMax (${frameBytesMax})`);
    }
  }

  /** A peer connection opened. */
  peerUp(peer: string): void {
    this.tree.addPeer(peer);
  }

  /** A peer connection closed. */
  peerDown(peer: string): void {
    this.tree.removePeer(peer);
    this.serveBuckets.delete(peer);
  }

  /**
   * A broadcast from `origin` (key hex) is new and valid (ours when `from` is null). `frame` is its encoding
   * with the hop count it travels on; `type` 'outcome' for a validator's signed outcome, which travels down
   * its signer's tree the same way (origin: the signer's key). Returns the full frames sent.
   */
  relay(id: string, origin: string, frame: Buffer, from: string | null, skip: ReadonlySet<string>, nowMs: number, type: TreeMessageType = 'gossip'): number {
    (type === 'outcome' ? this.outcomeFrames : this.frames).add(id, frame, origin, nowMs, type);
    const bytes = sealedFrameBytes(frame.byteLength);
    // An outcome is a consensus frame, never held for room: one small frame per validator and round.
    let room = type === 'outcome' ? Number.POSITIVE_INFINITY : this.writeRoom();
    // Asked before `broadcast`, which makes the tree.
    const firstOfOrigin = type === 'gossip' && this.tree.lazyPush && frame.byteLength >= this.newOriginLazyFrameBytesMin && !this.tree.hasTree(origin);
    const eager = this.tree.broadcast(id, origin, from, skip, nowMs);
    const full = firstOfOrigin ? this.fewOf(id, eager) : null;
    let sent = 0;
    for (const p of eager) {
      if (full && !full.has(p)) {
        this.tree.announce(p, id);
        this.counters.newOriginAnnounced++;
      } else if (!this.fits(p, bytes, room)) {
        // No room left in the node's write queues: the eager peer hears the id instead, and asks if it needs it.
        this.tree.announce(p, id);
        this.counters.eagerDeferred++;
      } else if (this.port.sendFrame(p, frame, type)) {
        sent++;
        room -= bytes;
      }
    }
    this.counters.fullFrames += sent;
    return sent;
  }

  /**
   * The `newOriginEagerPeersMax` of `peers` that get a new origin's large broadcast in full, so the load of
   * first copies spreads over the links: places drawn from the id (a partial Fisher-Yates shuffle, each draw
   * from the next 32 bits of it), not a run of consecutive places. Sybils that connect one after another
   * hold consecutive places in the open order: a run of 4 from a place the id picked fell wholly on a block
   * of 16 sybils among 32 peers for 40% of honest ids; drawn apart, about as often as 4 random picks, 5%
   * (test/new-origin-few-spread.test.ts). A sender that grinds the ids of its own broadcasts to choose them
   * gains nothing but a later delivery: every other peer hears the id from here and asks if no copy came.
   */
  private fewOf(id: string, peers: readonly string[]): Set<string> {
    const k = this.newOriginEagerPeersMax;
    if (peers.length <= k) return new Set(peers);
    const order = [...peers];
    for (let i = 0; i < k; i++) {
      // 8 hex digits (32 bits) per draw, round the id again past its end, mixed with the draw's number so a
      // second round does not repeat the first's draws.
      const at = (i * 8) % (id.length - 7);
      const draw = (Number.parseInt(id.slice(at, at + 8), 16) ^ Math.imul(i, 0x9e3779b1)) >>> 0;
      const j = i + (draw % (order.length - i));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return new Set(order.slice(0, k));
  }

  /**
   * Room in the node's write queues, in bytes (writeQueuedBytesTotalMax less what waits). Unbounded in flood
   * mode, which has no IHAVE to fall back on.
   */
  private writeRoom(): number {
    return this.tree.lazyPush && this.port.writeRoom ? this.port.writeRoom() : Number.POSITIVE_INFINITY;
  }

  /**
   * Whether a full frame of `bytes` goes to `peer` with `room` left in the node's write queues. Past the
   * bound it still goes to a peer with nothing queued: a few peers that read slowly (sybils keeping their
   * queues just under writeQueueBytesMax) must not turn every other link lazy. So the queues hold at most
   * the bound and one frame per peer beyond it.
   */
  private fits(peer: string, bytes: number, room: number): boolean {
    return bytes <= room || this.port.writeQueuedBytes?.(peer) === 0;
  }

  /** A copy of the broadcast of `origin` (its key) we already had came from `peer`: the link may leave that tree, and the peer is told. */
  duplicate(peer: string, origin: Uint8Array, nowMs: number): void {
    if (this.tree.duplicate(peer, toHex(origin), nowMs) && this.port.send(peer, { t: 'prune', origin })) this.counters.pruneFrames++;
  }

  /** IHAVE from `peer`: ids we lack start the timers that may graft them. */
  onIhave(peer: string, msg: IhaveMessage, nowMs: number, known: (id: string) => boolean): void {
    this.tree.onIhave(peer, unpackIds(msg.ids), nowMs, known);
  }

  /**
   * GRAFT from `peer`: the link joins the tree and gets the frames we still hold, within its serve limit and
   * within the room in the node's write queues; an id there is no room for now is announced again (IHAVE at
   * the next flush), so the peer asks again once the queues have drained, or gets it elsewhere meanwhile.
   */
  onGraft(peer: string, msg: GraftMessage, nowMs: number): void {
    let bucket = this.serveBuckets.get(peer);
    if (!bucket) {
      bucket = {
        frames: new TokenBucket({ ratePerSec: this.servePerSec, burst: this.servePerSec }, nowMs),
        bytes: new TokenBucket({ ratePerSec: this.serveBytesPerSec, burst: this.serveBytesPerSec }, nowMs),
      };
      this.serveBuckets.set(peer, bucket);
    }
    let room = this.writeRoom();
    // An id asked twice in one GRAFT is served once: repeating it would turn one small frame into many large ones.
    for (const id of new Set(unpackIds(msg.ids))) {
      const kept = this.held(id, nowMs);
      if (!kept) {
        this.counters.graftUnknown++;
        continue;
      }
      const bytes = sealedFrameBytes(kept.frame.byteLength);
      // Before the serve limit: an answer held for room costs the peer none of its allowance. An outcome is
      // a consensus frame and never held.
      if (kept.type !== 'outcome' && !this.fits(peer, bytes, room)) {
        this.tree.announce(peer, id);
        this.counters.graftHeld++;
        continue;
      }
      if (!bucket.frames.take(1, nowMs) || !bucket.bytes.take(kept.frame.byteLength, nowMs)) {
        this.counters.graftRefused++;
        continue;
      }
      this.tree.onGraft(peer, kept.origin);
      if (this.port.sendFrame(peer, kept.frame, kept.type)) {
        this.counters.graftServed++;
        room -= bytes;
      }
    }
  }

  /** PRUNE from `peer`. */
  onPrune(peer: string, msg: PruneMessage): void {
    this.tree.onPrune(peer, toHex(msg.origin));
  }

  /**
   * A broadcast failed its signature check: `senders` (who sent copies while it was checked, the forger among
   * them) may hold the genuine one, which was dropped as a duplicate of the forgery. Each other sender counts
   * as having announced it, so it is asked for (GRAFT) unless it turns up first.
   */
  verifyFailed(id: string, senders: Iterable<string>, forger: string, nowMs: number): void {
    for (const s of senders) if (s !== forger) this.tree.onIhave(s, [id], nowMs, () => false);
  }

  /** The kept frame of `id`, a broadcast's or an outcome's. */
  held(id: string, nowMs: number): RecentFrame | undefined {
    return this.frames.get(id, nowMs) ?? this.outcomeFrames.get(id, nowMs);
  }

  /**
   * Sends queued announcements and overdue requests. Call every `tree.settings.lazyFlushMs`; `known` says
   * which ids arrived and are being verified (not asked for). Ids whose frame the store no longer holds are
   * not announced: a GRAFT for them could not be served.
   */
  tick(nowMs: number, known?: (id: string) => boolean): void {
    const out = this.tree.tick(nowMs, known);
    for (const { peer, ids: queued } of out.ihave) {
      const ids = queued.filter((id) => this.held(id, nowMs) !== undefined);
      if (ids.length > 0 && this.port.send(peer, { t: 'ihave', ids: packIds(ids) })) this.counters.ihaveFrames++;
    }
    for (const { peer, ids } of out.graft) if (this.port.send(peer, { t: 'graft', ids: packIds(ids) })) this.counters.graftFrames++;
  }
}
