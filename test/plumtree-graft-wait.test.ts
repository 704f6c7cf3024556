/**
 * The adaptive GRAFT wait: how long an announced message may be missing before it is asked for follows how
 * late tree copies arrive after their announcement, as a retransmission timeout follows round-trip times
 * (RFC 6298 §2: smoothed value plus four mean deviations), within graftTimeoutMs .. graftTimeoutMaxMs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Plumtree, plumtreeDefaults, type PlumtreeOptions } from '../src/plumtree.ts';

const unknown = (): boolean => false;
const T = plumtreeDefaults.graftTimeoutMs;
const O = 'origin-o';

/** The wait the RFC 6298 rule gives after `samples` (deviation updated first, from the old smoothed value). */
function expectedWait(samples: number[], minMs = T, maxMs: number = plumtreeDefaults.graftTimeoutMaxMs): number {
  let late = 0;
  let dev = 0;
  for (const x of samples) {
    dev += (Math.abs(x - late) - dev) / 4;
    late += (x - late) / 8;
  }
  return Math.min(maxMs, Math.max(minMs, Math.round(late + 4 * dev)));
}

/** A tree with peers a, b and c and a tree for origin O. */
function tree(options: PlumtreeOptions = {}): Plumtree {
  const t = new Plumtree(options);
  for (const p of ['a', 'b', 'c']) t.addPeer(p);
  t.received('planted', O, null, 0);
  return t;
}

/** `id` is announced by a at `announcedAtMs` and arrives from b (never asked) `lateMs` later: one sample. */
function lateCopy(t: Plumtree, id: string, announcedAtMs: number, lateMs: number): void {
  t.onIhave('a', [id], announcedAtMs, unknown);
  t.broadcast(id, O, 'b', new Set(['b']), announcedAtMs + lateMs);
}

/** When `id`, announced at `announcedAtMs`, is first asked for (ticking every ms). */
function graftedAtMs(t: Plumtree, id: string, announcedAtMs: number): number {
  for (let now = announcedAtMs; now < announcedAtMs + 10_000; now++) if (t.tick(now).graft.some((g) => g.ids.includes(id))) return now;
  return Infinity;
}

test('with no samples the wait is graftTimeoutMs, and copies earlier than it leave it there', () => {
  assert.is(tree().graftWaitMs, T);
  assert.is(tree({ graftTimeoutMs: 40 }).graftWaitMs, 40);
  const t = tree();
  lateCopy(t, 'x', 0, 50);
  assert.is(expectedWait([50]), T, '50 ms late gives 56 ms, below the floor');
  assert.is(t.graftWaitMs, T);
  t.onIhave('a', ['y'], 1000, unknown);
  assert.is(graftedAtMs(t, 'y', 1000), 1000 + T);
});

test('copies later than the wait raise it by the RFC 6298 rule', () => {
  const t = tree();
  lateCopy(t, 'x1', 0, 400);
  assert.is(t.graftWaitMs, expectedWait([400]));
  assert.is(t.graftWaitMs, 450, 'smoothed 50 + 4 x deviation 100');
  lateCopy(t, 'x2', 1000, 600);
  assert.is(t.graftWaitMs, expectedWait([400, 600]));
  assert.is(t.graftWaitMs, 969, 'smoothed 118.75 + 4 x deviation 212.5');
  for (let k = 0; k < 50; k++) lateCopy(t, `steady${k}`, 10_000 + k * 1000, 300);
  assert.ok(Math.abs(t.graftWaitMs - 300) <= 5, `steady 300 ms lateness: the deviation decays and the wait settles near 300 (${t.graftWaitMs})`);
});

test('a copy from another peer than the one we grafted is a sample', () => {
  const t = tree();
  t.onIhave('a', ['x'], 0, unknown);
  assert.equal(t.tick(T).graft, [{ peer: 'a', ids: ['x'] }]);
  t.broadcast('x', O, 'b', new Set(['b']), 300);
  assert.is(t.graftWaitMs, expectedWait([300]));
  assert.is(t.graftWaitMs, 338);
});

test('the wait never exceeds graftTimeoutMaxMs', () => {
  const t = tree();
  for (let k = 0; k < 20; k++) lateCopy(t, `x${k}`, k * 100_000, 60_000);
  assert.is(t.graftWaitMs, plumtreeDefaults.graftTimeoutMaxMs);
  const capped = tree({ graftTimeoutMaxMs: 500 });
  lateCopy(capped, 'x', 0, 60_000);
  assert.is(capped.graftWaitMs, 500);
  capped.onIhave('a', ['y'], 100_000, unknown);
  assert.is(graftedAtMs(capped, 'y', 100_000), 100_500, 'asked for exactly at the cap');
});

test('a message arriving from the peer we grafted it from is not a sample, its later duplicate is (once)', () => {
  const t = tree();
  t.onIhave('a', ['x'], 0, unknown);
  assert.equal(t.tick(T).graft, [{ peer: 'a', ids: ['x'] }]);
  t.broadcast('x', O, 'a', new Set(['a']), T + 30);
  assert.is(t.graftWaitMs, T, 'the answer to our GRAFT only echoes our own timeout');
  assert.ok(t.duplicate('b', O, 'x', 700), 'the late tree copy is still pruned');
  assert.is(t.graftWaitMs, expectedWait([700]), 'the tree copy, 700 ms after the announcement, is the sample');
  assert.is(t.graftWaitMs, 788);
  t.duplicate('c', O, 'x', 5000);
  assert.is(t.graftWaitMs, 788, 'a further copy of the same message is not sampled again');
  t.duplicate('c', O, 'never-grafted', 9000);
  assert.is(t.graftWaitMs, 788, 'nor is a duplicate of a message we never grafted');
});

test('a new missing entry uses the raised wait: no GRAFT before it', () => {
  const t = tree();
  lateCopy(t, 'x', 0, 400);
  const wait = t.graftWaitMs;
  assert.is(wait, 450);
  t.onIhave('a', ['y'], 1000, unknown);
  assert.equal(t.tick(1000 + T).graft, [], 'not at graftTimeoutMs any more');
  assert.equal(t.tick(1000 + wait - 1).graft, []);
  assert.equal(t.tick(1000 + wait).graft, [{ peer: 'a', ids: ['y'] }]);
});

test.run();
