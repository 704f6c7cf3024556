/**
 * A scripted peer for the flooder: a raw TCP connection to a node that can complete a genuine (encrypted)
 * handshake with any key, then writes whatever frames (sealed) or bytes (raw) the attack wants and hands
 * every frame the node sends to a listener (how the flooder captures valid gossip and consensus chains to
 * replay).
 */
import { connect, type Socket } from 'node:net';
import { encodeFrame, FRAME_HEADER_BYTES } from '../../src/wire/framing.ts';
import type { Identity } from '../../src/crypto/keys.ts';
import type { Message } from '../../src/wire/schema.ts';
import { SecureSession } from '../../test/helpers/secure-session.ts';

/** Time a connection and handshake may take, in ms. */
export const rawHandshakeTimeoutMs = 3000;

/** A raw connection to one node. */
export class RawPeer {
  closed = false;
  /** Code of the node's `reject` frame, if it sent one before closing. */
  rejectCode: string | null = null;
  onMessage: ((m: Message) => void) | null = null;
  #session: SecureSession | null = null;
  readonly #waiters = new Set<(m: Message) => void>();
  readonly #closeWaiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      if (!this.#session) return;
      const { out, messages, error } = this.#session.push(chunk);
      for (const b of out) this.sendBytes(b);
      const r = this.#session.rejected;
      if (r) this.rejectCode = r.code;
      if (r && !messages.some((m) => m.t === 'reject')) messages.push({ t: 'reject', code: r.code, reason: r.reason });
      for (const m of messages) {
        if (m.t === 'reject') this.rejectCode = m.code;
        if (m.t === 'ping') this.send({ t: 'pong', n: m.n });
        for (const w of [...this.#waiters]) w(m);
        this.onMessage?.(m);
      }
      if (error) this.close();
    });
    const onGone = () => {
      this.closed = true;
      for (const w of this.#closeWaiters) w();
      this.#closeWaiters.clear();
    };
    socket.on('close', onGone);
    socket.on('error', onGone);
  }

  /** Opens a TCP connection and nothing more. */
  static open(host: string, port: number, localAddress?: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${port} timed out`));
      }, rawHandshakeTimeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(new RawPeer(s));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  /**
   * Opens a connection and completes a real handshake with `identity`. Resolves once the node has accepted
   * our proof (it sends its first message on the open connection); rejects when it refuses or times out.
   */
  static async handshake(host: string, port: number, networkId: string, identity: Identity, localAddress?: string): Promise<RawPeer> {
    const p = await RawPeer.open(host, port, localAddress);
    try {
      p.#session = new SecureSession({ key: identity, networkId, initiator: true });
      for (const b of p.#session.start()) p.sendBytes(b);
      await p.waitFor((m) => m.t === 'getpeers' || m.t === 'ping' || m.t === 'gossip' || m.t === 'ds');
      return p;
    } catch (e) {
      p.close();
      throw e;
    }
  }

  /** Encodes and sends `msg` sealed; false when the connection is gone or not yet sealed. */
  send(msg: Message): boolean {
    return this.sendFrames(encodeFrame(msg));
  }

  /** Seals every plaintext frame in `frames` (one or several, concatenated) and writes them at once. */
  sendFrames(frames: Uint8Array): boolean {
    if (!this.#session?.sealed) return false;
    const out: Uint8Array[] = [];
    for (let at = 0; at < frames.byteLength; ) {
      const bytes = FRAME_HEADER_BYTES + new DataView(frames.buffer, frames.byteOffset + at).getUint32(0);
      out.push(this.#session.sealFrame(frames.subarray(at, at + bytes)));
      at += bytes;
    }
    return this.sendBytes(Buffer.concat(out));
  }

  /** Writes raw bytes; false when the connection is gone. */
  sendBytes(b: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.socket.write(b);
    return true;
  }

  /** Bytes written but not yet handed to the kernel (the node reads slower than we write). */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /** The next message matching `pred`; rejects on close, on a reject frame, or after the timeout. */
  waitFor(pred: (m: Message) => boolean, timeoutMs = rawHandshakeTimeoutMs): Promise<Message> {
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, m?: Message) => {
        clearTimeout(t);
        this.#waiters.delete(onMsg);
        this.#closeWaiters.delete(onClose);
        if (err) reject(err);
        else resolve(m as Message);
      };
      const onMsg = (m: Message) => {
        if (m.t === 'reject') done(new Error(`refused: ${m.code}`));
        else if (pred(m)) done(null, m);
      };
      const onClose = () => done(new Error(`closed${this.rejectCode ? ` (${this.rejectCode})` : ''}`));
      const t = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      if (this.closed) return onClose();
      this.#waiters.add(onMsg);
      this.#closeWaiters.add(onClose);
    });
  }

  /** Resolves when the connection is closed, or after `timeoutMs` (then false). */
  waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#closeWaiters.delete(onClose);
        resolve(false);
      }, timeoutMs);
      const onClose = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.#closeWaiters.add(onClose);
    });
  }

  close(): void {
    this.socket.destroy();
    this.closed = true;
  }

  /**
   * Ends our side after everything written has left (a destroy drops what is still queued, in this process or
   * in a link shaper's queue), and waits for the node to close its side: it does once it has read up to our
   * end, so every frame written was read. Destroys the socket after `timeoutMs` if the node has not closed.
   */
  async finish(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.socket.end();
    if (!(await this.waitClosed(timeoutMs))) this.close();
  }
}
