/**
 * Whether this validator may have fallen out of step with the others, and the catch-up it then starts. A node
 * that was paused (time jumped past the round tick it expected), stalled past stallMsMax (stall-probe.ts), had
 * a chain checked out of synchrony (late-checks.ts) or was cut off (no peer at all) may have missed decisions or
 * seen instances only in part; deciding on that view would give its next blocks wrong heights, or a chain the
 * others do not share. So it takes the instances running now from f+1 validators instead (validator-sync.ts,
 * consensus/catch-up.ts), as after a restart. The validator asks `check` before anything reaches the state
 * machine, so no decision of a paused node slips in before the check; and `check` asks the stall probe first,
 * since after a pause the timers fire late in the order they fell due, and the round tick may run before the
 * probe (test/stall-order.test.ts).
 */
import { toHex } from '../bytes.ts';
import type { Clock } from '../io/clock.ts';
import type { Genesis } from '../consensus/genesis.ts';
import type { InstanceId } from '../consensus/block.ts';
import type { DolevStrong } from '../consensus/dolev-strong.ts';
import type { Logger } from '../log.ts';
import type { ConsensusNodePort } from './node-types.ts';
import type { ValidatorSync } from './validator-sync.ts';
import { stallDefaults, type SynchronyStatus, type ValidatorEvents } from './validator-types.ts';
import { StallProbe } from './stall-probe.ts';
import { LateChecks, type CheckInFlight, type LateCheck } from './late-checks.ts';

/** The events the watch reports through its validator. */
type OutageEvent = 'stalled' | 'late-chain' | 'resync';

/** What the watch needs of its validator. */
export interface OutageHost {
  readonly genesis: Genesis;
  /** The validator's index; null for an observer. */
  readonly index: number | null;
  readonly clock: Clock;
  readonly log: Logger;
  readonly node: Pick<ConsensusNodePort, 'peerIds'>;
  readonly core: Pick<DolevStrong, 'currentRound' | 'clockSkewMsMax'>;
  now(): number;
  emit<K extends OutageEvent>(event: K, ...args: ValidatorEvents[K]): boolean;
}

/** The catch-up the watch starts, and whose live start it moves on. */
export type OutageSync = Pick<ValidatorSync, 'run' | 'begin' | 'raiseLiveFrom'>;

/** One validator's watch for outages: its own lateness, its late chain checks, its peers and its round ticks. */
export class OutageWatch {
  readonly #probe: StallProbe;
  /** Chain checks running now, and those that ran past their round (out of synchrony). */
  readonly #checks: LateChecks;
  /** Since when the node has had no peer at all (null while it has some). */
  #aloneSince: number | null = null;
  /** When the next round tick is due; time far past it means the process was paused. */
  #nextTickDueMs = Infinity;
  /** Start round of the last instance a `late-chain` event named: one event per start round. */
  #lateReportedT0 = Number.NEGATIVE_INFINITY;
  /** Why the process last found itself out of synchrony (a stall, a late check), until `check` acts on it. */
  #stallReason: string | null = null;

  /** @param stallMsMax longest stall (and chain check) taken as within the timing rule, in ms */
  constructor(
    private readonly host: OutageHost,
    private readonly sync: OutageSync,
    readonly stallMsMax: number,
  ) {
    // The alone watch rides the probe's timer: one wake-up every probeMs, not two (each costs the process CPU).
    this.#probe = new StallProbe(host.clock, () => host.now(), stallDefaults.probeMs(stallMsMax), stallMsMax, (lateMs) => this.#onStall(lateMs), () => this.noteIfAlone());
    this.#checks = new LateChecks(stallMsMax);
  }

  /** Starts the stall probe, which also notes moments without peers between two checks at each firing. */
  start(): void {
    this.#probe.start();
  }

  /** Stops it; safe twice. */
  stop(): void {
    this.#probe.stop();
  }

  /** Without a peer in a network of several validators: nothing this node hears or sends reaches anyone. */
  isAlone(): boolean {
    return this.host.genesis.validators.length > 1 && this.host.node.peerIds().length === 0;
  }

  /** After the start, notes a moment without peers; the next `check` takes it as an outage. */
  noteIfAlone(): void {
    const h = this.host;
    if (h.now() >= h.genesis.startMs && this.isAlone()) this.#aloneSince ??= h.now();
  }

  /** The next round tick is due at `atMs`. */
  tickDue(atMs: number): void {
    this.#nextTickDueMs = atMs;
  }

  /** The tick that was due ran (after its `check`). */
  tickRan(): void {
    this.#nextTickDueMs = Infinity;
  }

  /** A chain check begins: it is watched while it runs. */
  checkBegan(instance: InstanceId, round: number, deadlineMs: number): CheckInFlight {
    return this.#checks.begin(instance, round, deadlineMs, this.host.now());
  }

  /** A chain check ended: if it ran out of synchrony, the next `check` acts on it. */
  checkEnded(running: CheckInFlight): void {
    const late = this.#checks.end(running, this.host.now());
    if (late) this.#onLateCheck(late);
  }

  /** What the stall probe has seen. */
  probeStatus(): ReturnType<StallProbe['status']> {
    return this.#probe.status();
  }

  /** Chains checked out of synchrony since the start. */
  get chainsOutOfSync(): SynchronyStatus['chainsOutOfSync'] {
    return this.#checks.outOfSync;
  }

  /**
   * Catches up if the node was paused, stalled, had a chain checked out of synchrony (one still being checked
   * past its round and stallMsMax is found now) or was cut off since the last check: decisions are held at
   * once, and while it stays alone (or out of synchrony) the instances it sees are only partial views, so
   * liveFromT0 moves past them, their outcomes are dropped, and its statements leave them out of `heldFrom`
   * (DolevStrong.notePartial).
   */
  check(): void {
    // A stall the probe has not reported yet because another late timer ran first (after a pause they fire in
    // the order they fell due): reported now, before the state machine sees anything. Its report comes back
    // here, and this check then finds nothing new.
    this.#probe.fireIfLate();
    const h = this.host;
    const now = h.now();
    const overdue = this.#checks.overdue(now);
    if (overdue) this.#onLateCheck(overdue);
    // Before round 0 nothing can be decided, so nothing can be missed.
    if (now < h.genesis.startMs) {
      this.#aloneSince = null;
      return;
    }
    const alone = this.isAlone();
    // Links came up since the last check: an instance whose round 1 ran before them was seen only in part.
    const wasAlone = this.#aloneSince !== null;
    let reason: string | null = null;
    if (now - this.#nextTickDueMs > h.genesis.roundMs) reason = `time jumped ${now - this.#nextTickDueMs} ms past the expected round tick`;
    reason ??= this.#stallReason;
    this.#stallReason = null;
    // Alone now, or at some moment since the last check (the watcher in start saw it): a cut shorter than
    // a round between two checks still cost this node chains.
    if (alone || wasAlone) reason ??= 'no peers';
    if (alone) this.#aloneSince ??= now;
    else this.#aloneSince = null;
    if (reason && !this.sync.run) {
      h.log.info('catching up again', { reason });
      h.emit('resync', { reason });
      this.sync.begin();
    }
    // What this node decides in the instances not decided yet is partial: it was out during them.
    if (alone || reason || wasAlone) this.sync.raiseLiveFrom(h.core.currentRound(now + h.core.clockSkewMsMax) + 1);
  }

  /**
   * The process did not run for longer than stallMsMax: the timing rule may not have held for this node, so
   * it takes the instances running now from f+1 validators (catch-up) rather than from its own view. Catch-up
   * needs f+1 validators among its peers; with fewer (a validator linked through observers only) it could
   * never finish, so the node says so and decides on its own view, and the divergence watch stands guard.
   */
  #onStall(lateMs: number): void {
    const h = this.host;
    if (h.now() < h.genesis.startMs) return;
    const vouchers = this.#validatorPeers();
    const catchingUp = vouchers >= h.genesis.faults + 1;
    h.emit('stalled', { lateMs, stallMsMax: this.stallMsMax, catchingUp });
    if (!catchingUp) {
      h.log.warn('process stalled; too few validator peers to catch up from', { lateMs, stallMsMax: this.stallMsMax, validatorPeers: vouchers });
      return;
    }
    this.#stallReason = `process stalled ${lateMs} ms (stallMsMax ${this.stallMsMax})`;
    this.check();
  }

  /**
   * A chain was checked out of synchrony (late-checks.ts): its check ran past the end of its round, and longer
   * than stallMsMax. The state machine would take it a round late or not at all, where the others took it in
   * time, so, as after a stall, the instances running now are taken from f+1 validators (the caller's `check`
   * starts catch-up, or moves its live start past them). One `late-chain` event per start round; every such
   * chain is counted in status. An observer decides nothing itself (it follows outcomes f+1 validators
   * signed), so it only counts them.
   */
  #onLateCheck(late: LateCheck): void {
    const h = this.host;
    if (h.index === null || h.now() < h.genesis.startMs) return;
    const vouchers = this.#validatorPeers();
    const catchingUp = vouchers >= h.genesis.faults + 1;
    const { miner, t0 } = late.instance;
    if (t0 > this.#lateReportedT0) {
      this.#lateReportedT0 = t0;
      h.emit('late-chain', { ...late, stallMsMax: this.stallMsMax, catchingUp });
      if (!catchingUp) h.log.warn('chain checked after its round; too few validator peers to catch up from', { miner, t0, lateMs: late.lateMs, checkMs: late.checkMs, validatorPeers: vouchers });
    }
    if (!catchingUp) return;
    const when = late.ended ? 'was checked' : 'was still being checked';
    this.#stallReason ??= `a chain of instance (miner ${miner}, t0 ${t0}) ${when} ${late.lateMs} ms after its round ${late.round} ended, its check ${late.checkMs} ms long (stallMsMax ${this.stallMsMax})`;
  }

  /** Validators among the peers: catch-up needs f+1 of them to vouch (observers do not). */
  #validatorPeers(): number {
    const keys = new Set(this.host.genesis.validators.map((v) => toHex(v.publicKey)));
    return this.host.node.peerIds().filter((p) => keys.has(p)).length;
  }
}
