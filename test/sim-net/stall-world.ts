/**
 * The world of the network-wide stall tests (total-stall-sim, total-stall-mining-sim): drawn from the seed,
 * n of 4, 5 or 7, f = floor((n - 1) / 2), clocks up to ±20 ms apart, links 1-10 ms, catch-up asking every 200
 * or 500 ms; fully meshed and started. The last f validators are the ones a test silences.
 */
import { Prng } from '../../src/sim/prng.ts';
import { World } from './world.ts';

/** A started world, the draw it came from (for the test's further choices), and who is live or silent. */
export function stallWorld(seed: number, roundMs: number): { world: World; draw: Prng; live: number[]; silent: number[] } {
  const draw = new Prng(seed * 4099 + 3);
  const n = draw.pick([4, 5, 7]);
  const f = Math.floor((n - 1) / 2);
  const offsetsMs = [...Array(n).keys()].map(() => draw.int(-20, 20));
  const world = new World({ seed, n, faults: f, roundMs, delayMinMs: 1, delayMaxMs: 10, verifyMsMax: 2, diskMsMax: 2, syncIntervalMs: draw.pick([200, 500]), eventsMax: 6_000_000, offsetsMs });
  world.startFullMesh();
  return { world, draw, live: [...Array(n).keys()].slice(0, n - f), silent: [...Array(n).keys()].slice(n - f) };
}
