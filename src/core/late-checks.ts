/**
 * Chains this validator had checked too late to act on in their round, because its own checks ran slow: the
 * verification backlog of an overloaded machine, while the event loop keeps turning (the stall probe sees
 * nothing). Dolev-Strong accepts a chain signed by r validators only in round r (Dolev & Strong 1983); the
 * timing rule (consensus/timing.ts) gives an honest chain until the end of the round it reaches a node in,
 * its check included. A node whose check ends after that refuses (or takes a round late) what the others
 * accepted, and may decide otherwise than they do.
 *
 * A chain counts as checked out of synchrony when its check was still running at the end of the round it
 * arrived in (T0 + rΔ by this node's clock: the core then counts it in round r + 1) AND had run for longer than
 * `checkMsMax` (the validator's stallMsMax). Both: a check that ends late only because the chain came at the
 * very end of its round says nothing about this node (a Byzantine sender can time a chain so, and missing it
 * is safe: an honest validator that signed it relayed it in time), and must not make honest validators catch
 * up again on command. A check that ran longer than stallMsMax (half the round by default, the most the rule
 * leaves for delivery, verification included, with the other defaults) would have made an honest chain that
 * came at its latest miss its round too.
 *
 * Seen two ways: when the check ends (`end`), and, while it still runs, as soon as both hold (`overdue`),
 * which the validator asks before every decision it could make, so a decision is never taken while a check
 * that proves this node late is still out.
 */
import type { InstanceId } from '../consensus/block.ts';

/** Checks watched while they run, at most; beyond it a check is judged only when it ends. */
export const checksWatchedMax = 16_384;

/** One chain check while it runs. */
export interface CheckInFlight {
  readonly instance: InstanceId;
  /** The round the chain arrived in, by this node's clock. */
  readonly round: number;
  /** End of that round (T0 + round·Δ), in ms on this node's clock. */
  readonly deadlineMs: number;
  /** When the check began, in ms. */
  readonly startMs: number;
  /** Already judged out of synchrony (while it ran). */
  reported: boolean;
}

/** A chain this validator checked out of synchrony. */
export interface LateCheck {
  instance: InstanceId;
  round: number;
  /** How long after the end of its round, in ms (0: at the very end, already the next round). */
  lateMs: number;
  /** How long its check had run, in ms. */
  checkMs: number;
  /** Whether the check had ended (false: still running when judged). */
  ended: boolean;
}

/** The checks running now, and how many were out of synchrony. */
export class LateChecks {
  readonly #running = new Set<CheckInFlight>();
  #outOfSync = 0;

  /** @param checkMsMax longest a check may run and still count as within the timing rule, in ms */
  constructor(readonly checkMsMax: number) {}

  /** A check begins. */
  begin(instance: InstanceId, round: number, deadlineMs: number, nowMs: number): CheckInFlight {
    const c: CheckInFlight = { instance, round, deadlineMs, startMs: nowMs, reported: false };
    if (this.#running.size < checksWatchedMax) this.#running.add(c);
    return c;
  }

  /** A check ended: the chain, if it was checked out of synchrony and not already reported while it ran. */
  end(c: CheckInFlight, nowMs: number): LateCheck | null {
    this.#running.delete(c);
    return c.reported ? null : this.#judge(c, nowMs, true);
  }

  /**
   * Running checks already out of synchrony, each reported once: the oldest of them (null if none), and all
   * counted. Checks are kept oldest first (they begin in time order), so the scan stops at the first
   * one younger than checkMsMax.
   */
  overdue(nowMs: number): LateCheck | null {
    let first: LateCheck | null = null;
    for (const c of this.#running) {
      if (nowMs - c.startMs <= this.checkMsMax) break;
      const late = this.#judge(c, nowMs, false);
      if (late === null) continue;
      this.#running.delete(c);
      first ??= late;
    }
    return first;
  }

  /** Chains checked out of synchrony since the start. */
  get outOfSync(): number {
    return this.#outOfSync;
  }

  /** Checks running now that are watched. */
  get running(): number {
    return this.#running.size;
  }

  #judge(c: CheckInFlight, nowMs: number, ended: boolean): LateCheck | null {
    const checkMs = nowMs - c.startMs;
    // At exactly T0 + rΔ the core already counts round r + 1 (timing.ts: strict).
    if (nowMs < c.deadlineMs || checkMs <= this.checkMsMax) return null;
    c.reported = true;
    this.#outOfSync++;
    return { instance: c.instance, round: c.round, lateMs: nowMs - c.deadlineMs, checkMs, ended };
  }
}
