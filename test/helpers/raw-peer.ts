/**
 * A scripted peer for attack tests: opens a raw TCP socket to a node, can complete a genuine handshake with
 * its own key, then sends whatever bytes or frames a test wants (duplicates, floods, garbage, forgeries).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder } from '../../src/wire/framing.ts';
import { makeAuth, makeHello, type LocalHello } from '../../src/peers/handshake.ts';
import { gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { generateIdentity, type Identity } from '../../src/crypto/keys.ts';
import type { GossipMessage, Message } from '../../src/wire/schema.ts';

export class RawPeer {
  readonly received: Message[] = [];
  closed = false;
  /** Answer every ping with its pong, as a live peer does (set by `answerPings`). */
  private pongs = false;
  readonly identity: Identity;
  private decoder = new FrameDecoder();
  private constructor(readonly socket: Socket, identity: Identity) {
    this.identity = identity;
    socket.on('data', (chunk: Buffer) => {
      const { messages } = this.decoder.push(chunk);
      this.received.push(...messages);
      if (this.pongs) for (const m of messages) if (m.t === 'ping' && !this.closed) this.send({ t: 'pong', n: m.n });
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  /** Opens a TCP connection, nothing more; from `localAddress` (any 127.x, to model network groups) if given. */
  static open(port: number, identity: Identity = generateIdentity(), localAddress?: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(new RawPeer(s, identity)));
      s.once('error', reject);
    });
  }

  /** Opens a connection and completes a real handshake; resolves once the node accepted our proof. */
  static async handshake(port: number, networkId = 'strongcast-test', identity: Identity = generateIdentity(), localAddress?: string): Promise<RawPeer> {
    const p = await RawPeer.open(port, identity, localAddress);
    const local: LocalHello = { networkId, publicKey: identity.publicKey, host: '', port: 0 };
    p.send(makeHello(local, randomBytes(32)));
    const hello = await p.waitFor((m) => m.t === 'hello');
    if (hello.t !== 'hello') throw new Error('no hello');
    p.send(makeAuth(local, hello, (m) => identity.sign(m)));
    await p.waitFor((m) => m.t === 'auth');
    await p.waitFor((m) => m.t === 'getpeers' || m.t === 'ping', 2000).catch(() => undefined);
    return p;
  }

  /** From now on, answers the node's pings (a sybil that does just enough to look alive). */
  answerPings(): this {
    this.pongs = true;
    for (const m of this.received) if (m.t === 'ping') this.send({ t: 'pong', n: m.n });
    return this;
  }

  send(msg: Message): void {
    this.socket.write(encodeFrame(msg));
  }

  sendBytes(b: Uint8Array): void {
    this.socket.write(b);
  }

  /** A signed gossip message from this peer's key (or a forged one with `badSig`). */
  gossip(seq: number, text: string, opts: { networkId?: string; badSig?: boolean; hops?: number; topic?: string } = {}): GossipMessage {
    const unsigned = { origin: this.identity.publicKey, seq, topic: opts.topic ?? 'chat', data: new TextEncoder().encode(text) };
    const sig = this.identity.sign(gossipSignedBytes(opts.networkId ?? 'strongcast-test', unsigned));
    if (opts.badSig) sig[0] = (sig[0]! ^ 0xff) & 0xff;
    return { t: 'gossip', ...unsigned, hops: opts.hops ?? 0, sig };
  }

  async waitFor(pred: (m: Message) => boolean, timeoutMs = 3000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.received.find(pred);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`raw peer: no matching message within ${timeoutMs} ms (got ${this.received.map((x) => x.t).join(',')})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('raw peer: connection still open');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
