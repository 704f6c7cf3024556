/**
 * Randomness, passed in so that the core holds none of its own: a machine uses the system's generator
 * (system-random.ts); the simulator a seeded one, so a seed replays the same run.
 */

/** A source of random numbers and bytes. */
export interface Random {
  /** A number in [0, 1): jitter and random choices, never secrets. */
  next(): number;
  /** `n` random bytes: handshake nonces, which must be unpredictable on a real network. */
  bytes(n: number): Uint8Array;
}
