/**
 * Evidence per instance for catch-up (catch-up.ts, the per-instance rule), as pure code: the run of start
 * rounds a validator states it decided, with the blocks decided there (ChainStatement.decided), how a signer
 * builds one from its chain or its held decisions within the statement's limit, the bytes of it a statement
 * signs, and the tally of f+1 signers that state one outcome of a start round.
 *
 * The unit is a start round t0, not one instance (miner, t0): every instance of a t0 ends at the same moment
 * and each honest node appends a t0's decided blocks together, in miner order (dolev-strong.ts), so "the
 * outcome of t0" is the list of blocks decided in it, empty for "no block" anywhere in that round.
 */
import { concatBytes, toHex, u32be, u64be } from '../bytes.ts';
import type { DecidedEntry, DecidedRun } from '../wire/schema.ts';
import type { ChainBlock } from './block.ts';

/**
 * The run `from`..`through` with `entries` (in (t0, miner) order, all within it), cut to at most `blocksMax`
 * blocks: it then ends before the start round of the first block left out, so every t0 it covers is whole.
 * Null when nothing is left.
 */
export function cappedRun(from: number, through: number, entries: readonly DecidedEntry[], blocksMax: number): DecidedRun | null {
  let end = through;
  const over = entries[blocksMax];
  if (over !== undefined) end = Math.min(end, over.t0 - 1);
  if (end < from) return null;
  return { from, through: end, blocks: entries.filter((e) => e.t0 >= from && e.t0 <= end) };
}

/**
 * The run a chain proves, from `from` (raised to where the blocks kept in memory are whole: a chain that
 * dropped its oldest blocks knows nothing whole before the t0 after its first kept block) through
 * `through`: every block of the chain in it. The caller vouches that the chain holds every block decided up
 * to `through` (a live validator's chain, catch-up.ts).
 */
export function chainRun(chain: readonly ChainBlock[], from: number, through: number, blocksMax: number): DecidedRun | null {
  const first = chain[0];
  const whole = first === undefined || first.height === 1 ? 0 : first.t0 + 1;
  const start = Math.max(from, whole);
  const entries = chain.filter((b) => b.t0 >= start && b.t0 <= through).map((b) => ({ miner: b.miner, t0: b.t0, hash: b.hash }));
  return cappedRun(start, through, entries, blocksMax);
}

/**
 * Of a signer's `runs` (oldest first), the one to state to an asker that needs rounds from `t0` on: the
 * first that reaches `t0`, started no earlier than it (a part of a run is as true as the run), at most
 * `blocksMax` blocks. Null when none reaches it.
 */
export function runFor(runs: readonly DecidedRun[], t0: number, blocksMax: number): DecidedRun | null {
  const r = runs.find((x) => x.through >= t0);
  if (!r) return null;
  const from = Math.max(r.from, t0);
  return cappedRun(from, r.through, r.blocks.filter((e) => e.t0 >= from), blocksMax);
}

/**
 * has (u8, 1 when the run is there, else 0) || from (u64 BE) || through (u64 BE) || count (u32 BE) || per
 * block: miner (u32 BE) || t0 (u64 BE) || hash (32); only the first byte when there is no run.
 */
export function decidedRunBytes(run: DecidedRun | null | undefined): Uint8Array {
  if (!run) return new Uint8Array([0]);
  const parts: Uint8Array[] = [new Uint8Array([1]), u64be(run.from), u64be(run.through), u32be(run.blocks.length)];
  for (const e of run.blocks) parts.push(u32be(e.miner), u64be(e.t0), e.hash);
  return concatBytes(...parts);
}

/** The blocks a run says were decided in start round `t0`, or undefined when the run does not cover it. */
export function outcomeIn(run: DecidedRun | null | undefined, t0: number): DecidedEntry[] | undefined {
  if (!run || t0 < run.from || t0 > run.through) return undefined;
  return run.blocks.filter((e) => e.t0 === t0);
}

/**
 * The outcome of start round `t0` that at least `quorum` of `runs` (one per distinct validator) state, or
 * null: when none does, and when two do (possible only outside the fault bound, where the rule promises
 * nothing: then it waits rather than choose).
 */
export function outcomeOf(runs: Iterable<DecidedRun | null | undefined>, t0: number, quorum: number): DecidedEntry[] | null {
  const groups = new Map<string, { entries: DecidedEntry[]; count: number }>();
  for (const run of runs) {
    const entries = outcomeIn(run, t0);
    if (entries === undefined) continue;
    const key = entries.map((e) => `${e.miner}:${toHex(e.hash)}`).join(',');
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { entries, count: 1 });
  }
  const agreed = [...groups.values()].filter((g) => g.count >= quorum);
  return agreed.length === 1 ? agreed[0]!.entries : null;
}
