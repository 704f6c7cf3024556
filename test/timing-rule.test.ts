/**
 * The timing rule P + σ + D < Δ (src/consensus/timing.ts) at its edges, and `init` refusing a round length
 * that cannot hold its own assumptions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRoundLength, smallestRoundMs, timingDefaults, timingSlackMs } from '../src/consensus/timing.ts';
import { isStrongcastError } from '../src/errors.ts';
import { runCli } from './helpers/proc.ts';

test('slack is Δ minus every term; zero slack fails (a chain at exactly T0 + (r+1)Δ is a round late)', () => {
  assert.is(timingSlackMs({ roundMs: 100, proposeLateMsMax: 25, clockSkewMsMax: 25, deliveryMsMax: 49 }), 1);
  assert.is(timingSlackMs({ roundMs: 100, proposeLateMsMax: 25, clockSkewMsMax: 25, deliveryMsMax: 50 }), 0);
});

test('smallestRoundMs is exactly the edge: it passes and one ms less fails, for many bounds', () => {
  for (const [skew, delivery] of [[50, 100], [0, 0], [0, 1], [1, 0], [10, 3], [40, 20], [100, 0], [7, 333]] as const) {
    const min = smallestRoundMs(skew, delivery);
    checkRoundLength(min, skew, delivery);
    if (min > 1) assert.throws(() => checkRoundLength(min - 1, skew, delivery), (e: unknown) => isStrongcastError(e, 'ERR_INVALID_OPTION'), `σ=${skew} D=${delivery} Δ=${min - 1}`);
  }
  assert.is(smallestRoundMs(timingDefaults.clockSkewMsMax, timingDefaults.deliveryMsMax), 201, 'init defaults: Δ - Δ/4 > 150 first holds at 201');
});

test('the skew must also fit the validators\' default early window of Δ/4', () => {
  checkRoundLength(400, 100, 0);
  assert.throws(() => checkRoundLength(399, 100, 0), /σ must fit the Δ\/4 early window/);
});

test('init refuses a round length that breaks the rule for its defaults, naming the smallest that works, and writes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-timing-'));
  try {
    const r = await runCli(['init', '--nodes', '4', '--out', join(dir, 'a'), '--round-ms', '200']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, 'strongcast: ERR_INVALID_OPTION: --round-ms 200 breaks the timing rule');
    assert.match(r.stderr, 'use --round-ms 201 or more');
    assert.not.ok(existsSync(join(dir, 'a', 'genesis.json')), 'nothing written');
    const ok = await runCli(['init', '--nodes', '4', '--out', join(dir, 'b'), '--round-ms', '201']);
    assert.is(ok.code, 0, ok.stderr);
    const loopback = await runCli(['init', '--nodes', '4', '--out', join(dir, 'c'), '--round-ms', '20', '--clock-skew-ms-max', '1', '--delay-ms-max', '10']);
    assert.is(loopback.code, 0, `smaller stated bounds allow a shorter round: ${loopback.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
