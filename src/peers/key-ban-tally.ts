/**
 * Bans that follow the IP: keys are free, so a ban of a key alone costs an attacker nothing but a new key.
 * The tally counts, per IP, the keys banned from it within the last `windowMs`; the node bans the IP itself
 * once `keyBansPerIpMax` of them fall in the window. Pure and bounded: time is passed in, and at most
 * `ipsMax` IPs are remembered (the oldest forgotten first).
 */

/** Options of a {@link KeyBanTally}. */
export interface KeyBanTallyOptions {
  /** Keys banned from one IP within windowMs that ban the IP; 0 never bans an IP for its keys. */
  keyBansPerIpMax: number;
  /** How long a key's ban counts against its IP, in ms (the node's banMs). */
  windowMs: number;
  /** Most IPs remembered at once. */
  ipsMax: number;
}

/** Per-IP times of recent key bans. */
export class KeyBanTally {
  readonly #bans = new Map<string, number[]>();

  constructor(private readonly o: KeyBanTallyOptions) {}

  /**
   * Records that a key connected from `ip` was banned at `nowMs`.
   * @returns true when this ban brings the IP's recent key bans to keyBansPerIpMax
   */
  keyBanned(ip: string, nowMs: number): boolean {
    if (this.o.keyBansPerIpMax === 0) return false;
    const recent = (this.#bans.get(ip) ?? []).filter((t) => nowMs - t < this.o.windowMs);
    recent.push(nowMs);
    // re-inserted, so the map's order is the order of last bans: the first key is the stalest IP
    this.#bans.delete(ip);
    this.#bans.set(ip, recent.slice(-this.o.keyBansPerIpMax));
    while (this.#bans.size > this.o.ipsMax) this.#bans.delete(this.#bans.keys().next().value as string);
    return recent.length >= this.o.keyBansPerIpMax;
  }

  /** IPs remembered (for tests). */
  get size(): number {
    return this.#bans.size;
  }
}
