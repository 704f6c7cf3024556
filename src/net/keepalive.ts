/**
 * A connection's keepalive: a ping when the peer has been silent for pingIntervalMs, a close when it has been
 * silent for idleTimeoutMs, and the round trip of the pongs that answer our pings (eviction protects fast
 * peers). Each timed ping carries a random number, as Bitcoin Core's ping nonce: a peer that could guess it
 * would answer before the ping arrived and look faster than it is.
 */
import type { Clock, Timer } from '../io/clock.ts';
import type { Random } from '../io/random.ts';
import type { ErrorCode } from '../errors.ts';
import type { NodeLimits } from '../core/node-options.ts';
import type { PingMessage } from '../wire/schema.ts';

/** Shortest keepalive check interval, in ms, however short idleTimeoutMs is. */
const keepaliveCheckMsMin = 50;

/** What the keepalive needs of its connection. */
export interface KeepalivePort {
  /** When the peer was last heard, in ms on the clock. */
  lastHeardMs(): number;
  /** Whether the connection holds the peer's socket unread. */
  paused(): boolean;
  send(msg: PingMessage): boolean;
  close(code: ErrorCode, reason: string): void;
}

/** Pings, the idle timeout and the round trips of one connection. */
export class Keepalive {
  /** Pings sent (0: none yet). */
  #seq = 0;
  /** Our latest timed ping's number (-1: none yet) and when it left, in ms. */
  #nonce = -1;
  #sentMs = 0;

  constructor(
    private readonly limits: Pick<NodeLimits, 'pingIntervalMs' | 'idleTimeoutMs'>,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly port: KeepalivePort,
  ) {}

  /** The listener's first ping, its confirmation of the handshake to the dialer (not timed). */
  firstPing(): PingMessage {
    return { t: 'ping', n: ++this.#seq };
  }

  /** Starts the repeating check; the caller cancels the timer when the connection closes. */
  start(): Timer {
    const { pingIntervalMs, idleTimeoutMs } = this.limits;
    const every = Math.min(pingIntervalMs, Math.max(keepaliveCheckMsMin, idleTimeoutMs >> 2));
    return this.clock.setRepeating(() => {
      const silentMs = this.clock.now() - this.port.lastHeardMs();
      // Not while we hold its socket unread: the silence would be ours.
      if (silentMs > idleTimeoutMs && !this.port.paused()) return this.port.close('ERR_IDLE_TIMEOUT', `silent for ${silentMs} ms`);
      if (silentMs < pingIntervalMs && this.#seq !== 0) return;
      this.#seq++;
      this.#sentMs = this.clock.now();
      this.#nonce = Math.floor(this.random.next() * 2 ** 32);
      this.port.send({ t: 'ping', n: this.#nonce });
    }, every);
  }

  /** The round trip of a pong numbered `n` heard at `heardMs`, in ms; null unless it answers our latest ping. */
  rttOf(n: number, heardMs: number): number | null {
    return n === this.#nonce ? heardMs - this.#sentMs : null;
  }
}
