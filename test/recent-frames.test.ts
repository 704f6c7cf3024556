/** The store of recently relayed frames: bounded by count, bytes and age; first copy wins. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertAllRefused } from './helpers/refused.ts';
import { RecentFrames, recentFramesDefaults, type RecentFramesOptions } from '../src/gossip/recent-frames.ts';

const frame = (bytes: number, fill = 1): Buffer => Buffer.alloc(bytes, fill);
/** The origin (key hex) of the broadcasts kept, where a test does not care which. */
const O = 'ab'.repeat(32);

test('recentFramesMax: exactly the limit is held; one more drops the oldest', () => {
  const f = new RecentFrames({ recentFramesMax: 3 });
  for (const id of ['a', 'b', 'c']) f.add(id, frame(10), O, 0);
  assert.is(f.size, 3);
  assert.ok(['a', 'b', 'c'].every((id) => f.get(id, 0)));
  f.add('d', frame(10), O, 0);
  assert.is(f.size, 3);
  assert.is(f.get('a', 0), undefined, 'the oldest is gone');
  assert.ok(f.get('b', 0) && f.get('d', 0));
  assert.is(f.bytes, 30);
});

test('recentFrameBytesMax: frames up to exactly the byte limit are held; one byte more drops the oldest', () => {
  const f = new RecentFrames({ recentFrameBytesMax: 100 });
  f.add('a', frame(40), O, 0);
  f.add('b', frame(60), O, 0);
  assert.is(f.bytes, 100);
  assert.is(f.size, 2);
  f.add('c', frame(1), O, 0);
  assert.is(f.get('a', 0), undefined);
  assert.ok(f.get('b', 0) && f.get('c', 0));
  assert.is(f.bytes, 61);
});

test('a frame of exactly the byte limit is kept; a frame larger than it is not, and evicts nothing', () => {
  const f = new RecentFrames({ recentFrameBytesMax: 100 });
  f.add('small', frame(10), O, 0);
  f.add('huge', frame(101), O, 0);
  assert.is(f.get('huge', 0), undefined);
  assert.ok(f.get('small', 0), 'the store was not emptied for a frame it cannot hold');
  assert.is(f.bytes, 10);
  f.add('exact', frame(100), O, 0);
  assert.ok(f.get('exact', 0));
  assert.is(f.size, 1);
  assert.is(f.bytes, 100);
});

test('recentFramesTtlMs: a frame is served one ms before its time-to-live and gone exactly at it', () => {
  const f = new RecentFrames({ recentFramesTtlMs: 1000 });
  f.add('a', frame(10), O, 5000);
  assert.ok(f.get('a', 5999));
  assert.is(f.get('a', 6000), undefined);
  f.add('b', frame(10), O, 6000);
  assert.is(f.size, 1, 'adding later frees the expired ones');
  assert.is(f.bytes, 10);
});

test('the first copy of an id is kept; a second add does not replace it or count its bytes', () => {
  const f = new RecentFrames();
  const first = frame(10, 1);
  f.add('a', first, O, 0);
  f.add('a', frame(20, 2), 'cd'.repeat(32), 1);
  assert.is(f.get('a', 1)?.frame, first);
  assert.is(f.get('a', 1)?.origin, O, 'and its origin');
  assert.is(f.size, 1);
  assert.is(f.bytes, 10);
});

test('an id added again after its copy expired is held again', () => {
  const f = new RecentFrames({ recentFramesTtlMs: 100 });
  f.add('a', frame(10, 1), O, 0);
  const again = frame(10, 2);
  f.add('a', again, O, 100);
  assert.is(f.get('a', 100)?.frame, again);
  assert.is(f.size, 1);
  assert.is(f.bytes, 10);
});

test('many more frames than the limit keep the count and byte totals exact', () => {
  const f = new RecentFrames({ recentFramesMax: 50, recentFrameBytesMax: 10_000 });
  for (let i = 0; i < 5000; i++) f.add(`id${i}`, frame(1 + (i % 7)), O, i);
  assert.is(f.size, 50);
  let bytes = 0;
  for (let i = 4950; i < 5000; i++) bytes += f.get(`id${i}`, 5000)?.frame.byteLength ?? 0;
  assert.is(f.bytes, bytes, 'the byte count matches the frames held');
  assert.is(f.get('id4949', 5000), undefined);
});

test('get returns the frame with the origin it was added under, each id its own', () => {
  const f = new RecentFrames();
  const [x, y] = ['11'.repeat(32), '22'.repeat(32)];
  const fx = frame(10, 1);
  const fy = frame(12, 2);
  f.add('mx', fx, x, 0);
  f.add('my', fy, y, 0);
  assert.is(f.get('mx', 0)?.frame, fx);
  assert.is(f.get('mx', 0)?.origin, x);
  assert.is(f.get('my', 0)?.frame, fy);
  assert.is(f.get('my', 0)?.origin, y);
  assert.is(f.get('mz', 0), undefined);
});

test('defaults', () => {
  assert.equal(recentFramesDefaults, { recentFramesMax: 8192, recentFrameBytesMax: 4 * 1024 * 1024, recentFramesTtlMs: 30_000 });
  const f = new RecentFrames();
  f.add('a', frame(recentFramesDefaults.recentFrameBytesMax), O, 0);
  assert.ok(f.get('a', recentFramesDefaults.recentFramesTtlMs - 1));
});

const invalid: [string, unknown, string][] = [
  ['not an object', 7, 'options must be an object'],
  ['recentFramesMax', { recentFramesMax: 0 }, 'options.recentFramesMax must be a positive integer'],
  ['recentFrameBytesMax', { recentFrameBytesMax: 1.5 }, 'options.recentFrameBytesMax must be a positive integer'],
  ['recentFramesTtlMs', { recentFramesTtlMs: -1 }, 'options.recentFramesTtlMs must be a positive integer'],
];

test('every invalid option is refused with a message naming it', () => {
  assertAllRefused(invalid, (options) => new RecentFrames(options as RecentFramesOptions));
});

test.run();
