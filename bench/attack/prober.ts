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

  /** Sends one probe now; returns its tag. */
  send(): string {
    const tag = `${this.tagPrefix}-${this.#next++}`;
    this.#probes.set(tag, { sentMs: performance.now(), latencyMs: null });
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

  /** Probes sent since the last reset, and the latencies of those that arrived. */
  results(): { sent: number; latenciesMs: number[] } {
    const all = [...this.#probes.values()];
    return { sent: all.length, latenciesMs: all.flatMap((p) => (p.latencyMs === null ? [] : [p.latencyMs])) };
  }

  /** True when every probe sent since the last reset arrived. */
  allArrived(): boolean {
    return [...this.#probes.values()].every((p) => p.latencyMs !== null);
  }
}
