/**
 * The attack suite's printed table and summary: one row per attack, the figures the issue asks for and a
 * verdict per goal, then one line per goal not met and the run's verdict. Pure: rows in, text out.
 */
import { evaluateGoals, goalFailures, goalLimits, goalNames, rowPasses, type AttackRow } from './goals.ts';

/** A column: its heading, its cell for a row, and whether it is aligned left. */
interface Column {
  head: string;
  cell: (r: AttackRow) => string;
  left?: boolean;
}

const int = (v: number | null): string => (v === null ? '-' : String(Math.round(v)));
const oneDecimal = (v: number | null): string => (v === null ? '-' : v.toFixed(1));

/** The table's columns, figures first, then one per goal. */
const columns: Column[] = [
  { head: 'attack', cell: (r) => r.attack, left: true },
  { head: 'delivered', cell: (r) => (r.setupError !== undefined && r.probesSent === 0 ? '-' : `${r.probesDelivered}/${r.probesSent}`) },
  { head: 'p99 ms', cell: (r) => int(r.probeP99Ms) },
  { head: 'join ms', cell: (r) => (r.joinMs === null ? (r.setupError !== undefined ? '-' : `>${r.joinWaitMs}`) : int(r.joinMs)) },
  { head: 'honest bans', cell: (r) => String(r.honestBans) },
  { head: 'V crashed', cell: (r) => (r.crashed ? 'YES' : 'no') },
  { head: 'V peak MB', cell: (r) => oneDecimal(r.peakRssMb) },
  { head: 'V CPU %', cell: (r) => int(r.victimCpuPct) },
  { head: 'att CPU %', cell: (r) => int(r.attackerCpuPct) },
  { head: 'V/att', cell: (r) => oneDecimal(r.workRatio) },
  ...goalNames.map((g): Column => ({ head: g, cell: (r) => evaluateGoals(r)[g] })),
];

/** The table as printed: a heading, a rule, one line per row; every line the same width. */
export function formatTable(rows: readonly AttackRow[]): string {
  const cells = rows.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, i) => Math.max(c.head.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]): string => values.map((v, i) => (columns[i]!.left ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(columns.map((c) => c.head)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** What the goal columns mean, printed under the table. */
export function goalLegend(): string {
  const L = goalLimits;
  return [
    `goals: join <= ${L.joinMsMax} ms; probes all delivered with p99 < ${L.probeP99MsBelow} ms; ${L.honestBansMax} honest bans; no crash;`,
    `peak RSS <= ${L.rssMbMax} MB; work (input before the handshake only): victim CPU above its baseline <= ${L.workRatioMax}x attacker CPU ('-': not judged)`,
  ].join('\n');
}

/** The run's verdict: every goal not met, one line each, and whether the run passes. */
export function summarize(rows: readonly AttackRow[]): { passed: boolean; lines: string[] } {
  const failures = rows.flatMap(goalFailures);
  const failedRows = rows.filter((r) => !rowPasses(r)).length;
  const lines = failures.length === 0
    ? [`all goals met in ${rows.length} of ${rows.length} attacks`]
    : [`FAILED: ${failedRows} of ${rows.length} attacks miss a goal:`, ...failures.map((f) => `  ${f}`)];
  return { passed: failures.length === 0, lines };
}
