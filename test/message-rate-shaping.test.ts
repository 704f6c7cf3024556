/**
 * The per-peer message rate (peerMsgsPerSec, burst peerMsgsBurst) shapes a connection as the byte rate does
 * (issue 16, item 3): past the burst, the message that took the bucket into debt is handled and the ones
 * after it wait, with the socket not read, until the refill has repaid the debt. Nothing is dropped or scored.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { openMemoryConnection, range } from './helpers/memory-connection.ts';
import { waitFor } from './helpers/net.ts';

const verifier = createMainThreadVerifier();

test('exactly peerMsgsBurst messages pass at once; the one after is handled, then the rest wait for the refill, none dropped or scored', async () => {
  const clock = { ms: 5_000_000 };
  const h = await openMemoryConnection({
    networkId: 'msg-rate-net',
    selfSeed: 41,
    peerSeed: 42,
    verifier,
    limits: resolveLimits({ peerMsgsPerSec: 10, peerMsgsBurst: 5 }),
    clock,
    turn: new TurnBudget({ turnWorkMsMax: 1000, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) }),
  });
  h.socket.push(h.frames(0, 5));
  assert.equal(h.handled, range(0, 5), 'the burst');
  assert.not.ok(h.socket.isPaused(), 'exactly the burst: still reading');
  assert.is(h.conn.stats.rateHolds, 0);
  h.socket.push(h.frames(5, 4));
  assert.equal(h.handled, range(0, 6), 'one past the burst is handled, the others wait');
  assert.ok(h.socket.isPaused(), 'not read while in debt');
  assert.is(h.conn.stats.rateHolds, 1);
  clock.ms += 300; // three messages' worth of refill at 10/s
  await waitFor(() => h.handled.length === 9, 'the waiting messages, once the bucket refilled', 2000);
  assert.equal(h.handled, range(0, 9), 'in order, none lost');
  assert.equal(h.offences, [], 'rate alone is never scored');
  assert.is(h.conn.stats.dropped, 0);
  assert.is(h.conn.state, 'open');
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
  await verifier.close();
});

test.run();
