/**
 * A validator's round timer: it ticks the state machine just after each round boundary of the genesis, by the
 * node's Clock, where instances end and decisions fall due (DolevStrong.tick). Each tick first asks the outage
 * watch, so a node that was paused catches up instead of deciding on its stale view, and tells the watch when
 * the next tick is due, since time far past that moment means the process did not run (outage-watch.ts).
 */
import type { Clock, Timer } from '../io/clock.ts';
import type { ConsensusAction, DolevStrong } from '../consensus/dolev-strong.ts';
import type { Genesis } from '../consensus/genesis.ts';
import { logError, type Logger } from '../log.ts';
import type { OutageWatch } from './outage-watch.ts';
import type { OutcomeExchange } from './outcome-exchange.ts';

/** What the ticker needs of its validator. */
export interface TickerHost {
  readonly genesis: Genesis;
  readonly clock: Clock;
  readonly log: Logger;
  readonly core: Pick<DolevStrong, 'tick'>;
  now(): number;
  /** Catches up again if the node was out since the last call (Validator.checkOutage). */
  checkOutage(): void;
  /** Carries out the state machine's actions. */
  apply(actions: ConsensusAction[], from: string): void;
}

/** One validator's timer at the round boundaries. */
export class RoundTicker {
  #timer: Timer | null = null;
  #running = false;

  constructor(
    private readonly host: TickerHost,
    private readonly outage: Pick<OutageWatch, 'tickDue' | 'tickRan'>,
    private readonly outcomes: Pick<OutcomeExchange, 'judgeDivergence'>,
  ) {}

  /** Ticks from the next round boundary on. */
  start(): void {
    this.#running = true;
    this.#schedule();
  }

  /** Cancels the timer; safe to call twice, and from within a tick. */
  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** Ticks just after each round boundary, where instances end and decisions fall due. */
  #schedule(): void {
    if (!this.#running) return;
    const h = this.host;
    const { roundMs, startMs } = h.genesis;
    const now = h.now();
    const next = startMs + (Math.floor((now - startMs) / roundMs) + 1) * roundMs;
    // Just past the boundary, so the round has really begun; lateness is measured from that moment.
    const delayMs = Math.max(1, next - now + 1);
    this.outage.tickDue(now + delayMs);
    this.#timer = h.clock.setTimer(() => {
      try {
        h.checkOutage();
        this.outage.tickRan();
        h.apply(h.core.tick(h.now()), 'self');
        this.outcomes.judgeDivergence();
      } catch (e) {
        logError(h.log, 'consensus tick failed', { error: (e as Error).message });
      }
      this.#schedule();
    }, delayMs);
  }
}
