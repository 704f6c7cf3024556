/**
 * The attack suite's probes (bench/attack/prober.ts): latency by the nodes' own stamps (H1's `broadcast` to
 * H2's `message`, matched by message id), not by when the suite got round to reading the events, which on a
 * busy machine was most of the figure; the suite's reading kept beside it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Prober } from '../bench/attack/prober.ts';
import type { CliNode } from '../bench/attack/cli-node.ts';

type Listener = (ev: { atMs: number; e: Record<string, unknown> }) => void;

/** A node as the prober uses it: events to listen to, and a console. */
function fakeNode(): { node: CliNode; emit: (e: Record<string, unknown>, atMs?: number) => void; commands: string[] } {
  const listeners = new Set<Listener>();
  const commands: string[] = [];
  const node = { on: (l: Listener) => (listeners.add(l), () => listeners.delete(l)), command: (line: string) => (commands.push(line), true) } as unknown as CliNode;
  return { node, commands, emit: (e, atMs = performance.now()) => listeners.forEach((l) => l({ atMs, e })) };
}

test('latency and its legs come from the nodes\' stamps; the suite\'s late reading is kept beside them', () => {
  const h1 = fakeNode();
  const v = fakeNode();
  const h2 = fakeNode();
  const prober = new Prober(h1.node, 'p');
  prober.watch(h2.node);
  prober.watchVictim(v.node);
  const tag = prober.send();
  assert.equal(h1.commands, [`broadcast ${tag}`]);
  const readLate = performance.now() + 900;
  h1.emit({ event: 'broadcast', id: 'm1', ts: 10_000 });
  v.emit({ event: 'message', id: 'm1', data: tag, hops: 1, ts: 10_030 }, readLate);
  h2.emit({ event: 'message', id: 'm1', data: tag, hops: 1, ts: 10_050 }, readLate + 5);
  assert.ok(prober.arrived(tag));
  const r = prober.results();
  assert.equal(r.latenciesMs, [50], 'H1 wrote broadcast at 10,000, H2 delivered at 10,050');
  assert.equal(r.toVictimMs, [30]);
  assert.equal(r.fromVictimMs, [20]);
  assert.ok(r.readLatenciesMs[0]! >= 900, `the suite read it ${r.readLatenciesMs[0]} ms after writing the command`);
});

test('a probe whose sender wrote no stamp counts by the suite\'s reading; one straight from H1 does not count', () => {
  const h1 = fakeNode();
  const h2 = fakeNode();
  const prober = new Prober(h1.node, 'q');
  prober.watch(h2.node);
  const a = prober.send();
  const sentAt = performance.now();
  h2.emit({ event: 'message', id: 'unknown', data: a, hops: 1, ts: 5 }, sentAt + 40);
  const b = prober.send();
  h2.emit({ event: 'message', id: 'b', data: b, hops: 0, ts: 6 });
  const r = prober.results();
  assert.is(r.latenciesMs.length, 1);
  assert.ok(r.latenciesMs[0]! >= 40 && r.latenciesMs[0] === r.readLatenciesMs[0]);
  assert.is(prober.direct, 1);
  assert.not.ok(prober.allArrived(), 'the direct one is not counted as arrived');
});

test('reset forgets the probes and the stamps before it', () => {
  const h1 = fakeNode();
  const h2 = fakeNode();
  const prober = new Prober(h1.node, 'r');
  prober.watch(h2.node);
  const old = prober.send();
  h1.emit({ event: 'broadcast', id: 'x', ts: 1 });
  prober.reset();
  const t = prober.send();
  h2.emit({ event: 'message', id: 'x', data: t, hops: 1, ts: 500 });
  assert.not.ok(prober.arrived(old));
  const r = prober.results();
  assert.is(r.sent, 1);
  assert.equal(r.latenciesMs, r.readLatenciesMs, 'a stamp from before the reset is not used');
});

test.run();
