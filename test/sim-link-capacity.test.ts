/**
 * The simulated link with a capacity (src/sim/memory-network.ts): bytes leave at the link's rate, the send
 * buffer holds the first sendBufferBytes of those waiting, and only the rest is writableLength, as with a TCP
 * socket whose kernel buffer is full. Without a capacity a link is as before: only corked bytes wait.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Link } from '../src/io/transport.ts';
import { MemoryNetwork, type NetworkPolicy } from '../src/sim/memory-network.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { SimHost } from '../src/sim/sim-host.ts';

/** A dialer's link to a listener that records when each chunk arrived, and when the link drained; one-way delay 5 ms. */
async function linkPair(capacity?: NetworkPolicy['capacity']): Promise<{ sched: Scheduler; link: Link; arrivals: Array<{ at: number; bytes: number }>; drains: number[] }> {
  const sched = new Scheduler(0, 100_000, 'capacity');
  const net = new MemoryNetwork(sched, { delayMs: () => 5, ...(capacity ? { capacity } : {}) });
  const a = new SimHost(sched, '10.0.0.1');
  const b = new SimHost(sched, '10.0.0.2');
  const arrivals: Array<{ at: number; bytes: number }> = [];
  await net.transport(b).listen(b.ip, 7000, (l) => l.attach({ data: (c) => void arrivals.push({ at: sched.now, bytes: c.byteLength }), close: () => undefined }));
  let link: Link | undefined;
  net.transport(a).dial(b.ip, 7000, 1000, (err, l) => {
    if (!err && l) link = l;
  });
  await sched.run(100);
  assert.ok(link, 'connected');
  const drains: number[] = [];
  link!.attach({ data: () => undefined, close: () => undefined, drain: () => void drains.push(sched.now) });
  return { sched, link: link!, arrivals, drains };
}

test('a link with a capacity holds, as writableLength, what waits beyond its send buffer, and drains at its rate', async () => {
  // 1,000 bytes per ms, a send buffer of 4,000 bytes.
  const { sched, link, arrivals } = await linkPair(() => ({ bytesPerMs: 1000, sendBufferBytes: 4000 }));
  const start = sched.now;
  link.write(new Uint8Array(3000));
  assert.is(link.writableLength, 0, 'within the send buffer: nothing waits in userland');
  link.write(new Uint8Array(7000));
  assert.is(link.writableLength, 6000, '10,000 bytes waiting, 4,000 of them in the send buffer');
  await sched.run(start + 4);
  assert.is(link.writableLength, 2000, '4 ms later 4,000 have left');
  await sched.run(start + 6);
  assert.is(link.writableLength, 0, 'at 6 ms the rest fits the send buffer');
  await sched.run(start + 100);
  assert.equal(
    arrivals.map((a) => a.at - start),
    [3 + 5, 10 + 5],
    'each write arrives once it has left (3 ms, then 10 ms) and crossed the link (5 ms)',
  );
});

test('corked bytes count in full, with or without a capacity; a link without one never holds more', async () => {
  for (const capacity of [undefined, () => ({ bytesPerMs: 1000, sendBufferBytes: 4000 })]) {
    const { link } = await linkPair(capacity);
    link.cork();
    link.write(new Uint8Array(5000));
    assert.is(link.writableLength, 5000, 'corked: all of it waits');
    link.uncork();
    assert.is(link.writableLength, capacity ? 1000 : 0, 'uncorked: what the send buffer does not hold');
  }
});

test('the owner hears when what waited beyond the send buffer has gone (drain), not before, and not when nothing waited', async () => {
  const { sched, link, drains } = await linkPair(() => ({ bytesPerMs: 1000, sendBufferBytes: 4000 }));
  const start = sched.now;
  link.write(new Uint8Array(3000));
  await sched.run(start + 20);
  assert.equal(drains, [], 'within the send buffer: nothing waited');
  const second = sched.now;
  link.write(new Uint8Array(7000));
  link.write(new Uint8Array(2000));
  assert.is(link.writableLength, 5000, '9,000 bytes waiting, 4,000 of them in the send buffer');
  await sched.run(second + 4);
  assert.equal(drains, [], 'some still wait');
  await sched.run(second + 100);
  assert.equal(drains.map((at) => at - second), [5], 'at 5 ms the rest fits the send buffer: one drain');
  // Corked writes are the owner's own: their uncork looks again.
  link.cork();
  link.write(new Uint8Array(6000));
  const third = sched.now;
  await sched.run(third + 20);
  assert.is(drains.length, 1, 'corked: nothing has left');
  link.uncork();
  await sched.run(third + 100);
  assert.equal(drains.slice(1).map((at) => at - third), [20 + 2], 'uncorked, 2,000 waited beyond the buffer: drained 2 ms later');
});

test('a link without a capacity never holds bytes past a cork, so it never drains', async () => {
  const { sched, link, drains } = await linkPair();
  link.write(new Uint8Array(100_000));
  link.cork();
  link.write(new Uint8Array(100_000));
  link.uncork();
  await sched.run(sched.now + 100);
  assert.is(link.writableLength, 0);
  assert.equal(drains, []);
});

test.run();
