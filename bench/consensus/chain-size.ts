/** What a consensus chain costs on the wire as validators sign it (issue: chain size grows with signers). */
import { encodeFrame, framingDefaults } from '../../src/wire/framing.ts';
import { schemaLimits } from '../../src/wire/schema.ts';
import { blockPayloadBytesCap } from '../../src/consensus/payload-cap.ts';

/**
 * Bytes on the wire of a consensus chain (`ds` frame) with a largest block payload (the network's cap for n,
 * payload-cap.ts) and `signatures` signers, for n validators: what one relay costs and what frameBytesMax has
 * to hold.
 */
export function chainFrameBytes(n: number, signatures: number): number {
  const signers = Array.from({ length: signatures }, (_, i) => i);
  const mask = new Uint8Array(Math.ceil(n / 8));
  for (const i of signers) mask[i >> 3]! |= 1 << (i & 7);
  const block = { miner: 0, t0: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER, payload: new Uint8Array(blockPayloadBytesCap(n)) };
  return encodeFrame({ t: 'ds', block, mask, signers, sigs: new Uint8Array(64 * signatures), hops: 255 }, Number.MAX_SAFE_INTEGER).byteLength;
}

/** What a chain costs on the wire at n = 128, f = 42, and at the largest n the schema allows. */
export function chainSizeLines(): string[] {
  const kb = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
  const nMax = schemaLimits.validatorsMax;
  const at = (n: number, sigs: number): string => `${kb(chainFrameBytes(n, sigs))} (${kb(chainFrameBytes(n, sigs) - chainFrameBytes(n, 1))} more than with the miner's signature alone)`;
  return [
    `chain frame with a largest payload (the cap: ${kb(blockPayloadBytesCap(128))} at n=128, ${kb(blockPayloadBytesCap(nMax))} at n=${nMax}): n=128, f=42, k=43 signatures ${at(128, 43)}; all 128 signatures ${at(128, 128)}; n=${nMax} (validatorsMax), all ${nMax} signatures ${at(nMax, nMax)}, within frameBytesMax ${kb(framingDefaults.frameBytesMax)}: ${chainFrameBytes(nMax, nMax) <= framingDefaults.frameBytesMax ? 'yes' : 'NO'}`,
  ];
}
