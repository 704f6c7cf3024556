/**
 * A scripted peer for attack tests: opens a raw TCP socket to a node, can complete a genuine (encrypted)
 * handshake with its own key, then sends whatever frames or bytes a test wants (duplicates, floods, garbage,
 * forgeries), sealed for the channel unless the test sends raw bytes.
 */
import { connect, type Socket } from 'node:net';
import { encodeFrame } from '../../src/wire/framing.ts';
import { gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { generateIdentity, type Identity } from '../../src/crypto/keys.ts';
import type { GossipMessage, Message } from '../../src/wire/schema.ts';
import { HandshakeFrameReader } from '../../src/wire/handshake-frames.ts';
import { sealedFrames } from './memory-connection.ts';
import { SecureSession, type SecureSessionOptions } from './secure-session.ts';

export class RawPeer {
  readonly received: Message[] = [];
  closed = false;
  /** Why the session ended on our side, if it did (its own error or the node's reject). */
  error: Error | undefined;
  /** Answer every ping with its pong, as a live peer does (set by `answerPings`). */
  private pongs = false;
  readonly identity: Identity;
  session: SecureSession | null = null;
  private readonly reader = new HandshakeFrameReader();
  private constructor(readonly socket: Socket, identity: Identity) {
    this.identity = identity;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
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

  /**
   * Opens a connection and runs the handshake as the dialer; resolves once the node accepted us (its first
   * sealed frame arrived). `options` may claim another network, id or payload; `localAddress` (any 127.x)
   * models another network group.
   */
  static async handshake(port: number, networkId = 'strongcast-test', identity: Identity = generateIdentity(), options: Partial<SecureSessionOptions> = {}, localAddress?: string): Promise<RawPeer> {
    const p = await RawPeer.open(port, identity, localAddress);
    p.beginHandshake(networkId, options);
    await p.waitFor((m) => m.t === 'ping');
    await p.waitFor((m) => m.t === 'getpeers', 500).catch(() => undefined);
    return p;
  }

  /** From now on, answers the node's pings (a sybil that does just enough to look alive). */
  answerPings(): this {
    this.pongs = true;
    for (const m of this.received) if (m.t === 'ping') this.send({ t: 'pong', n: m.n });
    return this;
  }

  /** Starts the handshake as the dialer without waiting for it. */
  beginHandshake(networkId = 'strongcast-test', options: Partial<SecureSessionOptions> = {}): SecureSession {
    this.session = new SecureSession({ key: this.identity, networkId, initiator: true, ...options });
    for (const b of this.session.start()) this.socket.write(b);
    return this.session;
  }

  private onData(chunk: Buffer): void {
    if (!this.session) return this.readUnstarted(chunk);
    const { out, messages, error } = this.session.push(chunk);
    for (const b of out) this.socket.write(b);
    this.received.push(...messages);
    if (this.pongs) for (const m of messages) if (m.t === 'ping' && !this.closed) this.send({ t: 'pong', n: m.n });
    // A refusal during the handshake comes as a handshake frame: recorded as the reject message it means.
    const r = this.session.rejected;
    if (r && !this.received.some((m) => m.t === 'reject')) this.received.push({ t: 'reject', code: r.code, reason: r.reason });
    if (error) this.error ??= error;
  }

  /** Without a handshake of ours, the node can only send handshake frames: its reject is recorded. */
  private readUnstarted(chunk: Uint8Array): void {
    try {
      for (let at = 0; at < chunk.byteLength; ) {
        const r = this.reader.read(chunk, at);
        at = r.at;
        if (r.frame?.t === 'reject') this.received.push({ t: 'reject', code: r.frame.code, reason: r.frame.reason });
      }
    } catch (e) {
      this.error ??= e as Error;
    }
  }

  /** Encodes and sends `msg` sealed. */
  send(msg: Message): void {
    this.sendFrame(encodeFrame(msg));
  }

  /** Seals and sends a plaintext frame. */
  sendFrame(frame: Uint8Array): void {
    if (!this.session) throw new Error('raw peer: no handshake');
    this.socket.write(this.session.sealFrame(frame));
  }

  /** Seals every plaintext frame in `frames` (concatenated) and sends them all in one write. */
  sendSealed(frames: Uint8Array): void {
    if (!this.session) throw new Error('raw peer: no handshake');
    this.socket.write(sealedFrames(this.session, frames));
  }

  /** Sends bytes as they are (unsealed). */
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
      if (Date.now() > deadline) throw new Error(`raw peer: no matching message within ${timeoutMs} ms (got ${this.received.map((x) => x.t).join(',')}${this.error ? `; ${this.error.message}` : ''})`);
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
