/**
 * How much of its round was left when this validator had a chain checked: the deadline of the round the chain
 * arrived in (T0 + rΔ by this node's clock) less the moment its check finished. The timing rule
 * (consensus/timing.ts) needs every honest chain checked before that deadline; a margin that shrinks towards 0
 * shows the node (or the network) running out of synchrony before a chain is lost to it, and a negative one is
 * a chain that arrived in time and was checked too late (the state machine then takes it for the next round).
 */

/** Margins kept for the recent minimum. */
export const chainMarginsKept = 64;

/** The recent margins of checked chains, and the count of those checked too late. */
export class ChainMargins {
  readonly #recent: number[] = [];
  #checkedLate = 0;
  #checked = 0;

  /** A chain's check finished `marginMs` before the end of the round it arrived in (negative: after). */
  record(marginMs: number): void {
    this.#checked++;
    if (marginMs < 0) this.#checkedLate++;
    this.#recent.push(marginMs);
    if (this.#recent.length > chainMarginsKept) this.#recent.shift();
  }

  status(): { chainsChecked: number; chainsCheckedLate: number; chainMarginMsRecentMin: number | null } {
    return { chainsChecked: this.#checked, chainsCheckedLate: this.#checkedLate, chainMarginMsRecentMin: this.#recent.length === 0 ? null : Math.min(...this.#recent) };
  }
}
