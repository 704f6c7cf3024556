/**
 * The frames a connection has read and decoded but not yet handled, in two queues: consensus frames
 * (Dolev-Strong chains, validators' outcomes, catch-up requests and replies) and the rest. Consensus frames
 * are handled first, each queue in its own order: Dolev-Strong needs every honest chain checked within its
 * round, and a chain that arrives behind a peer's broadcasts (a validator relaying a flood it accepted) must
 * not wait for them. Nothing in the protocol orders a broadcast against a chain; within each queue the
 * peer's order is kept.
 */
import type { Message } from '../wire/schema.ts';
import { FrameQueue } from './frame-queue.ts';

/** Message types handled ahead of the rest of what a peer sent. */
export const consensusTypes: ReadonlySet<Message['t']> = new Set<Message['t']>(['ds', 'outcome', 'getchain', 'chain']);

/** A connection's frames waiting to be handled: consensus first. */
export class Inbox {
  readonly consensus = new FrameQueue<Message>();
  readonly other = new FrameQueue<Message>();

  /** Queues a frame; `sorted` false keeps it in read order with the rest (a connection still in its handshake). */
  push(msg: Message, frameBytes: number, sorted: boolean): void {
    (sorted && consensusTypes.has(msg.t) ? this.consensus : this.other).push(msg, frameBytes);
  }

  get empty(): boolean {
    return this.consensus.length === 0 && this.other.length === 0;
  }

  clear(): void {
    this.consensus.clear();
    this.other.clear();
  }
}
