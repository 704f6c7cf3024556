/**
 * The end-of-turn flush shared by a node's connections: one scheduled callback a turn however many writers
 * wait for it, each flushed once, in the order they joined, and none lost when one of them throws.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TurnFlush, type TurnFlushable } from '../src/net/turn-flush.ts';

/** A TurnFlush whose turns the test ends by hand. */
function manualTurns(): { flush: TurnFlush; scheduled: (() => void)[]; endTurn: () => void } {
  const scheduled: (() => void)[] = [];
  const flush = new TurnFlush((run) => void scheduled.push(run));
  return { flush, scheduled, endTurn: () => scheduled.splice(0).forEach((run) => run()) };
}

const writer = (log: string[], name: string, onTurnEnd: () => void = () => undefined): TurnFlushable => ({
  onTurnEnd: () => {
    log.push(name);
    onTurnEnd();
  },
});

test('many writers in one turn: one callback scheduled, each flushed once, in the order they joined', () => {
  const { flush, scheduled, endTurn } = manualTurns();
  const log: string[] = [];
  for (const name of ['a', 'b', 'c']) flush.add(writer(log, name));
  assert.is(scheduled.length, 1);
  endTurn();
  assert.equal(log, ['a', 'b', 'c']);
  endTurn();
  assert.equal(log, ['a', 'b', 'c'], 'nothing left for a later turn');
});

test('a writer added while the list is flushed goes at the end of the next turn', () => {
  const { flush, scheduled, endTurn } = manualTurns();
  const log: string[] = [];
  flush.add(writer(log, 'a', () => flush.add(writer(log, 'late'))));
  endTurn();
  assert.equal(log, ['a']);
  assert.is(scheduled.length, 1, 'the next turn is scheduled');
  endTurn();
  assert.equal(log, ['a', 'late']);
});

test('a writer that throws loses no other flush: those after it go at the end of the next turn', () => {
  const { flush, endTurn } = manualTurns();
  const log: string[] = [];
  flush.add(writer(log, 'a'));
  flush.add(
    writer(log, 'bad', () => {
      throw new Error('bug');
    }),
  );
  flush.add(writer(log, 'c'));
  assert.throws(endTurn, /bug/);
  assert.equal(log, ['a', 'bad']);
  endTurn();
  assert.equal(log, ['a', 'bad', 'c']);
});

test.run();
