/**
 * The consensus benchmark's verification floor (bench/consensus/verification-floor.ts): the least round
 * length at which signature checks alone fit in a round when every validator mines every round.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verificationFloorMs } from '../bench/consensus/verification-floor.ts';

test('n blocks x n validators x checks per block x one check, over the cores', () => {
  // n = 16, 15 checks per node per block (n - 1 with the cache), 54 us a check, 2 cores: 103.68 ms, so the
  // issue's 50 ms round with every validator mining cannot hold synchrony on 2 cores.
  assert.ok(Math.abs(verificationFloorMs(16, 15, 54, 2) - 103.68) < 1e-9);
  assert.ok(Math.abs(verificationFloorMs(4, 3, 54, 2) - 1.296) < 1e-9);
  assert.ok(Math.abs(verificationFloorMs(16, 15, 54, 16) - 12.96) < 1e-9, 'sixteen cores: an eighth of it');
});

test.run();
