/**
 * The load test's seeded PRNG: the simulator's (mulberry32). Everything random in a load run (schedule,
 * origins, miners, attack targets) comes from one of these, so `--seed N` replays the same plan.
 */
export { Prng } from '../../src/sim/prng.ts';
