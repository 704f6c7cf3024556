/**
 * The lines under the table that say what each attack did and what the victim and the honest nodes did
 * about it: the attacker's tally and CPU, the victim's counters and offences, joins, charges and bans of
 * honest peers, the two legs of the probes' latency, and who used the machine's CPU over the window. Pure:
 * the measurement's facts in, text out.
 */
import type { AttackerReport } from './attacker.ts';
import { percentile } from './goals.ts';

/** CPU seconds over the attack window: the whole machine (null off Linux), the suite's process, each node by name. */
export interface WindowCpu {
  machine: number | null;
  suite: number;
  byNode: Record<string, number>;
}

/** Everything one attack's measurement gathered, for its evidence lines. */
export interface MeasuredFacts {
  attack: string;
  report: AttackerReport | null;
  /** The victim's CPU seconds per second before the attack. */
  baselineCpuPerSec: number;
  /** The victim's last `stats` answer during the attack. */
  victimStats: Record<string, unknown> | null;
  /** How long each `stats` the victim was asked during the attack took to answer, in ms. */
  statsAnswerMs: number[];
  /** Offences the victim charged, by code. */
  victimOffences: Record<string, number>;
  joins: Array<{ who: string; ms: number | null }>;
  /** One line per ban of an honest peer. */
  honestBans: string[];
  /** Charges against honest peers and drops of them, counted by what happened. */
  honestCharges: Record<string, number>;
  probesSent: number;
  probesStraightFromH1: number;
  /** The probes' two legs by the nodes' stamps, and the whole latency as the suite read the events. */
  legs: { toVictimMs: number[]; fromVictimMs: number[]; atVictim: number; readLatenciesMs?: number[] } | null;
  h2Stats: Record<string, unknown> | null;
  windowSec: number;
  windowCpu: WindowCpu | null;
  cpus: number;
  victimExit: { code: number | null; signal: string | null; logTail: string } | null;
  setupError: string | null;
}

const counted = (r: Record<string, number>, sep = ' x'): string =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}${sep}${n}`)
    .join(', ');

function attackerLine(name: string, r: AttackerReport): string {
  const t = r.tally;
  const mb = (b: number) => (b / 1048576).toFixed(1);
  const facts = Object.entries(t.facts).map(([k, n]) => `${k} ${n}`).join(', ');
  return (
    `${name}: attacker: ${t.connections} connections, ${t.handshakes} handshakes, ${t.refused} refused or cut; ${t.framesSent} frames, ` +
    `${mb(t.bytesSent)} MB sent, ${mb(t.bytesIn)} MB received; CPU ${Math.round(r.prepCpuMs)} ms preparing + ${Math.round(r.runCpuMs)} ms over ` +
    `${(r.runMs / 1000).toFixed(1)} s; connections ended: ${counted(t.closedWith) || 'none'}${facts ? `; ${facts}` : ''}`
  );
}

function victimLine(f: MeasuredFacts): string {
  const s = f.victimStats;
  const stats = s
    ? ['peers', 'delivered', 'duplicates', 'offences', 'bans', 'rateHolds', 'turnsCut'].map((k) => `${k} ${String(s[k])}`).join(', ')
    : null;
  const slowest = f.statsAnswerMs.length ? `${Math.round(Math.max(...f.statsAnswerMs))} ms` : '-';
  return `${f.attack}: victim: baseline CPU ${(f.baselineCpuPerSec * 100).toFixed(1)}% of a core; ${stats ? `last stats: ${stats}` : 'no stats answer'}; offences charged: ${counted(f.victimOffences) || 'none'}; slowest stats answer ${slowest}`;
}

function honestLine(f: MeasuredFacts): string {
  const joins = f.joins.map((j) => `${j.who} ${j.ms === null ? 'did not join' : `${Math.round(j.ms)} ms`}`).join(', ') || 'no join measured';
  const charges = [...f.honestBans, ...Object.entries(f.honestCharges).map(([k, n]) => `${k} x${n}`)].join('; ') || 'nothing';
  const direct = f.probesStraightFromH1 ? `; ${f.probesStraightFromH1} probes came straight from H1 (not counted)` : '';
  const h2 = f.h2Stats ? `; H2 at the end: peers ${String(f.h2Stats.peers)}, delivered ${String(f.h2Stats.delivered)}, rateHolds ${String(f.h2Stats.rateHolds)}` : '';
  const p99 = (xs: number[]) => { const v = percentile(xs, 99); return v === null ? '-' : `${Math.round(v)} ms`; };
  const read = f.legs?.readLatenciesMs ? `, p99 as the suite read the events ${p99(f.legs.readLatenciesMs)}` : '';
  const legs = f.legs ? `; probes: ${f.legs.atVictim} of ${f.probesSent} delivered by V, p99 H1 to V ${p99(f.legs.toVictimMs)}, V to H2 ${p99(f.legs.fromVictimMs)} (node stamps)${read}` : '';
  return `${f.attack}: honest side: ${joins}; charged, banned or dropped: ${charges}${direct}${h2}${legs}`;
}

/** Who used the CPU over the window, in % of one core, and what was left to other processes on the machine. */
export function cpuLine(attack: string, w: WindowCpu, windowSec: number, attackerSec: number, cpus: number): string {
  const pct = (sec: number) => Math.round((100 * sec) / windowSec);
  const nodes = Object.entries(w.byNode).map(([n, sec]) => `${n} ${pct(sec)}`).join(', ');
  const ours = Object.values(w.byNode).reduce((a, b) => a + b, 0) + w.suite + attackerSec;
  const machine = w.machine === null ? '' : `; other processes on the machine ${pct(Math.max(0, w.machine - ours))}; machine busy ${pct(w.machine)} of ${100 * cpus}`;
  return `${attack}: CPU over the ${windowSec.toFixed(1)} s window, % of a core: ${nodes}, attacker ${pct(attackerSec)}, suite ${pct(w.suite)}${machine}`;
}

/** The evidence lines of one attack. */
export function evidenceLines(f: MeasuredFacts): string[] {
  const out: string[] = [];
  if (f.report) out.push(attackerLine(f.attack, f.report));
  out.push(victimLine(f), honestLine(f));
  if (f.windowCpu && f.report && f.windowSec > 0) out.push(cpuLine(f.attack, f.windowCpu, f.windowSec, f.report.runCpuMs / 1000, f.cpus));
  if (f.victimExit) out.push(`${f.attack}: VICTIM EXITED (code ${f.victimExit.code}, signal ${f.victimExit.signal}); log tail:\n${f.victimExit.logTail}`);
  if (f.setupError) out.push(`${f.attack}: not measured: ${f.setupError}`);
  return out;
}
