/**
 * Load test: at least 16 validators on loopback under sustained signed broadcasts and mining while Byzantine
 * validators attack and honest ones are killed and restarted, paused and cut off, on a seeded schedule.
 *
 *   npm run load                     full run (a few minutes)
 *   npm run load -- --quick          short run (under a minute), same checks
 *   npm run load -- --seed 42        replays the plan of seed 42
 *
 * --hosts runs each validator, observer and Byzantine process in a Linux network namespace of its own (own
 * address, clock offset within the skew bound, links shaped with latency, jitter and loss; load/hosting.ts),
 * with 2 observers unless --observers N says otherwise; without root it says so and runs on loopback.
 * Other flags: --round-ms MS, --load-s S (length of the load phase), --rate N (broadcasts per second),
 * --memory-mb MB (bound per process), --quiet-windows (no block instance during pause and isolate outages),
 * --keep (keep the run directory with genesis, keys, data and logs; a failed run always keeps it).
 * --attack-suite also runs the attack suite's attacks (bench/attack/) against one honest validator during the
 * load phase, every kind once (a quick run: the suite's quick set), a few seconds each, from the suite's
 * attacker in a process of its own; that validator runs with per-IP limits on loopback and every process
 * gets a /16 of its own (load/suite-plan.ts, load/suite-runner.ts). The summary says, per attack, whether it
 * reached the target (load/suite-evidence.ts), and every other check must still hold. --suite-skip NAMES
 * (comma-separated; implies --attack-suite) leaves those attacks out, to tell one attack's harm from the others'.
 * --break-validity tests the checks themselves: the run cuts an honest validator off while a block is
 * proposed and hides that cut from its fault accounting, so validity breaks as the checks see it and the run
 * must fail, naming the proposal. It exists in this harness only (the node's CLI has no such switch).
 *
 * Prints the plan, a log of what was done, and one summary; writes bench/results/load.json and, for full
 * runs, the `load` section of bench/RESULTS.md. Exits 1 when a check that must hold did not. Not part of
 * `npm run bench` (bench/run.ts skips it): it is a correctness run under load, not a figure to track.
 */
import { parseArgs } from 'node:util';
import { rmSync } from 'node:fs';
import { killAllChildren } from './child-rpc.ts';
import { buildDist } from './lib.ts';
import { LoadRun } from './load/driver.ts';
import { buildPlan, defaultConfig, describePlan, type LoadConfig } from './load/plan.ts';
import { judge, report } from './load/summary.ts';
import { canMakeNamespaces } from './load/hosting.ts';
import { attackNames, isAttackName, type AttackName } from './attack/catalog.ts';

/** The whole run is abandoned after this, whatever happens, in ms. */
const hardLimitMs = { quick: 120_000, full: 9 * 60_000 } as const;

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${v}'`);
  return n;
}

function config(argv: string[]): LoadConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      'round-ms': { type: 'string' },
      'load-s': { type: 'string' },
      rate: { type: 'string' },
      'memory-mb': { type: 'string' },
      'quiet-windows': { type: 'boolean', default: false },
      'break-validity': { type: 'boolean', default: false },
      hosts: { type: 'boolean', default: false },
      observers: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'attack-suite': { type: 'boolean', default: false },
      'suite-skip': { type: 'string' },
    },
    strict: true,
  });
  const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Math.floor(positive('seed', values.seed, 1));
  const c = defaultConfig(values.quick === true, seed);
  c.roundMs = Math.floor(positive('round-ms', values['round-ms'], c.roundMs));
  c.loadMs = Math.floor(positive('load-s', values['load-s'], c.loadMs / 1000) * 1000);
  c.msgsPerSec = positive('rate', values.rate, c.msgsPerSec);
  c.memoryBoundMb = positive('memory-mb', values['memory-mb'], c.memoryBoundMb);
  c.quietWindows = values['quiet-windows'] === true;
  c.breakValidity = values['break-validity'] === true;
  c.hosts = values.hosts === true;
  c.attackSuite = values['attack-suite'] === true || values['suite-skip'] !== undefined;
  if (values['suite-skip'] !== undefined) {
    const names = values['suite-skip'].split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    const bad = names.find((n) => !isAttackName(n) || n === 'baseline');
    if (names.length === 0 || bad !== undefined) throw new Error(`--suite-skip: unknown attack '${bad ?? values['suite-skip']}' (attacks: ${attackNames.filter((n) => n !== 'baseline').join(', ')})`);
    c.suiteSkip = names as AttackName[];
  }
  if (c.hosts && !canMakeNamespaces()) {
    console.log('load: --hosts needs root and `ip netns` to make network namespaces; running on loopback instead');
    c.hosts = false;
  }
  c.observers = Math.floor(values.observers === undefined ? (c.hosts ? 2 : 0) : Number(values.observers));
  if (!Number.isSafeInteger(c.observers) || c.observers < 0 || c.observers > 8) throw new Error(`--observers must be an integer in 0..8, got '${values.observers}'`);
  return c;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const c = config(argv);
  const keep = argv.includes('--keep');
  const plan = buildPlan(c);
  console.log(`# load${c.quick ? ' (quick)' : ''}`);
  for (const l of describePlan(plan)) console.log(l);
  const started = Date.now();
  const limit = setTimeout(() => {
    console.error(`load: abandoned after ${(hardLimitMs[c.quick ? 'quick' : 'full'] / 1000).toFixed(0)} s (seed ${c.seed})`);
    killAllChildren();
    process.exit(1);
  }, hardLimitMs[c.quick ? 'quick' : 'full']);
  limit.unref();
  // The validators run the compiled CLI (load/honest-node.ts).
  buildDist();
  const run = new LoadRun(plan);
  // Namespaces made for --hosts go whatever way the run ends (an abandoned run exits from the timer above).
  process.on('exit', () => run.hosting?.tearDown());
  // The run directory (genesis, keys, data, logs) goes away at exit unless asked for or needed to debug a failure.
  let keepDir = keep;
  process.on('exit', () => {
    if (!keepDir) rmSync(run.dir, { recursive: true, force: true });
  });
  let failed = false;
  try {
    await run.setUp();
    run.note('load phase starts');
    await run.runLoad();
    run.note('load phase over: draining');
    await run.drain();
    await run.collect();
  } catch (e) {
    failed = true;
    console.error(`load: run failed (seed ${c.seed}): ${(e as Error).stack ?? String(e)}`);
  } finally {
    await run.tearDown();
  }
  if (failed) {
    keepDir = true;
    console.log(`run directory kept: ${run.dir}`);
    return 1;
  }
  const verdict = judge(run, Date.now() - started);
  await report(run, verdict);
  if (!verdict.passed) keepDir = true;
  if (keepDir) console.log(`run directory kept: ${run.dir}`);
  return verdict.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`load: ${(e as Error).message}`);
    killAllChildren();
    process.exit(2);
  },
);
