/**
 * A PeerConnection on an in-memory socket, past its handshake, for tests that drive reads by hand: the
 * injected clock, limits and turn budget are the test's; getchain frames, numbered by their `from`, make
 * the order in which frames are handled visible.
 */
import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import { toHex } from '../../src/bytes.ts';
import { identityFromSeed } from '../../src/crypto/keys.ts';
import type { Verifier } from '../../src/crypto/verifier.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { encodeFrame, FrameDecoder } from '../../src/wire/framing.ts';
import { makeAuth, makeHello, type LocalHello } from '../../src/peers/handshake.ts';
import type { NodeLimits } from '../../src/core/node-options.ts';
import { systemClock } from '../../src/io/system-clock.ts';
import { systemRandom } from '../../src/io/system-random.ts';
import { socketLink } from '../../src/io/tcp-transport.ts';
import { PeerConnection, type ConnectionEvents } from '../../src/net/peer-connection.ts';
import type { HelloMessage, Message } from '../../src/wire/schema.ts';
import type { TurnBudget } from '../../src/net/turn-budget.ts';
import { FakeSocket } from './fake-socket.ts';

/** Waits for one turn of the event loop (the check phase). */
export const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** What a test needs to build a connection. */
export interface MemoryConnectionSetup {
  networkId: string;
  /** Seed byte of our identity and of the peer's (distinct per connection of one test). */
  selfSeed: number;
  peerSeed: number;
  verifier: Verifier;
  limits: NodeLimits;
  clock: { ms: number };
  turn: TurnBudget;
  /** Called for each message the connection hands on, after `handled` records getchain's number. */
  onMessage?: (m: Message) => void;
}

/** An open connection, its socket, and what it handed on, scored and closed with. */
export interface MemoryConnection {
  conn: PeerConnection;
  socket: FakeSocket;
  handled: number[];
  offences: Array<{ code: ErrorCode; reason: string }>;
  closes: ErrorCode[];
}

/** A started connection and the peer's handshake frames (hello and auth) it is waiting for. */
export interface StartedMemoryConnection extends MemoryConnection {
  peerHandshake: Buffer;
}

/** Opens a connection on an in-memory socket and completes the handshake as the peer. */
export async function openMemoryConnection(setup: MemoryConnectionSetup): Promise<MemoryConnection> {
  const { peerHandshake, ...started } = await startMemoryConnection(setup);
  started.socket.push(peerHandshake);
  for (let i = 0; i < 10 && started.conn.state !== 'open'; i++) await nextTurn();
  assert.is(started.conn.state, 'open', 'handshake');
  return started;
}

/** Starts a connection on an in-memory socket, up to its hello; the test sends the peer's side. */
export async function startMemoryConnection(setup: MemoryConnectionSetup): Promise<StartedMemoryConnection> {
  const self = identityFromSeed(new Uint8Array(32).fill(setup.selfSeed));
  const peer = identityFromSeed(new Uint8Array(32).fill(setup.peerSeed));
  const socket = new FakeSocket('127.0.0.1');
  const out: Omit<MemoryConnection, 'conn'> = { socket, handled: [], offences: [], closes: [] };
  const events: ConnectionEvents = {
    onOpen: () => undefined,
    onMessage: (_c, m) => {
      if (m.t === 'getchain') out.handled.push(m.from);
      setup.onMessage?.(m);
    },
    onOffence: (_c, code, reason) => void out.offences.push({ code, reason }),
    onClose: (_c, code) => void out.closes.push(code),
  };
  const local: LocalHello = { networkId: setup.networkId, publicKey: self.publicKey, host: '', port: 7000 };
  const conn = new PeerConnection(socketLink(socket as never), false, {
    local,
    sign: (m) => self.sign(m),
    verifier: setup.verifier,
    helloContext: { networkId: setup.networkId, selfKeyHex: toHex(self.publicKey), isBanned: () => false },
    limits: setup.limits,
    clock: systemClock(() => setup.clock.ms),
    random: systemRandom,
    turn: setup.turn,
    events,
  });
  conn.start();
  await nextTurn();
  const ours = new FrameDecoder({ frameBytesMax: 1 << 20 }).push(Buffer.concat(socket.written)).messages[0] as HelloMessage;
  const peerLocal: LocalHello = { networkId: setup.networkId, publicKey: peer.publicKey, host: '', port: 0 };
  const peerHandshake = Buffer.concat([encodeFrame(makeHello(peerLocal, randomBytes(32))), encodeFrame(makeAuth(peerLocal, ours, (m) => peer.sign(m)))]);
  return { conn, ...out, peerHandshake };
}

/** `count` getchain frames numbered from `from`, in one buffer. */
export const getchainFrames = (from: number, count: number): Buffer =>
  Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame({ t: 'getchain', from: from + i } satisfies Message)));

/** The numbers from `from`, `count` of them. */
export const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);
