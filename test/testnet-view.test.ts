/** The testnet's live view: cells under their headers, consensus traffic counted, `b` asks for the text, the legend. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { broadcastTextCharsMax, instanceLegend, tableLines, ViewKeys, type NodeRow } from '../src/cli/testnet-view.ts';

const rows: NodeRow[] = [
  { index: 0, port: 7001, peers: 3, stats: { delivered: 12, published: 3, height: 4, round: 2, instance: { miner: 1, t0: 1040, round: 2 }, framesByType: { in: { ds: 9, outcome: 3 }, out: { ds: 6, outcome: 2 } } }, lastDecided: 'ab12cd34ef #4', exited: null },
  { index: 11, port: null, peers: 0, stats: {}, lastDecided: '', exited: 137 },
];

/** Where each header word starts: a cell is aligned under its header when it ends (right) or starts (left) there. */
test('every cell sits under its header, whatever the widths of the values', () => {
  const [header, ...lines] = tableLines(rows, 0);
  const headers = ['#', 'port', 'peers', 'msgs in', 'msgs out', 'chains in', 'chains out', 'height', 'last decided', 'round', 'instance'];
  const ends = headers.map((h) => header!.indexOf(h) + h.length);
  assert.ok(ends.every((e, i) => i === 0 || e > ends[i - 1]!), `headers in order: ${header}`);
  const first = lines[0]!;
  // right-aligned numbers end where their header ends
  for (const [h, v] of [['port', '7001'], ['peers', '3'], ['msgs in', '12'], ['msgs out', '3'], ['chains in', '12'], ['chains out', '8'], ['height', '4'], ['round', '2']] as const) {
    const end = header!.indexOf(h) + h.length;
    assert.is(first.slice(end - v.length, end), v, `${h} under its header`);
    assert.is(first[end] ?? ' ', ' ', `${h} ends there`);
  }
  // left-aligned text starts where its header starts
  assert.is(first.slice(header!.indexOf('last decided')).startsWith('ab12cd34ef #4'), true);
  assert.is(first.slice(header!.indexOf('instance')), '1@1040 r2');
  assert.ok(first.startsWith('>'), 'the selected node is marked');
  assert.ok(lines[1]!.includes('exited(137)'));
  const exitedEnd = header!.indexOf('peers') + 'peers'.length;
  assert.is(lines[1]!.slice(exitedEnd - 'exited(137)'.length, exitedEnd), 'exited(137)', 'a wide cell widens its column for every row');
});

test('the instance column has a one-line legend', () => {
  assert.not.match(instanceLegend, /\n/);
  assert.match(instanceLegend, /^instance: MINER@T0 rROUND/);
});

test('b asks for the text: typed keys build it, Enter broadcasts it from the selected node, Esc cancels', () => {
  const keys = new ViewKeys(4);
  assert.equal(keys.onKey('2', {}), { kind: 'none' });
  assert.equal(keys.onKey('b', { name: 'b' }), { kind: 'none' }, 'b alone sends nothing');
  assert.match(keys.footer(), /^broadcast from node 2: _/);
  for (const ch of 'hi qx') keys.onKey(ch, { name: ch === ' ' ? 'space' : ch });
  keys.onKey(undefined, { name: 'backspace' });
  assert.equal(keys.onKey('q', { name: 'q' }), { kind: 'none' }, 'q is a letter while typing, not quit');
  assert.equal(keys.onKey('\r', { name: 'return' }), { kind: 'send', node: 2, line: 'broadcast hi qq' });
  assert.is(keys.typing, null);
  keys.onKey('b', { name: 'b' });
  keys.onKey('x', { name: 'x' });
  assert.equal(keys.onKey(undefined, { name: 'escape' }), { kind: 'none' });
  assert.equal(keys.onKey('q', { name: 'q' }), { kind: 'quit' }, 'after Esc, q quits again');
});

test(`the typed text stops at broadcastTextCharsMax (${broadcastTextCharsMax}) characters`, () => {
  const keys = new ViewKeys(1);
  keys.onKey('b', { name: 'b' });
  for (let i = 0; i < broadcastTextCharsMax + 5; i++) keys.onKey('a', { name: 'a' });
  assert.is(keys.typing?.length, broadcastTextCharsMax);
});

test.run();
