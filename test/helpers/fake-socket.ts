/**
 * A socket for driving a PeerConnection without the network: what the peer sends is pushed in, and what the
 * connection writes is kept, as the frames it wrote (`written`) and as the size of each write that reached
 * the socket (`writes`: one entry per system call a real socket would make, corked frames counted together).
 */
import { Duplex } from 'node:stream';

export class FakeSocket extends Duplex {
  readonly remotePort = 40000;
  readonly written: Buffer[] = [];
  readonly writes: number[] = [];

  constructor(readonly remoteAddress = '198.51.100.7') {
    super();
  }

  setNoDelay(): this {
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written.push(chunk);
    this.writes.push(1);
    cb();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (e?: Error | null) => void): void {
    for (const c of chunks) this.written.push(c.chunk);
    this.writes.push(chunks.length);
    cb();
  }
}
