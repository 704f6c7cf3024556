/**
 * A socket for driving a PeerConnection without the network: what the peer sends is pushed in, and what the
 * connection writes is kept, as the frames it wrote (`written`) and as the size of each write that reached
 * the socket (`writes`: one entry per system call a real socket would make, corked frames counted together).
 * With `holding` set the network takes nothing (a peer that does not read, its kernel buffers full): the
 * bytes stay in the socket's writableLength until `release()`.
 */
import { Duplex } from 'node:stream';

export class FakeSocket extends Duplex {
  readonly remotePort = 40000;
  readonly written: Buffer[] = [];
  readonly writes: number[] = [];
  /** The network takes nothing: each write's completion waits for `release()`. */
  holding = false;
  #held: Array<(e?: Error | null) => void> = [];

  constructor(readonly remoteAddress = '198.51.100.7') {
    super();
  }

  setNoDelay(): this {
    return this;
  }

  /** The network takes what the socket held (it stays open to more unless `holding` is still set). */
  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const cb of held) cb();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written.push(chunk);
    this.writes.push(1);
    this.#done(cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (e?: Error | null) => void): void {
    for (const c of chunks) this.written.push(c.chunk);
    this.writes.push(chunks.length);
    this.#done(cb);
  }

  #done(cb: (e?: Error | null) => void): void {
    if (this.holding) this.#held.push(cb);
    else cb();
  }
}
