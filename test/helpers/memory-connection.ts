/**
 * A PeerConnection on an in-memory socket, past its handshake, for tests that drive reads by hand: the
 * injected clock, limits and turn budget are the test's; getchain frames, numbered by their `from`, make
 * the order in which frames are handled visible. The test plays the dialing peer through a SecureSession, so
 * every frame it pushes is sealed as a real peer's would be.
 */
import * as assert from 'uvu/assert';
import { toHex } from '../../src/bytes.ts';
import { identityFromSeed } from '../../src/crypto/keys.ts';
import type { Verifier } from '../../src/crypto/verifier.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { encodeFrame, FRAME_HEADER_BYTES, sealedFrameBytes } from '../../src/wire/framing.ts';
import { makeNoiseIdentity, type LocalHello } from '../../src/peers/handshake.ts';
import type { NodeLimits } from '../../src/core/node-options.ts';
import { systemClock } from '../../src/io/system-clock.ts';
import { systemRandom } from '../../src/io/system-random.ts';
import { socketLink } from '../../src/io/tcp-transport.ts';
import { PeerConnection } from '../../src/net/peer-connection.ts';
import type { ConnectionEvents } from '../../src/net/connection-context.ts';
import type { Message } from '../../src/wire/schema.ts';
import type { TurnBudget } from '../../src/net/turn-budget.ts';
import type { TurnFlush } from '../../src/net/turn-flush.ts';
import type { OverloadGate } from '../../src/net/overload-gate.ts';
import { FakeSocket } from './fake-socket.ts';
import { SecureSession } from './secure-session.ts';

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
  /** The end-of-turn flush shared with other connections. @default the connection's own */
  turnFlush?: TurnFlush;
  /** Called for each message the connection hands on, after `handled` records getchain's number. */
  onMessage?: (m: Message) => void;
  /** Frames between rekeys, for the connection and (unless `peerRekeyIntervalMessages`) the peer. */
  rekeyIntervalMessages?: number;
  peerRekeyIntervalMessages?: number;
  /** What the peer claims beyond its own key (a bad signature over its Noise key, for refusals). */
  peerLocal?: Partial<LocalHello>;
  /** The connection's remote address. @default '127.0.0.1' */
  remoteAddress?: string;
  /** The node's gates for room among broadcasts and consensus messages being checked. @default none */
  gate?: OverloadGate;
  consensusGate?: OverloadGate;
}

/** An open connection, its socket, and what it handed on, scored and closed with. */
export interface MemoryConnection {
  conn: PeerConnection;
  socket: FakeSocket;
  handled: number[];
  offences: Array<{ code: ErrorCode; reason: string }>;
  closes: ErrorCode[];
  /** The peer's side of the channel. */
  peer: SecureSession;
  /** `count` getchain frames numbered from `from`, sealed by the peer in one buffer (each call seals anew). */
  frames(from: number, count: number): Buffer;
}

/** A started connection and the peer's last handshake message, which it is waiting for. */
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

/**
 * Starts a listening connection on an in-memory socket and runs the handshake as the dialing peer up to the
 * peer's last message, which is returned for the test to send (with whatever it wants behind it).
 */
export async function startMemoryConnection(setup: MemoryConnectionSetup): Promise<StartedMemoryConnection> {
  const self = identityFromSeed(new Uint8Array(32).fill(setup.selfSeed));
  const peerKey = identityFromSeed(new Uint8Array(32).fill(setup.peerSeed));
  const socket = new FakeSocket(setup.remoteAddress ?? '127.0.0.1');
  const handled: number[] = [];
  const offences: Array<{ code: ErrorCode; reason: string }> = [];
  const closes: ErrorCode[] = [];
  const events: ConnectionEvents = {
    onOpen: () => undefined,
    onMessage: (_c, m) => {
      if (m.t === 'getchain') handled.push(m.from);
      setup.onMessage?.(m);
    },
    onOffence: (_c, code, reason) => void offences.push({ code, reason }),
    onClose: (_c, code) => void closes.push(code),
  };
  const base = { networkId: setup.networkId, publicKey: self.publicKey, host: '', port: 7000 };
  const local: LocalHello = { ...base, ...makeNoiseIdentity((m) => self.sign(m), systemRandom) };
  const conn = new PeerConnection(socketLink(socket as never), false, {
    local,
    verifier: setup.verifier,
    helloContext: { networkId: setup.networkId, selfKeyHex: toHex(self.publicKey), isBanned: () => false },
    limits: setup.limits,
    clock: systemClock(() => setup.clock.ms),
    random: systemRandom,
    turn: setup.turn,
    ...(setup.turnFlush ? { turnFlush: setup.turnFlush } : {}),
    ...(setup.gate ? { gate: setup.gate } : {}),
    ...(setup.consensusGate ? { consensusGate: setup.consensusGate } : {}),
    events,
    ...(setup.rekeyIntervalMessages === undefined ? {} : { rekeyIntervalMessages: setup.rekeyIntervalMessages }),
  });
  conn.start();
  const peerInterval = setup.peerRekeyIntervalMessages ?? setup.rekeyIntervalMessages;
  const peer = new SecureSession({ key: peerKey, networkId: setup.networkId, initiator: true, ...(peerInterval === undefined ? {} : { rekeyIntervalMessages: peerInterval }), ...(setup.peerLocal ? { local: setup.peerLocal } : {}) });
  for (const b of peer.start()) socket.push(b);
  // the answer is corked until the end of a turn
  for (let i = 0; i < 10 && socket.written.length === 0; i++) await nextTurn();
  const { out, error } = peer.push(Buffer.concat(socket.written));
  assert.ok(!error && out.length === 1, `handshake as the dialer: ${error?.message ?? out.length}`);
  const frames = (from: number, count: number): Buffer => sealedFrames(peer, getchainFrames(from, count));
  return { conn, socket, handled, offences, closes, peer, frames, peerHandshake: Buffer.from(out[0]!) };
}

/** Each plaintext frame in `plain` sealed by `peer`, in one buffer. */
export function sealedFrames(peer: SecureSession, plain: Uint8Array): Buffer {
  const out: Uint8Array[] = [];
  for (let at = 0; at < plain.byteLength; ) {
    const bytes = FRAME_HEADER_BYTES + new DataView(plain.buffer, plain.byteOffset + at).getUint32(0);
    out.push(peer.sealFrame(plain.subarray(at, at + bytes)));
    at += bytes;
  }
  return Buffer.concat(out);
}

/** Bytes on the wire of `count` sealed getchain frames numbered from `from`. */
export const sealedGetchainBytes = (from: number, count: number): number => getchainFrames(from, count).byteLength + sealedFrameBytes(0) * count;

/** `count` plaintext getchain frames numbered from `from`, in one buffer (seal them to send them). */
export const getchainFrames = (from: number, count: number): Buffer =>
  Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame({ t: 'getchain', from: from + i } satisfies Message)));

/** The numbers from `from`, `count` of them. */
export const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);
