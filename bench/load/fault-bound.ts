/**
 * The fault bound of a load run, as pure code shared by the plan (planned outages) and the verdict (observed
 * outages). Dolev-Strong promises agreement and validity for an instance only when at most f validators are
 * faulty during it, so the bound is judged per instance:
 *
 *  - an instance runs for its span: its k rounds plus the round in which its decision falls due (a validator
 *    decides at its first round tick after round k), (k + 1) rounds from the start of its round 1;
 *  - a validator is faulty for an instance when it is Byzantine, or when one of its outages overlaps the span;
 *    an outage runs from the fault the run injected (SIGKILL, SIGSTOP, isolate) until the validator is back:
 *    running, connected and, if it had to catch up, caught up;
 *  - the instance was within the bound when at most f validators were faulty for it.
 *
 * A validator out at any moment of an instance counts for the whole instance (it may have missed a round),
 * so two validators out one after the other within one span both count.
 */

/** One period in which an honest validator was out: [fromMs, toMs). */
export interface OutageSpan {
  node: number;
  fromMs: number;
  toMs: number;
}

/** An instance's span in ms: k rounds and the round in which its decision falls due. */
export function instanceSpanMs(k: number, roundMs: number): number {
  return (k + 1) * roundMs;
}

/** Honest validators with an outage overlapping [startMs, startMs + spanMs), in index order. */
export function faultyDuring(outages: readonly OutageSpan[], startMs: number, spanMs: number): number[] {
  const endMs = startMs + spanMs;
  const nodes = new Set(outages.filter((o) => o.fromMs < endMs && startMs < o.toMs).map((o) => o.node));
  return [...nodes].sort((a, b) => a - b);
}

/** The instance with the most faulty validators, over every start time. */
export interface WorstInstance {
  /** Byzantine validators plus the honest ones out during the span. */
  faulty: number;
  /** Start of that instance (the first such start), in the outages' time base; null when no outage. */
  startMs: number | null;
  /** The honest validators out during it. */
  nodes: number[];
}

/**
 * The most validators faulty for one instance, whatever its start. An outage [a, b) touches the instances
 * starting in (a - span, b), so the maximum is reached just after some a - span; those starts are all tried.
 */
export function worstInstance(outages: readonly OutageSpan[], byzantine: number, spanMs: number): WorstInstance {
  let worst: WorstInstance = { faulty: byzantine, startMs: null, nodes: [] };
  const starts = [...new Set(outages.map((o) => o.fromMs - spanMs + 1))].sort((a, b) => a - b);
  for (const t of starts) {
    const nodes = faultyDuring(outages, t, spanMs);
    if (byzantine + nodes.length > worst.faulty) worst = { faulty: byzantine + nodes.length, startMs: t, nodes };
  }
  return worst;
}
