/**
 * The end-of-run checks of a load run, as pure code over what the run recorded: which honest broadcasts had
 * to reach which honest validators and did, duplicate deliveries, and whether the honest chains agree.
 *
 * Delivery rule. A broadcast counts once its origin answered the `broadcast` command (time t, when the run
 * read the answer). It must reach honest validator X (X not the origin) unless one of X's outages overlaps
 * [t - settleMs, t + settleMs], or the origin's own outage starts within settleMs after t (a killed origin's
 * last writes can die with it), or X never delivered it and was cut off while it was still reaching the
 * others: at or before the last delivery of it by another honest validator (still in flight, e.g. behind an
 * attack's backlog, when X went out; X would have had it no sooner than they did). An outage runs from the
 * fault (SIGKILL or isolate) until X again has `recoveredPeers` honest peers open; gossip is not replayed,
 * so a validator misses what was sent while it was out. A paused (SIGSTOP) validator is not out: its connections stay open and it must catch up on every
 * message from its socket buffers once resumed. A delivery in any life of X counts.
 *
 * Duplicate rule. The same id delivered twice by one process (one life) is a duplicate and must not happen.
 * A restarted process has no memory of ids delivered by its previous life (the seen-cache is not persisted);
 * an id delivered again after a restart is counted apart, as `redeliveredAfterRestart`.
 *
 * Chain rule. Every honest validator answers `chain` after the drain. The reference is the longest answer
 * of a validator that is not catching up. A validator that is not catching up must hold exactly the
 * reference (same hashes, same order); one still catching up must hold a prefix of it.
 */

/** A period in which a validator was cut off from gossip. */
export interface Outage {
  node: number;
  kind: 'kill' | 'isolate' | 'pause';
  startMs: number;
  /** When it was back (honest peers open again); null when it never was. */
  endMs: number | null;
}

/** An honest broadcast the run confirmed. */
export interface SentMessage {
  id: string;
  origin: number;
  atMs: number;
}

/** One broadcast a validator should have delivered and did not. */
export interface Missing {
  id: string;
  origin: number;
  node: number;
  sentAtMs: number;
  /** Other honest validators that delivered it (the origin not counted). */
  deliveredBy: number;
  /** The last of their deliveries, null when none delivered it. */
  lastDeliveredAtMs: number | null;
}

/** The delivery verdict. */
export interface DeliveryResult {
  messages: number;
  /** (message, validator) pairs that had to be delivered. */
  required: number;
  delivered: number;
  missing: number;
  missingExamples: Missing[];
  /** Pairs excused by an outage of the validator or its origin. */
  excused: number;
  /** Of those, pairs excused only because the validator was cut off while the broadcast was still in flight. */
  excusedInFlight: number;
  /** Send-to-delivery times of the required deliveries, as the run read them, in ms. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  duplicates: number;
  duplicateExamples: string[];
  redeliveredAfterRestart: number;
  /** Deliveries of ids whose `broadcast` answer never came (origin killed right after). */
  unconfirmedDelivered: number;
}

/** Records broadcasts and deliveries as they happen; `check` gives the verdict. */
export class DeliveryLedger {
  readonly sent = new Map<string, SentMessage>();
  /** node -> id -> the life that first delivered it and when the run read the delivery */
  readonly #first = new Map<number, Map<string, { life: number; atMs: number }>>();
  #duplicates = 0;
  readonly #duplicateExamples: string[] = [];
  #redelivered = 0;
  deliveries = 0;

  onSent(id: string, origin: number, atMs: number): void {
    this.sent.set(id, { id, origin, atMs });
  }

  onDelivered(node: number, life: number, id: string, atMs: number): void {
    this.deliveries++;
    let m = this.#first.get(node);
    if (!m) this.#first.set(node, (m = new Map()));
    const first = m.get(id);
    if (first === undefined) m.set(id, { life, atMs });
    else if (first.life === life) {
      this.#duplicates++;
      if (this.#duplicateExamples.length < 5) this.#duplicateExamples.push(`${id.slice(0, 16)} at validator ${node} (life ${life})`);
    } else this.#redelivered++;
  }

  /** Whether `node` delivered `id` in any life. */
  has(node: number, id: string): boolean {
    return this.#first.get(node)?.has(id) ?? false;
  }

  check(honest: readonly number[], outages: readonly Outage[], settleMs: number, endMs: number): DeliveryResult {
    const out: DeliveryResult = {
      messages: this.sent.size,
      required: 0,
      delivered: 0,
      missing: 0,
      missingExamples: [],
      excused: 0,
      excusedInFlight: 0,
      latencyP50Ms: 0,
      latencyP99Ms: 0,
      latencyMaxMs: 0,
      duplicates: this.#duplicates,
      duplicateExamples: this.#duplicateExamples,
      redeliveredAfterRestart: this.#redelivered,
      unconfirmedDelivered: 0,
    };
    const latencies: number[] = [];
    const cutoffs = outages.filter((o) => o.kind !== 'pause');
    const outOf = (node: number) => cutoffs.filter((o) => o.node === node);
    for (const m of this.sent.values()) {
      const originLost = outOf(m.origin).some((o) => o.startMs >= m.atMs - settleMs && o.startMs <= m.atMs + settleMs);
      const reached = this.#deliveriesOf(m, honest);
      const inFlightUntilMs = Math.max(m.atMs + settleMs, reached.lastAtMs ?? -Infinity);
      for (const x of honest) {
        if (x === m.origin) continue;
        const cutOff = (untilMs: number) => outOf(x).some((o) => o.startMs <= untilMs && (o.endMs ?? endMs) >= m.atMs - settleMs);
        const d = this.#first.get(x)?.get(m.id);
        if (originLost || cutOff(m.atMs + settleMs)) {
          out.excused++;
          continue;
        }
        if (!d && cutOff(inFlightUntilMs)) {
          out.excused++;
          out.excusedInFlight++;
          continue;
        }
        out.required++;
        if (d) {
          out.delivered++;
          latencies.push(d.atMs - m.atMs);
        } else {
          out.missing++;
          const example = { id: m.id, origin: m.origin, node: x, sentAtMs: m.atMs, deliveredBy: reached.count, lastDeliveredAtMs: reached.lastAtMs };
          if (out.missingExamples.length < 5) out.missingExamples.push(example);
        }
      }
    }
    for (const m of this.#first.values()) for (const id of m.keys()) if (!this.sent.has(id)) out.unconfirmedDelivered++;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => Math.max(0, latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    out.latencyP50Ms = at(0.5);
    out.latencyP99Ms = at(0.99);
    out.latencyMaxMs = Math.max(0, latencies.at(-1) ?? 0);
    return out;
  }

  /** How many honest validators other than its origin delivered `m`, and when the last of them did. */
  #deliveriesOf(m: SentMessage, honest: readonly number[]): { count: number; lastAtMs: number | null } {
    let count = 0;
    let lastAtMs: number | null = null;
    for (const x of honest) {
      const d = x === m.origin ? undefined : this.#first.get(x)?.get(m.id);
      if (!d) continue;
      count++;
      lastAtMs = Math.max(lastAtMs ?? d.atMs, d.atMs);
    }
    return { count, lastAtMs };
  }
}

/** The chain verdict. */
export interface ChainResult {
  identical: boolean;
  /** Height of the reference chain. */
  height: number;
  reference: string[];
  /** Validators whose chain breaks the rule, with where it first differs. */
  divergent: Array<{ node: number; height: number; firstDifferenceAt: number }>;
  /** Validators still catching up, whose chain is a prefix of the reference. */
  catchingUp: number[];
  /** Validators that did not answer `chain`. */
  unanswered: number[];
}

function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i + 1;
  return a.length === b.length ? -1 : n + 1;
}

/** Applies the chain rule to every honest validator's answer. */
export function checkChains(honest: readonly number[], chains: ReadonlyMap<number, string[]>, caughtUp: ReadonlyMap<number, boolean>): ChainResult {
  let reference: string[] = [];
  for (const x of honest) {
    const c = chains.get(x);
    if (c && caughtUp.get(x) && c.length > reference.length) reference = c;
  }
  const out: ChainResult = { identical: true, height: reference.length, reference, divergent: [], catchingUp: [], unanswered: [] };
  for (const x of honest) {
    const c = chains.get(x);
    if (!c) {
      out.unanswered.push(x);
      out.identical = false;
      continue;
    }
    const diff = firstDifference(c, reference);
    if (diff === -1) continue;
    const isPrefix = c.length < reference.length && diff === c.length + 1;
    if (!caughtUp.get(x) && isPrefix) {
      out.catchingUp.push(x);
      continue;
    }
    out.identical = false;
    out.divergent.push({ node: x, height: c.length, firstDifferenceAt: diff });
  }
  return out;
}
