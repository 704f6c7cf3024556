/**
 * IPs whose inbound handshake timed out lately (issue 16, item 1): a light mark, not a score. While an IP is
 * marked, for strikeMs after its latest timeout, it may hold one handshake at a time instead of
 * handshakesPendingPerIpMax (handshake-slots.ts), so an address that opens connections and lets them stall
 * holds one slot; an honest slow peer still gets through, one handshake at a time, and is never banned for
 * being slow. The table is bounded: beyond ipsMax marks the oldest is forgotten first. Time is passed in.
 */
import { positiveInt } from '../options.ts';

/** Defaults of {@link HandshakeStrikes}. */
export const handshakeStrikeDefaults = { handshakeStrikeMs: 60_000, handshakeStrikeIpsMax: 4096 } as const;

/** Marks on IPs whose handshake timed out, each for a bounded time, in a bounded table. */
export class HandshakeStrikes {
  /** When each mark ends, in ms, in the order the marks were last renewed (oldest first). */
  readonly #untilMs = new Map<string, number>();
  readonly #strikeMs: number;
  readonly #ipsMax: number;

  /** @throws StrongcastError ERR_INVALID_OPTION naming the bad field. */
  constructor(strikeMs: number, ipsMax: number) {
    this.#strikeMs = positiveInt(strikeMs, 'handshakeStrikeMs');
    this.#ipsMax = positiveInt(ipsMax, 'handshakeStrikeIpsMax');
  }

  /** IPs marked (some of them perhaps expired and not yet forgotten). */
  get size(): number {
    return this.#untilMs.size;
  }

  /** A handshake from `ip` timed out at `nowMs`: marks it (again) for strikeMs. */
  note(ip: string, nowMs: number): void {
    this.#untilMs.delete(ip);
    this.#untilMs.set(ip, nowMs + this.#strikeMs);
    if (this.#untilMs.size > this.#ipsMax) this.#untilMs.delete(this.#untilMs.keys().next().value!);
  }

  /** Whether `ip` is marked at `nowMs`. A mark is never longer than strikeMs, even if the clock stepped back. */
  has(ip: string, nowMs: number): boolean {
    const until = this.#untilMs.get(ip);
    if (until === undefined) return false;
    if (nowMs < until && until - nowMs <= this.#strikeMs) return true;
    this.#untilMs.delete(ip);
    return false;
  }
}
