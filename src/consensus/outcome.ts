/**
 * Validators' signed outcomes, which let a node that holds no key of the genesis (an observer) follow the
 * decided chain. Dolev-Strong gives agreement among validators only: an observer that applied the
 * validators' acceptance rule itself could be shown a chain, at the end of a round, that no validator would
 * accept in time, and decide a block no validator decided (the agreement simulator finds such runs). So
 * after each round whose instances added blocks, every validator sends the outcome it appended, signed,
 * down its broadcast tree, and an observer appends a round's blocks only once f+1 validators signed the
 * same outcome: one of them is honest, and honest validators' chains are identical (follower.ts).
 */
import { concatBytes, lengthPrefixed, u32be, u64be, utf8 } from '../bytes.ts';
import { sha256Hex } from '../gossip/gossip-core.ts';
import type { OutcomeMessage } from '../wire/schema.ts';

/** Domain tag of outcome signatures. */
export const OUTCOME_DOMAIN = 'strongcast/outcome/v1';

/** What an outcome says, without its signature. */
export type OutcomeBody = Omit<OutcomeMessage, 't' | 'sig'>;

/**
 * len-prefixed domain || len-prefixed network id || genesis hash (32) || signer (u32 BE) || t0 (u64 BE) ||
 * height (u64 BE) || number of blocks (u32 BE) || per block: miner (u32 BE) || block hash (32); length
 * prefixes are u32 BE.
 */
export function outcomeSignedBytes(networkId: string, genesisHash: Uint8Array, o: OutcomeBody): Uint8Array {
  return concatBytes(
    lengthPrefixed(utf8(OUTCOME_DOMAIN)),
    lengthPrefixed(utf8(networkId)),
    genesisHash,
    u32be(o.signer),
    u64be(o.t0),
    u64be(o.height),
    u32be(o.blocks.length),
    ...o.blocks.flatMap((b) => [u32be(b.miner), b.hash]),
  );
}

/** What two outcomes must share to count as the same (everything but the signer and the signature). */
export function outcomeKey(o: OutcomeBody): string {
  return `${o.t0}/${o.height}/${o.blocks.map((b) => `${b.miner}:${Buffer.from(b.hash).toString('hex')}`).join(',')}`;
}

/** An outcome message's id for duplicate suppression: SHA-256 of everything it carries, signature included. */
export function outcomeId(o: OutcomeMessage): string {
  return sha256Hex(concatBytes(utf8('outcome'), u32be(o.signer), u64be(o.t0), u64be(o.height), u32be(o.blocks.length), ...o.blocks.flatMap((b) => [u32be(b.miner), b.hash]), o.sig));
}

/**
 * Which outcomes a node checks and carries on: those of instances that may still matter (t0 within
 * `windowRounds` of the current round, and not ahead of it), and of each signer only the first valid one per
 * t0, since an honest validator signs one. Bounded: it remembers signers only for t0s inside the window.
 */
export class OutcomeGate {
  readonly #seen = new Map<number, Set<number>>();

  constructor(readonly windowRounds: number) {}

  /** Whether an outcome for t0 is worth checking at `currentRound` (cheap, before any signature). */
  inWindow(t0: number, currentRound: number): boolean {
    return t0 <= currentRound && t0 >= currentRound - this.windowRounds;
  }

  /** Records a verified outcome; true the first time for (signer, t0) inside the window. */
  admit(signer: number, t0: number, currentRound: number): boolean {
    if (!this.inWindow(t0, currentRound)) return false;
    for (const t of this.#seen.keys()) if (t < currentRound - this.windowRounds) this.#seen.delete(t);
    let signers = this.#seen.get(t0);
    if (!signers) this.#seen.set(t0, (signers = new Set()));
    if (signers.has(signer)) return false;
    signers.add(signer);
    return true;
  }
}
