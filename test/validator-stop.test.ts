/**
 * A validator stopped while its node runs on (a library user switching validators, or stopping consensus
 * before the node): it no longer judges, signs or relays chains, nor answers catch-up, and leaves no timer.
 * Before, the node kept handing it chains: it went on signing and relaying as a validator after stop().
 * Simulator, the shipped node and validator.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';

test('a stopped validator neither signs, relays nor decides, while its node stays connected; the others decide', async () => {
  const w = new World({ seed: 3, n: 4, faults: 1, roundMs: 200, delayMinMs: 1, delayMaxMs: 5, verifyMsMax: 1, diskMsMax: 1, syncIntervalMs: 500, eventsMax: 1_000_000 });
  w.startFullMesh();
  const after: string[] = [];
  let stopped = false;
  w.sched.at(w.T0(3), () => {
    const sv = w.nodes[3]!;
    for (const ev of ['relayed', 'decided', 'proposed', 'resync'] as const) sv.validator.on(ev, () => void (stopped && after.push(ev)));
    sv.validator.stop();
    stopped = true;
  });
  w.mineAt(0, 5, 'after the stop');
  w.mineAt(1, 9, 'and another');
  await w.sched.run(w.T0(16));
  assert.equal(after, [], 'nothing from the stopped validator');
  assert.is(w.nodes[3]!.node.peers().length, 3, 'its node is still linked to the others');
  assert.is(w.nodes[3]!.validator.chain().length, 0);
  for (const i of [0, 1, 2]) assert.is(w.nodes[i]!.validator.chain().length, 2, `validator ${i} decided both blocks`);
});

test.run();
