/**
 * The pure parts of the ingest benchmark: what makes a measured step "sustained", and the bounded search for
 * the highest sustained rate (a geometric ramp up to the first rate that is not sustained, then bisection
 * between the two, never more than `stepsMax` steps). No clock, no I/O: figures in, verdicts and rates out.
 */

/** What one measured step of offered load gave, as the sustained rule reads it. */
export interface StepFigures {
  /** The rate the generator was asked for, messages per second. */
  offeredPerSec: number;
  /** Messages the generator sent in the step. */
  sent: number;
  /** The rate the generator reached over the step (sent over its sending span). */
  achievedPerSec: number;
  /** Distinct messages of the step delivered to the application within the drain window. */
  delivered: number;
  /** Deliveries of a message of the step already delivered (must be 0). */
  duplicates: number;
  /**
   * Work the node refused or cut short by its own limits during the step: broadcasts dropped as overloaded
   * (inflightMax), checks refused by the pool (pendingChecksMax), verifications that failed (a valid
   * signature reported invalid or an executor error), peers disconnected.
   */
  drops: number;
  /** Times the node stopped reading a peer because it went over its message or byte rate. */
  rateHolds: number;
  /** p99 of send-to-delivery latency over the step's messages, ms (null: nothing delivered). */
  latencyP99Ms: number | null;
}

/** The bounds of the sustained rule. */
export const sustainedRule = {
  /**
   * The generator must reach this share of the offered rate: it writes into the node's sockets, and when the
   * node stops reading them (backpressure) the generator falls behind instead of queueing without bound.
   */
  achievedMin: 0.98,
  /**
   * p99 latency bound, ms: a node falling behind builds a backlog that grows through the step and the latest
   * messages wait longest; 100 ms bounds that backlog to about 4% of a 2.5 s step. The gossip benchmark's
   * bound, for the same reason.
   */
  p99MsMax: 100,
} as const;

/** The sustained rule in words, for the report. */
export function sustainedRuleText(): string {
  const r = sustainedRule;
  return (
    'sustained = every message of the step delivered exactly once, no drop or hold by the node\'s own limits ' +
    '(nothing dropped as overloaded, refused by the pool, failed in verification, no peer disconnected, no peer held for its message or byte rate), ' +
    `the generator at >= ${Math.round(r.achievedMin * 100)}% of the offered rate and p99 send-to-delivery latency <= ${r.p99MsMax} ms`
  );
}

/** Whether a step was sustained, and if not, every reason why (for the log). */
export function judgeStep(f: StepFigures): { sustained: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (f.delivered < f.sent) reasons.push(`${f.sent - f.delivered} of ${f.sent} not delivered`);
  if (f.duplicates > 0) reasons.push(`${f.duplicates} delivered twice`);
  if (f.drops > 0) reasons.push(`${f.drops} dropped by the node's limits`);
  if (f.rateHolds > 0) reasons.push(`${f.rateHolds} rate holds`);
  if (f.achievedPerSec < sustainedRule.achievedMin * f.offeredPerSec) {
    reasons.push(`generator reached ${Math.round(f.achievedPerSec)} of ${f.offeredPerSec}/s`);
  }
  if (f.latencyP99Ms === null) reasons.push('no latency measured');
  else if (f.latencyP99Ms > sustainedRule.p99MsMax) reasons.push(`p99 ${f.latencyP99Ms.toFixed(1)} ms > ${sustainedRule.p99MsMax} ms`);
  return { sustained: reasons.length === 0, reasons };
}

/** How a search steps. */
export interface SearchSettings {
  /** The first rate tried, messages per second. */
  startPerSec: number;
  /** Each rate of the ramp is the last sustained one times this (> 1). */
  growth: number;
  /** The highest rate ever offered (the generator's peers must stay within the node's per-peer rates). */
  capPerSec: number;
  /** Most steps in all. */
  stepsMax: number;
  /** The search ends once the unsustained rate is within this share above the sustained one. */
  precision: number;
  /** Rates are multiples of this. */
  quantumPerSec: number;
}

/**
 * The search for the highest sustained rate. Ramp: from `startPerSec`, times `growth` while steps are
 * sustained, up to the cap. Once a step is not sustained, bisect between the highest sustained rate and the
 * lowest unsustained one until they are within `precision`; if the very first step fails, step down by
 * `growth` until one is sustained. A step at or below a sustained rate that is not sustained ends the search
 * (the rates are not monotone on a shared machine, and the search says what it found rather than wander).
 */
export class RateSearch {
  readonly #s: SearchSettings;
  #ok: number | null = null;
  #bad: number | null = null;
  #steps = 0;

  constructor(settings: SearchSettings) {
    if (!(settings.growth > 1)) throw new Error('growth must be above 1');
    if (!(settings.startPerSec > 0 && settings.capPerSec >= settings.startPerSec)) throw new Error('need 0 < startPerSec <= capPerSec');
    if (!(settings.quantumPerSec > 0) || !(settings.stepsMax >= 1)) throw new Error('quantumPerSec and stepsMax must be positive');
    this.#s = settings;
  }

  /** The highest rate that was sustained, or null. */
  get highestSustained(): number | null {
    return this.#ok;
  }

  /** The lowest rate that was not sustained, or null. */
  get lowestUnsustained(): number | null {
    return this.#bad;
  }

  /** Steps recorded so far. */
  get steps(): number {
    return this.#steps;
  }

  /** The next rate to try, or null when the search is over. */
  next(): number | null {
    const s = this.#s;
    if (this.#steps >= s.stepsMax) return null;
    const q = (r: number): number => Math.max(s.quantumPerSec, Math.round(r / s.quantumPerSec) * s.quantumPerSec);
    const ok = this.#ok;
    const bad = this.#bad;
    if (ok === null && bad === null) return q(s.startPerSec);
    if (bad === null) {
      const up = Math.min(s.capPerSec, q((ok as number) * s.growth));
      return up > (ok as number) ? up : null;
    }
    if (ok === null) {
      const down = q(bad / s.growth);
      return down < bad ? down : null;
    }
    if (bad - ok <= s.precision * ok) return null;
    const mid = q((ok + bad) / 2);
    return mid > ok && mid < bad ? mid : null;
  }

  /** Records the verdict of a step at `rate`. */
  record(rate: number, sustained: boolean): void {
    this.#steps++;
    if (sustained) {
      this.#ok = Math.max(this.#ok ?? 0, rate);
      // A higher rate sustained after a lower one was not: that failure was the machine's, not the node's.
      if (this.#bad !== null && this.#bad <= rate) this.#bad = null;
    } else {
      this.#bad = Math.min(this.#bad ?? Number.POSITIVE_INFINITY, rate);
      // A rate at or below one already sustained failed: the search ends with what it has (next() sees no gap).
      if (this.#ok !== null && rate <= this.#ok) this.#bad = this.#ok;
    }
  }
}

/** Nearest-rank percentile of ascending values (null when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

/**
 * Send time of each message of a step, from the generator's sending ticks: tick k left at `tickAtMs[k]` with
 * the messages from the end of tick k-1 up to (not including) `tickEnd[k]` (offsets within the step).
 * Returns the latency of every delivered message (delivery time minus send time; NaN deliveries skipped),
 * ascending.
 */
export function latenciesMs(deliveredAtMs: Float64Array, tickAtMs: Float64Array, tickEnd: Uint32Array): Float64Array {
  const out = new Float64Array(deliveredAtMs.length);
  let n = 0;
  let tick = 0;
  for (let i = 0; i < deliveredAtMs.length; i++) {
    while (tick < tickEnd.length && (tickEnd[tick] as number) <= i) tick++;
    if (tick >= tickEnd.length) break; // never sent
    const d = deliveredAtMs[i] as number;
    if (Number.isNaN(d)) continue;
    out[n++] = d - (tickAtMs[tick] as number);
  }
  return out.subarray(0, n).sort();
}
