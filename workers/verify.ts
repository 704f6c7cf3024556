/**
 * A verification worker: one pure function over a packed batch (src/crypto/packing.ts), run by Piscina.
 * The backend and validator set arrive once, as workerData; the result goes back transferred, not copied.
 */
import { move, workerData } from 'piscina';
import { runBatch, type WorkerSetup } from '../src/crypto/chain-check.ts';

const setup = workerData as WorkerSetup;

/** Verifies every item of the batch; 1 = valid, 0 = not, one byte per result slot. */
export default function verifyBatch(buffer: ArrayBuffer): Uint8Array {
  return move(runBatch(setup, buffer)) as Uint8Array;
}
