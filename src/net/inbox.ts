/**
 * The frames a connection has read and decoded but not yet handled, in two queues: consensus frames
 * (Dolev-Strong chains, validators' outcomes, catch-up requests and replies) and the rest. Consensus frames
 * are handled first, each queue in its own order: Dolev-Strong needs every honest chain checked within its
 * round, and a chain that arrives behind a peer's broadcasts (a validator relaying a flood it accepted) must
 * not wait for them. Nothing in the protocol orders a broadcast against a chain; within each queue the
 * peer's order is kept.
 */
import type { Message } from '../wire/schema.ts';

/** Message types handled ahead of the rest of what a peer sent. */
export const consensusTypes: ReadonlySet<Message['t']> = new Set<Message['t']>(['ds', 'outcome', 'getchain', 'chain']);

/** Taken frames are cut from the front of a queue once this many have piled up. */
const compactAt = 1024;

/** Frames in the order they were read, with their sizes on the wire. */
class FrameQueue {
  #messages: (Message | undefined)[] = [];
  #frameBytes: number[] = [];
  #head = 0;
  /** Bytes on the wire of the frames queued. */
  bytes = 0;

  get length(): number {
    return this.#messages.length - this.#head;
  }

  push(msg: Message, frameBytes: number): void {
    this.#messages.push(msg);
    this.#frameBytes.push(frameBytes);
    this.bytes += frameBytes;
  }

  /** The first frame (the queue must not be empty). */
  peek(): Message {
    return this.#messages[this.#head] as Message;
  }

  /** Removes the first frame and returns its size on the wire. */
  shift(): number {
    const frameBytes = this.#frameBytes[this.#head] as number;
    this.#messages[this.#head++] = undefined;
    this.bytes -= frameBytes;
    if (this.#head === this.#messages.length) this.clear();
    else if (this.#head >= compactAt && this.#head * 2 >= this.#messages.length) {
      // A queue read on while it waits may never empty: drop the taken frames so it cannot grow without end.
      this.#messages.splice(0, this.#head);
      this.#frameBytes.splice(0, this.#head);
      this.#head = 0;
    }
    return frameBytes;
  }

  clear(): void {
    this.#messages = [];
    this.#frameBytes = [];
    this.#head = 0;
    this.bytes = 0;
  }
}

/** A connection's frames waiting to be handled: consensus first. */
export class Inbox {
  readonly consensus = new FrameQueue();
  readonly other = new FrameQueue();

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
