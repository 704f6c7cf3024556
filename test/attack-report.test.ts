/**
 * The attack suite's pure parts (bench/attack/): each goal judged at its edge, the work ratio, the printed
 * table and summary, the catalogue's order and the command line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluateGoals, goalFailures, goalLimits, percentile, rowPasses, workRatio, type AttackRow } from '../bench/attack/goals.ts';
import { formatTable, summarize } from '../bench/attack/report.ts';
import { cpuLine } from '../bench/attack/evidence.ts';
import { attackNames, attacksToRun, quickAttacks, runTiming } from '../bench/attack/catalog.ts';
import { parseAttackArgs, sourceAddresses } from '../bench/attack/args.ts';
import { netGroup } from '../src/peers/net-group.ts';
import { bigChainFrame, deepNestingFrame, fastSigner, junkHandshakeFrame, manyKeysFrame, mapHandshakeFrame, signedGossipFrame } from '../bench/attack/crafted-frames.ts';
import { identityFromSeed } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import type { GossipMessage } from '../src/wire/schema.ts';
import { decodeBody, framingDefaults } from '../src/wire/framing.ts';
import { decodeHandshakeBody, handshakeFrameBytesMax } from '../src/wire/handshake-frames.ts';
import { isStrongcastError } from '../src/errors.ts';

/** A row that meets every goal. */
const good = (over: Partial<AttackRow> = {}): AttackRow => ({
  attack: 'silent-sockets',
  preHandshake: true,
  probesSent: 40,
  probesDelivered: 40,
  probeP99Ms: 30,
  joinMs: 120,
  joinWaitMs: 8000,
  honestBans: 0,
  crashed: false,
  peakRssMb: 90,
  victimCpuPct: 20,
  attackerCpuPct: 10,
  workRatio: 2,
  ...over,
});

test('a row within every bound passes every goal', () => {
  assert.equal(evaluateGoals(good()), { join: 'ok', probes: 'ok', bans: 'ok', crash: 'ok', rss: 'ok', work: 'ok' });
  assert.ok(rowPasses(good()));
  assert.equal(goalFailures(good()), []);
});

test('each goal fails just past its bound and holds at it', () => {
  assert.is(evaluateGoals(good({ joinMs: goalLimits.joinMsMax })).join, 'ok');
  assert.is(evaluateGoals(good({ joinMs: goalLimits.joinMsMax + 1 })).join, 'FAIL');
  assert.is(evaluateGoals(good({ joinMs: null })).join, 'FAIL', 'never joined');
  assert.is(evaluateGoals(good({ probeP99Ms: goalLimits.probeP99MsBelow - 1 })).probes, 'ok');
  assert.is(evaluateGoals(good({ probeP99Ms: goalLimits.probeP99MsBelow })).probes, 'FAIL', 'p99 must be below 250');
  assert.is(evaluateGoals(good({ probesDelivered: 39 })).probes, 'FAIL', 'one probe lost');
  assert.is(evaluateGoals(good({ probesSent: 0, probesDelivered: 0 })).probes, 'FAIL', 'no probe sent proves nothing');
  assert.is(evaluateGoals(good({ honestBans: 1 })).bans, 'FAIL');
  assert.is(evaluateGoals(good({ crashed: true })).crash, 'FAIL');
  assert.is(evaluateGoals(good({ peakRssMb: goalLimits.rssMbMax })).rss, 'ok');
  assert.is(evaluateGoals(good({ peakRssMb: goalLimits.rssMbMax + 0.1 })).rss, 'FAIL');
  assert.is(evaluateGoals(good({ peakRssMb: null })).rss, 'FAIL', 'memory never read');
  assert.is(evaluateGoals(good({ workRatio: goalLimits.workRatioMax })).work, 'ok');
  assert.is(evaluateGoals(good({ workRatio: goalLimits.workRatioMax + 0.1 })).work, 'FAIL');
});

test('the work goal is judged only for input before the handshake', () => {
  assert.is(evaluateGoals(good({ preHandshake: false, workRatio: 500 })).work, '-');
  assert.ok(rowPasses(good({ preHandshake: false, workRatio: 500 })));
  assert.is(evaluateGoals(good({ preHandshake: true, workRatio: null })).work, 'FAIL', 'not measured is not met');
});

test('a row that could not be measured fails and says why', () => {
  const row = good({ setupError: 'H1 never linked to the victim', probesSent: 0, probesDelivered: 0, probeP99Ms: null, joinMs: null });
  assert.not.ok(rowPasses(row));
  assert.equal(goalFailures(row), ['silent-sockets: not measured: H1 never linked to the victim'], 'one line, no figures it did not measure');
  assert.is(evaluateGoals(row).join, 'FAIL');
  assert.is(evaluateGoals(row).crash, 'ok', 'a victim that did not crash is not said to have');
});

test('failure lines name the attack, the goal, the figure and the bound', () => {
  const lines = goalFailures(good({ attack: 'eclipse', joinMs: 5230.4, probesDelivered: 12, probeP99Ms: 310, honestBans: 2, peakRssMb: 211.26, workRatio: 70.2 }));
  assert.equal(lines, [
    'eclipse: join: joined in 5230 ms > 2000 ms',
    'eclipse: probes: 12 of 40 probes delivered through the victim (28 not by the end of the window), p99 310 ms (bound < 250 ms)',
    'eclipse: bans: 2 bans of honest peers (bound 0)',
    'eclipse: rss: peak memory 211.3 MB > 200 MB',
    'eclipse: work: victim CPU caused 70.2x the attacker\'s CPU > 10x',
  ]);
});

test('percentile is nearest rank: p99 of 40 values is the largest, of 200 the second largest', () => {
  const forty = Array.from({ length: 40 }, (_, i) => i + 1);
  assert.is(percentile(forty, 99), 40);
  assert.is(percentile(Array.from({ length: 200 }, (_, i) => i + 1), 99), 198);
  assert.is(percentile([5], 99), 5);
  assert.is(percentile([], 99), null);
  assert.is(percentile([3, 1, 2], 50), 2, 'unsorted input');
});

test('the work ratio takes the baseline out and divides by the attacker CPU', () => {
  // 3 s of victim CPU over 10 s, baseline 0.1 CPU-s per s: 2 s caused by the attack; attacker 0.5 s
  assert.is(workRatio(3, 0.1, 10, 0.5), 4);
  assert.is(workRatio(1, 0.1, 10, 0), null, 'no attacker CPU: nothing to divide by');
  assert.ok(workRatio(0.5, 0.1, 10, 1)! < 0, 'below baseline is reported as it is');
});

test('the table: one line per row, every line the same width, figures and verdicts in their columns', () => {
  const rows = [good(), good({ attack: 'eclipse', preHandshake: false, joinMs: null, honestBans: 3, crashed: true, peakRssMb: 250.04 })];
  const lines = formatTable(rows).split('\n');
  assert.is(lines.length, 4);
  assert.ok(lines.every((l) => l.length === lines[0]!.length), 'aligned');
  assert.match(lines[0]!, /^attack\s+delivered\s+p99 ms\s+join ms\s+honest bans\s+V crashed\s+V peak MB\s+V CPU %\s+att CPU %\s+V\/att\s+join\s+probes\s+bans\s+crash\s+rss\s+work$/);
  assert.match(lines[2]!, /^silent-sockets\s+40\/40\s+30\s+120\s+0\s+no\s+90\.0\s+20\s+10\s+2\.0\s+ok\s+ok\s+ok\s+ok\s+ok\s+ok$/);
  assert.match(lines[3]!, /^eclipse\s+40\/40\s+30\s+>8000\s+3\s+YES\s+250\.0\s+20\s+10\s+2\.0\s+FAIL\s+ok\s+FAIL\s+FAIL\s+FAIL\s+-$/);
});

test('the summary lists every goal not met and fails the run; a clean run passes', () => {
  const clean = summarize([good(), good({ attack: 'baseline', preHandshake: false })]);
  assert.ok(clean.passed);
  assert.equal(clean.lines, ['all goals met in 2 of 2 attacks']);
  const bad = summarize([good(), good({ attack: 'relay-rate', honestBans: 1 }), good({ attack: 'eclipse', joinMs: 2500 })]);
  assert.not.ok(bad.passed);
  assert.equal(bad.lines, ['FAILED: 2 of 3 attacks miss a goal:', '  relay-rate: bans: 1 bans of honest peers (bound 0)', '  eclipse: join: joined in 2500 ms > 2000 ms']);
});

test('the catalogue: baseline first, the issue\'s five attacks in its order, quick runs one of each kind', () => {
  assert.is(attackNames[0], 'baseline');
  const order = ['silent-sockets', 'stalled-handshakes', 'eclipse', 'relay-rate', 'reflection', 'decode-pre'].map((n) => attackNames.indexOf(n as never));
  assert.equal(order, [...order].sort((a, b) => a - b));
  assert.is(attacksToRun(false, null).length, attackNames.length);
  assert.equal(attacksToRun(true, null).map((s) => s.name), [...quickAttacks]);
  assert.equal(attacksToRun(false, ['reflection', 'baseline']).map((s) => s.name), ['baseline', 'reflection'], 'catalogue order');
  for (const quick of [true, false]) {
    const t = runTiming(quick);
    assert.ok(t.attackMsMin >= 1500 + t.probeCount * t.probeIntervalMs, 'probes fit in the attack window after the ramp');
  }
});

test('the command line: flags, defaults, and errors that name the flag', () => {
  const a = parseAttackArgs(['--quick', '--only', 'eclipse,baseline', '--seed', '42', '--sources', '8', '--no-build'], () => 7);
  assert.equal(a, { quick: true, only: ['eclipse', 'baseline'], seed: 42, sources: 8, build: false, help: false });
  const d = parseAttackArgs([], () => 7);
  assert.equal(d, { quick: false, only: null, seed: 7, sources: 32, build: true, help: false });
  assert.throws(() => parseAttackArgs(['--only', 'nope']), /--only: unknown attack 'nope'/);
  assert.throws(() => parseAttackArgs(['--seed', '1e3']), /--seed must be an integer/);
  assert.throws(() => parseAttackArgs(['--sources', '0']), /--sources must be an integer in 1\.\.128/);
  assert.throws(() => parseAttackArgs(['--bogus']), /bogus/);
});

test('source addresses: distinct, on loopback, two per network group, never in the honest nodes\' group', () => {
  let s = 1;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const addrs = sourceAddresses(32, rand);
  assert.is(new Set(addrs).size, 32);
  assert.ok(addrs.every((a) => a.startsWith('127.')));
  const groups = new Map<string, number>();
  for (const a of addrs) groups.set(netGroup(a), (groups.get(netGroup(a)) ?? 0) + 1);
  assert.is(groups.size, 16);
  assert.ok([...groups.values()].every((n) => n === 2));
  assert.not.ok(groups.has('127.0'));
});

/** The error code decoding `body` throws, or 'decoded' with the message type. */
function outcome(decode: () => { t: string }): string {
  try {
    return `decoded ${decode().t}`;
  } catch (e) {
    return isStrongcastError(e) ? e.code : `untyped: ${String(e)}`;
  }
}

test('crafted frames are what the attacks say: legal sizes, and refused only where they must be', () => {
  const max = framingDefaults.frameBytesMax;
  const many = manyKeysFrame();
  assert.ok(many.frame.byteLength - 4 <= max && many.frame.byteLength - 4 > max - 8, 'fills the largest legal body');
  assert.ok(many.entries > 200_000, `${many.entries} entries`);
  assert.is(outcome(() => decodeBody(many.frame.subarray(4))), 'ERR_BAD_MESSAGE', 'passes the walk, refused as a message');
  const chain = bigChainFrame();
  assert.ok(chain.byteLength - 4 <= max && chain.byteLength - 4 > max - 2048);
  assert.is(outcome(() => decodeBody(chain.subarray(4))), 'decoded chain', 'a legal message');
  const deep = deepNestingFrame();
  assert.is(deep.byteLength - 4, max);
  assert.is(outcome(() => decodeBody(deep.subarray(4))), 'ERR_BAD_MESSAGE');
  for (const f of [junkHandshakeFrame((n) => new Uint8Array(n).fill(7)), mapHandshakeFrame().frame]) {
    assert.is(f.readUInt32BE(0), handshakeFrameBytesMax, 'the largest legal handshake frame');
  }
  assert.is(outcome(() => ({ t: decodeHandshakeBody(mapHandshakeFrame().frame.subarray(4)).t })), 'ERR_BAD_HANDSHAKE', 'no msgpack before the handshake');
  assert.ok(mapHandshakeFrame().entries > 150);
});

test('the CPU line: each process in % of a core over the window, and the rest of the machine\'s busy time as other processes', () => {
  // 4 s window; V 2 s, H1 0.4 s, attacker 1 s, suite 0.2 s: 3.6 s ours of 6 s busy, so 2.4 s others
  const line = cpuLine('relay-rate', { machine: 6, suite: 0.2, byNode: { V: 2, H1: 0.4 } }, 4, 1, 2);
  assert.is(line, 'relay-rate: CPU over the 4.0 s window, % of a core: V 50, H1 10, attacker 25, suite 5; other processes on the machine 60; machine busy 150 of 200');
  assert.not.match(cpuLine('x', { machine: null, suite: 0, byNode: {} }, 1, 0, 2), /machine/);
});

test('the attacker\'s fast signer signs exactly as a node key does, so its broadcasts verify', async () => {
  const seed = new Uint8Array(32).fill(9);
  const fast = fastSigner(seed);
  const node = identityFromSeed(seed);
  assert.equal(fast.publicKey, node.publicKey);
  const msg = new TextEncoder().encode('relay-rate');
  assert.equal(fast.sign(msg), node.sign(msg));
  const { frame } = signedGossipFrame('strongcast-attack', fast, 1, new Uint8Array(64));
  const g = decodeBody(frame.subarray(4)) as GossipMessage;
  const verifier = createMainThreadVerifier({});
  assert.equal(await verifier.verify([{ publicKey: g.origin, message: gossipSignedBytes('strongcast-attack', g), signature: g.sig }]), [true]);
  await verifier.close();
});

test.run();
