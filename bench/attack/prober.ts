/**
 * Probes through the victim: broadcasts typed into H1's console, each counted when H2 delivers it one relay
 * away from H1 (hops 1: H1 and H2 are linked only through the victim).
 *
 * Latency is from H1's `broadcast` event to H2's `message` event, each by the `ts` its node wrote on it: what
 * the network and the nodes took. The suite's own view (from writing the command to reading H2's event) is kept
 * beside it: on a machine the nodes keep busy, the suite reads every node's events late (it reads thousands
 * of deliveries a second from each), and that lag would otherwise be inside the figure. (Measured on relay-rate,
 * 2 cores: the lag was small, 1,369 ms read against 1,318 ms stamped; the probes' time is in the nodes,
 * bench/RESULTS.md attack-probe-stamps.)
 */
import type { CliNode } from './cli-node.ts';

/** One probe sent. */
interface Probe {
  /** When the suite wrote the command (its clock). */
  sentMs: number;
  /** From writing the command to reading H2's event, as the suite saw it. */
  latencyMs: number | null;
  /** When the victim delivered it (it relays before it delivers), from the send, in ms, as the suite saw it. */
  atVictimMs: number | null;
  /** The `ts` of H1's `broadcast`, of V's `message` and of H2's `message` for it (node clocks, ms). */
  sentTs: number | null;
  victimTs: number | null;
  deliveredTs: number | null;
}

/** `ts` of an event, or null when it has none. */
function stamp(e: Record<string, unknown>): number | null {
  return typeof e.ts === 'number' ? e.ts : null;
}

export class Prober {
  readonly #probes = new Map<string, Probe>();
  /** `ts` of H1's `broadcast` events by message id (cleared at reset). */
  readonly #sentTsById = new Map<string, number>();
  /** Probes that arrived straight from H1 (hops 0): the topology was not as the suite set it up. */
  direct = 0;
  #next = 0;

  constructor(
    private readonly h1: CliNode,
    private readonly tagPrefix: string,
  ) {
    h1.on(({ e }) => {
      const ts = stamp(e);
      if (e.event === 'broadcast' && typeof e.id === 'string' && ts !== null) this.#sentTsById.set(e.id, ts);
    });
  }

  /** Listens to `h2`'s deliveries (again after a restart: the new process). */
  watch(h2: CliNode): void {
    h2.on(({ atMs, e }) => {
      if (e.event !== 'message' || typeof e.data !== 'string') return;
      const p = this.#probes.get(e.data);
      if (!p || p.latencyMs !== null) return;
      if (e.hops === 0) {
        this.direct++;
        return;
      }
      p.latencyMs = atMs - p.sentMs;
      p.deliveredTs = stamp(e);
      if (typeof e.id === 'string') p.sentTs = this.#sentTsById.get(e.id) ?? null;
    });
  }

  /** Listens to the victim's deliveries, to split each probe's latency at the victim. */
  watchVictim(v: CliNode): void {
    v.on(({ atMs, e }) => {
      if (e.event !== 'message' || typeof e.data !== 'string') return;
      const p = this.#probes.get(e.data);
      if (p && p.atVictimMs === null) {
        p.atVictimMs = atMs - p.sentMs;
        p.victimTs = stamp(e);
      }
    });
  }

  /** Sends one probe now; returns its tag. */
  send(): string {
    const tag = `${this.tagPrefix}-${this.#next++}`;
    this.#probes.set(tag, { sentMs: performance.now(), latencyMs: null, atVictimMs: null, sentTs: null, victimTs: null, deliveredTs: null });
    this.h1.command(`broadcast ${tag}`);
    return tag;
  }

  /** Whether the probe `tag` arrived. */
  arrived(tag: string): boolean {
    return (this.#probes.get(tag)?.latencyMs ?? null) !== null;
  }

  /** Forgets every probe sent so far (warm-up and baseline probes are not measured). */
  reset(): void {
    this.#probes.clear();
    this.#sentTsById.clear();
  }

  /**
   * Probes sent since the last reset; the latencies of those that arrived, by the nodes' stamps (H1's
   * `broadcast` to H2's `message`), and the two legs of those (H1 to the victim's delivery, and from there to
   * H2); and the same latencies as the suite read them. A probe without all its stamps (a node that wrote
   * none) counts by the suite's reading.
   */
  results(): { sent: number; latenciesMs: number[]; readLatenciesMs: number[]; toVictimMs: number[]; fromVictimMs: number[]; atVictim: number } {
    const all = [...this.#probes.values()];
    const arrived = all.filter((p) => p.latencyMs !== null);
    const stamped = (p: Probe): boolean => p.sentTs !== null && p.deliveredTs !== null;
    const both = arrived.filter((p) => stamped(p) && p.victimTs !== null);
    return {
      sent: all.length,
      latenciesMs: arrived.map((p) => (stamped(p) ? p.deliveredTs! - p.sentTs! : p.latencyMs!)),
      readLatenciesMs: arrived.map((p) => p.latencyMs!),
      toVictimMs: both.map((p) => p.victimTs! - p.sentTs!),
      fromVictimMs: both.map((p) => p.deliveredTs! - p.victimTs!),
      atVictim: all.filter((p) => p.atVictimMs !== null).length,
    };
  }

  /** True when every probe sent since the last reset arrived. */
  allArrived(): boolean {
    return [...this.#probes.values()].every((p) => p.latencyMs !== null);
  }
}
