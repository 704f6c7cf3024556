/**
 * A network whose validators come up after its genesis start, one of them never (within f): operators run
 * `init` (start: now) and bring machines up one by one. Every validator that comes up late catches up first,
 * and before the catch-up rule took the signers' own catch-up into account (statement field `liveFrom`) none
 * could finish: f+1 live statements did not exist, and the one other way out needed all n - 1 others. Here,
 * on the simulator with the shipped node and validator, the network must come alive and decide blocks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';
import { utf8 } from '../src/bytes.ts';

const roundMs = 200;

async function lateNetwork(seed: number, n: number, faults: number, up: number[], startsAt: (i: number) => number): Promise<World> {
  const w = new World({ seed, n, faults, roundMs, delayMinMs: 2, delayMaxMs: 12, verifyMsMax: 2, diskMsMax: 2, syncIntervalMs: 200, eventsMax: 4_000_000 });
  w.mesh = Array.from({ length: n }, (_, i) => new Set(Array.from({ length: n }, (_, j) => j).filter((j) => j !== i)));
  for (const i of up) w.sched.at(w.T0(startsAt(i)), () => void w.startNode(i));
  // Mines from two validators once everyone that comes up is up and has had time to catch up.
  const last = Math.max(...up.map(startsAt));
  for (const [j, m] of [up[0]!, up[up.length - 1]!].entries()) {
    w.sched.at(w.T0(last + 12 + 4 * j) - 10, () => {
      const sv = w.nodes[m]!;
      sv.host.run(sv.host.incarnation, () => void sv.validator.mine(utf8(`late ${m}`)).catch(() => undefined));
    });
  }
  await w.sched.run(w.T0(last + 40));
  return w;
}

function check(w: World, up: number[], what: string): void {
  const chains = up.map((i) => w.nodes[i]!.validator.chain().map((b) => b.hash.join(',')).join('|'));
  for (const i of up) assert.not.ok(w.nodes[i]!.validator.syncing, `${what}: validator ${i} still catching up`);
  assert.ok(chains.every((c) => c === chains[0]), `${what}: chains differ`);
  assert.is(w.nodes[up[0]!]!.validator.chain().length, 2, `${what}: both blocks decided`);
}

test('3 of 4 validators come up after the start, together, and one never: they catch up and decide', async () => {
  check(await lateNetwork(1, 4, 1, [0, 1, 2], () => 3), [0, 1, 2], 'n=4');
});

test('validators coming up one by one after the start, f of them never: they catch up in turn and decide', async () => {
  check(await lateNetwork(2, 7, 2, [0, 1, 2, 3, 4], (i) => 2 + 3 * i), [0, 1, 2, 3, 4], 'n=7');
});

test('f >= n/2: 2 of 4 up late can prove nothing with n - f statements, and stay catching up (never wrongly live)', async () => {
  const w = await lateNetwork(3, 4, 2, [0, 1], () => 3);
  for (const i of [0, 1]) assert.ok(w.nodes[i]!.validator.syncing, `validator ${i} must not finish on a quorum that proves nothing`);
});

test.run();
