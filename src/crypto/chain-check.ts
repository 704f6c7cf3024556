/**
 * Chain verification logic shared by the worker and the main thread, so both apply the same rules in the
 * same order: the structural rules of chain-rules.ts first, then each signature over the consensus signed
 * bytes of signing.ts under the Ed25519 network rule. Pure: no workers, timers or I/O here.
 */
import { checkChainStructure } from '../consensus/chain-rules.ts';
import { consensusSignedBytes } from '../consensus/signing.ts';
import { StrongcastError } from '../errors.ts';
import { HASH_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, schemaLimits } from '../wire/schema.ts';
import type { ChainCheck, ChainCheckResult } from './verifier.ts';
import { ED25519_BACKENDS, sodiumUnavailableReason, verifySignature, type Ed25519Backend } from './ed25519.ts';
import { unpackBatch, type ChainItemView } from './packing.ts';

/** The validator set a chain verifier checks against, fixed for the verifier's lifetime. */
export interface ConsensusConfig {
  /** Network id, part of every consensus signed message. */
  networkId: string;
  /** SHA-256 genesis hash, 32 bytes, part of every consensus signed message. */
  genesisHash: Uint8Array;
  /** Public keys of the validators, by index (1..validatorsMax keys of 32 bytes). */
  validatorKeys: readonly Uint8Array[];
}

/** What a worker is created with (its workerData): plain data only, it crosses a thread boundary. */
export interface WorkerSetup {
  backend: Ed25519Backend;
  consensus: ConsensusConfig | null;
}

function invalid(field: string, what: string): never {
  throw new StrongcastError('ERR_INVALID_OPTION', `options.${field} must be ${what}`);
}

/** Checks a backend option. @throws StrongcastError ERR_INVALID_OPTION naming the field. */
export function checkBackendOption(backend: unknown): Ed25519Backend {
  if (!ED25519_BACKENDS.includes(backend as Ed25519Backend)) invalid('backend', `one of ${ED25519_BACKENDS.join(', ')}`);
  const unavailable = backend === 'sodium' ? sodiumUnavailableReason() : null;
  if (unavailable !== null) throw new StrongcastError('ERR_INVALID_OPTION', `options.backend 'sodium' is not available on this machine (${unavailable}); use native`);
  return backend as Ed25519Backend;
}

/** Checks a non-negative integer option below a bound. @throws StrongcastError ERR_INVALID_OPTION naming the field. */
export function checkIntOption(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(field, `an integer in ${min}..${max}`);
  }
  return value;
}

/** Checks the consensus option and returns a private copy. @throws StrongcastError ERR_INVALID_OPTION naming the field. */
export function checkConsensusOption(c: unknown): ConsensusConfig | null {
  if (c === undefined) return null;
  if (typeof c !== 'object' || c === null) invalid('consensus', 'an object');
  const o = c as Record<string, unknown>;
  const id = o['networkId'];
  if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > schemaLimits.networkIdBytesMax) {
    invalid('consensus.networkId', `a string of 1..${schemaLimits.networkIdBytesMax} bytes`);
  }
  const genesis = o['genesisHash'];
  if (!(genesis instanceof Uint8Array) || genesis.byteLength !== HASH_BYTES) invalid('consensus.genesisHash', `${HASH_BYTES} bytes`);
  const keys = o['validatorKeys'];
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > schemaLimits.validatorsMax) {
    invalid('consensus.validatorKeys', `an array of 1..${schemaLimits.validatorsMax} keys`);
  }
  keys.forEach((k: unknown, i) => {
    if (!(k instanceof Uint8Array) || k.byteLength !== PUBLIC_KEY_BYTES) invalid(`consensus.validatorKeys[${i}]`, `${PUBLIC_KEY_BYTES} bytes`);
  });
  return { networkId: id, genesisHash: genesis.slice(), validatorKeys: keys.map((k: Uint8Array) => k.slice()) };
}

/** A chain that passed the structural rules, with what its signatures are checked against. */
export interface PreparedChain {
  check: ChainCheck;
  signedBytes: Uint8Array;
}

/**
 * The main-thread half before any signature: the structural rules (chain-rules.ts, in the protocol's order)
 * and the signed bytes. A chain failing them is answered without touching a signature.
 */
export function prepareChain(config: ConsensusConfig, check: ChainCheck): PreparedChain | ChainCheckResult {
  const { msg, blockHash, round } = check;
  const violation = checkChainStructure(msg, config.validatorKeys.length, round);
  if (violation) return { ok: false, code: violation.code, reason: violation.reason };
  if (msg.sigs.byteLength !== msg.signers.length * SIGNATURE_BYTES) {
    return { ok: false, code: 'ERR_BAD_CHAIN', reason: `${msg.sigs.byteLength} signature bytes for ${msg.signers.length} signers` };
  }
  if (blockHash.byteLength !== HASH_BYTES) return { ok: false, code: 'ERR_BAD_CHAIN', reason: `block hash is ${blockHash.byteLength} bytes` };
  const signedBytes = consensusSignedBytes({
    networkId: config.networkId,
    genesisHash: config.genesisHash,
    miner: msg.block.miner,
    t0: msg.block.t0,
    blockHash,
  });
  return { check, signedBytes };
}

/** The failure naming the first signer whose signature does not verify. */
export function badSignature(position: number, signer: number): ChainCheckResult {
  return { ok: false, code: 'ERR_BAD_SIGNATURE', reason: `signature ${position} of the chain, by validator ${signer}, does not verify` };
}

/** The failure when the worker's own structure check disagrees with the main thread's (a bug, never a peer's doing). */
export const WORKER_STRUCTURE_REJECTED: ChainCheckResult = {
  ok: false,
  code: 'ERR_BAD_CHAIN',
  reason: 'the verification worker rejected the chain structure',
};

/** Worker half of a chain item: structure again (on what arrived), then the listed signatures. */
function verifyChainItem(setup: WorkerSetup, item: ChainItemView, out: Uint8Array, at: number): void {
  const config = setup.consensus;
  const block = { miner: item.miner, t0: item.t0, ts: 0, payload: new Uint8Array(0) };
  const structureOk =
    config !== null &&
    checkChainStructure({ block, mask: item.mask, signers: item.signers }, config.validatorKeys.length, item.round) === null &&
    item.positions.every((p) => p < item.signers.length);
  out[at] = structureOk ? 1 : 0;
  if (!structureOk) return;
  const signedBytes = consensusSignedBytes({
    networkId: config.networkId,
    genesisHash: config.genesisHash,
    miner: item.miner,
    t0: item.t0,
    blockHash: item.blockHash,
  });
  item.positions.forEach((position, j) => {
    const key = config.validatorKeys[item.signers[position] ?? -1];
    const sig = item.signatures.subarray(j * SIGNATURE_BYTES, (j + 1) * SIGNATURE_BYTES);
    out[at + 1 + j] = key !== undefined && verifySignature(setup.backend, key, signedBytes, sig) ? 1 : 0;
  });
}

/**
 * The rule a batch applies to one signature item; the verifiers that check a lone signature on the calling
 * thread (main-thread-verifier.ts, verify-pool.ts) apply it too, so every path accepts exactly the same.
 */
export function verifySigItem(setup: WorkerSetup, c: { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }): boolean {
  return verifySignature(setup.backend, c.publicKey, c.message, c.signature);
}

/**
 * Verifies every item of a packed batch (packing.ts) and returns its result slots. This is the whole of a
 * worker's job, and the main-thread verifier runs the very same function.
 */
export function runBatch(setup: WorkerSetup, buffer: ArrayBuffer): Uint8Array {
  const { items, resultSlots } = unpackBatch(buffer);
  const out = new Uint8Array(resultSlots);
  let at = 0;
  for (const item of items) {
    if (item.kind === 'sig') {
      out[at] = verifySigItem(setup, item) ? 1 : 0;
      at += 1;
    } else {
      verifyChainItem(setup, item, out, at);
      at += 1 + item.positions.length;
    }
  }
  return out;
}
