/**
 * Statements and runs for tests of catch-up's per-instance rule (consensus/catch-up.ts, decided-run.ts): a
 * statement whose chain names no chain of the node's, so only its decided run can count, and a helper that
 * appends every block the rule lets through.
 */
import type { CatchUp } from '../../src/consensus/catch-up.ts';
import { blockHash } from '../../src/consensus/block.ts';
import type { ChainStatement, DecidedRun, WireChainBlock } from '../../src/wire/schema.ts';

/**
 * A statement of a signer catching up, with only its decided run as evidence: its chain (height 9, another
 * digest) names no chain of ours, so no rule before the per-instance one counts it.
 */
export function st(signer: number, decided: DecidedRun | null, round = 100, heldFrom: number | null = null): ChainStatement {
  const elsewhere = new Uint8Array(32).fill(0xee);
  return { signer, round, height: 9, tip: elsewhere, digest: elsewhere, syncing: true, heldFrom, appendsFrom: heldFrom, decided, sig: new Uint8Array(64) };
}

/** A decided run over start rounds from..through, naming `blocks` by hash. */
export const run = (from: number, through: number, blocks: WireChainBlock[] = []): DecidedRun => ({
  from,
  through,
  blocks: blocks.map((b) => ({ miner: b.miner, t0: b.t0, hash: blockHash(b) })),
});

/** Appends every block catch-up offers next, in order, and returns them. */
export function drain(c: CatchUp): WireChainBlock[] {
  const out: WireChainBlock[] = [];
  for (let b = c.next(); b !== null; b = c.next()) {
    out.push(b);
    c.advance(b, blockHash(b));
  }
  return out;
}
