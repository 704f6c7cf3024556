/**
 * What a finished load run recorded, turned into the inputs of the pure checks (fault-bound.ts, validity.ts,
 * attack-evidence.ts) and their verdicts. Only the faults the run accounts for (`run.outages`) go into the
 * bound; the delivery rule alone also hears of the cuts made to break validity on purpose.
 */
import { toHex } from '../../src/bytes.ts';
import { attackEvidence, samplesAround, type AttackEvidence } from './attack-evidence.ts';
import { suiteEvidence, suiteGraceMs, type SuiteEvidence, type TargetView } from './suite-evidence.ts';
import type { ReleaseRecord } from './consensus-attacks.ts';
import type { LoadRun } from './driver.ts';
import { instanceSpanMs, worstInstance, type OutageSpan, type WorstInstance } from './fault-bound.ts';
import { byzantineCount } from './plan.ts';
import { checkValidity, observedOutages, stallOutages, type ValidityResult } from './validity.ts';

/** A `resync` this many rounds after a fault ended still belongs to it (a resumed validator notices at its next tick). */
export const noticeRounds = 2;

/** The outages of the run as observed, [fault, back), in ms since the epoch: injected faults and reported stalls. */
export function observedSpans(run: LoadRun): OutageSpan[] {
  const roundMs = run.plan.config.roundMs;
  const faults = observedOutages(run.outages, run.recorder.catchUps, run.drainEndMs, noticeRounds * roundMs, roundMs);
  return [...faults, ...stallOutages(run.recorder.stalls, run.recorder.catchUps, run.drainEndMs, roundMs)];
}

/** The instance with the most validators faulty, over every start time of the run. */
export function observedWorstInstance(run: LoadRun): WorstInstance {
  return worstInstance(observedSpans(run), byzantineCount, instanceSpanMs(run.plan.k, run.plan.config.roundMs));
}

/** The validity rule applied to every mine request of the run, against the final reference chain. */
export function validityOf(run: LoadRun, reference: readonly string[]): ValidityResult {
  const c = run.plan.config;
  const proposals = run.mineLog.flatMap((m) => (m.proposal ? [{ label: `"${m.text}"`, miner: m.node, t0: m.proposal.t0, hash: m.proposal.hash }] : []));
  const unproposed = run.mineLog.filter((m) => !m.proposal).map((m) => ({ label: `"${m.text}"`, miner: m.node, issuedMs: m.issuedMs, why: m.refused ?? '' }));
  return checkValidity({
    honest: run.plan.roles.honest,
    byzantine: byzantineCount,
    f: c.faults,
    k: run.plan.k,
    roundMs: c.roundMs,
    genesisStartMs: run.genesis?.startMs ?? 0,
    outages: observedSpans(run),
    proposals,
    unproposed,
    decisions: run.recorder.decisions,
    chain: new Set(reference),
  });
}

/** Whether each scheduled attack took place, from what honest validators observed. */
export function attacksOf(run: LoadRun): AttackEvidence[] {
  const validatorKeys = new Set((run.genesis?.validators ?? []).map((v) => toHex(v.publicKey)));
  const flooderKey = run.genesis ? toHex(run.genesis.validators[run.plan.roles.flooder]!.publicKey) : '';
  const releases = (run.byzantineReports['withholder'] as { releases?: ReleaseRecord[] } | undefined)?.releases ?? [];
  const r = run.recorder;
  return attackEvidence(run.plan.attacks, run.attackLog, {
    equivocator: run.plan.roles.equivocator,
    // The flooder attacks with its validator key, and with fresh keys once a node has banned that one.
    isFlooder: (peer) => peer === flooderKey || (/^[0-9a-f]{64}$/.test(peer) && !validatorKeys.has(peer)),
    instances: r.instances,
    decisions: r.decisions,
    charges: r.charges,
    refusals: r.refusals,
    statsLog: r.statsLog,
    releases,
  });
}

/** Whether each attack of the suite (--attack-suite) reached its target: the attacker's report and what the target said. */
export function suiteOf(run: LoadRun): SuiteEvidence[] {
  const s = run.plan.suite;
  if (!s || !run.suite) return [];
  const validatorKeys = new Set((run.genesis?.validators ?? []).map((v) => toHex(v.publicKey)));
  const log = run.recorder.statsLog.get(s.target);
  const records = run.suite.records;
  return records.map((rec, i) => {
    const from = rec.startedMs ?? 0;
    const to = rec.endedMs ?? from;
    // Charges count until the grace is over or the next attack starts, whichever comes first.
    const until = Math.min(to + suiteGraceMs, records[i + 1]?.startedMs ?? Infinity);
    const charges: Record<string, number> = {};
    let bans = 0;
    for (const c of run.recorder.charges) {
      if (c.node !== s.target || validatorKeys.has(c.peer) || c.atMs < from || c.atMs > until) continue;
      charges[c.code] = (charges[c.code] ?? 0) + 1;
      if (c.banned === true) bans++;
    }
    const around = rec.startedMs === null ? null : samplesAround(log, from, to);
    const d = (k: 'offences' | 'bans' | 'rateHolds' | 'turnsCut') => (around ? around.after[k] - around.before[k] : 0);
    const view: TargetView = { charges, bans, counters: around ? { offences: d('offences'), bans: d('bans'), rateHolds: d('rateHolds'), turnsCut: d('turnsCut') } : null };
    return suiteEvidence(rec, view);
  });
}
