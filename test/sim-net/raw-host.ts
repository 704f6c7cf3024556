/**
 * A raw participant of the simulated network, for Byzantine hosts: it speaks the real handshake (hello, auth
 * with its own key) on in-memory links and then sends whatever frames it likes, valid or not; every frame it
 * receives is decoded and handed to its behaviour. It never runs node code: it is the adversary, which
 * controls everything no signature covers.
 */
import { toHex } from '../../src/bytes.ts';
import type { Link, Transport } from '../../src/io/transport.ts';
import { makeAuth, makeHello, type LocalHello } from '../../src/peers/handshake.ts';
import { encodeFrame, FrameDecoder } from '../../src/wire/framing.ts';
import { NONCE_BYTES, type HelloMessage, type Message } from '../../src/wire/schema.ts';
import type { MemoryNetwork } from '../../src/sim/memory-network.ts';
import type { SimHost } from '../../src/sim/sim-host.ts';
import type { Prng } from '../../src/sim/prng.ts';

/** A key the host signs with (a validator's, or its own). */
export interface RawKey {
  publicKey: Uint8Array;
  sign(bytes: Uint8Array): Uint8Array;
}

/** One connection of a raw host. */
export class RawConn {
  /** The peer's key, hex, once its hello arrived. */
  peerId = '';
  open = false;
  closed = false;
  readonly #decoder = new FrameDecoder({ frameBytesMax: 1 << 20 });

  constructor(
    readonly owner: RawHost,
    readonly link: Link,
  ) {}

  /** Encodes and sends; false once closed. */
  send(msg: Message): boolean {
    return this.sendFrame(encodeFrame(msg));
  }

  /** Sends raw bytes (a frame, or garbage). */
  sendFrame(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.link.write(bytes);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.link.destroy();
    this.#gone();
  }

  start(local: LocalHello, nonce: Uint8Array): void {
    this.link.attach({ data: (chunk) => this.#onData(chunk, local), close: () => this.#gone() });
    this.send(makeHello(local, nonce));
  }

  #gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    if (this.owner.open.get(this.peerId) === this) this.owner.open.delete(this.peerId);
  }

  #onData(chunk: Uint8Array, local: LocalHello): void {
    const { messages, error } = this.#decoder.push(chunk);
    for (const m of messages) this.#onMessage(m, local);
    if (error) this.close();
  }

  #onMessage(m: Message, local: LocalHello): void {
    if (this.closed) return;
    if (m.t === 'hello' && !this.peerId) {
      this.peerId = toHex(m.key);
      this.send(makeAuth(local, m as HelloMessage, (b) => this.owner.key.sign(b)));
      return;
    }
    if (m.t === 'auth' && !this.open) {
      // The adversary does not care whether the peer's proof is good; it only needs the peer to accept its own.
      this.open = true;
      this.owner.open.get(this.peerId)?.close();
      this.owner.open.set(this.peerId, this);
      return;
    }
    if (m.t === 'reject') return this.close();
    if (m.t === 'ping') return void this.send({ t: 'pong', n: m.n });
    if (this.open) this.owner.onMessage(this, m);
  }
}

/** A host that handshakes and then sends what its behaviour decides. */
export class RawHost {
  readonly open = new Map<string, RawConn>();
  readonly transport: Transport;
  /** Called for every message an open connection receives (ping answered already). */
  onMessage: (c: RawConn, m: Message) => void = () => undefined;

  constructor(
    readonly net: MemoryNetwork,
    readonly host: SimHost,
    readonly key: RawKey,
    readonly networkId: string,
    readonly rng: Prng,
    readonly port = 7000,
  ) {
    this.transport = net.transport(host);
  }

  get id(): string {
    return toHex(this.key.publicKey);
  }

  /** Accepts inbound connections on its port. */
  async listen(): Promise<void> {
    await this.transport.listen(this.host.ip, this.port, (link) => this.#adopt(link));
  }

  /** Dials ip:port; the connection joins `open` once the peer accepted our proof. */
  dial(ip: string, port: number): void {
    this.transport.dial(ip, port, 2000, (err, link) => {
      if (!err && link) this.#adopt(link);
    });
  }

  /** Random bytes from the run's generator (never the system's: a run must replay from its seed). */
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.rng.int(0, 255);
    return b;
  }

  #adopt(link: Link): void {
    const local: LocalHello = { networkId: this.networkId, publicKey: this.key.publicKey, host: '', port: this.port };
    new RawConn(this, link).start(local, this.bytes(NONCE_BYTES));
  }
}
