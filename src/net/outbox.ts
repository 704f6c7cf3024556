/**
 * The frames a connection has to send and has not yet handed to its link, in two queues: consensus frames
 * (Dolev-Strong chains, validators' outcomes, catch-up requests and replies, as inbox.ts counts them) and the
 * rest. The sending side of consensus first: a validator that relays broadcasts faster than a peer takes them
 * (the peer's link is slower, or it stopped reading while it checks what it has) would otherwise queue them in
 * its socket, and a chain written after them would wait behind all of them, past its round. The connection
 * hands frames to the link only while the link holds fewer than socketQueuedBytesTarget bytes, consensus
 * first and each queue in the order sent, so a chain waits behind at most that many bytes of broadcasts (and
 * what the kernel's buffers hold), never behind the whole backlog.
 *
 * Frames wait here as plaintext: each is sealed when it is handed on, because the channel's counter nonce
 * (transport-cipher.ts) must follow the order the bytes leave in.
 */
import type { Message } from '../wire/schema.ts';
import { FrameQueue } from './frame-queue.ts';
import { consensusTypes } from './inbox.ts';

/**
 * Frames that go ahead of broadcasts: consensus frames, and the broadcast tree's IHAVE and GRAFT, which carry
 * ids only. Validators' outcomes ride the tree (core/flooding.ts onOutcome): one an eager feed withheld comes by
 * an IHAVE and a GRAFT, and behind a link's backlog of broadcasts those waited as long as the backlog lasted,
 * past the outcome window (test/outcome-tree-attack-sim.test.ts). A few small frames per lazy flush.
 */
export const aheadTypes: ReadonlySet<Message['t']> = new Set<Message['t']>([...consensusTypes, 'ihave', 'graft']);

/** A connection's frames waiting for room on its link: consensus (and tree repair) first. */
export class Outbox {
  readonly consensus = new FrameQueue<Uint8Array>();
  readonly other = new FrameQueue<Uint8Array>();

  /** Queues a plaintext frame of a message of type `type`; `sealedBytes` is its size on the wire. */
  push(frame: Uint8Array, sealedBytes: number, type: Message['t']): void {
    (aheadTypes.has(type) ? this.consensus : this.other).push(frame, sealedBytes);
  }

  /** The next frame to hand on, consensus first, removed from its queue (the outbox must not be empty). */
  shift(): Uint8Array {
    const queue = this.consensus.length > 0 ? this.consensus : this.other;
    const frame = queue.peek();
    queue.shift();
    return frame;
  }

  /** Bytes on the wire of the frames waiting. */
  get bytes(): number {
    return this.consensus.bytes + this.other.bytes;
  }

  get empty(): boolean {
    return this.consensus.length === 0 && this.other.length === 0;
  }

  clear(): void {
    this.consensus.clear();
    this.other.clear();
  }
}
