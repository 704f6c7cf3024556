/**
 * A network of one validator (n = 1, f = 0: a developer's chain, or the first validator of a network that
 * grows later) pauses longer than a round. The time jump past its round tick starts catch-up (outage-watch),
 * and catch-up ended only on a reply, which a validator with no peers never gets: it stayed catching up for
 * good, holding every decision from then on (seen as a rare timeout of test/store-decided-after-append under
 * load). With f = 0 its own chain is the quorum, and catch-up checks for completion on its own asks too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';

const roundMs = 200;

test('a lone validator paused past a round catches up on its own and goes on deciding', async () => {
  for (const seed of [1, 2, 3]) {
    const world = new World({ seed, n: 1, faults: 0, roundMs, delayMinMs: 1, delayMaxMs: 5, verifyMsMax: 2, diskMsMax: 2, syncIntervalMs: 500, eventsMax: 1_000_000 });
    world.startFullMesh();
    world.mineAt(0, 3, 'before');
    world.sched.at(world.T0(6) + 50, () => world.pause(0, 3 * roundMs));
    for (let t0 = 14; t0 <= 20; t0 += 3) world.mineAt(0, t0, `after ${t0}`);
    await world.sched.run(world.T0(30));
    const sv = world.nodes[0]!;
    assert.ok(sv.counters.resyncs >= 1, `seed ${seed}: the pause started a catch-up (resyncs ${sv.counters.resyncs})`);
    assert.not.ok(sv.validator.syncing, `seed ${seed}: not still catching up`);
    assert.is(sv.validator.chain().length, 4, `seed ${seed}: the block before the pause and the three after it decided`);
  }
});

test.run();
