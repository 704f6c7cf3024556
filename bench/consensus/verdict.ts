/**
 * What a loopback consensus run's decisions show (bench/consensus/loopback.ts), as pure functions over the
 * blocks mined and the validators' reports: correctness (agreement, validity, identical chains), decision
 * latency against the Dolev-Strong lower bound, and blocks decided per round and per second when every
 * validator mines in the same rounds.
 *
 * Dolev & Strong (1983): with f faults no deterministic authenticated broadcast decides in fewer than f + 1
 * rounds, so an instance that starts at T0 cannot be decided before T0 + (f + 1)Δ; the ratio of a measured
 * latency to that bound is what the implementation adds (the tick after the boundary, the event loop, a slow
 * process).
 */
import type { DecidedRecord, MineResult, ValidatorReport } from './validator-proc.ts';

/** What one run's decisions show. */
export interface Verdict {
  /** Mined blocks every validator decided with the hash its miner proposed. */
  decided: number;
  /** Instances not decided alike by every validator (a different block, "no block", or none at all). */
  disagreements: number;
  /** Every validator ended with the same chain: the same tip hash at the same height (hash-linked, so the same blocks). */
  chainsIdentical: boolean;
  /** The first thing found wrong, for people; null when the run is correct. */
  failure: string | null;
}

/** The key of an instance in reports and mined lists. */
const instanceKey = (t0: number, miner: number): string => `${t0}/${miner}`;

/**
 * Checks agreement (same instances, blocks and heights everywhere), validity (every mined block decided by
 * every validator with its miner's hash) and that every validator's chain ends at the same tip.
 */
export function judgeRun(mined: readonly MineResult[], reports: readonly ValidatorReport[]): Verdict {
  const show = (d: DecidedRecord | undefined): string => (d === undefined ? 'no decision' : d.hash === null ? 'no block' : `${d.hash.slice(0, 8)} at height ${d.height}`);
  const byInstance = reports.map((r) => new Map(r.decided.map((d) => [instanceKey(d.t0, d.miner), d])));
  const instances = [...new Set(byInstance.flatMap((m) => [...m.keys()]))].sort((a, b) => Number(a.split('/')[0]) - Number(b.split('/')[0]) || a.localeCompare(b));
  let disagreements = 0;
  let failure: string | null = null;
  for (const key of instances) {
    const seen = byInstance.map((m) => show(m.get(key)));
    if (seen.every((v) => v === seen[0])) continue;
    disagreements++;
    // Group validators by outcome: "instance t0/miner 30/0: 6a6af045 at height 5 on validators 0,2,3; no decision on validators 1".
    const groups = new Map<string, number[]>();
    seen.forEach((v, i) => groups.set(v, [...(groups.get(v) ?? []), i]));
    failure ??= `instance t0/miner ${key}: ${[...groups].map(([v, is]) => `${v} on validators ${is.join(',')}`).join('; ')}`;
  }
  let decided = 0;
  for (const m of mined) {
    if (byInstance.every((b) => b.get(instanceKey(m.t0, m.miner))?.hash === m.hash)) decided++;
    else failure ??= `block of miner ${m.miner} at t0 ${m.t0} not decided by every validator`;
  }
  const tips = reports.map((r) => `${r.height}/${r.tipHash}`);
  const chainsIdentical = tips.every((t) => t === tips[0]);
  if (!chainsIdentical) failure ??= `chains differ: tips ${[...new Set(tips)].map((t) => t.slice(0, 14)).join(', ')}`;
  return { decided, disagreements, chainsIdentical, failure };
}

/**
 * Decision latency of each (validator, mined block) pair that was decided with the miner's hash: from the
 * instance's T0 (genesis start + t0 Δ) to that validator's `decided` event, in ms.
 */
export function decisionLatenciesMs(mined: readonly MineResult[], reports: readonly ValidatorReport[], startMs: number, roundMs: number): number[] {
  const out: number[] = [];
  for (const r of reports) {
    const byInstance = new Map(r.decided.map((d) => [instanceKey(d.t0, d.miner), d]));
    for (const m of mined) {
      const d = byInstance.get(instanceKey(m.t0, m.miner));
      if (d && d.hash === m.hash) out.push(d.atMs - (startMs + m.t0 * roundMs));
    }
  }
  return out;
}

/** Decision latency against the lower bound (f + 1)Δ. */
export interface LatencySummary {
  /** Pairs measured. */
  count: number;
  p50Ms: number | null;
  maxMs: number | null;
  /** (f + 1)Δ: no Dolev-Strong instance decides sooner. */
  boundMs: number;
  p50OverBound: number | null;
  maxOverBound: number | null;
}

/** The value at quantile q (0..1] of `xs` by nearest rank, or null for none. */
export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** p50 and max of the latencies and their ratios to (faults + 1) roundMs. */
export function latencySummary(latenciesMs: readonly number[], faults: number, roundMs: number): LatencySummary {
  const boundMs = (faults + 1) * roundMs;
  const p50Ms = quantile(latenciesMs, 0.5);
  const maxMs = latenciesMs.length === 0 ? null : Math.max(...latenciesMs);
  return {
    count: latenciesMs.length,
    p50Ms,
    maxMs,
    boundMs,
    p50OverBound: p50Ms === null ? null : p50Ms / boundMs,
    maxOverBound: maxMs === null ? null : maxMs / boundMs,
  };
}

/** Blocks of the all-mine rounds, decided everywhere, per round and per second. */
export interface Throughput {
  /** All-mine blocks every validator decided with the miner's hash. */
  blocks: number;
  /** Rounds the all-mine proposals spanned (first t0 to last, inclusive). */
  rounds: number;
  /** Wall time from the first all-mine round's T0 to the last `decided` event of one of its blocks, in ms. */
  spanMs: number;
}

/**
 * The throughput of one run's all-mine rounds. Blocks per round = blocks / rounds; blocks per second =
 * blocks / span, where the span includes the (f + 1) rounds the last instance needs to be decided (so a
 * short burst of rounds reads lower than a long one would).
 */
export function allMineThroughput(mined: readonly MineResult[], reports: readonly ValidatorReport[], startMs: number, roundMs: number): Throughput {
  if (mined.length === 0) return { blocks: 0, rounds: 0, spanMs: 0 };
  const t0s = mined.map((m) => m.t0);
  const first = Math.min(...t0s);
  const rounds = Math.max(...t0s) - first + 1;
  const keys = new Map(mined.map((m) => [instanceKey(m.t0, m.miner), m.hash]));
  let blocks = 0;
  let lastMs = startMs + first * roundMs;
  for (const m of mined) {
    if (reports.every((r) => r.decided.some((d) => d.t0 === m.t0 && d.miner === m.miner && d.hash === m.hash))) blocks++;
  }
  for (const r of reports) {
    for (const d of r.decided) if (keys.get(instanceKey(d.t0, d.miner)) === d.hash) lastMs = Math.max(lastMs, d.atMs);
  }
  return { blocks, rounds, spanMs: lastMs - (startMs + first * roundMs) };
}

/** Blocks per round and per second over several runs' throughputs (sums, not a mean of ratios). */
export function throughputRates(ts: readonly Throughput[]): { blocksPerRound: number | null; blocksPerSecond: number | null } {
  const blocks = ts.reduce((s, t) => s + t.blocks, 0);
  const rounds = ts.reduce((s, t) => s + t.rounds, 0);
  const spanMs = ts.reduce((s, t) => s + t.spanMs, 0);
  return { blocksPerRound: rounds === 0 ? null : blocks / rounds, blocksPerSecond: spanMs <= 0 ? null : (blocks * 1000) / spanMs };
}
