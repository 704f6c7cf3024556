/**
 * Review of outage detection (src/core/outage-watch.ts, OutageWatch.check, asked before anything reaches the
 * state machine "so no decision of a paused node slips in before the check"): after a pause longer than
 * stallMsMax but shorter than a round, the round tick and the stall probe both fire late, in the order they
 * fell due. When the tick fell due first (a probe phase that is not the round's; here a clock offset of
 * 13 ms), the tick's check sees no stall (time jumped less than a round past it) and decides the instance
 * whose end fell inside the pause, with the pool as it was when the process stopped: chains that came during
 * the pause are queued and checked after it. The probe then fires and the validator catches up, but that
 * decision is already appended live. Here the outcome happens to be right (block B, which the paused
 * validator had since round 1); a chain it needed that came in the last moments before the pause would have
 * been missed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';

const roundMs = 200;

test('a pause of 130 ms across the end of an instance: the instance is not decided live before the stall is noticed (every start offset in the 30 ms before its end)', async () => {
  const slipped: string[] = [];
  for (let offMs = -30; offMs <= -2; offMs++) {
    const w = new World({ seed: 1, n: 4, faults: 1, roundMs, delayMinMs: 1, delayMaxMs: 12, verifyMsMax: 2, diskMsMax: 2, syncIntervalMs: 500, eventsMax: 4_000_000, offsetsMs: [0, 13, 0, 0] });
    w.startFullMesh();
    w.mineAt(0, 8, 'B');
    const events: string[] = [];
    w.sched.at(w.T0(2), () => {
      const v = w.nodes[1]!.validator;
      v.on('decided', (e) => void (e.instance.t0 === 8 && events.push('decided live')));
      v.on('synced', (e) => void (e.block.t0 === 8 && events.push('synced')));
      v.on('resync', () => void events.push('resync'));
    });
    // Instance 8 (k = 2) ends at T0(10); v1's clock is 13 ms ahead, so on the timeline it ends 13 ms before
    // and v1's round tick falls due 1 ms after that. The pause starts before the end: v1 must not decide
    // instance 8 on its own view ('decided', reported once the block is on disk), it must catch it up ('synced').
    w.sched.at(w.T0(10) - 12 + offMs, () => w.pause(1, 130));
    await w.sched.run(w.T0(16));
    assert.ok(events.includes('resync'), `pause at ${offMs} ms: the stall is noticed`);
    if (events.includes('decided live')) slipped.push(`pause from ${-offMs} ms before v1's tick: ${events.join(', ')}`);
  }
  assert.equal(slipped, [], `instance 8 decided before the stall was noticed:\n${slipped.join('\n')}`);
});

test.run();
