/**
 * One peer's work in progress, as its connection accounts for it: its messages being verified, by class
 * (broadcasts, and consensus chains and outcomes apart, so the node's consensus gate sees what this peer has of
 * its own in flight), and what follows the verdicts on them (relay and delivery) while it waits for the turn
 * budget (turn-budget.ts). Once peerInflightMax messages of a class are in progress the connection stops
 * reading, so a fast peer is slowed by TCP flow control instead of growing our queues; and a peer with few
 * in progress is light: its work goes ahead of the backlogs of the peers that send much.
 */
import type { NodeLimits } from '../core/node-options.ts';
import type { DeferredWork, TurnBudget, WorkPriority } from './turn-budget.ts';
import { FrameQueue } from './frame-queue.ts';

/** One class of a peer's messages being verified: how many, and whether that stopped reading. */
interface ClassWork {
  inflight: number;
  /** peerInflightMax reached: reading stops until half of them are done. */
  held: boolean;
}

/** What the accounting needs of its connection's context. */
export interface PeerWorkContext {
  /** The node's budget of work per event-loop turn, shared by all its connections. */
  readonly turn: TurnBudget;
  readonly limits: Pick<NodeLimits, 'peerInflightMax'>;
}

/** A peer's messages in verification and the verdicts on them that wait for the turn budget. */
export class PeerWork {
  readonly #classes: Record<'broadcast' | 'consensus', ClassWork> = { broadcast: { inflight: 0, held: false }, consensus: { inflight: 0, held: false } };
  /**
   * What follows the verdicts on this peer's broadcasts (relay and delivery) that the turn budget had no room
   * for, in the order the verdicts came (afterVerdict). Kept after a close: it is the node's bookkeeping too.
   */
  readonly #verdicts = new FrameQueue<() => void>();

  /** @param owner the connection, which the turn budget resumes when the work waits */
  constructor(
    private readonly owner: DeferredWork,
    private readonly ctx: PeerWorkContext,
  ) {}

  /**
   * Counts a message of this peer that is still being verified (`consensus`: a chain or an outcome).
   * @returns true when this brought its class to peerInflightMax: the connection stops reading
   */
  begin(consensus: boolean): boolean {
    const w = this.#classes[consensus ? 'consensus' : 'broadcast'];
    w.inflight++;
    if (w.held || w.inflight < this.ctx.limits.peerInflightMax) return false;
    w.held = true;
    return true;
  }

  /**
   * A message of this peer finished verification.
   * @returns true when half of those held are done: the connection reads again, unless something else holds it
   */
  end(consensus: boolean): boolean {
    const w = this.#classes[consensus ? 'consensus' : 'broadcast'];
    w.inflight--;
    if (!w.held || w.inflight > this.ctx.limits.peerInflightMax >> 1) return false;
    w.held = false;
    return true;
  }

  /** This peer's messages of one class in progress. */
  inflight(consensus: boolean): number {
    return this.#classes[consensus ? 'consensus' : 'broadcast'].inflight;
  }

  /** Whether either class is at peerInflightMax (and not yet down to half): reading stops. */
  get held(): boolean {
    return this.#classes.broadcast.held || this.#classes.consensus.held;
  }

  /**
   * Acts on the verdict on one of this peer's messages (`act`: its relay and delivery) as a piece of this
   * peer's work within the turn budget: now if the turn has room and nothing of this peer's waits, else after
   * what waits, on this peer's turns (turn-budget.ts). A verifier off this thread answers in batches, all
   * handled as they come back: acting on every verdict at once held the event loop for hundreds of ms under
   * a flood of valid broadcasts, and the reads of every other peer with it (issue 16, item 3: the relay-rate
   * attack). The caller counts the message as this peer's work in progress until `act` runs (begin, end), so
   * a peer whose verdicts wait stops being read once peerInflightMax of its messages do. The verdict on the
   * only message a peer has in progress is acted on at once, spent turn or not: it is one message's work,
   * however busy the node is with other work, and a peer cannot have two such at a time.
   */
  afterVerdict(act: () => void): void {
    const turn = this.ctx.turn;
    const only = this.#classes.broadcast.inflight + this.#classes.consensus.inflight === 1;
    if (this.#verdicts.length === 0 && !turn.isWaiting(this.owner) && (only || turn.mayContinue(0, this.#light ? 'verdict' : 'rest'))) return act();
    this.#verdicts.push(act, 0);
    turn.defer(this.owner, this.priority);
  }

  /**
   * Acts on the waiting verdicts in order while the turn budget allows, each counted against this peer's
   * quantum. Returns how many, or -1 when some are left (the connection is deferred again).
   */
  actOnVerdicts(): number {
    const turn = this.ctx.turn;
    let acted = 0;
    while (this.#verdicts.length > 0) {
      if (!turn.mayContinue(acted, this.priority)) {
        turn.defer(this.owner, this.priority);
        return -1;
      }
      const act = this.#verdicts.peek();
      this.#verdicts.shift();
      acted++;
      act();
    }
    return acted;
  }

  /**
   * Fewer than turnQuantumFrames of this peer's messages are in progress (being verified, or waiting for the
   * work that follows their verdicts): a peer that sends now and then. Its work goes ahead of the backlogs of
   * the peers that send much (turn-budget.ts), as its checks do in the verifier's lanes.
   */
  get #light(): boolean {
    const { broadcast, consensus } = this.#classes;
    return broadcast.inflight + consensus.inflight < this.ctx.turn.turnQuantumFrames;
  }

  /** How soon the connection's next piece of work resumes if it waits: a light peer's verdicts first, then its other work, then the rest's. */
  get priority(): WorkPriority {
    if (!this.#light) return 'rest';
    return this.#verdicts.length > 0 ? 'verdict' : 'light';
  }
}
