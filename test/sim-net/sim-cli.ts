/**
 * `npm run sim`: the agreement simulator (test/sim-net/agreement.ts) over many seeds, on the shipped node and
 * validator code.
 *
 *   npm run sim -- --runs 10000            seeds 1..10000
 *   npm run sim -- --runs 500 --from 20000 seeds 20000..20499
 *   npm run sim -- --seed 4242             replays one seed and prints what it drew and every violation
 *   npm run sim -- --runs 10000 --record   also writes the summary to the agreement-sim section of
 *                                          bench/RESULTS.md (with the command, date, cores, Node, load)
 *
 * Prints each failing seed as it happens and a coverage summary; exits 1 if any run violated a property.
 */
import { parseArgs } from 'node:util';
import { runAgreement } from './agreement.ts';
import { describeBatch, runAgreementBatch } from './agreement-runs.ts';
import { environment, updateResultsMarkdown } from '../../bench/lib.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, from: { type: 'string' }, seed: { type: 'string' }, record: { type: 'boolean' } }, strict: true });
  if (values.seed !== undefined) {
    const o = await runAgreement(Number(values.seed));
    console.log(`seed ${o.seed}: ${o.shape}, n=${o.n} f=${o.f} observers=${o.observers} byzantine=[${o.byzantine.join(',')}]`);
    console.log(`  verifiers: ${o.honest.map((i) => `${i}=${o.verifiers[i]}`).join(' ')}`);
    console.log(`  timing: ${JSON.stringify(o.timing)}; events ${o.world.sched.events}; honest proposals ${o.proposals.length}`);
    console.log(o.violations.length === 0 ? '  no violation' : o.violations.join('\n'));
    process.exit(o.violations.length === 0 ? 0 : 1);
  }
  const runs = Number(values.runs ?? 1000);
  const from = Number(values.from ?? 1);
  const started = Date.now();
  const env = environment();
  const batch = await runAgreementBatch(from, runs, (o) => {
    for (const v of o.violations) console.log(`FAIL ${v}\n  replay: npm run sim -- --seed ${o.seed}`);
    if ((o.seed - from + 1) % 500 === 0) console.log(`... ${o.seed - from + 1} runs, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });
  const summary = `${describeBatch(batch)}\nseeds ${from}..${from + runs - 1}, ${((Date.now() - started) / 1000).toFixed(1)} s`;
  console.log(summary);
  if (values.record) await recordSummary(env, summary, batch.failures.length, process.argv.slice(2));
  process.exit(batch.failures.length === 0 ? 0 : 1);
}

/** The agreement-sim section of bench/RESULTS.md: this run's printed summary, as printed. */
async function recordSummary(env: ReturnType<typeof environment>, summary: string, violations: number, argv: string[]): Promise<void> {
  const section = [
    `Command: \`npm run sim -- ${argv.join(' ')}\`  `,
    `Date: ${env.date}, ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, 1-minute load average at start ${env.loadAverage1m}`,
    '',
    `Result: ${violations === 0 ? 'no violation (agreement, validity, observers holding and following the chain, no honest peer scored beyond a mild code)' : `${violations} violations (see the run's FAIL lines)`}.`,
    '',
    '```',
    summary,
    '```',
  ].join('\n');
  await updateResultsMarkdown('agreement-sim', section);
  console.log('wrote the "agreement-sim" section of bench/RESULTS.md');
}

await main();
