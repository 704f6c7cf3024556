/**
 * A connection's consensus frames go ahead of its broadcasts (src/net/inbox.ts), and the room among the checks
 * in progress is counted apart for each (consensusInflightMax, the consensus gate): a validator that relays a
 * flood of broadcasts it accepted also sends its chains on the same connection, and a chain must not wait for
 * them, nor for room that the broadcasts filled. On a connection over an in-memory socket, with gates whose
 * fill the test sets.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import { createGenesis } from '../src/consensus/genesis.ts';
import { encodeFrame } from '../src/wire/framing.ts';
import type { Message } from '../src/wire/schema.ts';
import { OverloadGate } from '../src/net/overload-gate.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { nextTurn, openMemoryConnection, sealedFrames, type MemoryConnection } from './helpers/memory-connection.ts';
import { buildChain, testNet } from './sim/chains.ts';
import { testKeys } from './sim/keys.ts';

const networkId = 'first-net';
const keys = testKeys(4, 61);
const net = testNet(createGenesis({ publicKeys: keys.map((k) => k.publicKey), networkId, faults: 1, roundMs: 1000, startMs: 10_000 }), keys);

/** A broadcast numbered `seq` (never verified here: the connection only hands it on). */
const gossip = (seq: number): Message => ({ t: 'gossip', origin: keys[0]!.publicKey, seq, topic: 't', data: new Uint8Array(8), hops: 0, sig: new Uint8Array(64) });
/** A chain of validator `miner`'s block. */
const chain = (miner: number): Message => buildChain(net, { miner, t0: 3, ts: 0, payload: new Uint8Array([miner]) }, [miner]);
/** How a handled message shows in the order: g<seq>, c<miner>, or getchain's number. */
const label = (m: Message): string => (m.t === 'gossip' ? `g${m.seq}` : m.t === 'ds' ? `c${m.block.miner}` : m.t === 'getchain' ? `r${m.from}` : m.t);

/** The fill of each gate, and the gates. */
function gates(): { fill: { broadcast: number; consensus: number }; gate: OverloadGate; consensusGate: OverloadGate } {
  const fill = { broadcast: 0, consensus: 0 };
  return { fill, gate: new OverloadGate(() => fill.broadcast, 4), consensusGate: new OverloadGate(() => fill.consensus, 4) };
}

async function open(peerSeed: number, order: string[], g: ReturnType<typeof gates>): Promise<MemoryConnection> {
  const clock = { ms: 1_000_000 };
  return openMemoryConnection({
    networkId,
    selfSeed: 71,
    peerSeed,
    verifier: createMainThreadVerifier(),
    limits: resolveLimits({}),
    clock,
    turn: new TurnBudget({ now: () => clock.ms, nextTurn: (run) => void setImmediate(run) }),
    gate: g.gate,
    consensusGate: g.consensusGate,
    onMessage: (m) => void order.push(label(m)),
  });
}

/** `msgs` sealed by the connection's peer, in one read. */
const read = (h: MemoryConnection, msgs: Message[]): Buffer => sealedFrames(h.peer, Buffer.concat(msgs.map((m) => encodeFrame(m))));

test('the consensus frames of a read are handled before the broadcasts ahead of them; each kind in the peer\'s order', async () => {
  const order: string[] = [];
  const h = await open(72, order, gates());
  h.socket.push(read(h, [gossip(1), chain(1), gossip(2), { t: 'getchain', from: 5 }, gossip(3), chain(2)]));
  assert.equal(order, ['c1', 'r5', 'c2', 'g1', 'g2', 'g3']);
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('broadcast room full: the chain behind the broadcasts goes on; the broadcasts wait, socket unread, and go once there is room', async () => {
  const order: string[] = [];
  const g = gates();
  g.fill.broadcast = 4;
  const h = await open(73, order, g);
  h.socket.push(read(h, [gossip(1), gossip(2), chain(1)]));
  assert.equal(order, ['c1'], 'exactly inflightMax broadcasts in progress: they wait, the chain does not');
  assert.ok(h.socket.isPaused(), 'nothing more is read while broadcasts wait');
  g.fill.broadcast = 2;
  g.gate.release();
  assert.equal(order, ['c1', 'g1', 'g2']);
  await nextTurn();
  assert.not.ok(h.socket.isPaused());
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test('consensus room full: the broadcasts go on and the chain waits for its own room, not theirs', async () => {
  const order: string[] = [];
  const g = gates();
  g.fill.consensus = 4;
  const h = await open(74, order, g);
  h.socket.push(read(h, [chain(1), gossip(1), chain(2), gossip(2)]));
  assert.equal(order, ['g1', 'g2'], 'exactly consensusInflightMax chains in progress: chains wait, broadcasts do not');
  g.fill.broadcast = 4;
  g.fill.consensus = 1;
  g.consensusGate.release();
  assert.equal(order, ['g1', 'g2', 'c1', 'c2'], 'room among chains: they go, whatever the broadcasts fill');
  h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test.run();
