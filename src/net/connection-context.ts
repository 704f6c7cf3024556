/**
 * What a connection (peer-connection.ts) is given by its node and what it tells it: the local hello and the
 * checks of the peer's, the verifier, limits, clock and randomness, the budgets and gates it shares with the
 * node's other connections, and the callbacks through which it reports opening, messages, offences and its
 * close.
 */
import type { Clock } from '../io/clock.ts';
import type { Random } from '../io/random.ts';
import type { ErrorCode } from '../errors.ts';
import type { HelloContext, LocalHello } from '../peers/handshake.ts';
import type { Message } from '../wire/schema.ts';
import type { Verifier } from '../crypto/verifier.ts';
import type { NodeLimits } from '../core/node-options.ts';
import type { TurnBudget } from './turn-budget.ts';
import type { TurnFlush } from './turn-flush.ts';
import type { OverloadGate } from './overload-gate.ts';
import type { PeerConnection } from './peer-connection.ts';

/** What a connection tells its owner. */
export interface ConnectionEvents {
  /** Handshake done: the peer proved its key and the channel is sealed. */
  onOpen(c: PeerConnection): void;
  /** A message after the handshake (not ping/pong, which the connection answers itself). */
  onMessage(c: PeerConnection, msg: Message, frameBytes: number): void;
  /** Misbehaviour to score; `points` is the penalty. */
  onOffence(c: PeerConnection, code: ErrorCode, reason: string): void;
  /** Closed, for any reason, exactly once. */
  onClose(c: PeerConnection, code: ErrorCode, reason: string): void;
}

/** Everything a connection needs from the node. */
export interface ConnectionContext {
  local: LocalHello;
  verifier: Verifier;
  helloContext: HelloContext;
  limits: NodeLimits;
  clock: Clock;
  random: Random;
  /** The node's budget of work per event-loop turn, shared by all its connections. */
  turn: TurnBudget;
  /** The node's end-of-turn flush of held writes, shared by all its connections. @default one of the connection's own */
  turnFlush?: TurnFlush;
  /** Room among the node's broadcasts being verified; without it, broadcasts are never held for it. */
  gate?: OverloadGate;
  /** Room among the node's consensus messages being checked; without it, they are never held for it. */
  consensusGate?: OverloadGate;
  events: ConnectionEvents;
  /** Frames per direction between rekeys; only tests lower it (both ends must agree). @default REKEY_INTERVAL_MESSAGES */
  rekeyIntervalMessages?: number;
}
