/**
 * Write coalescing for one connection: bytes ready for the wire are held back (the link corked) until the
 * next flush, so every relay to one peer made while handling one event-loop iteration's reads shares a write
 * and a wake-up of the peer; while the link is busy, flushes are also spaced writeCoalesceMs apart. A long run
 * of work in one turn flushes once a coalescing window has passed, so the peers downstream do not idle.
 *
 * The connection may hold frames back for room on the link (outbox.ts): after each flush, and when the link
 * drains, the coalescer asks it for more (`refill`), corked together, for as long as the network takes them.
 */
import type { Clock, Timer } from '../io/clock.ts';
import type { Link } from '../io/transport.ts';
import { TurnFlush, type TurnFlushable } from './turn-flush.ts';

/** What the coalescer counts of what it writes. */
export interface WriteCounters {
  framesOut: number;
  bytesOut: number;
}

/**
 * Writes more of what the connection holds back through `write`, while the link has room; true when it wrote
 * anything.
 */
export type Refill = () => boolean;

/** Holds a link's writes until the next flush. Use one per connection. */
export class WriteCoalescer implements TurnFlushable {
  #corked = false;
  #lastFlushMs = Number.NEGATIVE_INFINITY;
  /** When the writes now held back began to be held. */
  #corkedAtMs = 0;
  /** The rest of a coalescing window: the flush waits for this timer. */
  #flushTimer: Timer | null = null;
  /** The flush waits for the end of the turn (this writer is in the TurnFlush's list). */
  #dueAtTurnEnd = false;
  /** This writer is in the TurnFlush's list (added at most once a turn, even if it flushed and corked again). */
  #inTurnList = false;
  readonly #onTimer = (): void => this.flush();
  /** A refill is writing: its first write corks the link (#refillCorked), uncorked as soon as it returns. */
  #refilling = false;
  #refillCorked = false;
  #stopped = false;

  /** @param turnFlush the node's end-of-turn flush, shared by its connections (default: this writer's own) */
  constructor(
    private readonly link: Link,
    private readonly clock: Clock,
    private readonly writeCoalesceMs: number,
    private readonly counters: WriteCounters,
    private readonly refill: Refill = () => false,
    private readonly turnFlush: TurnFlush = new TurnFlush((run) => void clock.nextTurn(run)),
  ) {}

  /** Writes bytes ready for the wire (a sealed frame, or a handshake frame), held back until the next flush. */
  write(frame: Uint8Array): void {
    this.counters.framesOut++;
    this.counters.bytesOut += frame.byteLength;
    if (this.#refilling) {
      if (!this.#refillCorked) this.link.cork();
      this.#refillCorked = true;
      return this.link.write(frame);
    }
    const now = this.clock.now();
    if (!this.#corked) this.#corkUntilFlush(now);
    this.link.write(frame);
    // A long run of work in one event-loop turn (a read batch verified inline) would hold every relay until
    // it ends, and the peers downstream idle meanwhile; once a coalescing window has passed, they go now.
    if (now - this.#corkedAtMs >= Math.max(1, this.writeCoalesceMs)) this.flush();
  }

  /** Sends what is held back now, then what the connection held back for room on the link, while it fits. */
  flush(): void {
    this.#cancelFlush();
    if (!this.#corked) return;
    this.#corked = false;
    this.#lastFlushMs = this.clock.now();
    this.link.uncork();
    this.#refill();
  }

  /** The end of the turn (TurnFlush): the held writes go, unless they were flushed or now wait for a timer. */
  onTurnEnd(): void {
    this.#inTurnList = false;
    if (this.#dueAtTurnEnd) this.flush();
  }

  /** The link took everything written: what the connection held back for room goes now (nothing waits for a flush). */
  drained(): void {
    if (!this.#corked) this.#refill();
  }

  /** Forgets what was scheduled: the connection is closing (its last bytes go with `end` or not at all). */
  stop(): void {
    this.#cancelFlush();
    this.#corked = false;
    this.#stopped = true;
  }

  /**
   * Asks the connection for what it held back, one corked batch at a time, while the link takes each batch at
   * once: a flush with a backlog behind it writes as much as the network has room for, not one batch per
   * coalescing window.
   */
  #refill(): void {
    if (this.#refilling || this.#stopped) return;
    for (let wrote = true; wrote; ) {
      this.#refilling = true;
      try {
        wrote = this.refill();
      } finally {
        this.#refilling = false;
        if (this.#refillCorked) this.link.uncork();
        this.#refillCorked = false;
      }
    }
  }

  /**
   * Everything read from every socket in one event-loop iteration is handled before setImmediate runs, so the
   * flush waits for the next turn, or for the rest of the coalescing window when the last flush was recent.
   */
  #corkUntilFlush(now: number): void {
    this.#corked = true;
    this.#corkedAtMs = now;
    this.link.cork();
    // Clamped: a wall clock stepped backwards must not hold a link's writes for the size of the step.
    const waitMs = Math.min(this.writeCoalesceMs, this.#lastFlushMs + this.writeCoalesceMs - now);
    if (waitMs > 0) {
      this.#flushTimer = this.clock.setTimer(this.#onTimer, waitMs);
      return;
    }
    this.#dueAtTurnEnd = true;
    if (this.#inTurnList) return;
    this.#inTurnList = true;
    this.turnFlush.add(this);
  }

  #cancelFlush(): void {
    this.#flushTimer?.cancel();
    this.#flushTimer = null;
    this.#dueAtTurnEnd = false;
  }
}
