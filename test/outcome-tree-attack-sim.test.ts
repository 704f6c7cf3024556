/**
 * Attacks on outcomes riding their signer's broadcast tree (flooding.ts onOutcome). An observer follows the
 * chain only by f+1 matching outcomes, so an outcome it never gets in time stops it for good: the follower
 * appends a round only when every earlier round with blocks is in, and an outcome past the window
 * (outcomeWindowRounds) is neither checked nor carried. Flooded, an observer with one honest peer got every
 * outcome from that peer in full; on the tree that peer may hold it as lazy (an IHAVE, then our GRAFT), so the
 * adversary has the repair path to play with.
 *
 * The world: n = 4 validators in a full mesh, f = 1, one observer (index 4) linked to validator 0 only, and
 * Byzantine non-validator peers (raw hosts) linked to every node. Link delays are fixed, 5 ms between honest
 * nodes and 1 ms on the adversary's links, and checks take 1-2 ms, so the attackers are always first at the
 * observer. The attackers first feed the observer every outcome ahead of validator 0, so the observer prunes
 * validator 0 from the other signers' trees (two feeds kept, treeRedundancy 2); then, from round 8 on, they
 * withhold outcomes, and with `announce` tell the observer of each one at once (IHAVE) and never serve its
 * GRAFT. Variants add peers that fill the table of announced-but-missing ids, or a backlog of broadcasts on
 * validator 0's link to the observer. The last test is a Byzantine validator that equivocates its outcomes.
 * `OTA_SEED=N` replays one seed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outcomeId, outcomeSignedBytes } from '../src/consensus/outcome.ts';
import { packIds } from '../src/gossip/broadcast-relay.ts';
import { plumtreeDefaults } from '../src/gossip/plumtree.ts';
import type { Message, OutcomeMessage } from '../src/wire/schema.ts';
import { ByzHost } from './sim-net/byzantine.ts';
import type { RawConn } from './sim-net/raw-host.ts';
import { World, simIdentity, simPort, validatorIp } from './sim-net/world.ts';

const n = 4;
const observer = n;

function seeds(count: number): number[] {
  const one = process.env.OTA_SEED;
  return one !== undefined ? [Number(one) >>> 0] : Array.from({ length: count }, (_, i) => i + 1);
}

/** A non-validator peer that races outcomes to the observer, then withholds them (and announces them first). */
class OutcomeWithholder extends ByzHost {
  readonly sent = { fed: 0, announced: 0, graftsIgnored: 0 };

  constructor(
    world: World,
    g: number,
    readonly attackFromMs: number,
    readonly announce: boolean,
  ) {
    super(world, `x${g}`, simIdentity(100 + g, 77), `10.1.0.${g + 1}`);
  }

  connect(): void {
    for (let i = 0; i < this.world.total; i++) this.raw.dial(validatorIp(i), simPort);
  }

  onMessage(_c: RawConn, msg: Message): void {
    if (msg.t === 'graft') this.sent.graftsIgnored++;
    if (msg.t !== 'outcome') return;
    const to = this.open.get(this.world.nodes[observer]?.node.id ?? '');
    if (!to) return;
    if (this.world.sched.now < this.attackFromMs) {
      this.sent.fed++;
      to.send(msg);
    } else if (this.announce) {
      this.sent.announced++;
      to.send({ t: 'ihave', ids: packIds([outcomeId(msg)]) });
    }
  }
}

/**
 * A non-validator peer that keeps the observer's table of announced-but-missing messages full: every IHAVE
 * flush it announces as many made-up ids as one peer may open (missingPerPeerMax), and never serves them.
 */
class MissingFiller extends ByzHost {
  announced = 0;

  constructor(world: World, g: number) {
    super(world, `f${g}`, simIdentity(200 + g, 77), `10.${20 + g}.0.1`);
  }

  start(perPeer: number): void {
    const w = this.world;
    w.sched.at(w.T0(0) - 500, () => this.raw.dial(validatorIp(observer), simPort));
    const step = (): void => {
      const c = this.open.get(w.nodes[observer]?.node.id ?? '');
      if (c) {
        const ids = Array.from({ length: perPeer }, () => Buffer.from(this.bytes(32)).toString('hex'));
        for (let i = 0; i < ids.length; i += 1024) c.send({ t: 'ihave', ids: packIds(ids.slice(i, i + 1024)) });
        this.announced += ids.length;
      }
      w.sched.after(50, step);
    };
    w.sched.at(w.T0(0), step);
  }

  onMessage(): void {}
}

interface AttackRun {
  world: World;
  attackers: OutcomeWithholder[];
}

/** A backlog of broadcasts on the link from validator 0 to the observer: its rate, and the burst that fills it. */
interface Backlog {
  bytesPerMs: number;
  burstBytes: number;
}

async function runAttack(seed: number, o: { roundMs: number; attackers: number; announce: boolean; blocks: number; fillers?: number; backlog?: Backlog; tailMs?: number }): Promise<AttackRun> {
  const { roundMs, backlog } = o;
  const world = new World({
    seed, n, faults: 1, roundMs, delayMinMs: 5, delayMaxMs: 5, verifyMsMin: 1, verifyMsMax: 2, diskMsMax: 1,
    syncIntervalMs: 500, eventsMax: 8_000_000, observers: 1,
    // The adversary's links are fast (1 ms): its copies reach the observer well before validator 0's.
    delayMs: (from, to) => (from.ip.startsWith('10.1.') || to.ip.startsWith('10.1.') ? 1 : 5),
    ...(backlog ? { capacity: (from, to) => (from.ip === validatorIp(0) && to.ip === validatorIp(observer) ? { bytesPerMs: backlog.bytesPerMs, sendBufferBytes: 16 * 1024 } : undefined) } : {}),
  });
  const validators = [...Array(n).keys()];
  world.mesh = [...validators.map((i) => new Set([...validators.filter((j) => j !== i), ...(i === 0 ? [observer] : [])])), new Set([0])];
  for (let i = 0; i < world.total; i++) world.startNode(i);
  const firstT0 = 4;
  const attackT0 = firstT0 + 4;
  const attackers = Array.from({ length: o.attackers }, (_, g) => new OutcomeWithholder(world, g, world.T0(attackT0), o.announce));
  world.sched.at(world.T0(0) - 600, () => attackers.forEach((a) => a.connect()));
  for (let g = 0; g < (o.fillers ?? 0); g++) new MissingFiller(world, g).start(plumtreeDefaults.missingPerPeerMax);
  for (let b = 0; b < o.blocks; b++) world.mineAt((firstT0 + b) % n, firstT0 + 2 * b, `block ${b}`);
  const lastMs = world.T0(firstT0 + 2 * o.blocks + 40) + (o.tailMs ?? 0);
  if (backlog) loadLink(world, backlog, world.T0(attackT0), world.T0(firstT0 + 2 * o.blocks + 4));
  await world.sched.run(lastMs);
  return { world, attackers };
}

/**
 * Validator 0 broadcasts 16 KiB messages: a burst of `burstBytes` at `fromMs`, then at its link's rate to the
 * observer, so that link holds about `burstBytes` of broadcasts waiting until `untilMs`.
 */
function loadLink(world: World, backlog: Backlog, fromMs: number, untilMs: number): void {
  const data = new Uint8Array(16 * 1024).fill(1);
  const send = (): void => {
    const sv = world.nodes[0]!;
    sv.host.run(sv.host.incarnation, () => void sv.node.broadcast('load', data).catch(() => undefined));
  };
  world.sched.at(fromMs, () => {
    for (let i = 0; i < Math.floor(backlog.burstBytes / data.byteLength); i++) send();
  });
  const everyMs = Math.ceil((data.byteLength + 200) / backlog.bytesPerMs);
  const step = (): void => {
    if (world.sched.now >= untilMs) return;
    send();
    world.sched.after(everyMs, step);
  };
  world.sched.at(fromMs + everyMs, step);
}

function assertFollowed(run: AttackRun, seed: number, blocks: number): void {
  const { world, attackers } = run;
  const tag = `seed ${seed} (replay with OTA_SEED=${seed})`;
  const chain = world.nodes[0]!.chainHashes();
  assert.is(chain.length, blocks, `${tag}: the validators decided every block`);
  const fed = attackers.reduce((s, a) => s + a.sent.fed, 0);
  assert.ok(fed > 0, `${tag}: the attackers fed the observer before the attack (${fed} outcomes)`);
  const followed = world.nodes[observer]!.chainHashes();
  assert.is(followed.length, chain.length, `${tag}: the observer, linked to one honest validator, followed every block (it holds ${followed.length} of ${chain.length}; attackers: ${JSON.stringify(attackers.map((a) => a.sent))})`);
  assert.equal(followed, chain, `${tag}: the observer holds the validators' chain`);
}

test('Byzantine feeds that withhold outcomes and announce them first (IHAVE, GRAFT never served): the observer still follows every block', async () => {
  const blocks = 10;
  for (const seed of seeds(2)) assertFollowed(await runAttack(seed, { roundMs: 200, attackers: 4, announce: true, blocks }), seed, blocks);
});

test('Byzantine feeds that withhold outcomes at a 25 ms round, four announcing first: the repair lands inside the outcome window', async () => {
  const blocks = 10;
  for (const seed of seeds(2)) assertFollowed(await runAttack(seed, { roundMs: 25, attackers: 4, announce: true, blocks }), seed, blocks);
});

test('Byzantine feeds that withhold outcomes silently at a 10 ms round: the honest lazy link repairs inside the outcome window', async () => {
  const blocks = 10;
  for (const seed of seeds(2)) assertFollowed(await runAttack(seed, { roundMs: 10, attackers: 2, announce: false, blocks }), seed, blocks);
});

test('peers that fill the table of announced-but-missing messages with ids they never serve, while feeds withhold: the honest announcement still counts', async () => {
  // 17 peers x missingPerPeerMax (1,024) is more than missingEntriesMax (16,384) was: the honest IHAVE found
  // the table full and was ignored.
  const blocks = 6;
  for (const seed of seeds(1)) assertFollowed(await runAttack(seed, { roundMs: 200, attackers: 2, announce: false, blocks, fillers: 17 }), seed, blocks);
});

test('Byzantine feeds that withhold outcomes while the honest link holds a backlog of broadcasts: the repair does not wait behind them', async () => {
  // Flooded, an outcome went ahead of the broadcasts waiting for room on a link (consensus first, net/outbox.ts),
  // as chains still do. On the tree a withheld one comes by an IHAVE and a GRAFT, which waited behind them:
  // 6.5 MiB at 0.4 MB/s is 17 s, past the outcome window at Δ = 500 ms (18 rounds and 5 s, 14 s); a chain waits
  // behind at most the link's buffers (80 KiB, 200 ms), inside the round.
  const blocks = 6;
  for (const seed of seeds(1)) {
    assertFollowed(await runAttack(seed, { roundMs: 500, attackers: 2, announce: false, blocks, backlog: { bytesPerMs: 400, burstBytes: 6.5 * 1024 * 1024 }, tailMs: 20_000 }), seed, blocks);
  }
});

/**
 * Validator 3, Byzantine: for each start round an honest outcome names, it signs two outcomes of its own, one
 * naming the honest blocks and one naming a block nobody decided, and sends one to validators 0 and 1, the
 * other to validator 2 and the observer. Each honest node carries only the first it checks of a signer's
 * outcomes per t0 (OutcomeGate), so each tree carries one version from each node.
 */
class OutcomeEquivocator extends ByzHost {
  /** Per t0, the ids of the two versions. */
  readonly versions = new Map<number, [string, string]>();

  constructor(world: World) {
    super(world, 'v3', world.identities[3]!, validatorIp(3));
    void this.raw.listen();
  }

  onMessage(_c: RawConn, msg: Message): void {
    if (msg.t !== 'outcome' || msg.signer === 3 || this.versions.has(msg.t0)) return;
    const w = this.world;
    const sign = (blocks: OutcomeMessage['blocks']): OutcomeMessage => {
      const body = { signer: 3, t0: msg.t0, height: msg.height, blocks };
      return { t: 'outcome', ...body, sig: w.testNet.keys[3]!.sign(outcomeSignedBytes(w.networkId, w.testNet.genesisHash, body)) };
    };
    const a = sign(msg.blocks);
    const b = sign(msg.blocks.map((x) => ({ miner: x.miner, hash: this.bytes(32) })));
    this.versions.set(msg.t0, [outcomeId(a), outcomeId(b)]);
    for (const [i, version] of [[0, a], [1, a], [2, b], [observer, b]] as const) this.open.get(w.nodes[i]?.node.id ?? '')?.send(version);
  }
}

test('a Byzantine validator that signs two outcomes per round: each honest node carries one of them, nobody is scored, no alarm, and the observer follows', async () => {
  const blocks = 6;
  for (const seed of seeds(2)) {
    const tag = `seed ${seed} (replay with OTA_SEED=${seed})`;
    const world = new World({ seed, n, faults: 1, roundMs: 200, delayMinMs: 1, delayMaxMs: 10, verifyMsMax: 2, diskMsMax: 1, syncIntervalMs: 500, eventsMax: 8_000_000, observers: 1 });
    const honest = [0, 1, 2];
    world.mesh = [...honest.map((i) => new Set([...honest.filter((j) => j !== i), 3, ...(i === 0 ? [observer] : [])])), new Set<number>(), new Set([0, 3])];
    const byz = new OutcomeEquivocator(world);
    for (const i of [...honest, observer]) world.startNode(i);
    for (let b = 0; b < blocks; b++) world.mineAt(honest[b % 3]!, 4 + 2 * b, `block ${b}`);
    await world.sched.run(world.T0(4 + 2 * blocks + 10));
    const chain = world.nodes[0]!.chainHashes();
    assert.is(chain.length, blocks, `${tag}: the validators decided every block`);
    assert.ok(byz.versions.size >= blocks - 1, `${tag}: validator 3 equivocated in ${byz.versions.size} rounds`);
    assert.equal(world.nodes[observer]!.chainHashes(), chain, `${tag}: the observer follows the validators' chain`);
    for (const i of [...honest, observer]) {
      const sv = world.nodes[i]!;
      assert.is(sv.counters.diverged, 0, `${tag}: node ${i} raised no alarm (one signer is not f+1)`);
      assert.equal(sv.offencesSeen.map((o) => o.code), [], `${tag}: node ${i} scored nobody for a validly signed second outcome`);
      for (const [t0, ids] of byz.versions) {
        const held = ids.filter((id) => sv.node.broadcastRelay.held(id, sv.host.clock().now()) !== undefined);
        assert.is(held.length, 1, `${tag}: node ${i} carried exactly one of validator 3's outcomes for t0=${t0}`);
      }
    }
  }
});

test.run();
