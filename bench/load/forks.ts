/**
 * Whether a chain split at the end of a load run was alarmed, as pure code over the final chains and the
 * `diverged` alarms validators raised.
 *
 * A fork between honest validators must never be silent (README, "Stalls and forks"): a validator whose chain
 * f+1 others contradict raises `diverged`. So the run tells three outcomes apart: no split; a split that was
 * alarmed (the timing rule broke, and the node said so: an operator would have been told); and a silent fork
 * (chains split and not one validator holding a split chain said so), which is the worse failure, of the
 * alarm itself.
 *
 * Split rule. Two chains conflict when neither is a prefix of the other (a shorter chain that is a prefix of
 * a longer one is behind, not forked). The split validators are those whose chain conflicts with another
 * honest validator's: both sides, since which side is wrong is not for the harness to say (the reference of
 * checks.ts is only the longest chain of a caught-up validator, and may be the minority's). At least one of
 * them must have raised `diverged` for the split to count as alarmed. Those of them that raised none are
 * listed too: on the side f+1 validators hold they need not, on the other they should have.
 */
import type { CheckLine } from './summary.ts';

/** What the run concluded about forks. */
export interface ForkResult {
  /** `none`: no two honest chains conflict; `alarmed`: they do and a split validator raised `diverged`; `silent`: none did. */
  kind: 'none' | 'alarmed' | 'silent';
  /** Validators whose chain conflicts with another honest validator's, ascending. */
  split: number[];
  /** Split validators that raised `diverged`, with their counts of alarms. */
  alarmed: Array<{ node: number; alarms: number }>;
  /** Split validators that raised none. */
  quiet: number[];
  /** `diverged` alarms per honest validator that raised any (every life), ascending by validator. */
  alarms: Array<{ node: number; alarms: number }>;
  /** All `diverged` alarms of honest validators. */
  alarmsTotal: number;
}

/** Whether neither chain is a prefix of the other. */
function conflict(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return true;
  return false;
}

/** Applies the split rule to the honest validators' final chains and their `diverged` alarms. */
export function judgeForks(honest: readonly number[], chains: ReadonlyMap<number, readonly string[]>, divergedBy: ReadonlyMap<number, number>): ForkResult {
  const answered = honest.filter((x) => chains.has(x));
  const split = answered.filter((x) => answered.some((y) => y !== x && conflict(chains.get(x)!, chains.get(y)!))).sort((a, b) => a - b);
  const count = (x: number) => divergedBy.get(x) ?? 0;
  const alarmed = split.filter((x) => count(x) > 0).map((node) => ({ node, alarms: count(node) }));
  const alarms = [...honest].sort((a, b) => a - b).filter((x) => count(x) > 0).map((node) => ({ node, alarms: count(node) }));
  return {
    kind: split.length === 0 ? 'none' : alarmed.length > 0 ? 'alarmed' : 'silent',
    split,
    alarmed,
    quiet: split.filter((x) => count(x) === 0),
    alarms,
    alarmsTotal: alarms.reduce((s, a) => s + a.alarms, 0),
  };
}

/**
 * The summary's must line: no silent fork. An alarmed split passes this line (the chain check fails it
 * anyway); a silent one fails both, and the value says which it was.
 */
export function forkLine(f: ForkResult): CheckLine {
  const each = (xs: ForkResult['alarms']) => xs.map((a) => `${a.node} (${a.alarms})`).join(', ');
  const value =
    f.kind === 'none'
      ? `no split${f.alarmsTotal > 0 ? ` (yet ${f.alarmsTotal} diverged alarm${f.alarmsTotal === 1 ? '' : 's'}: ${each(f.alarms)})` : ''}`
      : f.kind === 'alarmed'
        ? `alarmed fork: validators ${f.split.join(',')} hold conflicting chains; diverged alarms on ${each(f.alarmed)}${f.quiet.length ? `, none on ${f.quiet.join(',')}` : ''}`
        : `SILENT FORK: validators ${f.split.join(',')} hold conflicting chains and none raised diverged`;
  return { check: 'a chain split among honest validators raised diverged on a split validator (no silent fork)', value, must: 'no silent fork', ok: f.kind !== 'silent' };
}
