/**
 * Probes through the victim: broadcasts typed into H1's console, each counted when H2 delivers it one relay
 * away from H1 (hops 1: H1 and H2 are linked only through the victim). Latency is from writing the command to
 * reading H2's `message` event, both as the suite sees them, so it includes two consoles and a process
 * boundary each way (a few ms on an idle machine).
 */
import type { CliNode } from './cli-node.ts';

/** One probe sent. */
interface Probe {
  sentMs: number;
  latencyMs: number | null;
  /** When the victim delivered it (it relays before it delivers), from the send, in ms. */
  atVictimMs: number | null;
}

export class Prober {
  readonly #probes = new Map<string, Probe>();
  /** Probes that arrived straight from H1 (hops 0): the topology was not as the suite set it up. */
  direct = 0;
  #next = 0;

  constructor(
    private readonly h1: CliNode,
    private readonly tagPrefix: string,
  ) {}

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
    });
  }

  /** Listens to the victim's deliveries, to split each probe's latency at the victim. */
  watchVictim(v: CliNode): void {
    v.on(({ atMs, e }) => {
      if (e.event !== 'message' || typeof e.data !== 'string') return;
      const p = this.#probes.get(e.data);
      if (p && p.atVictimMs === null) p.atVictimMs = atMs - p.sentMs;
    });
  }

  /** Sends one probe now; returns its tag. */
  send(): string {
    const tag = `${this.tagPrefix}-${this.#next++}`;
    this.#probes.set(tag, { sentMs: performance.now(), latencyMs: null, atVictimMs: null });
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
  }

  /**
   * Probes sent since the last reset, the latencies of those that arrived, and the two legs of those: H1 to
   * the victim's delivery, and from there to H2.
   */
  results(): { sent: number; latenciesMs: number[]; toVictimMs: number[]; fromVictimMs: number[]; atVictim: number } {
    const all = [...this.#probes.values()];
    const both = all.filter((p) => p.latencyMs !== null && p.atVictimMs !== null);
    return {
      sent: all.length,
      latenciesMs: all.flatMap((p) => (p.latencyMs === null ? [] : [p.latencyMs])),
      toVictimMs: both.map((p) => p.atVictimMs!),
      fromVictimMs: both.map((p) => p.latencyMs! - p.atVictimMs!),
      atVictim: all.filter((p) => p.atVictimMs !== null).length,
    };
  }

  /** True when every probe sent since the last reset arrived. */
  allArrived(): boolean {
    return [...this.#probes.values()].every((p) => p.latencyMs !== null);
  }
}
