/**
 * Epidemic broadcast trees (Plumtree: Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007),
 * as pure code: which peers get a broadcast in full (eager), which only hear its id (lazy), and when to ask
 * for a message we heard of but never got. Time is passed in; no sockets, no timers.
 *
 * Why: flooding a mesh of degree d makes every node receive every message about d-1 times over, and each
 * copy costs a frame, a decode and a hash even though only the first is verified. With Plumtree the eager
 * links settle into a spanning tree (a node that receives a copy it already has prunes that link to lazy),
 * so each node receives one full copy, and the other links carry only batched ids (IHAVE). A message that
 * is announced but does not arrive within `graftTimeoutMs` is asked for (GRAFT), and the peer asked sends
 * that origin's broadcasts in full again: the tree repairs itself after a node or link fails (§3.5).
 *
 * `treeRedundancy` (default 2) lets up to that many peers keep feeding a node each origin's broadcasts, so a
 * node takes the faster of two paths and one slow or withholding node does not hold everything behind it
 * until a GRAFT. Then each node picks its own feeds: its PRUNE stops only what the pruned peer sends it, and
 * what it sends changes only when a peer prunes it or asks (GRAFT). With 1 it is the paper's tree, where a
 * pruned link turns lazy both ways and the link a first copy came over becomes eager.
 *
 * One tree per origin (as Riak's plumtree keeps eager and lazy sets per root): a tree shared by every origin
 * falls apart under concurrent broadcasts, because each message prunes the links its own copies crossed and
 * together they cut the tree, so most messages then wait for a GRAFT. A tree here is just the set of peers
 * pruned for that origin; every other open peer is eager, so a new peer starts eager in every tree. Trees
 * are created only by valid broadcasts (never by a peer's PRUNE) and at most `treeOriginsMax` are kept, the
 * least recently used dropped first (its origin is then flooded once and pruned again).
 *
 * Consensus chains never use the tree (node.ts floods them): Dolev-Strong's round timing must not wait for a
 * repair.
 */
import { StrongcastError } from '../errors.ts';
import { optionsObject, positiveInt } from '../options.ts';
import { schemaLimits } from '../wire/schema.ts';

/** How a node relays gossip. */
export type GossipMode = 'tree' | 'flood';

/** Tunable limits of the broadcast tree. */
export interface PlumtreeOptions {
  /** 'tree': Plumtree eager/lazy push; 'flood': every message to every peer (no IHAVE, GRAFT or PRUNE). @default 'tree' */
  gossipMode?: GossipMode;
  /**
   * How often queued ids are announced to lazy peers and overdue messages are asked for, in ms. Each flush
   * is a frame per lazy peer and a wake-up of that peer, so on 16 nodes sharing 2 cores 100 ms cost less CPU
   * and gave lower latency than 20 ms; it delays only the repair path. @default 100
   */
  lazyFlushMs?: number;
  /** How long an announced message may be missing before it is asked for, in ms. @default 150 */
  graftTimeoutMs?: number;
  /**
   * After a GRAFT, how long before the next announcers are asked, in ms: one, then two, four and so on at
   * once, so announcers that never serve (a Byzantine peer's IHAVE) delay a message by a few retries however
   * many of them came first, not by one retry each. @default 100
   */
  graftRetryMs?: number;
  /** Ids in one IHAVE frame (more are sent in the next). @default 512 */
  ihaveIdsMax?: number;
  /** Ids in one GRAFT frame. @default 64 */
  graftIdsMax?: number;
  /** Ids queued for one lazy peer; beyond it the oldest announcements are dropped. @default 8192 */
  lazyQueueIdsMax?: number;
  /** Announced-but-missing messages tracked at once, all peers together; more announcements are ignored. @default 16384 */
  missingEntriesMax?: number;
  /**
   * Missing messages one peer's announcements may open, so a peer announcing ids it never serves cannot fill
   * the table and crowd out honest announcements. @default 1024
   */
  missingPerPeerMax?: number;
  /**
   * Peers remembered as announcers of one missing message. An announcement beyond it is lost (the announcer
   * does not repeat it), so peers that announce first and never serve could crowd out the one honest peer
   * that holds the message: the node sets it to its maxPeers, so every open peer's word is kept. @default 32
   */
  announcersPerIdMax?: number;
  /** Origins whose tree is kept; beyond it the least recently used tree is dropped. @default 1024 */
  treeOriginsMax?: number;
  /**
   * Peers that may keep sending us each origin's broadcasts in full (a duplicate from one more is pruned).
   * 1 is the paper's single tree; 2 costs about one duplicate per delivery and takes the faster of two paths,
   * so one slow, paused or withholding node on a path no longer holds everything behind it until a GRAFT.
   * @default 2
   */
  treeRedundancy?: number;
  /**
   * A peer told to PRUNE is not told again for this long, in ms, however many copies it sends meanwhile: a
   * busy peer reads our PRUNE only after its own backlog, and answering each copy in between would add a frame
   * per copy to that backlog. @default 1000
   */
  pruneRepeatMs?: number;
}

/** A peer that sent a copy of an origin's broadcast within this long still counts as feeding that origin, in ms. */
const feedWindowMs = 5000;

/** Defaults of PlumtreeOptions. */
export const plumtreeDefaults = {
  gossipMode: 'tree',
  lazyFlushMs: 100,
  graftTimeoutMs: 150,
  graftRetryMs: 100,
  ihaveIdsMax: 512,
  graftIdsMax: 64,
  lazyQueueIdsMax: 8192,
  missingEntriesMax: 16_384,
  missingPerPeerMax: 1024,
  announcersPerIdMax: 32,
  treeOriginsMax: 1024,
  treeRedundancy: 2,
  pruneRepeatMs: 1000,
} as const;

/** Resolved options. */
export type PlumtreeSettings = { [K in keyof typeof plumtreeDefaults]: K extends 'gossipMode' ? GossipMode : number };

/** Validates and fills PlumtreeOptions. @throws StrongcastError ERR_INVALID_OPTION naming the field */
export function resolvePlumtree(o: PlumtreeOptions): PlumtreeSettings {
  optionsObject(o);
  o ??= {};
  const mode = o.gossipMode ?? plumtreeDefaults.gossipMode;
  if (mode !== 'tree' && mode !== 'flood') {
    const got = typeof mode === 'string' ? JSON.stringify(mode) : typeof mode;
    throw new StrongcastError('ERR_INVALID_OPTION', `options.gossipMode must be 'tree' or 'flood', got ${got}`);
  }
  const int = (k: Exclude<keyof PlumtreeSettings, 'gossipMode'>, max = Number.MAX_SAFE_INTEGER): number => {
    const v = positiveInt(o[k] ?? plumtreeDefaults[k], k);
    if (v > max) throw new StrongcastError('ERR_INVALID_OPTION', `options.${k} must be at most ${max} (the wire limit)`);
    return v;
  };
  return {
    gossipMode: mode,
    lazyFlushMs: int('lazyFlushMs'),
    graftTimeoutMs: int('graftTimeoutMs'),
    graftRetryMs: int('graftRetryMs'),
    ihaveIdsMax: int('ihaveIdsMax', schemaLimits.ihaveIdsMax),
    graftIdsMax: int('graftIdsMax', schemaLimits.graftIdsMax),
    lazyQueueIdsMax: int('lazyQueueIdsMax'),
    missingEntriesMax: int('missingEntriesMax'),
    missingPerPeerMax: int('missingPerPeerMax'),
    announcersPerIdMax: int('announcersPerIdMax'),
    treeOriginsMax: int('treeOriginsMax'),
    treeRedundancy: int('treeRedundancy'),
    pruneRepeatMs: int('pruneRepeatMs'),
  };
}

/** A message heard of (IHAVE) but not received. */
interface Missing {
  /** The peer whose announcement opened the entry (counted against its missingPerPeerMax). */
  opener: string;
  /** Peers that announced it, in order of announcement; the next to ask is `announcers[0]`. */
  announcers: string[];
  /** When to ask the next announcers, in ms. */
  dueMs: number;
  /** How many announcers the next ask goes to (1 at first, doubling after each ask that brought nothing). */
  fanout: number;
}

/** What `tick` wants sent: ids to announce and ids to ask for, per peer. */
export interface PlumtreeOutput {
  ihave: Array<{ peer: string; ids: string[] }>;
  graft: Array<{ peer: string; ids: string[] }>;
}

/** What we keep of one origin's tree. */
interface OriginTree {
  /** Peers pruned from it: they get only ids of its broadcasts. */
  lazy: Set<string>;
  /** Peers that sent us copies of its broadcasts, and when last. */
  fed: Map<string, number>;
  /** Peers we told to PRUNE, and when. */
  told: Map<string, number>;
}

/** The per-origin trees, the lazy announcement queues and the missing-message timers. */
export class Plumtree {
  readonly settings: PlumtreeSettings;
  /** Open peers, in the order they opened. */
  private readonly peers = new Set<string>();
  /** Per origin (key hex), its tree; least recently used first. */
  private readonly trees = new Map<string, OriginTree>();
  /** Origins whose broadcasts we made ourselves: every copy that comes back is an echo and is pruned. */
  private readonly own = new Set<string>();
  private readonly queued = new Map<string, string[]>();
  /** Ids queued by `announce` since the last flush, per peer: one asked for again and again is queued once. */
  private readonly announced = new Map<string, Set<string>>();
  private readonly missing = new Map<string, Missing>();
  /** Entries of `missing` each peer opened. */
  private readonly opened = new Map<string, number>();
  /**
   * Called when an id is queued for an IHAVE or starts waiting to be asked for: there is work for `tick`. The
   * caller runs `tick` every lazyFlushMs while `hasWork()`, and not at all otherwise, so an idle node has no
   * timer waking it ten times a second (each wake-up of a process costs 70-130 us of CPU on a small virtual
   * machine; bench/RESULTS.md consensus-loopback-cpu-2026-12-06).
   */
  onWork: (() => void) | null = null;
  /** Counters for status views, tests and benchmarks. */
  readonly counters = { prunesSent: 0, prunesReceived: 0, grafts: 0, ihaveIds: 0, ihaveIgnored: 0, lazyDropped: 0, gaveUp: 0, treesDropped: 0 };

  constructor(options: PlumtreeOptions = {}) {
    this.settings = resolvePlumtree(options);
  }

  /** Whether lazy push is on (gossipMode 'tree'). */
  get lazyPush(): boolean {
    return this.settings.gossipMode === 'tree';
  }

  /** A new open connection starts eager in every tree: the first broadcasts show which links are redundant. */
  addPeer(peer: string): void {
    this.peers.add(peer);
  }

  /** A closed connection leaves every tree; its queued announcements and its announcements to us go too. */
  removePeer(peer: string): void {
    this.peers.delete(peer);
    for (const t of this.trees.values()) {
      t.lazy.delete(peer);
      t.fed.delete(peer);
      t.told.delete(peer);
    }
    this.queued.delete(peer);
    this.announced.delete(peer);
    for (const m of this.missing.values()) {
      const i = m.announcers.indexOf(peer);
      if (i >= 0) m.announcers.splice(i, 1);
    }
  }

  /** Whether a tree of `origin` is kept (a valid broadcast of it came, and its tree was not dropped since). */
  hasTree(origin: string): boolean {
    return this.trees.has(origin);
  }

  /** Whether `peer` is an eager link of `origin`'s tree. */
  isEager(peer: string, origin: string): boolean {
    return this.peers.has(peer) && !(this.trees.get(origin)?.lazy.has(peer) ?? false);
  }

  /** Open peers, trees kept, links on and off them summed over every tree, and messages awaited. */
  get sizes(): { peers: number; origins: number; eager: number; lazy: number; missing: number } {
    let lazy = 0;
    for (const t of this.trees.values()) lazy += t.lazy.size;
    const origins = this.trees.size;
    return { peers: this.peers.size, origins, eager: origins * this.peers.size - lazy, lazy, missing: this.missing.size };
  }

  /**
   * A message from `origin` is new and valid (or our own, `from` null): returns the peers to send it to in
   * full, and queues its id for the peers pruned from that origin's tree. Peers in `skip` (they sent us a
   * copy) get neither. With the single tree the peer it came from becomes eager: the tree runs through
   * whoever delivered first (paper, Algorithm 1, line 16); with more feeds it is recorded as a feed.
   */
  broadcast(id: string, origin: string, from: string | null, skip: ReadonlySet<string>, nowMs: number): string[] {
    const lazy = this.received(id, origin, from, nowMs);
    const out: string[] = [];
    for (const p of this.peers) {
      if (skip.has(p)) continue;
      if (lazy?.has(p)) this.enqueue(p, id);
      else out.push(p);
    }
    return out;
  }

  /**
   * A message from `origin` is new and valid but travels no further (hop limit): nothing is sent or
   * announced, yet it is no longer missing (no GRAFT for it) and its sender counts as in `broadcast`. Returns the origin's pruned set (null in flood mode).
   */
  received(id: string, origin: string, from: string | null, nowMs: number): Set<string> | null {
    const asked = this.missing.has(id);
    this.forget(id);
    if (!this.lazyPush) return null;
    const { lazy, fed, told } = this.tree(origin);
    if (from === null) this.own.add(origin);
    else if (this.peers.has(from)) {
      // The paper's single tree is symmetric: the link a first copy came over carries the tree both ways.
      // With more than one feed each node picks its own feeds by pruning, and what it sends changes only
      // when a peer prunes it or asks (GRAFT): otherwise pruning one link would take a feed from the peer.
      if (this.settings.treeRedundancy === 1) lazy.delete(from);
      fed.set(from, nowMs);
      // A copy we asked for (GRAFT) puts the peer back in the tree; one it sent before reading our PRUNE does not.
      if (asked) told.delete(from);
    }
    return lazy;
  }

  /**
   * A copy of a message from `origin` we already have arrived from `peer`. While no more than
   * `treeRedundancy` peers feed us that origin (sent copies within the last few seconds), the link stays;
   * beyond, the peer is told to send only ids (returns true: send PRUNE). Copies of our own broadcasts are
   * echoes and always pruned. With the single tree (treeRedundancy 1) the link turns lazy both ways, and a
   * copy over a link already lazy is answered again, as in the paper (Algorithm 1: every duplicate is
   * answered with PRUNE): that peer still holds the link as eager. It has not processed our PRUNE yet, or it
   * made us eager again when a message it sent before its own PRUNE finished verifying here (`broadcast`
   * runs after verification). Without the repeat such a half-eager link would carry a duplicate of every
   * broadcast. With more feeds a pruned peer that still sends is simply pruned again. Either way a peer is
   * told at most once per `pruneRepeatMs`: under load it reads our PRUNE only after its own backlog, and a
   * PRUNE for every copy sent meanwhile was a storm of frames into that backlog.
   */
  duplicate(peer: string, origin: string, nowMs: number): boolean {
    if (!this.lazyPush || !this.peers.has(peer)) return false;
    const tree = this.trees.get(origin);
    // No tree: the copy overtook the first one's verification or the tree was dropped; nothing to prune yet.
    if (!tree) return false;
    const { lazy, fed, told } = tree;
    const toldAt = told.get(peer);
    // Told lately: its copies stop once it reads our PRUNE. A clock stepped back does not silence it longer.
    if (toldAt !== undefined && nowMs >= toldAt && nowMs - toldAt < this.settings.pruneRepeatMs) return false;
    const k = this.settings.treeRedundancy;
    if (k > 1 || !lazy.has(peer)) {
      fed.set(peer, nowMs);
      if (!this.own.has(origin) && this.liveFeeds(fed, nowMs) <= k) return false;
      fed.delete(peer);
      if (k === 1) lazy.add(peer);
    }
    told.set(peer, nowMs);
    this.counters.prunesSent++;
    return true;
  }

  private liveFeeds(fed: Map<string, number>, nowMs: number): number {
    let n = 0;
    for (const [p, at] of fed) {
      if (nowMs - at < feedWindowMs) n++;
      else fed.delete(p);
    }
    return n;
  }

  /**
   * The peer pruned its link to us in `origin`'s tree: only ids of that origin's messages go to it from now
   * on. Only a tree we already have is changed, so a peer's PRUNEs cannot create state.
   */
  onPrune(peer: string, origin: string): void {
    this.counters.prunesReceived++;
    // In flood mode every peer stays eager: a tree-mode neighbour's PRUNE does not change what we send.
    if (!this.lazyPush || !this.peers.has(peer)) return;
    const tree = this.trees.get(origin);
    tree?.lazy.add(peer);
    // In the single tree a PRUNE turns the link lazy both ways: the peer no longer feeds us. With more feeds
    // it stops only what we send it, and it may well go on feeding us.
    if (this.settings.treeRedundancy === 1) tree?.fed.delete(peer);
  }

  /**
   * The peer announced ids. Those we lack (`known` false) start or join a timer; once it runs out we ask.
   * Ids beyond `missingEntriesMax` are ignored (counted), so announcements cannot grow memory without bound.
   */
  onIhave(peer: string, ids: readonly string[], nowMs: number, known: (id: string) => boolean): void {
    if (!this.lazyPush || !this.peers.has(peer)) return;
    const { missingEntriesMax, announcersPerIdMax } = this.settings;
    for (const id of ids) {
      this.counters.ihaveIds++;
      if (known(id)) continue;
      const m = this.missing.get(id);
      if (m) {
        if (m.announcers.length < announcersPerIdMax && !m.announcers.includes(peer)) m.announcers.push(peer);
        continue;
      }
      const opened = this.opened.get(peer) ?? 0;
      if (this.missing.size >= missingEntriesMax || opened >= this.settings.missingPerPeerMax) {
        this.counters.ihaveIgnored++;
        continue;
      }
      this.opened.set(peer, opened + 1);
      this.missing.set(id, { opener: peer, announcers: [peer], dueMs: nowMs + this.settings.graftTimeoutMs, fanout: 1 });
      this.onWork?.();
    }
  }

  /** The peer asked for a message of `origin`, which we send it: the link joins that origin's tree. */
  onGraft(peer: string, origin: string): void {
    if (this.peers.has(peer)) this.trees.get(origin)?.lazy.delete(peer);
  }

  /**
   * A message arrived that we neither check nor carry (a validator's outcome on a node that follows no
   * genesis): it is no longer asked for. Nothing is remembered of it, so junk cannot crowd anything out.
   */
  dropMissing(id: string): void {
    this.forget(id);
  }

  /** Whether `tick` has anything to do: ids queued for an IHAVE, or ids waiting to be asked for. */
  hasWork(): boolean {
    return this.queued.size > 0 || this.missing.size > 0;
  }

  /** Ids of messages we are waiting for. */
  isMissing(id: string): boolean {
    return this.missing.has(id);
  }

  /**
   * Flushes announcements and asks for overdue messages: each overdue id goes to its first announcer, and the
   * next two announcers are tried `graftRetryMs` later if the message is still missing, then the next four,
   * and so on. The announcer, serving it,
   * puts us back on its side of the origin's tree (`onGraft`). Ids for which `known` is true arrived and are
   * being verified: they are not asked for (a failed check announces them again, see BroadcastRelay).
   */
  tick(nowMs: number, known: (id: string) => boolean = () => false): PlumtreeOutput {
    const out: PlumtreeOutput = { ihave: [], graft: [] };
    for (const [peer, ids] of this.queued) {
      for (let i = 0; i < ids.length; i += this.settings.ihaveIdsMax) out.ihave.push({ peer, ids: ids.slice(i, i + this.settings.ihaveIdsMax) });
    }
    this.queued.clear();
    this.announced.clear();
    const grafts = new Map<string, string[]>();
    for (const [id, m] of this.missing) {
      if (m.dueMs > nowMs) continue;
      if (known(id)) {
        this.forget(id);
        continue;
      }
      const asked = m.announcers.splice(0, m.fanout);
      if (asked.length === 0) {
        // Every announcer was asked (or left) and the message never came: a later IHAVE starts over.
        this.forget(id);
        this.counters.gaveUp++;
        continue;
      }
      // The first ask goes to one announcer; each that brings nothing doubles the next, so k announcers that
      // never serve ahead of an honest one cost about log2(k) retries, not k (a Byzantine peer announces
      // first at no cost). An honest announcer serves at once, so the extra copies are few.
      for (const peer of asked) {
        this.counters.grafts++;
        const list = grafts.get(peer) ?? [];
        list.push(id);
        grafts.set(peer, list);
      }
      m.fanout *= 2;
      m.dueMs = nowMs + this.settings.graftRetryMs;
    }
    for (const [peer, ids] of grafts) {
      for (let i = 0; i < ids.length; i += this.settings.graftIdsMax) out.graft.push({ peer, ids: ids.slice(i, i + this.settings.graftIdsMax) });
    }
    return out;
  }

  /** Drops a missing entry and its opener's count. */
  private forget(id: string): void {
    const m = this.missing.get(id);
    if (!m) return;
    this.missing.delete(id);
    const left = (this.opened.get(m.opener) ?? 1) - 1;
    if (left > 0) this.opened.set(m.opener, left);
    else this.opened.delete(m.opener);
  }

  /** The tree of `origin`, created if new, made the most recently used; the oldest beyond the limit goes. */
  private tree(origin: string): OriginTree {
    let tree = this.trees.get(origin);
    if (tree) {
      this.trees.delete(origin);
    } else {
      tree = { lazy: new Set(), fed: new Map(), told: new Map() };
      if (this.trees.size >= this.settings.treeOriginsMax) {
        const oldest = this.trees.keys().next();
        if (!oldest.done) {
          this.trees.delete(oldest.value);
          this.own.delete(oldest.value);
        }
        this.counters.treesDropped++;
      }
    }
    this.trees.set(origin, tree);
    return tree;
  }

  /**
   * Queues `id` to be announced to `peer` at the next flush (IHAVE), though the peer is an eager link: the
   * node had no room to send it the full frame now (BroadcastRelay, writeQueuedBytesTotalMax). The peer asks
   * for it (GRAFT) if no other copy reaches it first: lazy push keeps the broadcast reliable, as on any lazy
   * link of the paper's tree (a node that hears an IHAVE asks for what it lacks). The tree is left as it was.
   * An id it already queued for the peer is not queued again before the flush.
   */
  announce(peer: string, id: string): void {
    if (!this.lazyPush || !this.peers.has(peer)) return;
    let mine = this.announced.get(peer);
    if (!mine) {
      mine = new Set();
      this.announced.set(peer, mine);
    }
    if (mine.has(id)) return;
    mine.add(id);
    this.enqueue(peer, id);
  }

  private enqueue(peer: string, id: string): void {
    let q = this.queued.get(peer);
    if (!q) {
      q = [];
      this.queued.set(peer, q);
    }
    if (q.length >= this.settings.lazyQueueIdsMax) {
      q.shift();
      this.counters.lazyDropped++;
    }
    q.push(id);
    this.onWork?.();
  }
}
