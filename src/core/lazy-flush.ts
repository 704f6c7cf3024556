/**
 * The timer that runs the broadcast tree's tick on a node: IHAVE announcements and GRAFTs of overdue ids
 * (gossip/plumtree.ts). The tree never sets a timer; the node runs its tick lazyFlushMs after work comes
 * (Plumtree.onWork), and again every lazyFlushMs while it has work. Not a repeating timer: an idle node is not
 * woken ten times a second for nothing.
 */
import type { Clock, Timer } from '../io/clock.ts';
import type { BroadcastRelay } from '../gossip/broadcast-relay.ts';

/** A node's lazy flush of its broadcast tree, armed only while the tree has work. */
export class LazyFlush {
  #timer: Timer | null = null;
  #running = false;

  /**
   * @param relay the node's broadcast relay, whose tree says when it has work
   * @param clock the node's clock
   * @param now the node's time, in ms
   * @param known whether the node has a message already (announced ids it has are not asked for)
   */
  constructor(
    private readonly relay: BroadcastRelay,
    private readonly clock: Clock,
    private readonly now: () => number,
    private readonly known: (id: string) => boolean,
  ) {}

  /** Starts flushing when the tree has work; without lazy push there is nothing to flush. */
  start(): void {
    const tree = this.relay.tree;
    if (!tree.lazyPush) return;
    this.#running = true;
    tree.onWork = () => this.#arm();
    this.#arm();
  }

  /** Cancels the timer; safe to call twice. */
  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** Runs the tree's tick lazyFlushMs from now, unless it is armed already or the tree has no work. */
  #arm(): void {
    if (this.#timer !== null || !this.#running) return;
    const tree = this.relay.tree;
    if (!tree.hasWork()) return;
    this.#timer = this.clock.setTimer(
      () => {
        this.#timer = null;
        this.relay.tick(this.now(), this.known);
        this.#arm();
      },
      tree.settings.lazyFlushMs,
      true,
    );
  }
}
