/**
 * `npm run sim`: the agreement simulator (test/sim-net/agreement.ts) over many seeds, on the shipped node and
 * validator code.
 *
 *   npm run sim -- --runs 10000            seeds 1..10000
 *   npm run sim -- --runs 500 --from 20000 seeds 20000..20499
 *   npm run sim -- --seed 4242             replays one seed and prints what it drew and every violation
 *
 * Prints each failing seed as it happens and a coverage summary; exits 1 if any run violated a property.
 */
import { parseArgs } from 'node:util';
import { runAgreement } from './agreement.ts';
import { describeBatch, runAgreementBatch } from './agreement-runs.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, from: { type: 'string' }, seed: { type: 'string' } }, strict: true });
  if (values.seed !== undefined) {
    const o = await runAgreement(Number(values.seed));
    console.log(`seed ${o.seed}: ${o.shape}, n=${o.n} f=${o.f} observers=${o.observers} byzantine=[${o.byzantine.join(',')}]`);
    console.log(`  timing: ${JSON.stringify(o.timing)}; events ${o.world.sched.events}; honest proposals ${o.proposals.length}`);
    console.log(o.violations.length === 0 ? '  no violation' : o.violations.join('\n'));
    process.exit(o.violations.length === 0 ? 0 : 1);
  }
  const runs = Number(values.runs ?? 1000);
  const from = Number(values.from ?? 1);
  const started = Date.now();
  const batch = await runAgreementBatch(from, runs, (o) => {
    for (const v of o.violations) console.log(`FAIL ${v}\n  replay: npm run sim -- --seed ${o.seed}`);
    if ((o.seed - from + 1) % 500 === 0) console.log(`... ${o.seed - from + 1} runs, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });
  console.log(describeBatch(batch));
  console.log(`seeds ${from}..${from + runs - 1}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(batch.failures.length === 0 ? 0 : 1);
}

await main();
