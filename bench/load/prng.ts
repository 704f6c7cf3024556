/**
 * A small seeded PRNG (mulberry32) with the few helpers the load test needs. Everything random in a load run
 * (schedule, origins, miners, attack targets) comes from one of these, so `--seed N` replays the same plan.
 */

/** A deterministic random source. */
export class Prng {
  #state: number;

  /** `seed` is reduced to 32 bits. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** A child generator, so one part of a plan can draw without shifting another part's numbers. */
  fork(label: number): Prng {
    return new Prng(Math.floor(this.next() * 4294967296) ^ Math.imul(label + 1, 0x9e3779b1));
  }
}
