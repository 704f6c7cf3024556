/**
 * Misbehaviour scores with temporary bans, keyed by a string (a node id in hex, or an IP address).
 * Penalties add points; points decay linearly; reaching banScore bans the key for banMs. Time is passed in.
 */
import { assert } from '../errors.ts';
import { nonNegativeNumber, optionsObject, positiveInt, positiveNumber } from '../options.ts';

/** Defaults of {@link PeerScoreOptions}. */
export const peerScoreDefaults = { banScore: 100, banMs: 10 * 60_000, scoreDecayPerSec: 1, scoredPeersMax: 10_000 } as const;

/** Options of {@link PeerScores}. */
export interface PeerScoreOptions {
  /**
   * Score at which a key is banned.
   * @default 100
   */
  banScore?: number;
  /**
   * How long a ban lasts, in ms.
   * @default 600_000 (10 minutes)
   */
  banMs?: number;
  /**
   * Points forgiven per second, so rare honest mistakes never add up to a ban. 0 disables decay.
   * @default 1
   */
  scoreDecayPerSec?: number;
  /**
   * Most keys tracked. Beyond it, keys worth nothing are forgotten first, then the lowest scores, and live
   * bans only when nothing else is left, so an attacker cannot clear its ban by making up new keys.
   * @default 10_000
   */
  scoredPeersMax?: number;
}

/**
 * Points per kind of misbehaviour, against the default banScore of 100 and decay of 1 point a second.
 * Honest peers can trip the cheap ones now and then (slow links, topology, bursts); only the protocol
 * violations an honest implementation never commits cost half a ban.
 */
export const penalties = {
  /** A frame that fails to decode: never sent by an honest peer; the connection closes too. Two in ~50 s ban. */
  badFrame: 50,
  /** A handshake out of order or with a bad proof: never honest. */
  badHandshake: 50,
  /** A signature that does not verify: relays verify before forwarding, so an honest peer never sends one,
   * and each one cost us a verification. */
  badSignature: 50,
  /** Re-sending an id this same peer already sent us. Flooding's normal duplicates (one per neighbour) should
   * not be charged at all; this is 0.1 so a peer looping a message 10 times a second stays at zero. */
  duplicate: 0.1,
  /** A message dropped by a rate limit: an honest burst trips a few, a flood trips hundreds. */
  rateLimited: 10,
  /** A frame that is valid msgpack but not a well-formed message: never honest. */
  badMessage: 50,
  /** Not draining its write queue: often just a congested link; the connection closes anyway. */
  slowPeer: 10,
} as const;

interface Entry {
  /** Score as of atMs, before decay since then. */
  score: number;
  atMs: number;
  /** End of the latest ban, in ms; may be in the past. */
  bannedUntilMs: number | undefined;
}

/** Scores and bans for a bounded set of keys. */
export class PeerScores {
  readonly #banScore: number;
  readonly #banMs: number;
  readonly #decayPerMs: number;
  readonly #keysMax: number;
  readonly #entries = new Map<string, Entry>();

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(options: PeerScoreOptions = {}) {
    optionsObject(options);
    this.#banScore = positiveNumber(options.banScore ?? peerScoreDefaults.banScore, 'banScore');
    this.#banMs = positiveInt(options.banMs ?? peerScoreDefaults.banMs, 'banMs');
    this.#decayPerMs = nonNegativeNumber(options.scoreDecayPerSec ?? peerScoreDefaults.scoreDecayPerSec, 'scoreDecayPerSec') / 1000;
    this.#keysMax = positiveInt(options.scoredPeersMax ?? peerScoreDefaults.scoredPeersMax, 'scoredPeersMax');
  }

  /** Keys tracked, including ones whose score has decayed to zero but are not yet forgotten. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Adds `points` to `key`'s decayed score. Reaching banScore bans the key until `nowMs + banMs` and resets
   * its score to 0, so it comes back clean once the ban is served. Penalties during a ban do not extend it.
   */
  penalize(key: string, points: number, nowMs: number): { score: number; banned: boolean } {
    // points come from `penalties` or our own code, so a bad value is a bug
    assert(Number.isFinite(points) && points >= 0, 'penalty points must be a finite number >= 0');
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= this.#keysMax) this.#makeRoom(nowMs);
      entry = { score: 0, atMs: nowMs, bannedUntilMs: undefined };
      this.#entries.set(key, entry);
    }
    if (this.#banned(entry, nowMs)) return { score: this.#decayed(entry, nowMs), banned: true };
    entry.score = this.#decayed(entry, nowMs) + points;
    entry.atMs = nowMs;
    if (entry.score >= this.#banScore) {
      entry.bannedUntilMs = nowMs + this.#banMs;
      entry.score = 0;
      return { score: 0, banned: true };
    }
    return { score: entry.score, banned: false };
  }

  /** True while `key` serves a ban: from the penalty that reached banScore until bannedUntil (exclusive). */
  isBanned(key: string, nowMs: number): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && this.#banned(entry, nowMs);
  }

  /** `key`'s score at `nowMs` after decay; 0 for unknown keys. */
  score(key: string, nowMs: number): number {
    const entry = this.#entries.get(key);
    return entry === undefined ? 0 : this.#decayed(entry, nowMs);
  }

  /** End of `key`'s latest ban in ms (possibly past), or undefined if it was never banned or was forgotten. */
  bannedUntil(key: string): number | undefined {
    return this.#entries.get(key)?.bannedUntilMs;
  }

  #banned(entry: Entry, nowMs: number): boolean {
    return entry.bannedUntilMs !== undefined && nowMs < entry.bannedUntilMs;
  }

  #decayed(entry: Entry, nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - entry.atMs);
    return Math.max(0, entry.score - elapsedMs * this.#decayPerMs);
  }

  /**
   * Frees a quarter of the map at once, so the O(n log n) sort is paid once per scoredPeersMax/4 new keys
   * (amortised O(log n)). Order: keys worth nothing, then unbanned keys by lowest score and oldest update,
   * then bans ending soonest.
   */
  #makeRoom(nowMs: number): void {
    const target = this.#keysMax - Math.max(1, Math.floor(this.#keysMax / 4));
    const ranked: { key: string; banned: boolean; rank: number; atMs: number }[] = [];
    for (const [key, entry] of this.#entries) {
      const banned = this.#banned(entry, nowMs);
      ranked.push({ key, banned, rank: banned ? entry.bannedUntilMs! : this.#decayed(entry, nowMs), atMs: entry.atMs });
    }
    ranked.sort((a, b) => Number(a.banned) - Number(b.banned) || a.rank - b.rank || a.atMs - b.atMs);
    for (let i = 0; i < ranked.length - target; i++) this.#entries.delete(ranked[i]!.key);
  }
}
