/**
 * One connection to a peer: the encrypted handshake, sealed framing, keepalive, per-peer rate limits and read
 * and write backpressure, over a Link (a TCP socket on a machine, an in-memory link in the simulator) with
 * timers from the node's Clock. It owns its link and timers and nothing else; what messages mean is the
 * node's business. Bad input from the peer closes this connection only, with a reason, and reports an
 * offence for scoring.
 *
 * Over the connection's SecureChannel (net/secure-channel.ts) go handshake frames until the keys exist, and
 * every frame both ways sealed after; the handshake's steps and deadlines are connection-handshake.ts.
 */
import { concatBytes, toHex } from '../bytes.ts';
import type { Timer } from '../io/clock.ts';
import type { Link } from '../io/transport.ts';
import { isStrongcastError, type ErrorCode, type StrongcastError } from '../errors.ts';
import { encodeFrame, sealedFrameBytes, type DecodeMeter } from '../wire/framing.ts';
import type { PeerHello } from '../peers/handshake.ts';
import type { HandshakeFrame } from '../wire/handshake-frames.ts';
import { WriteCoalescer } from './write-coalescer.ts';
import { RateHolds } from './rate-holds.ts';
import { SecureChannel } from './secure-channel.ts';
import type { Message, MessageType } from '../wire/schema.ts';
import type { ConnectionContext } from './connection-context.ts';
import type { DeferredWork } from './turn-budget.ts';
import { PeerWork } from './peer-work.ts';
import { Inbox } from './inbox.ts';
import { Outbox } from './outbox.ts';
import { Keepalive } from './keepalive.ts';
import { ConnectionHandshake, earlyBytesMax, rejectCode } from './connection-handshake.ts';

/** Lifecycle of a connection. */
export type ConnectionState = 'handshaking' | 'open' | 'closed';

/** Message types the node verifies before it relays them, by class: broadcasts (inflightMax) and consensus (consensusInflightMax). */
const broadcastChecked: ReadonlySet<Message['t']> = new Set<Message['t']>(['gossip']);
const consensusChecked: ReadonlySet<Message['t']> = new Set<Message['t']>(['ds', 'outcome']);

/** A framed, authenticated, rate-limited connection to one peer. */
export class PeerConnection implements DeferredWork {
  state: ConnectionState = 'handshaking';
  /** The handshake completed once: the peer proved its id, so what it did is its key's, even after a close. */
  wasOpen = false;
  /** What the peer said of itself in the handshake (id, listening host and port), once received. */
  peerHello: PeerHello | null = null;
  /** The peer's id (public key hex), once its identity arrived. */
  peerId = '';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Frames and bytes in and out, for status views; `dropped` stays 0 (messages over the message rate are
   * no longer dropped but wait, see rate-holds.ts), and the times reading stopped because the peer sent more
   * messages or bytes than its rates allow (nothing is dropped).
   */
  readonly stats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, rateHolds: 0 };
  /** Handshake frames, keys and sealed frames of this connection. */
  private readonly channel: SecureChannel;
  /** The peer's message and byte rates, as holds on reading (rate-holds.ts). */
  private readonly rates: RateHolds;
  /** The handshake's steps and deadlines; its verdictPending: what the peer sent behind its identity waits in `unread`. */
  private readonly handshake: ConnectionHandshake;
  /**
   * Bytes read and not yet handled: handshake frames waiting for the turn budget, or sealed frames behind the
   * dialer's last handshake message waiting for our verdict on it. While any wait, the socket is not read.
   */
  private unread: Uint8Array | null = null;
  /**
   * Frames read and decoded, not yet handled (inbox.ts: consensus frames first): what the turn budget or the
   * room among the checks in progress had no place for. While any wait, the socket is not read, so this
   * holds one read's worth.
   */
  private readonly inbox = new Inbox();
  /** A framing error found after the frames in the inbox: acted on once they are handled. */
  private inboxError: StrongcastError | null = null;
  /**
   * This peer's broadcasts and consensus messages being verified (each class up to peerInflightMax), and the
   * verdicts on them waiting for the turn budget (peer-work.ts).
   */
  private readonly work: PeerWork;
  /** Lowest ping round trip seen, in ms (Infinity before the first pong): eviction protects fast peers. */
  minRttMs = Number.POSITIVE_INFINITY;
  /**
   * When this peer last sent a broadcast, chain or outcome that was new and valid, in ms (0: never); set by
   * the node, read by eviction, which protects peers that are useful to us.
   */
  lastUsefulMs = 0;
  private lastHeardMs: number;
  /** Pings, the idle timeout and the round trips of the pongs (keepalive.ts). */
  private readonly keepalive: Keepalive;
  /** Holds this connection's writes until the next flush. */
  private readonly writer: WriteCoalescer;
  /**
   * Frames to send that wait for room on the link (outbox.ts: consensus first), unsealed: the link is handed
   * frames only while it holds fewer than socketQueuedBytesTarget bytes.
   */
  private readonly outbox = new Outbox();
  private paused = false;
  private timers: Timer[] = [];

  constructor(
    readonly link: Link,
    readonly outbound: boolean,
    private readonly ctx: ConnectionContext,
  ) {
    const { limits, clock } = ctx;
    this.remoteAddress = link.remoteAddress;
    this.remotePort = link.remotePort;
    const rekey = ctx.rekeyIntervalMessages === undefined ? {} : { rekeyIntervalMessages: ctx.rekeyIntervalMessages };
    this.channel = new SecureChannel(outbound, ctx.local, ctx.random, { frameBytesMax: limits.frameBytesMax, ...rekey });
    this.lastHeardMs = clock.now();
    this.work = new PeerWork(this, ctx);
    this.writer = new WriteCoalescer(link, clock, limits.writeCoalesceMs, this.stats, () => this.handOff(), ctx.turnFlush);
    this.keepalive = new Keepalive(limits, clock, ctx.random, {
      lastHeardMs: () => this.lastHeardMs,
      paused: () => this.paused,
      send: (msg) => this.send(msg),
      close: (code, reason) => this.close(code, reason),
    });
    this.handshake = new ConnectionHandshake(outbound, this.channel, ctx, this.addr, this.stats, {
      handshaking: () => this.state === 'handshaking',
      closed: () => this.state === 'closed',
      heardFirst: () => this.stats.framesIn !== 0 || this.unread !== null,
      write: (bytes) => this.write(bytes),
      close: (code, reason, tellPeer) => this.close(code, reason, tellPeer),
      offence: (code, reason) => this.offence(code, reason),
      identified: (peer) => {
        this.peerHello = peer;
        this.peerId = toHex(peer.key);
      },
      open: () => this.open(),
    });
    this.rates = new RateHolds(limits, clock, { bytesRepaid: () => this.updateReading(), messagesRepaid: () => this.onMessagesRepaid() }, this.stats);
  }

  /**
   * Starts reading and, when dialing, sends the first handshake message. The handshake must finish within
   * handshakeTimeoutMs, and a dialer's first message must come within handshakeFirstMessageTimeoutMs
   * (connection-handshake.ts).
   */
  start(): void {
    this.link.attach({
      data: (chunk) => this.onData(chunk),
      close: (error) => this.close('ERR_CONNECTION_CLOSED', error === undefined ? 'closed by peer' : `socket error: ${error}`, false),
      drain: () => this.writer.drained(),
    });
    this.timers.push(...this.handshake.startTimers());
    if (this.outbound) this.write(this.channel.firstFrame());
  }

  /** The msgpack work spent on this peer's frames: values walked and bodies unpacked (status and tests). */
  get decodeWork(): DecodeMeter {
    return this.channel.decodeWork;
  }

  /** Short form of the address for logs and events. */
  get addr(): string {
    return this.remoteAddress.includes(':') ? `[${this.remoteAddress}]:${this.remotePort}` : `${this.remoteAddress}:${this.remotePort}`;
  }

  /** Encodes and sends a message; false when the connection is closed or not yet sealed, or was just dropped as too slow. */
  send(msg: Message): boolean {
    if (this.state === 'closed' || !this.channel.sealed) return false;
    return this.sendFrame(encodeFrame(msg, this.ctx.limits.frameBytesMax), msg.t);
  }

  /**
   * Sends an already encoded plaintext frame of a message of type `type` (a relay is encoded once and sent to
   * many peers), sealed for this connection when the link has room for it: consensus frames go ahead of the
   * other frames still waiting for room (outbox.ts). False when the connection is closed or not yet sealed,
   * or was just dropped as too slow.
   */
  sendFrame(frame: Uint8Array, type: MessageType): boolean {
    if (this.state === 'closed' || !this.channel.sealed) return false;
    const sealedBytes = sealedFrameBytes(frame.byteLength);
    // A peer that does not read fills our memory: bound what waits for it, in the socket and held back here.
    const { writeQueueBytesMax } = this.ctx.limits;
    if (this.link.writableLength + this.outbox.bytes + sealedBytes > writeQueueBytesMax) {
      this.offence('ERR_SLOW_PEER', `write queue above ${writeQueueBytesMax} bytes`);
      this.close('ERR_SLOW_PEER', `write queue above ${writeQueueBytesMax} bytes`, false);
      return false;
    }
    // Nothing waits and the link has room: straight on, as handOff would take it.
    if (this.outbox.empty && this.link.writableLength < this.ctx.limits.socketQueuedBytesTarget) this.write(this.channel.seal(frame));
    else {
      this.outbox.push(frame, sealedBytes, type);
      this.handOff();
    }
    return true;
  }

  /** Bytes waiting to be sent to this peer: held back for room on the link, and in the link (the write queue). */
  get writeQueuedBytes(): number {
    return this.outbox.bytes + this.link.writableLength;
  }

  /**
   * Hands the frames waiting in the outbox to the link, consensus first, while it holds fewer than
   * socketQueuedBytesTarget bytes, sealing each as it goes: the counter nonce of each frame is the order in
   * which it leaves. True when any went. The rest waits for the next flush or the link's drain.
   */
  private handOff(): boolean {
    if (this.state === 'closed') return false;
    const target = this.ctx.limits.socketQueuedBytesTarget;
    let handed = false;
    while (!this.outbox.empty && this.link.writableLength < target) {
      this.write(this.channel.seal(this.outbox.shift()));
      handed = true;
    }
    return handed;
  }

  /** Writes bytes ready for the wire, coalesced with the others of this turn (write-coalescer.ts). */
  private write(frame: Uint8Array): void {
    this.writer.write(frame);
  }

  /**
   * Counts a message of this peer that is still being verified (`consensus`: a chain or an outcome, counted
   * apart, so the node's consensus gate sees what this peer has of its own in flight). While peerInflightMax
   * of either class are, the socket stops reading, so a fast peer is slowed by TCP flow control instead of
   * growing our queues.
   */
  beginWork(consensus: boolean): void {
    if (this.work.begin(consensus)) this.updateReading();
  }

  /** A message of this peer finished verification; reading resumes once half of those held are done. */
  endWork(consensus: boolean): void {
    if (this.work.end(consensus)) this.updateReading();
  }

  /**
   * Reads from the socket only while nothing waits in the inbox, not too many messages are being verified
   * and the peer is within its byte rate.
   */
  private updateReading(): void {
    const hold = this.work.held || this.rates.bytesHeld || this.rates.messagesHeld || !this.inbox.empty || this.unread !== null;
    if (hold === this.paused || this.state === 'closed') return;
    this.paused = hold;
    if (hold) return void this.link.pause();
    // Held, the peer could not be heard: it gets a whole idle window from now.
    this.lastHeardMs = this.ctx.clock.now();
    this.link.resume();
  }

  /** Closes the connection, telling the peer why unless the socket is already gone. Safe to call twice. */
  close(code: ErrorCode, reason: string, tellPeer = true): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.unread = null;
    this.inbox.clear();
    this.paused = false;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.rates.stop();
    this.writer.stop();
    if (tellPeer) {
      // What waited for room goes first, as it would have over a socket with room: the reject comes last.
      while (!this.outbox.empty) {
        const sealed = this.channel.seal(this.outbox.shift());
        this.stats.framesOut++;
        this.stats.bytesOut += sealed.byteLength;
        this.link.write(sealed);
      }
      this.link.end(this.channel.rejectFrame(code, reason));
    } else this.link.destroy();
    this.outbox.clear();
    this.ctx.events.onClose(this, code, reason);
  }

  /** A method, not a field read, because handlers called above may have closed the connection. */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  private offence(code: ErrorCode, reason: string): void {
    this.ctx.events.onOffence(this, code, reason);
  }

  private onData(chunk: Uint8Array): void {
    if (this.state === 'closed' || this.inboxError) return;
    this.lastHeardMs = this.ctx.clock.now();
    this.stats.bytesIn += chunk.byteLength;
    // The chunk is part of a byte stream: dropping it would cut a frame and desync the decoder. It is always
    // decoded; a peer over its byte rate is slowed instead, by TCP, while we stop reading.
    if (this.state === 'open') this.rates.chargeBytes(chunk.byteLength, this.lastHeardMs);
    if (this.isClosed()) return;
    // Reading stops while bytes wait, so `unread` is empty here unless the link delivered past a pause.
    this.unread = this.unread === null ? chunk : concatBytes(this.unread, chunk);
    // Read while this connection's own work waits (the link delivered past a pause): it comes after that work.
    if (this.ctx.turn.isWaiting(this)) return this.updateReading();
    // Else handled at once, a quantum of it if others wait (turn-budget.ts): a peer that sends little is not
    // queued behind the backlogs of those that send much.
    this.readUnread();
  }

  /**
   * Handles the bytes waiting in `unread`: handshake frames one at a time, each within the turn budget (the
   * Diffie-Hellman work of a flood of handshakes must not hold up the node's other work), then, once the
   * keys exist and the peer is authenticated, the sealed frames behind them.
   */
  private readUnread(): void {
    while (this.unread !== null && this.channel.readingHandshake && !this.isClosed()) {
      if (!this.ctx.turn.allows()) {
        this.ctx.turn.defer(this, this.work.priority);
        return this.updateReading();
      }
      this.readOneHandshakeFrame(this.unread);
    }
    if (this.isClosed()) return;
    if (this.unread === null) return this.updateReading();
    if (this.awaitingAuthVerdict()) return this.holdForVerdict(this.unread);
    const chunk = this.unread;
    this.unread = null;
    this.readSealed(chunk);
  }

  /** Sealed bytes from a peer not yet authenticated wait, undecoded, for the verdict; too many is a protocol error. */
  private holdForVerdict(waiting: Uint8Array): void {
    if (waiting.byteLength > earlyBytesMax) {
      const reason = `more than ${earlyBytesMax} bytes sent before the handshake finished`;
      this.offence('ERR_BAD_HANDSHAKE', reason);
      return this.close('ERR_BAD_HANDSHAKE', reason);
    }
    this.updateReading();
  }

  /** Opens and decodes the sealed frames in `chunk` into the inbox, and handles them as the budget allows. */
  private readSealed(chunk: Uint8Array): void {
    const { messages, frameBytes, error } = this.channel.readSealed(chunk);
    // Consensus frames go ahead of the rest once open; a dialer's first frame confirms the handshake, in order.
    const sorted = this.state === 'open';
    for (const [i, m] of messages.entries()) this.inbox.push(m, frameBytes[i]!, sorted);
    if (error) this.inboxError = error;
    this.handleInbox();
  }

  /** The message bucket is out of debt: the frames that waited are handled, then reading resumes. */
  private onMessagesRepaid(): void {
    if (!this.isClosed()) this.handleInbox();
  }

  /**
   * Acts on the verdict on one of this peer's messages (`act`: its relay and delivery) as a piece of this
   * peer's work within the turn budget: now, or after what of this peer's waits (PeerWork.afterVerdict says
   * when). The caller counts the message as work in progress (beginWork) until `act` runs, and ends it there.
   */
  afterVerdict(act: () => void): void {
    this.work.afterVerdict(act);
  }

  /**
   * The turn budget's call: acts on the verdicts waiting (also once closed), then handles what waits in the
   * inbox or unread, as far as this turn allows.
   */
  resumeWork(): void {
    const acted = this.work.actOnVerdicts();
    if (acted < 0 || this.isClosed()) return;
    if (!this.inbox.empty) this.handleInbox(acted);
    else this.readUnread();
  }

  /**
   * Handles inbox frames, consensus first and each queue in order, while the turn budget allows; what is left
   * waits for a later turn (or, during the handshake, for the verdict on the peer's identity). After
   * turnQuantumFrames frames, while other connections have frames waiting, it queues behind them (round
   * robin, turn-budget.ts). A frame to verify waits while there is no room for its class (hasRoom); the
   * other queue goes on meanwhile. What a peer sends beyond its share waits in its socket. `handled`: work
   * of this turn's quantum already done (verdicts acted on).
   */
  private handleInbox(handled = 0): void {
    const turn = this.ctx.turn;
    // A queue whose first frame waits for room among the checks in progress.
    let consensusWaits = false;
    let otherWaits = false;
    while (!this.isClosed() && !this.rates.messagesHeld) {
      const queue = !consensusWaits && this.inbox.consensus.length > 0 ? this.inbox.consensus : this.inbox.other;
      const consensus = queue === this.inbox.consensus;
      if (queue.length === 0 || (!consensus && otherWaits)) break;
      if (!turn.mayContinue(handled, this.work.priority)) {
        turn.defer(this, this.work.priority);
        break;
      }
      const msg = queue.peek();
      // Asked last: a message the gate lets through is handled at once, and counts against this one's share.
      if (!this.hasRoom(msg)) {
        if (consensus) consensusWaits = true;
        else otherWaits = true;
        continue;
      }
      handled++;
      this.onFrame(msg, queue.shift());
    }
    if (this.isClosed()) return;
    if (this.inbox.empty) {
      const error = this.inboxError;
      if (error) {
        this.offence(error.code, error.message);
        return this.close(error.code, error.message);
      }
      // bytes the link delivered past a pause come after the frames read before them
      if (this.unread !== null && !this.rates.messagesHeld) return this.readUnread();
    }
    this.updateReading();
  }

  /**
   * Whether `msg` may be handed on now: one to verify waits, socket unread, while the node's checks in
   * progress of its class are at their cap (it queues at that class's gate and is resumed once there is room).
   */
  private hasRoom(msg: Message): boolean {
    if (this.state !== 'open') return true;
    const consensus = consensusChecked.has(msg.t);
    if (!consensus && !broadcastChecked.has(msg.t)) return true;
    const gate = consensus ? this.ctx.consensusGate : this.ctx.gate;
    return gate === undefined || gate.admit(this, this.work.inflight(consensus));
  }

  /**
   * Sealed frames right behind the dialer's last handshake message can overtake our check of its identity:
   * they wait, undecoded, for the verdict (holdForVerdict).
   */
  private awaitingAuthVerdict(): boolean {
    return this.state === 'handshaking' && this.handshake.verdictPending;
  }

  private onFrame(msg: Message, frameBytes: number): void {
    this.stats.framesIn++;
    if (this.state === 'handshaking') return this.onConfirmation(msg, frameBytes);
    this.rates.chargeMessage();
    switch (msg.t) {
      case 'ping':
        this.send({ t: 'pong', n: msg.n });
        return;
      case 'pong': {
        const rttMs = this.keepalive.rttOf(msg.n, this.lastHeardMs);
        if (rttMs !== null) this.minRttMs = Math.min(this.minRttMs, rttMs);
        return;
      }
      case 'reject':
        return this.close(rejectCode(msg.code), `peer closed: ${msg.reason}`, false);
      default:
        this.ctx.events.onMessage(this, msg, frameBytes);
    }
  }

  /**
   * Cuts the next handshake frame from `bytes` (what waits in `unread`) and acts on it; what follows it stays
   * in `unread` (null once all is read), so the bytes after the handshake's last frame go to the sealed-frame
   * decoder.
   */
  private readOneHandshakeFrame(bytes: Uint8Array): void {
    let frame: HandshakeFrame | null;
    let at: number;
    try {
      ({ frame, at } = this.channel.readHandshakeFrame(bytes, 0));
    } catch (e) {
      if (!isStrongcastError(e)) throw e;
      this.unread = null;
      // Another version is a misconfiguration, not an attack: refused without scoring, like today's hello.
      if (e.code !== 'ERR_WRONG_VERSION') this.offence(e.code, e.message);
      return this.close(e.code, e.message);
    }
    this.unread = at === bytes.byteLength ? null : bytes.subarray(at);
    if (frame) this.handshake.onFrame(frame);
  }

  /** The dialer's first sealed frame from the listener: its acceptance (or its reject). */
  private onConfirmation(msg: Message, frameBytes: number): void {
    if (msg.t === 'reject') return this.close(rejectCode(msg.code), `peer refused: ${msg.reason}`, false);
    if (!this.outbound || this.handshake.verdictPending) {
      // unreachable: the listener decodes nothing before its verdict, and the dialer reads no sealed frame before
      this.offence('ERR_BAD_HANDSHAKE', `unexpected '${msg.t}' during the handshake`);
      return this.close('ERR_BAD_HANDSHAKE', `unexpected '${msg.t}' during the handshake`);
    }
    this.stats.framesIn--; // counted again as an open connection's frame
    this.open();
    if (!this.isClosed()) this.onFrame(msg, frameBytes);
  }

  /**
   * The handshake is over on our side: the listener confirms to the dialer with a first sealed frame, and
   * what the dialer sent behind its last handshake message is opened and decoded now, charged to its rates.
   */
  private open(): void {
    this.state = 'open';
    this.wasOpen = true;
    if (!this.outbound) this.send(this.keepalive.firstPing());
    this.timers.push(this.keepalive.start());
    this.ctx.events.onOpen(this);
    if (this.isClosed()) return;
    if (this.unread !== null) this.rates.chargeBytes(this.unread.byteLength, this.ctx.clock.now());
    this.readUnread();
  }
}
