/**
 * The attack suite's goals (issue 16, "Goals, on this 2-core machine, under each attack") and how one
 * attack's measured row is judged against them. Pure: figures in, verdicts and reasons out.
 *
 * The work goal ("no input before the handshake costs more than ~10x its sender's CPU") is estimated as
 *   (victim CPU over the attack window - victim CPU per second in the baseline window x window length)
 *     / attacker CPU (its preparation, e.g. signing in advance, plus the attack itself),
 * all CPU as user + system time of the whole process (the victim's verification threads included), and is
 * judged only for attacks whose input arrives before a handshake completes.
 */

/** The bounds, as the issue states them. */
export const goalLimits = {
  /** A new honest node joins the victim within this long, in ms. */
  joinMsMax: 2000,
  /** Probe latency p99 must stay below this, in ms (and every probe must arrive). */
  probeP99MsBelow: 250,
  /** Bans of honest peers, by the victim or of the victim by honest peers. */
  honestBansMax: 0,
  /** Victim's peak resident memory, in MB. */
  rssMbMax: 200,
  /** Victim CPU caused by the attack per attacker CPU, for input before the handshake. */
  workRatioMax: 10,
} as const;

/** The goals, in the order the table shows them. */
export const goalNames = ['join', 'probes', 'bans', 'crash', 'rss', 'work'] as const;

/** One goal. */
export type GoalName = (typeof goalNames)[number];

/** A goal met, not met, or not judged for this attack. */
export type Verdict = 'ok' | 'FAIL' | '-';

/** What one attack's run measured. */
export interface AttackRow {
  attack: string;
  /** Input before the handshake: the work goal applies. */
  preHandshake: boolean;
  probesSent: number;
  /** Probes that reached H2 through the victim (a copy one relay away from H1) by the end of the window. */
  probesDelivered: number;
  /** p99 (nearest rank) of the delivered probes' latency, in ms; null when none arrived. */
  probeP99Ms: number | null;
  /** Slowest join of a new (or restarted) honest node, in ms; null when one did not join within joinWaitMs. */
  joinMs: number | null;
  joinWaitMs: number;
  /** Bans of honest peers: by the victim, or of the victim by an honest node. */
  honestBans: number;
  /** The victim's process exited during the attack. */
  crashed: boolean;
  /** The victim's peak resident memory (VmHWM), in MB; null when never read. */
  peakRssMb: number | null;
  /** The victim's CPU over the attack window, in % of one core (its threads together). */
  victimCpuPct: number | null;
  /** The attacker's CPU over the attack window, in % of one core (preparation not included). */
  attackerCpuPct: number | null;
  /** Victim CPU caused by the attack / attacker CPU (see the module comment); null when not measured. */
  workRatio: number | null;
  /** Set when the attack could not be measured (the honest nodes never linked, a process failed to start). */
  setupError?: string;
}

/** Nearest-rank percentile `p` (0..100] of `values`; null when empty. With 40 values p99 is the largest. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * Victim CPU caused by the attack per attacker CPU: the victim's CPU over the window less what its baseline
 * rate would have used in that time, over the attacker's CPU. Null without attacker CPU to divide by.
 */
export function workRatio(victimCpuSec: number, victimBaselineCpuPerSec: number, windowSec: number, attackerCpuSec: number): number | null {
  if (!(attackerCpuSec > 0) || !(windowSec > 0)) return null;
  return (victimCpuSec - victimBaselineCpuPerSec * windowSec) / attackerCpuSec;
}

/** Every goal's verdict for one row. A row that could not be measured fails every goal it could not judge. */
export function evaluateGoals(row: AttackRow): Record<GoalName, Verdict> {
  const L = goalLimits;
  const ok = (b: boolean): Verdict => (b ? 'ok' : 'FAIL');
  if (row.setupError !== undefined) return { join: 'FAIL', probes: 'FAIL', bans: 'FAIL', crash: ok(!row.crashed), rss: 'FAIL', work: row.preHandshake ? 'FAIL' : '-' };
  return {
    join: ok(row.joinMs !== null && row.joinMs <= L.joinMsMax),
    probes: ok(row.probesSent > 0 && row.probesDelivered === row.probesSent && row.probeP99Ms !== null && row.probeP99Ms < L.probeP99MsBelow),
    bans: ok(row.honestBans <= L.honestBansMax),
    crash: ok(!row.crashed),
    rss: ok(row.peakRssMb !== null && row.peakRssMb <= L.rssMbMax),
    work: row.preHandshake ? ok(row.workRatio !== null && row.workRatio <= L.workRatioMax) : '-',
  };
}

/** One line per goal the row fails, saying what was measured against what bound. */
export function goalFailures(row: AttackRow): string[] {
  const v = evaluateGoals(row);
  const L = goalLimits;
  const out: string[] = [];
  const say = (goal: GoalName, text: string) => {
    if (v[goal] === 'FAIL') out.push(`${row.attack}: ${goal}: ${text}`);
  };
  // A row that was not measured has no figures to hold against the bounds: its one line says why.
  if (row.setupError !== undefined) return [`${row.attack}: not measured: ${row.setupError}`];
  say('join', row.joinMs === null ? `a new honest node did not join within ${row.joinWaitMs} ms (bound ${L.joinMsMax} ms)` : `joined in ${Math.round(row.joinMs)} ms > ${L.joinMsMax} ms`);
  const lost = row.probesSent - row.probesDelivered;
  const p99 = row.probeP99Ms === null ? 'none arrived' : `p99 ${Math.round(row.probeP99Ms)} ms${row.probeP99Ms >= L.probeP99MsBelow ? ` (bound < ${L.probeP99MsBelow} ms)` : ''}`;
  say('probes', `${row.probesDelivered} of ${row.probesSent} probes delivered through the victim${lost > 0 ? ` (${lost} not by the end of the window)` : ''}, ${p99}`);
  say('bans', `${row.honestBans} bans of honest peers (bound ${L.honestBansMax})`);
  say('crash', 'the victim crashed');
  say('rss', row.peakRssMb === null ? 'peak memory not read' : `peak memory ${row.peakRssMb.toFixed(1)} MB > ${L.rssMbMax} MB`);
  say('work', row.workRatio === null ? 'work ratio not measured' : `victim CPU caused ${row.workRatio.toFixed(1)}x the attacker's CPU > ${L.workRatioMax}x`);
  return out;
}

/** True when every goal judged for the row is met. */
export function rowPasses(row: AttackRow): boolean {
  return Object.values(evaluateGoals(row)).every((v) => v !== 'FAIL');
}
