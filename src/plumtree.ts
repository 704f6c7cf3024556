/**
 * Epidemic broadcast trees (Plumtree: Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007),
 * as pure code: which peers get a broadcast in full (eager), which only hear its id (lazy), and when to ask
 * for a message we heard of but never got. Time is passed in; no sockets, no timers.
 *
 * Why: flooding a mesh of degree d makes every node receive every message about d-1 times over, and each
 * copy costs a frame, a decode and a hash even though only the first is verified. With Plumtree the eager
 * links settle into a spanning tree (a node that receives a copy it already has prunes that link to lazy),
 * so each node receives one full copy, and the other links carry only batched ids (IHAVE). A message that
 * is announced but does not arrive within `graftTimeoutMs` is asked for (GRAFT), which also turns that link
 * eager again: the tree repairs itself after a node or link fails (§3.5 of the paper).
 *
 * One tree is shared by every origin: an undirected spanning tree carries a broadcast from any node to all
 * others exactly once, so it needs no per-source state. Consensus chains never use it (node.ts floods them),
 * because Dolev-Strong's round timing must not wait for a repair.
 */
import { StrongcastError } from './errors.ts';
import { optionsObject, positiveInt } from './options.ts';
import { schemaLimits } from './schema.ts';

/** How a node relays gossip. */
export type GossipMode = 'tree' | 'flood';

/** Tunable limits of the broadcast tree. */
export interface PlumtreeOptions {
  /** 'tree': Plumtree eager/lazy push; 'flood': every message to every peer (no IHAVE, GRAFT or PRUNE). @default 'tree' */
  gossipMode?: GossipMode;
  /** How often queued ids are announced to lazy peers and overdue messages are asked for, in ms. @default 20 */
  lazyFlushMs?: number;
  /** How long an announced message may be missing before it is asked for, in ms. @default 150 */
  graftTimeoutMs?: number;
  /** After a GRAFT, how long before the next announcer is asked, in ms. @default 100 */
  graftRetryMs?: number;
  /** Ids in one IHAVE frame (more are sent in the next). @default 512 */
  ihaveIdsMax?: number;
  /** Ids in one GRAFT frame. @default 64 */
  graftIdsMax?: number;
  /** Ids queued for one lazy peer; beyond it the oldest announcements are dropped. @default 8192 */
  lazyQueueIdsMax?: number;
  /** Announced-but-missing messages tracked at once, all peers together; more announcements are ignored. @default 16384 */
  missingEntriesMax?: number;
  /** Peers remembered as announcers of one missing message. @default 4 */
  announcersPerIdMax?: number;
}

/** Defaults of PlumtreeOptions. */
export const plumtreeDefaults = {
  gossipMode: 'tree',
  lazyFlushMs: 20,
  graftTimeoutMs: 150,
  graftRetryMs: 100,
  ihaveIdsMax: 512,
  graftIdsMax: 64,
  lazyQueueIdsMax: 8192,
  missingEntriesMax: 16_384,
  announcersPerIdMax: 4,
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
    announcersPerIdMax: int('announcersPerIdMax'),
  };
}

/** A message heard of (IHAVE) but not received. */
interface Missing {
  /** Peers that announced it, in order of announcement; the next to ask is `announcers[0]`. */
  announcers: string[];
  /** When to ask the next announcer, in ms. */
  dueMs: number;
}

/** What `tick` wants sent: ids to announce and ids to ask for, per peer. */
export interface PlumtreeOutput {
  ihave: Array<{ peer: string; ids: string[] }>;
  graft: Array<{ peer: string; ids: string[] }>;
}

/** The eager/lazy peer sets, the lazy announcement queues and the missing-message timers. */
export class Plumtree {
  readonly settings: PlumtreeSettings;
  private readonly eager = new Set<string>();
  private readonly lazy = new Set<string>();
  private readonly queued = new Map<string, string[]>();
  private readonly missing = new Map<string, Missing>();
  /** Counters for status views, tests and benchmarks. */
  readonly counters = { prunesSent: 0, prunesReceived: 0, grafts: 0, graftedIdsServed: 0, ihaveIds: 0, ihaveIgnored: 0, lazyDropped: 0, gaveUp: 0 };

  constructor(options: PlumtreeOptions = {}) {
    this.settings = resolvePlumtree(options);
  }

  /** Whether lazy push is on (gossipMode 'tree'). */
  get lazyPush(): boolean {
    return this.settings.gossipMode === 'tree';
  }

  /** A new open connection starts eager: the first broadcasts show which links the tree does not need. */
  addPeer(peer: string): void {
    this.lazy.delete(peer);
    this.eager.add(peer);
  }

  /** A closed connection leaves both sets; its queued announcements and its announcements to us go too. */
  removePeer(peer: string): void {
    this.eager.delete(peer);
    this.lazy.delete(peer);
    this.queued.delete(peer);
    for (const [id, m] of this.missing) {
      const i = m.announcers.indexOf(peer);
      if (i >= 0) m.announcers.splice(i, 1);
    }
  }

  /** Whether `peer` is an eager (tree) link. */
  isEager(peer: string): boolean {
    return this.eager.has(peer);
  }

  /** Peers now on the tree and off it. */
  get sizes(): { eager: number; lazy: number; missing: number } {
    return { eager: this.eager.size, lazy: this.lazy.size, missing: this.missing.size };
  }

  /**
   * A message is new and valid (or our own, `from` null): returns the peers to send it to in full, and
   * queues its id for every lazy peer. Peers in `skip` (they sent us a copy) get neither. The peer it came
   * from becomes eager: the tree runs through whoever delivered first (paper, Algorithm 1, line 16).
   */
  broadcast(id: string, from: string | null, skip: ReadonlySet<string>): string[] {
    this.received(id, from);
    if (!this.lazyPush) return [...this.eager].filter((p) => !skip.has(p));
    const out: string[] = [];
    for (const p of this.eager) if (!skip.has(p)) out.push(p);
    for (const p of this.lazy) if (!skip.has(p)) this.enqueue(p, id);
    return out;
  }

  /**
   * A message is new and valid but travels no further (hop limit): nothing is sent or announced, yet it is no
   * longer missing (no GRAFT for it) and the link it came on joins the tree, as in `broadcast`.
   */
  received(id: string, from: string | null): void {
    this.missing.delete(id);
    if (from !== null && (this.eager.has(from) || this.lazy.has(from))) this.addPeer(from);
  }

  /**
   * A copy of a message we already have arrived from `peer`: that link is redundant, so it turns lazy and
   * the peer is told (returns true: send PRUNE). A full copy from a peer that is already lazy also gets a
   * PRUNE, as in the paper (Algorithm 1: every duplicate is answered with PRUNE): that peer still holds the
   * link as eager. It has not processed our PRUNE yet, or it made us eager again when a message it sent
   * before its own PRUNE finished verifying here (`broadcast` runs after verification). Without the repeat
   * such a half-eager link would carry a full duplicate of every broadcast for good.
   */
  duplicate(peer: string): boolean {
    if (!this.lazyPush) return false;
    if (this.eager.has(peer)) {
      this.eager.delete(peer);
      this.lazy.add(peer);
    } else if (!this.lazy.has(peer)) {
      return false;
    }
    this.counters.prunesSent++;
    return true;
  }

  /** The peer pruned its link to us: only ids go to it from now on. */
  onPrune(peer: string): void {
    this.counters.prunesReceived++;
    // In flood mode every peer stays eager: a tree-mode neighbour's PRUNE does not change what we send.
    if (!this.lazyPush || !this.eager.has(peer)) return;
    this.eager.delete(peer);
    this.lazy.add(peer);
  }

  /**
   * The peer announced ids. Those we lack (`known` false) start or join a timer; once it runs out we ask.
   * Ids beyond `missingEntriesMax` are ignored (counted), so announcements cannot grow memory without bound.
   */
  onIhave(peer: string, ids: readonly string[], nowMs: number, known: (id: string) => boolean): void {
    if (!this.lazyPush || (!this.eager.has(peer) && !this.lazy.has(peer))) return;
    const { missingEntriesMax, announcersPerIdMax, graftTimeoutMs } = this.settings;
    for (const id of ids) {
      this.counters.ihaveIds++;
      if (known(id)) continue;
      const m = this.missing.get(id);
      if (m) {
        if (m.announcers.length < announcersPerIdMax && !m.announcers.includes(peer)) m.announcers.push(peer);
        continue;
      }
      if (this.missing.size >= missingEntriesMax) {
        this.counters.ihaveIgnored++;
        continue;
      }
      this.missing.set(id, { announcers: [peer], dueMs: nowMs + graftTimeoutMs });
    }
  }

  /** The peer asked for messages: the link joins the tree. The caller sends what it still holds. */
  onGraft(peer: string): void {
    if (this.eager.has(peer) || this.lazy.has(peer)) this.addPeer(peer);
  }

  /** Ids of messages we are waiting for. */
  isMissing(id: string): boolean {
    return this.missing.has(id);
  }

  /**
   * Flushes announcements and asks for overdue messages: each overdue id goes to its first announcer, which
   * becomes eager, and the next announcer is tried `graftRetryMs` later if the message is still missing.
   */
  tick(nowMs: number): PlumtreeOutput {
    const out: PlumtreeOutput = { ihave: [], graft: [] };
    for (const [peer, ids] of this.queued) {
      for (let i = 0; i < ids.length; i += this.settings.ihaveIdsMax) out.ihave.push({ peer, ids: ids.slice(i, i + this.settings.ihaveIdsMax) });
    }
    this.queued.clear();
    const grafts = new Map<string, string[]>();
    for (const [id, m] of this.missing) {
      if (m.dueMs > nowMs) continue;
      const peer = m.announcers.shift();
      if (peer === undefined) {
        // Every announcer was asked (or left) and the message never came: a later IHAVE starts over.
        this.missing.delete(id);
        this.counters.gaveUp++;
        continue;
      }
      this.addPeer(peer);
      this.counters.grafts++;
      const list = grafts.get(peer) ?? [];
      list.push(id);
      grafts.set(peer, list);
      m.dueMs = nowMs + this.settings.graftRetryMs;
    }
    for (const [peer, ids] of grafts) {
      for (let i = 0; i < ids.length; i += this.settings.graftIdsMax) out.graft.push({ peer, ids: ids.slice(i, i + this.settings.graftIdsMax) });
    }
    return out;
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
  }
}
