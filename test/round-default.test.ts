/**
 * The round length `init` and `testnet` choose when none is given (src/cli/round-default.ts): at least the
 * floor, the timing rule's smallest Δ for the stated bounds, and the margin over the need measured for n;
 * growing with n beyond the measured points (faster when every validator shares one machine); and what
 * `init` writes and prints.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRoundLength, smallestRoundMs, timingDefaults } from '../src/consensus/timing.ts';
import { genesisLimits } from '../src/consensus/genesis.ts';
import { defaultRoundMs, measuredRoundMs, neededRoundMs, roundMarginFactor, roundMsFloor, roundMsStep } from '../src/cli/round-default.ts';
import { initNetwork } from '../src/cli/init.ts';
import { runCli } from './helpers/proc.ts';

const { clockSkewMsMax: skew, deliveryMsMax: delivery } = timingDefaults;

test('the default is at least the floor and the margin times the need measured for the next measured n', () => {
  for (const m of measuredRoundMs) {
    for (const n of [m.validators, m.validators - 1]) {
      const need = neededRoundMs(n, false);
      assert.is(need.extrapolated, false);
      if (n === m.validators) assert.equal([need.measuredAt, need.roundMs], [m.validators, m.roundMs]);
      const d = defaultRoundMs(n, skew, delivery, false).roundMs;
      assert.ok(d >= roundMsFloor, `n=${n}: ${d}`);
      assert.ok(d >= roundMarginFactor * need.roundMs, `n=${n}: ${d} < ${roundMarginFactor} x ${need.roundMs}`);
      assert.is(d % roundMsStep, 0);
    }
  }
  // The measured basis itself: 1000 ms holds with at least the margin up to 8 validators; 16 need 2000.
  assert.is(defaultRoundMs(4, skew, delivery, false).roundMs, 1000);
  assert.is(defaultRoundMs(8, skew, delivery, false).roundMs, 1000);
  assert.is(defaultRoundMs(16, skew, delivery, false).roundMs, 2000);
  assert.is(defaultRoundMs(9, skew, delivery, false).roundMs, 2000, 'between measured n: the next measured n above');
});

test('the default never breaks the timing rule for the stated bounds', () => {
  for (const [s, d] of [[50, 100], [0, 0], [400, 2000], [10, 5000]] as const) {
    for (const n of [1, 4, 16, 40]) {
      const chosen = defaultRoundMs(n, s, d, false).roundMs;
      checkRoundLength(chosen, s, d);
      assert.ok(chosen >= smallestRoundMs(s, d));
    }
  }
  assert.is(defaultRoundMs(4, 10, 5000, false).roundMs, Math.ceil(smallestRoundMs(10, 5000) / roundMsStep) * roundMsStep);
});

test('beyond the measured n the need grows with n^2, or n^3 on one machine, up to the longest round a genesis takes', () => {
  const top = measuredRoundMs[measuredRoundMs.length - 1]!;
  const twice = top.validators * 2;
  const apart = neededRoundMs(twice, false);
  const together = neededRoundMs(twice, true);
  assert.ok(apart.extrapolated && together.extrapolated);
  assert.is(apart.roundMs, top.roundMs * 4);
  assert.is(together.roundMs, top.roundMs * 8);
  assert.ok(defaultRoundMs(twice, skew, delivery, true).roundMs > defaultRoundMs(twice, skew, delivery, false).roundMs);
  assert.match(defaultRoundMs(twice, skew, delivery, false).basis, `extrapolated from ${top.validators} validators`);
  let last = 0;
  for (let n = 1; n <= 1024; n++) {
    const d = defaultRoundMs(n, skew, delivery, false).roundMs;
    assert.ok(d >= last, `not monotone at n=${n}`);
    last = d;
  }
  assert.is(defaultRoundMs(1024, skew, delivery, false).roundMs, genesisLimits.roundMsMax);
});

test('init without --round-ms writes the default for n and says how it was chosen; with it, writes what was given', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongcast-round-default-'));
  try {
    const r = await initNetwork({ nodes: 16, out: join(dir, 'a') });
    assert.is(r.roundMs, 2000);
    assert.is(JSON.parse(readFileSync(r.genesisPath, 'utf8')).roundMs, 2000);
    assert.match(r.roundMsBasis, 'default for 16 validators');
    const shared = await initNetwork({ nodes: 32, out: join(dir, 'b') }, { sameMachine: true });
    assert.is(shared.roundMs, defaultRoundMs(32, skew, delivery, true).roundMs);
    const given = await initNetwork({ nodes: 16, out: join(dir, 'c'), roundMs: 700 });
    assert.equal([given.roundMs, given.roundMsBasis], [700, '--round-ms']);
    const cli = await runCli(['init', '--nodes', '4', '--out', join(dir, 'd')]);
    assert.is(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /round length 1000 ms \(default for 4 validators: max\(1000 ms, timing rule 201 ms, 2 x 25 ms measured for 4 validators/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
