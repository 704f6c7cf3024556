/**
 * Simulated TCP connections for the full-node simulator. Every message travels as real frame bytes
 * (encodeFrame) and is parsed at the far end by a real FrameDecoder, so garbage and mutated frames meet
 * exactly the code they meet on a socket. Each direction is FIFO with a seeded delay below a bound; frames
 * are cut into random pieces, as TCP may deliver them.
 *
 * A `ConnSide` mirrors what src/net/peer-connection.ts does on an open connection (onData, onFrame, close): byte
 * and message token buckets (a read over the byte rate is handled, then reading stops until the bucket is
 * out of debt; what arrives meanwhile waits, in order, as it would in the kernel's buffers), ping/pong, a
 * peer's `reject` closes, `hello`/`auth` after the handshake is an offence and closes, a frame the decoder
 * refuses is an offence and closes. The handshake itself is modelled
 * as two link delays and the acceptor's ban check (checkHello); its bytes are fuzzed in
 * test/fuzz-handshake.test.ts rather than replayed here.
 */
import { ErrorCodes, type ErrorCode } from '../../src/errors.ts';
import { encodeFrame, FrameDecoder } from '../../src/wire/framing.ts';
import { nodeDefaults, type NodeLimits } from '../../src/core/node-options.ts';
import { rateHoldScoreIntervalMs } from '../../src/net/peer-connection.ts';
import type { Message } from '../../src/wire/schema.ts';
import { TokenBucket } from '../../src/token-bucket.ts';
import type { Prng } from '../sim/prng.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * Most bytes one socket read returns (libuv's read buffer). What waited while reading was held is read in
 * chunks of this size, as a socket resumed with a full receive buffer would read it.
 */
export const readChunkBytesMax = 64 * 1024;

/** Anything that owns connections: an honest node or a Byzantine actor. */
export interface Host {
  readonly id: string;
  /** False once killed; nothing reaches a dead host. */
  readonly alive: boolean;
  /** Runs `fn` as the host's process would: now, or later if the process is paused (SIGSTOP). */
  run(fn: () => void): void;
  /** Whether the host takes a connection from `peerId` now (not banned, not cut off, alive). */
  accepts(peerId: string): boolean;
  onOpen(c: ConnSide): void;
  onMessage(c: ConnSide, msg: Message): void;
  onOffence(c: ConnSide, code: ErrorCode, reason: string): void;
  onClose(c: ConnSide, code: ErrorCode, reason: string): void;
}

/** Delay bounds of a link direction, in ms. */
export interface LinkTiming {
  delayMinMs: number;
  delayMaxMs: number;
}

/** One end of an open connection, owned by `owner`, talking to `peerId`. */
export class ConnSide {
  open = true;
  other!: ConnSide;
  readonly stats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, rateHolds: 0 };
  /** Why this side closed, once it has. */
  closeCode: ErrorCode | null = null;
  readonly #decoder: FrameDecoder;
  readonly #msgBucket: TokenBucket;
  readonly #byteBucket: TokenBucket;
  /** Arrival time of the last piece sent from this side: a direction is FIFO, like TCP. */
  #lastArrivalMs = Number.NEGATIVE_INFINITY;
  /** Over its byte rate, the peer is not read until this time (PeerConnection's rateHeld and its timer). */
  #rateHeldUntilMs = Number.NEGATIVE_INFINITY;
  /** When a hold was last scored (PeerConnection's rateScoredAtMs). */
  #rateScoredAtMs = Number.NEGATIVE_INFINITY;
  /**
   * Pieces that arrived while reading was held. A real socket leaves them in the kernel and TCP flow control
   * slows the sender; the simulator has no flow control, so they wait here, in arrival order.
   */
  #unread: Uint8Array[] = [];

  constructor(
    readonly net: Network,
    readonly owner: Host,
    readonly peerId: string,
  ) {
    const l = net.limits;
    this.#decoder = new FrameDecoder({ frameBytesMax: l.frameBytesMax });
    this.#msgBucket = new TokenBucket({ ratePerSec: l.peerMsgsPerSec, burst: l.peerMsgsBurst }, net.sched.now);
    this.#byteBucket = new TokenBucket({ ratePerSec: l.peerBytesPerSec, burst: l.peerBytesBurst }, net.sched.now);
  }

  /** Encodes and sends; false when closed. */
  send(msg: Message): boolean {
    return this.sendFrame(encodeFrame(msg));
  }

  /** Sends raw bytes (a frame, or garbage from a Byzantine host); false when closed. */
  sendFrame(bytes: Uint8Array): boolean {
    if (!this.open) return false;
    this.stats.framesOut++;
    this.stats.bytesOut += bytes.byteLength;
    const rng = this.net.rng;
    // TCP may cut a frame anywhere: deliver it in 1..3 pieces.
    const cuts = [0, bytes.byteLength];
    for (let i = rng.int(0, 2); i > 0 && bytes.byteLength > 1; i--) cuts.push(rng.int(1, bytes.byteLength - 1));
    cuts.sort((a, b) => a - b);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i + 1]! > cuts[i]!) pieces.push(bytes.subarray(cuts[i], cuts[i + 1]));
    const arrival = this.#nextArrival();
    const to = this.other;
    this.net.sched.at(arrival, () => to.owner.run(() => { for (const p of pieces) to.#arrive(p); }));
    return true;
  }

  /**
   * Closes this side (PeerConnection.close): a reject frame tells the peer why unless `tellPeer` is false,
   * and the peer sees the connection end right after whatever was already on the wire.
   */
  close(code: ErrorCode, reason: string, tellPeer = true): void {
    if (!this.open) return;
    if (tellPeer) this.sendFrame(encodeFrame({ t: 'reject', code, reason: reason.slice(0, 512) }));
    this.open = false;
    this.closeCode = code;
    const to = this.other;
    this.net.sched.at(this.#nextArrival(), () => to.owner.run(() => to.close('ERR_CONNECTION_CLOSED', 'closed by peer', false)));
    this.owner.onClose(this, code, reason);
  }

  /** The host died: this side is gone at once, the peer notices after a link delay. */
  drop(): void {
    if (!this.open) return;
    this.open = false;
    this.closeCode = 'ERR_CONNECTION_CLOSED';
    const to = this.other;
    this.net.sched.at(this.#nextArrival(), () => to.owner.run(() => to.close('ERR_CONNECTION_CLOSED', 'closed by peer', false)));
  }

  #nextArrival(): number {
    const { sched, rng, timing } = this.net;
    this.#lastArrivalMs = Math.max(sched.now + rng.int(timing.delayMinMs, timing.delayMaxMs), this.#lastArrivalMs);
    return this.#lastArrivalMs;
  }

  /** A piece reaches this side: read now, or later if reading is held (a socket's receive buffer). */
  #arrive(chunk: Uint8Array): void {
    if (!this.open || !this.owner.alive) return;
    if (this.#unread.length > 0 || this.net.sched.now < this.#rateHeldUntilMs) this.#unread.push(chunk);
    else this.#onData(chunk);
  }

  /** The byte-rate hold ended: reads what waited, in order, until a read starts the next hold. */
  #endRateHold(): void {
    while (this.#unread.length > 0 && this.open && this.owner.alive && this.net.sched.now >= this.#rateHeldUntilMs) {
      this.#onData(this.#takeUnread(readChunkBytesMax));
    }
  }

  /** The oldest `max` bytes that waited, as one read. */
  #takeUnread(max: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let n = 0;
    while (this.#unread.length > 0 && n < max) {
      const piece = this.#unread[0]!;
      const take = Math.min(piece.byteLength, max - n);
      parts.push(piece.subarray(0, take));
      n += take;
      if (take === piece.byteLength) this.#unread.shift();
      else this.#unread[0] = piece.subarray(take);
    }
    return Buffer.concat(parts);
  }

  /** PeerConnection.onData on an open connection. */
  #onData(chunk: Uint8Array): void {
    if (!this.open || !this.owner.alive) return;
    const now = this.net.sched.now;
    this.stats.bytesIn += chunk.byteLength;
    // PeerConnection.chargeBytes: never dropped (that would desync the decoder); over the rate, reading stops.
    const waitMs = this.#byteBucket.spend(chunk.byteLength, now);
    if (waitMs > 0) {
      this.#rateHeldUntilMs = now + Math.ceil(waitMs);
      this.stats.rateHolds++;
      this.net.sched.at(this.#rateHeldUntilMs, () => this.owner.run(() => this.#endRateHold()));
      if (!(now >= this.#rateScoredAtMs && now - this.#rateScoredAtMs < rateHoldScoreIntervalMs)) {
        this.#rateScoredAtMs = now;
        this.owner.onOffence(this, 'ERR_RATE_LIMITED', 'byte rate');
        if (!this.open) return;
      }
    }
    const { messages, error } = this.#decoder.push(chunk);
    for (const m of messages) {
      if (!this.open) return;
      this.#onFrame(m);
    }
    if (error && this.open) {
      this.net.counters.badFrames++;
      this.owner.onOffence(this, error.code, error.message);
      this.close(error.code, error.message);
    }
  }

  /** PeerConnection.onFrame once the handshake is done. */
  #onFrame(msg: Message): void {
    this.stats.framesIn++;
    if (!this.#msgBucket.take(1, this.net.sched.now)) {
      this.stats.dropped++;
      return this.owner.onOffence(this, 'ERR_RATE_LIMITED', 'message rate');
    }
    switch (msg.t) {
      case 'ping':
        this.send({ t: 'pong', n: msg.n });
        return;
      case 'pong':
        return;
      case 'reject':
        return this.close(rejectCode(msg.code), `peer closed: ${msg.reason}`, false);
      case 'hello':
      case 'auth':
        this.owner.onOffence(this, 'ERR_BAD_HANDSHAKE', `${msg.t} after the handshake`);
        return this.close('ERR_BAD_HANDSHAKE', `${msg.t} after the handshake`);
      default:
        this.owner.onMessage(this, msg);
    }
  }
}

/**
 * The code a peer's reject closes with. PeerConnection passes any 'ERR_'-prefixed string through as is; the
 * simulator maps codes it does not know to ERR_CONNECTION_CLOSED, so its hosts only ever see typed codes.
 */
function rejectCode(code: string): ErrorCode {
  return Object.hasOwn(ErrorCodes, code) ? (code as ErrorCode) : 'ERR_CONNECTION_CLOSED';
}

/** Hosts, their connections and the link timing. */
export class Network {
  readonly hosts = new Map<string, Host>();
  readonly counters = { badFrames: 0, refusedConnections: 0, opened: 0 };
  /** Open connection per unordered host pair. */
  readonly #conns = new Map<string, ConnSide>();

  /**
   * @param limits the connection limits every side applies (the node's defaults unless a test narrows
   * them, e.g. a byte rate small enough to hold a link)
   */
  constructor(
    readonly sched: Scheduler,
    readonly rng: Prng,
    readonly timing: LinkTiming,
    readonly limits: Pick<NodeLimits, 'frameBytesMax' | 'peerMsgsPerSec' | 'peerMsgsBurst' | 'peerBytesPerSec' | 'peerBytesBurst'> = nodeDefaults,
  ) {}

  /** Registers (or replaces, on restart) a host under its id. */
  add(h: Host): void {
    this.hosts.set(h.id, h);
  }

  /** A one-way delay drawn within the bounds. */
  delay(): number {
    return this.rng.int(this.timing.delayMinMs, this.timing.delayMaxMs);
  }

  /** The open side of `a` towards `b`, if any. */
  side(a: string, b: string): ConnSide | undefined {
    const s = this.#conns.get(pairKey(a, b));
    if (!s || !s.open || !s.other.open) return undefined;
    return s.owner.id === a ? s : s.other;
  }

  /**
   * `a` dials `b`: after hello and auth have crossed (two link delays) the connection opens, provided both
   * hosts are still alive, both accept the other, and the pair has no open connection already.
   */
  dial(a: string, b: string): void {
    const ms = this.delay() + this.delay();
    this.sched.after(ms, () => {
      const ha = this.hosts.get(a);
      const hb = this.hosts.get(b);
      if (!ha || !hb || !ha.alive || !hb.alive) return;
      const existing = this.#conns.get(pairKey(a, b));
      if (existing && existing.open && existing.other.open) return;
      if (!ha.accepts(b) || !hb.accepts(a)) {
        this.counters.refusedConnections++;
        return;
      }
      const sa = new ConnSide(this, ha, b);
      const sb = new ConnSide(this, hb, a);
      sa.other = sb;
      sb.other = sa;
      this.#conns.set(pairKey(a, b), sa);
      this.counters.opened++;
      ha.run(() => sa.open && ha.onOpen(sa));
      hb.run(() => sb.open && hb.onOpen(sb));
    });
  }

  /** Every open side owned by `id`. */
  sidesOf(id: string): ConnSide[] {
    const out: ConnSide[] = [];
    for (const s of this.#conns.values()) {
      if (!s.open && !s.other.open) continue;
      if (s.owner.id === id && s.open) out.push(s);
      else if (s.other.owner.id === id && s.other.open) out.push(s.other);
    }
    return out;
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
