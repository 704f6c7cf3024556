import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SeenCache, seenCacheDefaults } from '../src/gossip/seen-cache.ts';
import { countWork } from './helpers/work.ts';

test('defaults are 100k entries for 2 minutes', () => {
  assert.equal(seenCacheDefaults, { seenEntriesMax: 100_000, seenTtlMs: 120_000 });
});

test('an added id is seen; an unknown one is not', () => {
  const c = new SeenCache();
  assert.not.ok(c.has('a', 0));
  c.add('a', 0);
  assert.ok(c.has('a', 0));
  assert.not.ok(c.has('b', 0));
  assert.is(c.size, 1);
});

test('exactly seenEntriesMax ids are kept; one more evicts the oldest only', () => {
  const c = new SeenCache({ seenEntriesMax: 3 });
  for (const id of ['a', 'b', 'c']) c.add(id, 0);
  assert.is(c.size, 3);
  for (const id of ['a', 'b', 'c']) assert.ok(c.has(id, 0), id);
  c.add('d', 0);
  assert.is(c.size, 3);
  assert.not.ok(c.has('a', 0));
  for (const id of ['b', 'c', 'd']) assert.ok(c.has(id, 0), id);
});

test('re-adding a live id neither refreshes it nor changes its eviction order', () => {
  const c = new SeenCache({ seenEntriesMax: 2, seenTtlMs: 100 });
  c.add('a', 0);
  c.add('b', 1);
  c.add('a', 50);
  assert.is(c.size, 2);
  c.add('c', 51); // 'a' is still the oldest
  assert.not.ok(c.has('a', 51));
  assert.ok(c.has('b', 51));
  const d = new SeenCache({ seenTtlMs: 100 });
  d.add('a', 0);
  d.add('a', 99);
  assert.not.ok(d.has('a', 100), 'the second add did not extend the first');
});

test('an id is seen until exactly seenTtlMs after it was added', () => {
  const c = new SeenCache({ seenTtlMs: 1000 });
  c.add('a', 5000);
  assert.ok(c.has('a', 5999));
  assert.not.ok(c.has('a', 6000));
  assert.not.ok(c.has('a', 5999), 'an expired entry was removed, not merely hidden');
});

test('an expired id added again is seen afresh and moves to the back', () => {
  const c = new SeenCache({ seenEntriesMax: 2, seenTtlMs: 10 });
  c.add('a', 0);
  c.add('b', 5);
  c.add('a', 12); // 'a' expired at 10; 'b' is live until 15
  assert.ok(c.has('a', 14));
  assert.ok(c.has('b', 14));
  c.add('c', 14); // evicts 'b', now the oldest
  assert.not.ok(c.has('b', 14));
  assert.ok(c.has('a', 14) && c.has('c', 14));
});

test('expired entries are pruned as new ones arrive, so size tracks live ids', () => {
  const c = new SeenCache({ seenTtlMs: 100 });
  for (let t = 0; t < 10_000; t++) c.add(`id${t}`, t);
  // at most the last 100 are live; pruning two per add keeps the rest from piling up
  assert.ok(c.size <= 102, `size ${c.size}`);
  c.prune(20_000);
  assert.is(c.size, 0);
});

test('seenTtlMs 0 remembers nothing', () => {
  const c = new SeenCache({ seenTtlMs: 0 });
  c.add('a', 7);
  assert.not.ok(c.has('a', 7));
});

test('a full default-size cache stays fast under churn (amortised O(1) per add)', () => {
  const c = new SeenCache();
  const adds = 300_000;
  const { work } = countWork(() => {
    for (let i = 0; i < adds; i++) c.add(`m${i}`, i);
  });
  assert.is(c.size, seenCacheDefaults.seenEntriesMax);
  assert.ok(c.has('m299999', 300_000) && !c.has('m199999', 300_000));
  // Elements touched, not milliseconds (speed is the benchmarks'): the queue of ids and times is compacted
  // once its consumed front is the larger half, so each slot is copied about once per array; a copy or scan
  // of the cache per add would touch over 10^10 here.
  assert.ok(work <= 4 * adds, `touched ${work} elements for ${adds} adds`);
});

test('time going backwards or has() deleting many entries never grows memory without bound', () => {
  const c = new SeenCache({ seenEntriesMax: 50, seenTtlMs: 10 });
  for (let i = 0; i < 20_000; i++) {
    const t = (i * 7919) % 1000; // jumps back and forth
    c.add(`x${i % 300}`, t);
    c.has(`x${(i * 31) % 300}`, t + 20);
    assert.ok(c.size <= 50);
  }
});

test.run();
