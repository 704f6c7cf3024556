/**
 * Validity of a load run, as pure code over what the run recorded (fault-bound.ts defines the bound).
 *
 * Outages as observed. An honest validator is out from the fault the run injected (SIGKILL, SIGSTOP,
 * isolate) until it is back: one round after the later of the fault's end (restarted and holding honest peers
 * again, resumed, or reconnected to honest peers) and the last `resync` that belongs to the fault (during it or
 * within `noticeMs` of its end: a resumed validator notices the pause at its next round tick). Why one round:
 * a validator that catches up counts itself live from the round after it last found itself cut off
 * (outage-watch.ts check, liveFromT0), takes part in every instance from there on and reports their
 * decisions when its catch-up completes, which is k rounds later at the earliest (catch-up.ts complete).
 * A `resync` with no fault near it is not an outage: a validator that loses synchrony on its own is not excused,
 * unless it said so itself: a validator whose process stalled past its stallMsMax reports `stalled` and takes
 * the instances of that time from others (outage-watch.ts, on a stall). By its own account it was out of synchrony,
 * so it counts as out, and toward the fault bound, from the stall's start until it caught up, plus a round;
 * one that could not catch up (too few validator peers) is out for the stall and a round.
 *
 * Validity rule. Every honest proposal (a `proposed` event of an honest validator, made because the run asked
 * it to mine) whose instance was within the fault bound and whose miner was not out during the instance must
 * be decided, with the proposed hash, by every honest validator not out during the instance (its `decided`
 * event, in any life), and must be in the final chain. A mine request that never became a proposal, while its
 * miner was up and the bound held from the request until the block would have been decided, fails too.
 * Proposals outside the bound are listed, not judged (the bound itself is a separate check that must hold).
 */
import { faultyDuring, instanceSpanMs, type OutageSpan } from './fault-bound.ts';
import { instanceLabel } from './recorder.ts';

/** A fault the run injected, as the driver recorded it. */
export interface InjectedFault {
  node: number;
  kind: 'kill' | 'pause' | 'isolate';
  startMs: number;
  /** Restarted with honest peers, resumed, or reconnected to honest peers; null when never. */
  endMs: number | null;
}

/** A `resync` of a running validator: when the run read it. */
export interface ResyncAt {
  node: number;
  fromMs: number;
}

/**
 * The outages of a run as observed: [fault, back). `endMs` stands in for "never" (the end of the run),
 * `noticeMs` is how long after a fault's end a `resync` still belongs to it, `roundMs` is Δ.
 */
export function observedOutages(faults: readonly InjectedFault[], resyncs: readonly ResyncAt[], endMs: number, noticeMs: number, roundMs: number): OutageSpan[] {
  return faults.map((o) => {
    if (o.endMs === null) return { node: o.node, fromMs: o.startMs, toMs: endMs };
    let last = o.endMs;
    for (const r of resyncs) if (r.node === o.node && r.fromMs >= o.startMs && r.fromMs <= o.endMs + noticeMs) last = Math.max(last, r.fromMs);
    return { node: o.node, fromMs: o.startMs, toMs: last + roundMs };
  });
}

/** A stall a validator reported, and whether it caught up again because of it. */
export interface StallAt {
  node: number;
  life: number;
  atMs: number;
  lateMs: number;
  catchingUp: boolean;
}

/** A catch-up period of a validator's life: [fromMs, toMs), toMs null while it still catches up. */
export interface CatchUpSpan {
  node: number;
  life: number;
  fromMs: number;
  toMs: number | null;
}

/**
 * The outages validators reported of themselves by stalling (module comment): from the stall's start (when
 * the report came, less how late the process ran) until the catch-up it began ended, or `endMs`, plus a round.
 */
export function stallOutages(stalls: readonly StallAt[], catchUps: readonly CatchUpSpan[], endMs: number, roundMs: number): OutageSpan[] {
  return stalls.map((s) => {
    const fromMs = s.atMs - s.lateMs;
    if (!s.catchingUp) return { node: s.node, fromMs, toMs: s.atMs + roundMs };
    // The catch-up it began, or one already running that it joined (then a resync follows no stall).
    const c = catchUps.find((x) => x.node === s.node && x.life === s.life && x.fromMs <= s.atMs + roundMs && (x.toMs === null || x.toMs >= s.atMs));
    return { node: s.node, fromMs, toMs: (c ? (c.toMs ?? endMs) : s.atMs) + roundMs };
  });
}

/** An honest proposal as the run saw it. */
export interface ProposalFact {
  /** How the summary names it, e.g. the block's text. */
  label: string;
  miner: number;
  t0: number;
  hash: string;
}

/** A mine request that produced no proposal. */
export interface UnproposedMine {
  label: string;
  miner: number;
  issuedMs: number;
  /** What the validator said, if anything. */
  why: string;
}

/** Everything the validity rule reads. */
export interface ValidityInput {
  honest: readonly number[];
  byzantine: number;
  f: number;
  k: number;
  roundMs: number;
  /** Start of round 0 (ms since the epoch), so t0 converts to the time base of `outages`. */
  genesisStartMs: number;
  outages: readonly OutageSpan[];
  proposals: readonly ProposalFact[];
  unproposed: readonly UnproposedMine[];
  /** instance label -> decided hash (or 'none') -> validators that decided it */
  decisions: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<number>>>;
  /** Hashes of the final reference chain. */
  chain: ReadonlySet<string>;
}

/** The validity verdict. */
export interface ValidityResult {
  /** Proposals and requests within the bound, judged by the rule. */
  judged: number;
  /** Of those, the ones that met it. */
  held: number;
  /** Proposals outside the bound, with why. */
  outside: string[];
  /** Proposals and requests that broke the rule: which, and which validators did not decide them. */
  failures: string[];
}

/** Why an instance starting at `startMs` (span `spanMs`) is outside the bound for miner `miner`, or null. */
function outsideBound(v: ValidityInput, miner: number, startMs: number, spanMs: number): string | null {
  const out = faultyDuring(v.outages, startMs, spanMs);
  if (v.byzantine + out.length > v.f) return `${v.byzantine + out.length} validators faulty (${v.byzantine} Byzantine + ${out.join(',')}), more than f = ${v.f}`;
  if (out.includes(miner)) return `its miner ${miner} was out during the instance`;
  return null;
}

/** What validator `x` decided for an instance instead of `hash`, for the failure line. */
function decidedInstead(v: ValidityInput, key: string, hash: string, x: number): string {
  for (const [h, nodes] of v.decisions.get(key) ?? []) if (h !== hash && nodes.has(x)) return h === 'none' ? 'decided no block' : `decided block ${h.slice(0, 8)}`;
  return 'decided nothing';
}

function judgeProposal(v: ValidityInput, p: ProposalFact, out: ValidityResult): void {
  const startMs = v.genesisStartMs + p.t0 * v.roundMs;
  const spanMs = instanceSpanMs(v.k, v.roundMs);
  const label = `${p.label} (validator ${p.miner}, t0 ${p.t0}, ${p.hash.slice(0, 8)})`;
  const why = outsideBound(v, p.miner, startMs, spanMs);
  if (why) return void out.outside.push(`${label}: ${why}`);
  out.judged++;
  const excused = faultyDuring(v.outages, startMs, spanMs);
  const key = instanceLabel(p.miner, p.t0);
  const deciders = v.decisions.get(key)?.get(p.hash);
  const missing = v.honest.filter((x) => !excused.includes(x) && !deciders?.has(x));
  const inChain = v.chain.has(p.hash);
  if (missing.length === 0 && inChain) return void out.held++;
  const instead = missing.map((x) => `${x} (${decidedInstead(v, key, p.hash, x)})`).join(', ');
  const parts = [missing.length > 0 ? `not decided by validator${missing.length > 1 ? 's' : ''} ${instead}` : '', inChain ? '' : 'not in the final chain'];
  out.failures.push(`${label}: ${parts.filter(Boolean).join('; ')}`);
}

/** Applies the validity rule. */
export function checkValidity(v: ValidityInput): ValidityResult {
  const out: ValidityResult = { judged: 0, held: 0, outside: [], failures: [] };
  for (const p of v.proposals) judgeProposal(v, p, out);
  // From the request to the decision: up to a round to the next round start and two rounds of retries.
  const requestSpanMs = 3 * v.roundMs + instanceSpanMs(v.k, v.roundMs);
  for (const m of v.unproposed) {
    const why = outsideBound(v, m.miner, m.issuedMs, requestSpanMs);
    if (why) {
      out.outside.push(`${m.label} (validator ${m.miner}, never proposed): ${why}`);
      continue;
    }
    out.judged++;
    out.failures.push(`${m.label} (validator ${m.miner}): never proposed${m.why ? ` (${m.why})` : ''}`);
  }
  return out;
}
