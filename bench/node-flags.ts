/**
 * The Node flags a benchmark's node processes start with: those the installed `strongcast` command runs
 * Node with (the first line of bin/strongcast.js; test/cli-node-flags.test.ts keeps the two the same), so a
 * benchmark measures what users run, then any from STRONGCAST_BENCH_NODE_FLAGS (space-separated, e.g.
 * `--cpu-prof --cpu-prof-dir=prof` to profile a run, or `--max-semi-space-size=16` to undo the CLI's).
 */

/**
 * V8's young generation capped at 2 MB semi-spaces (its default cap is 16 MB): under a steady stream of
 * messages V8 otherwise grows it towards the cap, and a node's peak memory with it, for no CPU gained
 * (bench/RESULTS.md `gossip-semi-space`: 16 nodes at 1,000 msg/s, 93 MB per node against 103-105, the
 * same CPU per delivery, shorter stalls).
 */
export const cliNodeFlags: readonly string[] = ['--max-semi-space-size=2'];

/** The CLI's flags, then STRONGCAST_BENCH_NODE_FLAGS. */
export function benchNodeFlags(): string[] {
  return [...cliNodeFlags, ...(process.env['STRONGCAST_BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean)];
}
