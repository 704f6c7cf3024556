/**
 * Building and checking Dolev-Strong chains in tests: a chain signed by any chosen validators (what a
 * Byzantine coalition can produce), and a synchronous verifier that stands in for the verification pool:
 * structural rules with the receiver's round, then every signature checked with real Ed25519 over the
 * consensus signed bytes, with a cache so a signature is verified once per simulation.
 */
import { concatBytes, toHex } from '../../src/bytes.ts';
import { maskOf } from '../../src/consensus/bitmask.ts';
import { blockHash } from '../../src/consensus/block.ts';
import { checkChainStructure } from '../../src/consensus/chain-rules.ts';
import { genesisHash, type Genesis } from '../../src/consensus/genesis.ts';
import { consensusSignedBytes } from '../../src/consensus/signing.ts';
import type { ChainCheck, ChainCheckResult } from '../../src/crypto/verifier.ts';
import type { ConsensusMessage, WireBlock } from '../../src/wire/schema.ts';
import { verifyEd25519, type TestKey } from './keys.ts';

/** A key that signs: a TestKey, or a node Identity. */
export type SigningKey = Pick<TestKey, 'publicKey' | 'sign'>;

/** A network as tests see it: the genesis, its hash and every validator's private key. */
export interface TestNet {
  genesis: Genesis;
  genesisHash: Uint8Array;
  keys: readonly SigningKey[];
}

/** A TestNet for a genesis whose validators are `keys` in order. */
export function testNet(genesis: Genesis, keys: readonly SigningKey[]): TestNet {
  return { genesis, genesisHash: genesisHash(genesis), keys };
}

/** The bytes validator signatures on `block` cover in `net`. */
export function signedBytes(net: TestNet, block: WireBlock, hash = blockHash(block)): Uint8Array {
  return consensusSignedBytes({ networkId: net.genesis.networkId, genesisHash: net.genesisHash, miner: block.miner, t0: block.t0, blockHash: hash });
}

/** Validator `i`'s signature on `block`. */
export function signBlock(net: TestNet, i: number, block: WireBlock): Uint8Array {
  const key = net.keys[i];
  if (!key) throw new Error(`no key for validator ${i}`);
  return key.sign(signedBytes(net, block));
}

/** A chain for `block` signed by `signers` in that order (signers[0] should be the miner to be valid). */
export function buildChain(net: TestNet, block: WireBlock, signers: readonly number[]): ConsensusMessage {
  const bytes = signedBytes(net, block);
  const sigs = signers.map((i) => {
    const key = net.keys[i];
    if (!key) throw new Error(`no key for validator ${i}`);
    return key.sign(bytes);
  });
  return { t: 'ds', block, mask: maskOf(net.genesis.validators.length, [...new Set(signers)]), signers: [...signers], sigs: concatBytes(...sigs), hops: 0 };
}

/** `msg` extended by validator `i`'s signature (what a relay does); the earlier signatures are kept as they are. */
export function extendChain(net: TestNet, msg: ConsensusMessage, i: number): ConsensusMessage {
  const mask = msg.mask.slice();
  mask[i >> 3] = (mask[i >> 3] ?? 0) | (1 << (i & 7));
  return { ...msg, mask, signers: [...msg.signers, i], sigs: concatBytes(msg.sigs, signBlock(net, i, msg.block)), hops: 0 };
}

/** A synchronous ChainVerifier.checkChain: the verification pool's rules, on the main thread. */
export class SimVerifier {
  readonly #net: TestNet;
  readonly #cache = new Map<string, boolean>();
  /** Ed25519 verifications actually run (cache misses). */
  verifications = 0;

  constructor(net: TestNet) {
    this.#net = net;
  }

  checkChain(check: ChainCheck): ChainCheckResult {
    const { msg, blockHash: hash, round } = check;
    const n = this.#net.genesis.validators.length;
    const violation = checkChainStructure(msg, n, round);
    if (violation) return { ok: false, ...violation };
    const bytes = signedBytes(this.#net, msg.block, hash);
    const hashHex = toHex(hash);
    for (const [pos, signer] of msg.signers.entries()) {
      const sig = msg.sigs.subarray(pos * 64, pos * 64 + 64);
      const key = `${signer}:${hashHex}:${toHex(sig)}`;
      let ok = this.#cache.get(key);
      if (ok === undefined) {
        const pub = this.#net.genesis.validators[signer]?.publicKey;
        ok = pub !== undefined && verifyEd25519(pub, bytes, sig);
        this.verifications++;
        this.#cache.set(key, ok);
      }
      if (!ok) return { ok: false, code: 'ERR_BAD_SIGNATURE', reason: `signature ${pos} (validator ${signer}) does not verify` };
    }
    return { ok: true };
  }
}
