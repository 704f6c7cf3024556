/** The randomness of a real machine: the system's CSPRNG for bytes, Math.random for jitter. */
import { randomBytes } from 'node:crypto';
import type { Random } from './random.ts';

/** Random numbers and bytes from the system. */
export const systemRandom: Random = {
  next: () => Math.random(),
  bytes: (n) => randomBytes(n),
};
