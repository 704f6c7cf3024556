/**
 * A raw participant of the simulated network, for Byzantine hosts: it speaks the real encrypted handshake
 * with its own key on in-memory links and then sends whatever frames it likes, valid or not, sealed as the
 * channel requires; every frame it receives is opened, decoded and handed to its behaviour. It never runs node code: it is the adversary, which
 * controls everything no signature covers.
 */
import { toHex } from '../../src/bytes.ts';
import type { Link, Transport } from '../../src/io/transport.ts';
import type { Random } from '../../src/io/random.ts';
import { encodeFrame, FRAME_HEADER_BYTES } from '../../src/wire/framing.ts';
import type { Message } from '../../src/wire/schema.ts';
import { SecureSession } from '../helpers/secure-session.ts';
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
  /** The peer's key, hex, once its identity arrived. */
  peerId = '';
  open = false;
  closed = false;
  readonly #session: SecureSession;

  constructor(
    readonly owner: RawHost,
    readonly link: Link,
    initiator: boolean,
  ) {
    this.#session = new SecureSession({ key: owner.key, networkId: owner.networkId, initiator, port: owner.port, random: owner.random() });
  }

  /** Encodes, seals and sends; false once closed or before the keys exist. */
  send(msg: Message): boolean {
    return this.sendFrame(encodeFrame(msg));
  }

  /**
   * Seals and sends a frame the host made (well-formed or damaged: the 4-byte header is replaced by the
   * sealed length, the rest is sealed as it is); false once closed or before the keys exist.
   */
  sendFrame(frame: Uint8Array): boolean {
    if (this.closed || !this.#session.sealed) return false;
    if (frame.byteLength < FRAME_HEADER_BYTES) return this.sendRaw(frame);
    this.link.write(this.#session.sealFrame(frame));
    return true;
  }

  /** Sends bytes as they are, unsealed (garbage on the stream). */
  sendRaw(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.link.write(bytes);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.link.destroy();
    this.#gone();
  }

  start(): void {
    this.link.attach({ data: (chunk) => this.#onData(chunk), close: () => this.#gone() });
    for (const b of this.#session.start()) this.link.write(b);
  }

  #gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    if (this.owner.open.get(this.peerId) === this) this.owner.open.delete(this.peerId);
  }

  #onData(chunk: Uint8Array): void {
    if (this.closed) return;
    const { out, messages, error } = this.#session.push(chunk);
    for (const b of out) this.link.write(b);
    if (!this.peerId && this.#session.peer) this.#onIdentified();
    for (const m of messages) this.#onMessage(m);
    if (error) this.close();
  }

  /**
   * The peer's identity verified and our keys made: the connection counts as open at once (the adversary
   * does not wait to learn whether the peer accepts it; a refusal closes the link).
   */
  #onIdentified(): void {
    this.peerId = this.#session.peerId;
    this.open = true;
    this.owner.open.get(this.peerId)?.close();
    this.owner.open.set(this.peerId, this);
  }

  #onMessage(m: Message): void {
    if (this.closed) return;
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
    await this.transport.listen(this.host.ip, this.port, (link) => this.#adopt(link, false));
  }

  /** Dials ip:port; the connection joins `open` once the peer accepted our proof. */
  dial(ip: string, port: number): void {
    this.transport.dial(ip, port, 2000, (err, link) => {
      if (!err && link) this.#adopt(link, true);
    });
  }

  /** The run's generator as a Random, for handshake keys (never the system's: a run must replay from its seed). */
  random(): Random {
    return { next: () => this.rng.next(), bytes: (n) => this.bytes(n) };
  }

  /** Random bytes from the run's generator (never the system's: a run must replay from its seed). */
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.rng.int(0, 255);
    return b;
  }

  #adopt(link: Link, initiator: boolean): void {
    new RawConn(this, link, initiator).start();
  }
}
