/**
 * `mine` on a validator with no peer connected is refused at once with its own code, ERR_NO_PEERS (a block
 * mined now would reach nobody: only this validator would decide it). Before, it was refused as
 * ERR_NOT_STARTED, "the node is not running", which it was. Simulator, the shipped node and validator.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World } from './sim-net/world.ts';
import { ErrorCodes, isStrongcastError } from '../src/errors.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

test('mine with no peer connected is refused with ERR_NO_PEERS, not ERR_NOT_STARTED', async () => {
  const w = new World({ seed: 5, n: 4, faults: 1, roundMs: 200, delayMinMs: 1, delayMaxMs: 5, verifyMsMax: 1, diskMsMax: 1, syncIntervalMs: 500, eventsMax: 1_000_000 });
  const alone = w.startNode(0); // no links: its peers are never started
  let refused: unknown = null;
  w.sched.at(w.T0(2) - 10, () => {
    alone.host.run(alone.host.incarnation, () => void alone.validator.mine(utf8('to nobody')).catch((e: unknown) => (refused = e)));
  });
  await w.sched.run(w.T0(3));
  assert.ok(isStrongcastError(refused, 'ERR_NO_PEERS'), `refused with ${(refused as { code?: string })?.code}: ${(refused as Error)?.message}`);
  assert.match((refused as Error).message, /no peer is connected/);
  assert.is(alone.validator.chain().length, 0, 'nothing decided alone');
  assert.ok(ErrorCodes.ERR_NO_PEERS.length > 0, 'a documented code');
});

test.run();
