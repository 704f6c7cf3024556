/**
 * A FIFO of frames with their sizes on the wire, for a connection's queues (inbox.ts: frames read and not yet
 * handled; outbox.ts: frames to send not yet handed to the link; and, with no size, the work that follows
 * verdicts on the peer's messages, peer-connection.ts). Taken entries are cut from the front in
 * batches, so a queue read on while it is written to keeps its memory bounded by what it holds.
 */

/** Taken frames are cut from the front of a queue once this many have piled up. */
const compactAt = 1024;

/** Frames in the order they were queued, with their sizes on the wire. */
export class FrameQueue<T> {
  #items: (T | undefined)[] = [];
  #frameBytes: number[] = [];
  #head = 0;
  /** Bytes on the wire of the frames queued. */
  bytes = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T, frameBytes: number): void {
    this.#items.push(item);
    this.#frameBytes.push(frameBytes);
    this.bytes += frameBytes;
  }

  /** The first frame (the queue must not be empty). */
  peek(): T {
    return this.#items[this.#head] as T;
  }

  /** Removes the first frame and returns its size on the wire. */
  shift(): number {
    const frameBytes = this.#frameBytes[this.#head] as number;
    this.#items[this.#head++] = undefined;
    this.bytes -= frameBytes;
    if (this.#head === this.#items.length) this.clear();
    else if (this.#head >= compactAt && this.#head * 2 >= this.#items.length) {
      // A queue read on while it waits may never empty: drop the taken frames so it cannot grow without end.
      this.#items.splice(0, this.#head);
      this.#frameBytes.splice(0, this.#head);
      this.#head = 0;
    }
    return frameBytes;
  }

  clear(): void {
    // Emptied in place: a queue that empties at every frame allocates nothing for it.
    this.#items.length = 0;
    this.#frameBytes.length = 0;
    this.#head = 0;
    this.bytes = 0;
  }
}
