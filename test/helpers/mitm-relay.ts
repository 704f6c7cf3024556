/**
 * A man in the middle on loopback: a TCP relay that accepts one connection and forwards it to a target port,
 * cutting each direction into frames (every frame, handshake or sealed, starts with a 4-byte big-endian
 * length) and handing each to a hook that decides what to forward in its place: the frame, a damaged copy,
 * the frame twice, nothing. Everything that crosses is recorded.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Which way a frame travels: from the dialer to the target, or back. */
export type Direction = 'toTarget' | 'toDialer';

/** Decides what is forwarded for the `index`-th frame (from 0) of one direction. */
export type FrameHook = (frame: Buffer, index: number, dir: Direction) => Buffer[];

/** Cuts a byte stream into length-prefixed frames. */
class FrameCutter {
  #held = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#held = Buffer.concat([this.#held, chunk]);
    const out: Buffer[] = [];
    while (this.#held.length >= 4 && this.#held.length >= 4 + this.#held.readUInt32BE(0)) {
      const end = 4 + this.#held.readUInt32BE(0);
      out.push(this.#held.subarray(0, end));
      this.#held = this.#held.subarray(end);
    }
    return out;
  }
}

export class MitmRelay {
  /** Every byte forwarded, per direction, in order. */
  readonly recorded: Record<Direction, Buffer[]> = { toTarget: [], toDialer: [] };
  readonly sockets: Socket[] = [];

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on an ephemeral loopback port; the first connection is relayed to `targetPort`, later ones refused. */
  static start(targetPort: number, hook: FrameHook = (f) => [f]): Promise<MitmRelay> {
    return new Promise((resolve) => {
      let relay: MitmRelay;
      const server = createServer((dialer) => {
        server.close(); // one connection: a node's redial through the relay finds nobody
        const target = connect({ host: '127.0.0.1', port: targetPort });
        relay.sockets.push(dialer, target);
        relay.pipe(dialer, target, 'toTarget', hook);
        relay.pipe(target, dialer, 'toDialer', hook);
      });
      server.listen(0, '127.0.0.1', () => {
        relay = new MitmRelay(server, (server.address() as { port: number }).port);
        resolve(relay);
      });
    });
  }

  private pipe(from: Socket, to: Socket, dir: Direction, hook: FrameHook): void {
    const cutter = new FrameCutter();
    let index = 0;
    from.on('data', (chunk: Buffer) => {
      for (const frame of cutter.push(chunk)) {
        for (const out of hook(frame, index, dir)) {
          this.recorded[dir].push(Buffer.from(out));
          if (!to.destroyed) to.write(out);
        }
        index++;
      }
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  }

  /** All recorded bytes of both directions. */
  allBytes(): Buffer {
    return Buffer.concat([...this.recorded.toTarget, ...this.recorded.toDialer]);
  }

  close(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }
}
