/**
 * The signature verification contract. The node never checks a signature itself: it hands checks to a
 * Verifier, which is the Piscina pool in production (verify-pool.ts) and may be a main-thread or fake
 * verifier in tests. Both gossip and consensus go through it.
 */
import type { ConsensusMessage } from '../wire/schema.ts';

/** One Ed25519 check: does `signature` by `publicKey` cover exactly `message`? */
export interface SignatureCheck {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/** Outcome of checking a Dolev-Strong chain; `code` is a stable error code when it fails. */
export type ChainCheckResult =
  | { ok: true }
  | { ok: false; code: 'ERR_BAD_CHAIN' | 'ERR_TOO_FEW_SIGNATURES' | 'ERR_BAD_SIGNATURE'; reason: string };

/** A Dolev-Strong chain to check, with the round the receiver is in when it asks. */
export interface ChainCheck {
  msg: ConsensusMessage;
  /** SHA-256 block hash of msg.block (block.ts), computed once on the main thread. */
  blockHash: Uint8Array;
  /** The receiver's current round for the instance (1..k); the chain must carry at least this many signatures. */
  round: number;
  /** Whom the check is for (the node passes the sending peer's id): consensus lanes share the consensus class fairly. @default one shared lane */
  lane?: string;
}

/**
 * How urgent a check is. 'consensus' (Dolev-Strong chains, validators' outcomes, catch-up statements) is
 * served before every 'broadcast' check, within a bounded share (verify-pool.ts consensusSharePercentMax):
 * Dolev-Strong needs every honest chain checked within its round, and plain gossip load must not delay it.
 */
export type CheckClass = 'consensus' | 'broadcast';

/** Verifies signatures, in batches, off the main thread where it can. */
export interface Verifier {
  /**
   * Resolves to one boolean per check, in order. A bad signature is `false`, never a rejection. `lane` says
   * whom the checks are for (the node passes its connection's): lanes share the verification capacity fairly,
   * so one that asks for little is not queued behind one that asks for much. @default one shared lane
   * `checkClass` 'consensus' puts them before every broadcast check, within that class's share. A verifier
   * that checks each call as it comes (the main-thread verifier) has no queue to order: it answers every
   * class at once, and counts consensus signatures all the same. @default 'broadcast'
   */
  verify(checks: readonly SignatureCheck[], lane?: string, checkClass?: CheckClass): Promise<boolean[]>;
  /**
   * Present only where checks run on the calling thread (the main-thread verifier): one signature, checked
   * before it returns, so the caller acts on the outcome in the same turn instead of a promise later. Counted
   * as a verify() call of one check.
   * @throws StrongcastError ERR_POOL once the verifier is closed.
   */
  verifyNow?(check: SignatureCheck): boolean;
  /**
   * Present where a verifier that queues checks may also answer one on the calling thread (the pool, which
   * verifies small batches there within its inline budget): one 'broadcast' check of `lane`, checked before
   * it returns when the verifier would verify it on this thread anyway and nothing queued would be passed
   * over (batch-scheduler.ts runDirect); undefined when it has to wait its turn, and the caller then asks
   * verify(). Counted as a verify() call of one check when it answers. @default lane: the shared lane
   * @throws StrongcastError ERR_POOL once the verifier is closed.
   */
  tryVerifyNow?(check: SignatureCheck, lane?: string): boolean | undefined;
  /** Stops any workers; safe to call twice. */
  close(): Promise<void>;
}

/** A Verifier that also knows the validator set of a genesis and checks whole consensus chains. */
export interface ChainVerifier extends Verifier {
  /**
   * Structural checks (signer indices below n, no duplicate signer, signers[0] is the miner, bitmask equal to
   * the set of signers, popcount equal to the number of signatures, at least `round` signatures) and every
   * signature valid over the consensus signed bytes of signing.ts. Signatures verified before are not
   * verified again (bounded cache keyed by signer, signed bytes and signature). Always of the 'consensus'
   * class, in the lane `check.lane`.
   */
  checkChain(check: ChainCheck): Promise<ChainCheckResult>;
  /**
   * Records a consensus signature this node just made over `signedBytes` as valid, so it is not verified when
   * it comes back inside other validators' relays (a node never needs to check its own signature).
   */
  rememberOwn(signer: number, signedBytes: Uint8Array, signature: Uint8Array): void;
}
