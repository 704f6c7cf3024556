/**
 * The attack suite's command line. Pure: argv in, options out, or an Error naming the bad flag.
 */
import { parseArgs } from 'node:util';
import { attackNames, isAttackName, type AttackName } from './catalog.ts';

/** What a run is asked to do. */
export interface AttackArgs {
  /** Short windows and one attack of each kind (a smoke run); RESULTS.md is left alone. */
  quick: boolean;
  /** Only these attacks (in catalogue order); null: all (or the quick set). */
  only: AttackName[] | null;
  /** Seed of everything random the attacker chooses (keys, ids, addresses, sources). */
  seed: number;
  /** Loopback addresses the attacker sends from, spread over `sources / 2` network groups (at least 1). */
  sources: number;
  /** Run `npm run build` first (the nodes run the compiled CLI). */
  build: boolean;
  help: boolean;
}

/** Most source addresses: 127.16.0.0 to 127.79.255.255 hold 64 /16 groups. */
export const sourcesMax = 128;

/** Usage text. */
export const attackUsage = `usage: npm run attack -- [--quick] [--only NAME[,NAME...]] [--seed N] [--sources N] [--no-build]

  --quick        short windows, one attack of each kind; RESULTS.md left unchanged
  --only NAMES   run these attacks only (comma-separated); RESULTS.md left unchanged
  --seed N       seed of the attacker's keys, ids, addresses and source addresses (printed by every run)
  --sources N    loopback addresses the attacker sends from, in N/2 network groups (default 32, at most ${sourcesMax})
  --no-build     use dist/ as it is (npm run build first otherwise)

attacks: ${attackNames.join(', ')}`;

/** Parses the suite's flags. @throws Error naming the flag when a value is bad. */
export function parseAttackArgs(argv: readonly string[], randomSeed: () => number = () => Math.floor(Math.random() * 1_000_000)): AttackArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        seed: { type: 'string' },
        sources: { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error((e as Error).message.split('\n')[0]);
  }
  let only: AttackName[] | null = null;
  if (values.only !== undefined) {
    const names = values.only.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    const unknown = names.filter((n) => !isAttackName(n));
    if (names.length === 0 || unknown.length > 0) throw new Error(`--only: unknown attack '${unknown[0] ?? values.only}' (attacks: ${attackNames.join(', ')})`);
    only = names as AttackName[];
  }
  const seed = values.seed === undefined ? randomSeed() : wholeNumber('seed', values.seed, 0, 2 ** 32 - 1);
  const sources = values.sources === undefined ? 32 : wholeNumber('sources', values.sources, 1, sourcesMax);
  return { quick: values.quick === true, only, seed, sources, build: values['no-build'] !== true, help: values.help === true };
}

function wholeNumber(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new Error(`--${flag} must be an integer in ${min}..${max}, got '${v}'`);
  return n;
}

/**
 * The loopback addresses the attacker sends from: `count` of them, two per network group (/16), in groups
 * 127.16 onwards (never 127.0, the honest nodes' group), hosts picked by `rand` (uniform in [0, 1)).
 */
export function sourceAddresses(count: number, rand: () => number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const group = 16 + Math.floor(i / 2);
    // the two of a group differ in the third byte, so they are never the same address
    out.push(`127.${group}.${(i % 2) * 128 + Math.floor(rand() * 128)}.${1 + Math.floor(rand() * 254)}`);
  }
  return out;
}
