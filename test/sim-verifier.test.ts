/**
 * The simulator's verifiers of the shipped kinds (src/sim/sim-verifier.ts): a simulated node settles a
 * broadcast on the spot as a real one does (Flooding.onGossip: verifyNow for the main-thread verifier,
 * tryVerifyNow for the pool), its host's thread busy for the check's time; and the pool falls back to its
 * queue by the real core's own rules (BatchScheduler.runDirect).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import type { StrongcastNode } from '../src/core/node.ts';
import { identityFromSeed } from '../src/crypto/keys.ts';
import type { SignatureCheck } from '../src/crypto/verifier.ts';
import type { VerifyPool } from '../src/crypto/verify-pool.ts';
import { MemoryNetwork } from '../src/sim/memory-network.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { seededRandom, SimHost } from '../src/sim/sim-host.ts';
import { simVerifierOf, type SimVerifierKind } from '../src/sim/sim-verifier.ts';
import { simNode } from './helpers/sim-node.ts';
import { testKey } from './sim/keys.ts';

const networkId = 'sim-verifier';
/** Virtual ms one signature costs the verifier (long, so the host's busy time is plain to see). */
const signatureMs = 5;
/** Virtual ms a batch of the threads would take: far longer than a check on the spot. */
const batchMs = 40;

/** How the node used its verifier: checks answered on the spot, and verify() calls (the queued path). */
interface Use {
  onTheSpot: number;
  queued: number;
}

/** `v` with every call passed on, counting how the node used it. */
function counted(v: VerifyPool, use: Use): VerifyPool {
  const w: VerifyPool = {
    verify: (checks, lane, checkClass) => {
      use.queued++;
      return v.verify(checks, lane, checkClass);
    },
    checkChain: (c) => v.checkChain(c),
    rememberOwn: (signer, bytes, sig) => v.rememberOwn(signer, bytes, sig),
    close: () => v.close(),
    stats: () => v.stats(),
  };
  const { verifyNow, tryVerifyNow } = v;
  if (verifyNow) w.verifyNow = (c) => (use.onTheSpot++, verifyNow(c));
  if (tryVerifyNow) {
    w.tryVerifyNow = (c, lane) => {
      const ok = tryVerifyNow(c, lane);
      if (ok !== undefined) use.onTheSpot++;
      return ok;
    };
  }
  return w;
}

/** A receiving node of verifier kind `kind` at 10.0.0.1, dialled by a sender at 10.0.0.2; links take 2 ms. */
async function pair(sched: Scheduler, kind: SimVerifierKind, use: Use): Promise<{ receiver: StrongcastNode; host: SimHost; sender: StrongcastNode }> {
  const net = new MemoryNetwork(sched, { delayMs: () => 2 });
  const host = new SimHost(sched, '10.0.0.1');
  const receiver = createNode({
    host: host.ip,
    port: 7000,
    networkId,
    identity: identityFromSeed(new Uint8Array(32).fill(1)),
    verifier: counted(simVerifierOf(host, { kind, batchMs: () => batchMs, signatureMs }), use),
    transport: net.transport(host),
    clock: host.clock(),
    random: seededRandom(1),
    peerExchange: false,
  });
  const sender = simNode(sched, net, { networkId, ip: '10.0.0.2', seed: 2, verifyMs: 1, verifier: 'queued', options: { peers: ['10.0.0.1:7000'] } });
  await receiver.start();
  await sender.start();
  await sched.run(1000);
  assert.is(receiver.peers().length, 1, 'connected');
  return { receiver, host, sender };
}

for (const kind of ['main-thread', 'pool'] as const) {
  test(`a simulated node with the ${kind} verifier settles a broadcast on the spot, its thread busy for the check`, async () => {
    const sched = new Scheduler(0, 100_000, `on the spot ${kind}`);
    const use: Use = { onTheSpot: 0, queued: 0 };
    const { receiver, host, sender } = await pair(sched, kind, use);
    const before = { ...use };
    const seen: Array<{ atMs: number; clockMs: number }> = [];
    const clock = host.clock();
    receiver.on('message', () => seen.push({ atMs: sched.now, clockMs: clock.now() }));
    const sentAtMs = sched.now;
    await sender.broadcast('chat', 'hello');
    await sched.run(sched.now + 200);
    assert.is(seen.length, 1, 'delivered once');
    assert.is(use.onTheSpot - before.onTheSpot, 1, 'answered on the spot');
    assert.is(use.queued - before.queued, 0, 'never handed to verify(): no queued path');
    // Delivered as the frame was read (2 ms link), not a batch's 40 ms later; the node's clock reads the
    // check's time on: its thread was busy with it.
    assert.ok(seen[0]!.atMs - sentAtMs < batchMs, `delivered ${seen[0]!.atMs - sentAtMs} ms after it was sent`);
    assert.is(seen[0]!.clockMs - seen[0]!.atMs, signatureMs, 'the host spent the signature\'s time verifying it');
    await Promise.all([receiver.stop(), sender.stop()]);
  });
}

test('the simulated queued kind never verifies on the spot: the node takes verify(), and delivers a batch\'s time later', async () => {
  const sched = new Scheduler(0, 100_000, 'queued');
  const use: Use = { onTheSpot: 0, queued: 0 };
  const { receiver, sender } = await pair(sched, 'queued', use);
  const queuedBefore = use.queued;
  let atMs = -1;
  receiver.on('message', () => (atMs = sched.now));
  const sentAtMs = sched.now;
  await sender.broadcast('chat', 'hello');
  await sched.run(sched.now + 200);
  assert.is(use.onTheSpot, 0);
  assert.is(use.queued - queuedBefore, 1, 'handed to verify()');
  assert.ok(atMs - sentAtMs >= batchMs, `delivered ${atMs - sentAtMs} ms after it was sent`);
  await Promise.all([receiver.stop(), sender.stop()]);
});

/** A valid broadcast-like check signed by test key `i`. */
function check(i: number): SignatureCheck {
  const key = testKey(i, 91);
  const message = new Uint8Array(32).fill(i);
  return { publicKey: key.publicKey, message, signature: key.sign(message) };
}

test('the simulated pool falls back to its queue when a check is already queued, and answers on the spot again once it is empty', async () => {
  const sched = new Scheduler(0, 100_000, 'pool fallback');
  const host = new SimHost(sched, '10.0.0.9');
  const clock = host.clock();
  const pool = simVerifierOf(host, { kind: 'pool', batchMs: () => batchMs, signatureMs });
  assert.ok(pool.tryVerifyNow, 'the pool kind offers tryVerifyNow');
  assert.is(pool.verifyNow, undefined, 'and not verifyNow: it is no main-thread verifier');
  const queued = pool.verify([check(1)], 'peer-a');
  const startedMs = clock.now();
  // A check of another lane, while one is queued (until the end of the turn): the core's rule says wait.
  assert.is(pool.tryVerifyNow!(check(2), 'peer-b'), undefined, 'falls back: the caller queues it');
  assert.is(clock.now(), startedMs, 'nothing verified here, nothing charged to the host');
  assert.is(pool.stats().calls, 1, 'only the queued call counted');
  await sched.run(sched.now + 100);
  assert.equal(await queued, [true], 'the queued check answered');
  const before = clock.now();
  assert.is(pool.tryVerifyNow!(check(2), 'peer-b'), true, 'nothing queued now: verified on the spot');
  assert.is(clock.now() - before, signatureMs, 'its time charged to the host');
  assert.is(pool.stats().calls, 2);
  await pool.close();
});

test('the simulated pool\'s inline budget runs on the host\'s clock: once the checks on the spot have spent it, they wait for the queue', async () => {
  const sched = new Scheduler(0, 100_000, 'pool budget');
  const host = new SimHost(sched, '10.0.0.10');
  const pool = simVerifierOf(host, { kind: 'pool', batchMs: () => batchMs, signatureMs });
  // The default budget holds 50 ms (500 ms a second, 0.1 s of it). Each 5 ms check moves the host's clock
  // on by 5 ms, in which the budget refills 2.5 ms: the first costs it 5 (it is full, it refills no further),
  // each later one 2.5 net, so nineteen spend it. (With the system's clock, which does not move in virtual
  // time, ten would; with nothing charged, none would.)
  const answers: Array<boolean | undefined> = [];
  for (let i = 0; i < 21; i++) answers.push(pool.tryVerifyNow!(check(i), `peer-${i}`));
  assert.equal(answers.slice(0, 19), new Array(19).fill(true), 'on the spot while the budget lasts');
  assert.equal(answers.slice(19), [undefined, undefined], 'then queued');
  assert.is(pool.stats().signaturesHere, 19);
  assert.is(host.clock().now(), 19 * signatureMs, 'the host busy for each');
  await pool.close();
});

test.run();
