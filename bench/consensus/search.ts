/**
 * The loopback round-length search alone, for an ad-hoc look (prints, writes nothing):
 *
 *   node --import tsx bench/consensus/search.ts --validators 16 --round-ms 250,100,50 [--runs 3] [--faults F] [--all-mine-rounds 3]
 *
 * n validator processes on this machine (they share its cores), each round length tried with `runs` runs of
 * n one-by-one blocks and `all-mine-rounds` rounds in which every validator mines, longest first, stopping
 * at the first that fails (loopback.ts). Bounded: at most 20 round lengths, 10 runs each, 64 validators.
 * The validators run the compiled code, so this builds dist/ first (`npm run build`).
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { searchRoundMs } from './loopback.ts';
import { buildDist } from '../lib.ts';

const limits = { roundLengthsMax: 20, runsMax: 10, validatorsMax: 64, allMineRoundsMax: 10 } as const;

function positive(name: string, v: string | undefined, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1 || x > max) throw new Error(`--${name} must be an integer in 1..${max}`);
  return x;
}

const { values } = parseArgs({
  options: {
    validators: { type: 'string' },
    faults: { type: 'string' },
    'round-ms': { type: 'string' },
    runs: { type: 'string' },
    'all-mine-rounds': { type: 'string' },
  },
});
const validators = positive('validators', values.validators, 4, limits.validatorsMax);
const faults = values.faults === undefined ? Math.floor((validators - 1) / 3) : Number(values.faults);
if (!Number.isInteger(faults) || faults < 0 || faults >= validators) throw new Error('--faults must be an integer in 0..validators-1');
const roundMsList = (values['round-ms'] ?? '500,250,100,50').split(',').map((s) => positive('round-ms', s, 0, 3_600_000));
if (roundMsList.length > limits.roundLengthsMax) throw new Error(`--round-ms takes at most ${limits.roundLengthsMax} values`);
const runsPerRoundMs = positive('runs', values.runs, 1, limits.runsMax);
const allMineRounds = positive('all-mine-rounds', values['all-mine-rounds'], 3, limits.allMineRoundsMax);

buildDist();
console.log(`# loopback search: n=${validators}, f=${faults}, ${validators} processes on ${cpus().length} cores, Node ${process.version}, load ${(loadavg()[0] ?? 0).toFixed(2)}`);
const rows = await searchRoundMs({ validators, faults, roundMsList, runsPerRoundMs, allMineRounds }, (line) => console.log(line));
const passed = rows.filter((r) => r.allDecidedCorrectly);
const best = passed[passed.length - 1];
console.log(best ? `smallest correct: ${best.roundMs} ms (${runsPerRoundMs} run(s) each)` : 'no round length tried was correct');
console.log(`load average now ${(loadavg()[0] ?? 0).toFixed(2)}`);
