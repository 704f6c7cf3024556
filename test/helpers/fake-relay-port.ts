/**
 * A RelayPort that records what a BroadcastRelay asked to send; peers in `closed` refuse. With `room` set it
 * reports that much room in the node's write queues, and `queued` the bytes queued for each peer (0 unless set).
 */
import type { RelayPort } from '../../src/gossip/broadcast-relay.ts';
import type { TreeMessageType } from '../../src/gossip/recent-frames.ts';
import type { Message } from '../../src/wire/schema.ts';

export class FakeRelayPort implements RelayPort {
  frames: Array<{ peer: string; frame: Buffer; type: TreeMessageType }> = [];
  msgs: Array<{ peer: string; msg: Message }> = [];
  closed = new Set<string>();
  room: number | undefined = undefined;
  queued = new Map<string, number>();
  get writeRoom(): (() => number) | undefined {
    return this.room === undefined ? undefined : () => this.room as number;
  }
  writeQueuedBytes(peer: string): number {
    return this.queued.get(peer) ?? 0;
  }
  sendFrame(peer: string, frame: Buffer, type: TreeMessageType): boolean {
    if (this.closed.has(peer)) return false;
    this.frames.push({ peer, frame, type });
    return true;
  }
  send(peer: string, msg: Message): boolean {
    if (this.closed.has(peer)) return false;
    this.msgs.push({ peer, msg });
    return true;
  }
  framesTo(peer: string): Buffer[] {
    return this.frames.filter((f) => f.peer === peer).map((f) => f.frame);
  }
  clear(): void {
    this.frames = [];
    this.msgs = [];
  }
}
