/**
 * One attacking connection: a raw TCP socket to the victim that speaks exactly as much of the protocol as an
 * attack needs, as cheaply as it can. It drives the node's own SecureChannel (net/secure-channel.ts) as the
 * dialer, so its handshake and sealed frames are the real thing, but it never verifies the victim's identity
 * (an attacker would not pay for that), may forge its own identity proof, and reads the victim's sealed
 * frames only when asked to (answering pings and getpeers costs it a decoder).
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { generateIdentity, type Identity } from '../../src/crypto/keys.ts';
import { makeNoiseIdentity, type LocalHello } from '../../src/peers/handshake.ts';
import { SecureChannel } from '../../src/net/secure-channel.ts';
import { systemRandom } from '../../src/io/system-random.ts';
import { encodeNoiseFrame } from '../../src/wire/handshake-frames.ts';
import { encodeFrame, FRAME_HEADER_BYTES } from '../../src/wire/framing.ts';
import type { Message } from '../../src/wire/schema.ts';

/** Time a TCP connect or a handshake may take before the attacker gives up on it, in ms. */
export const connectTimeoutMs = 3000;

/** Largest frame body either side sends (the node's default frameBytesMax). */
const frameBytesMax = 1 << 20;

/** How the attacker handshakes. */
export interface HandshakeOptions {
  networkId: string;
  /** The key to show; a fresh one by default. */
  identity?: Identity;
  /** Sign the Noise static key with random bytes instead of the key (the proof fails, and costs nothing). */
  forgeProof?: boolean;
  /** Plaintext frames to seal and write in the same write as our last handshake message (before the verdict). */
  behindLast?: Uint8Array[];
  /** Decode the victim's sealed frames (for pings, getpeers, captured broadcasts); else they are dropped unread. */
  read?: boolean;
  /** Wait for the victim's first sealed frame (its acceptance): resolve true, or false on reject or close. */
  waitAccepted?: boolean;
}

/** A raw connection to the victim. */
export class AttackPeer {
  closed = false;
  /** We closed it (before the victim did). */
  closedByUs = false;
  /** The victim's reject code, when it sent one we could read. */
  rejectCode: string | null = null;
  /** When the connection opened and closed (Date.now()). */
  readonly openedAtMs = Date.now();
  closedAtMs = 0;
  /** Bytes received from the victim. */
  bytesIn = 0;
  /** Decoded messages from the victim go here (with `read`). */
  onMessage: ((m: Message) => void) | null = null;
  /** Answer the victim's pings (a sybil that looks alive). */
  answerPings = false;
  #channel: SecureChannel | null = null;
  #read = false;
  /** Keep decoding after the acceptance (else decoding stops once it came). */
  #keepReading = false;
  #acceptedWaiter: ((ok: boolean) => void) | null = null;
  #closeWaiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const gone = () => this.#gone();
    socket.on('close', gone);
    socket.on('error', gone);
  }

  /** Opens a TCP connection from `localAddress` (a loopback address) and nothing more. */
  static open(host: string, port: number, localAddress?: string): Promise<AttackPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error('connect timed out'));
      }, connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.setNoDelay(true);
        resolve(new AttackPeer(s));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  /** A valid first handshake message for `networkId`, to replay on any number of connections. */
  static firstMessage(networkId: string): Buffer {
    return new SecureChannel(true, localHello(networkId, generateIdentity(), false), systemRandom, { frameBytesMax }).firstFrame();
  }

  /**
   * Runs the handshake as the dialer. Resolves once our last message is written (true), or with
   * `waitAccepted` once the victim accepted (true) or refused or closed (false); false on a timeout too.
   */
  handshake(o: HandshakeOptions): Promise<boolean> {
    this.#keepReading = o.read === true;
    this.#read = this.#keepReading || o.waitAccepted === true;
    const channel = new SecureChannel(true, localHello(o.networkId, o.identity ?? generateIdentity(), o.forgeProof === true), systemRandom, { frameBytesMax });
    this.#channel = channel;
    return new Promise((resolve) => {
      const t = setTimeout(() => settle(false), connectTimeoutMs);
      const settle = (ok: boolean) => {
        clearTimeout(t);
        this.#acceptedWaiter = null;
        resolve(ok);
      };
      this.#acceptedWaiter = (ok) => {
        if (!ok || o.waitAccepted) settle(ok);
      };
      this.#lastMessage = (msg3) => {
        const sealed = (o.behindLast ?? []).map((f) => channel.seal(f));
        this.write(Buffer.concat([msg3, ...sealed]));
        if (!o.waitAccepted) settle(true);
      };
      this.write(channel.firstFrame());
    });
  }

  /** Hands our last handshake message out (set by handshake). */
  #lastMessage: ((msg3: Buffer) => void) | null = null;

  /** True once the keys exist: sealed frames can be sent. */
  get sealed(): boolean {
    return this.#channel?.sealed === true;
  }

  /** Seals each plaintext frame (one or several, concatenated) and writes them in one write; false when closed. */
  sendFrames(plain: Uint8Array): boolean {
    const channel = this.#channel;
    if (this.closed || !channel?.sealed) return false;
    const out: Buffer[] = [];
    for (let at = 0; at < plain.byteLength; ) {
      const bytes = FRAME_HEADER_BYTES + new DataView(plain.buffer, plain.byteOffset + at).getUint32(0);
      out.push(channel.seal(plain.subarray(at, at + bytes)));
      at += bytes;
    }
    return this.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** Encodes, seals and sends one message. */
  send(msg: Message): boolean {
    return this.sendFrames(encodeFrame(msg, frameBytesMax));
  }

  /** Writes bytes as they are; false when the connection is gone. */
  write(b: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.socket.write(b);
    return true;
  }

  /** Bytes written and not yet taken by the kernel: the victim reads slower than we write. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /** Resolves when the victim has sent something or closed (true), or after `ms` (false). */
  async waitAnswer(ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (this.bytesIn === 0 && !this.closed) {
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 2));
    }
    return true;
  }

  /** Resolves when the connection closes (true), or after `ms` (false). */
  waitClosed(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#closeWaiters = this.#closeWaiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.#closeWaiters.push(done);
    });
  }

  close(): void {
    if (!this.closed) this.closedByUs = true;
    this.socket.destroy();
    this.#gone();
  }

  #gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.closedAtMs = Date.now();
    this.#acceptedWaiter?.(false);
    for (const w of this.#closeWaiters) w();
    this.#closeWaiters = [];
  }

  #onData(chunk: Buffer): void {
    this.bytesIn += chunk.byteLength;
    const channel = this.#channel;
    if (!channel) return;
    let at = 0;
    try {
      while (channel.readingHandshake && at < chunk.byteLength) at = this.#readHandshakeFrame(channel, chunk, at);
    } catch {
      return this.close();
    }
    if (!this.#read || !channel.sealed || at >= chunk.byteLength) return;
    const { messages, error } = channel.readSealed(at === 0 ? chunk : chunk.subarray(at));
    for (const m of messages) this.#onMessage(m);
    if (error) this.close();
  }

  /** Acts on one handshake frame of the victim's; returns where reading stopped. */
  #readHandshakeFrame(channel: SecureChannel, chunk: Buffer, at: number): number {
    const r = channel.readHandshakeFrame(chunk, at);
    if (!r.frame) return r.at;
    if (r.frame.t === 'reject') {
      this.rejectCode = r.frame.code;
      this.close();
      return chunk.byteLength;
    }
    const step = channel.handshake.receive(r.frame.message);
    if (step.t !== 'identify') {
      this.close();
      return chunk.byteLength;
    }
    // The victim's identity proof is not checked: an attacker has no reason to pay for that.
    const { message, keys } = channel.handshake.complete();
    channel.startTransport(keys);
    this.#lastMessage?.(encodeNoiseFrame(message!));
    return r.at;
  }

  #onMessage(m: Message): void {
    if (m.t === 'reject') {
      this.rejectCode = m.code;
      this.#acceptedWaiter?.(false);
      return;
    }
    this.#acceptedWaiter?.(true);
    if (!this.#keepReading) this.#read = false;
    if (m.t === 'ping' && this.answerPings) this.send({ t: 'pong', n: m.n });
    this.onMessage?.(m);
  }
}

/** What the attacker claims of itself: no listening port, and a proof that is real or forged. */
function localHello(networkId: string, identity: Identity, forgeProof: boolean): LocalHello {
  const sign = forgeProof ? () => new Uint8Array(randomBytes(64)) : (m: Uint8Array) => identity.sign(m);
  return { networkId, publicKey: identity.publicKey, host: '', port: 0, ...makeNoiseIdentity(sign, systemRandom) };
}
