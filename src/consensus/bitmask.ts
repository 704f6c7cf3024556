/**
 * Signer bitmasks: validator i owns bit i, stored in byte i >> 3 at bit i & 7 (least significant first), in
 * exactly ceil(n / 8) bytes. Unused high bits of the last byte must be zero so each signer set has one encoding.
 */

/** Bytes a bitmask for n validators takes. */
export function maskBytes(n: number): number {
  return (n + 7) >> 3;
}

/** An all-zero mask for n validators. */
export function emptyMask(n: number): Uint8Array {
  return new Uint8Array(maskBytes(n));
}

/** True when bit i is set. */
export function hasBit(mask: Uint8Array, i: number): boolean {
  return ((mask[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

/** A copy of `mask` with bit i set. */
export function withBit(mask: Uint8Array, i: number): Uint8Array {
  const out = mask.slice();
  out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
  return out;
}

/** Number of bits set. */
export function popcount(mask: Uint8Array): number {
  let c = 0;
  for (const byte of mask) {
    let b = byte;
    while (b) {
      b &= b - 1;
      c++;
    }
  }
  return c;
}

/** The mask whose set bits are exactly `indices` (which must be below n). */
export function maskOf(n: number, indices: readonly number[]): Uint8Array {
  let m = emptyMask(n);
  for (const i of indices) m = withBit(m, i);
  return m;
}
