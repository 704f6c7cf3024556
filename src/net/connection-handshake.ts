/**
 * A connection's side of the handshake (peers/handshake.ts, Noise XX), driven over its SecureChannel
 * (secure-channel.ts): each handshake frame answered, refused or, once the peer's identity arrives, checked
 * against the node (ourselves, banned, full) before the signature binding its id to its Noise key is
 * verified; and the deadlines of the handshake and of a dialer's first message. The dialer (initiator) counts
 * the connection open when the first sealed frame from the listener arrives (the listener sends a ping as
 * soon as it accepted the dialer's identity), so a listener that refuses the dialer after the last handshake
 * message is never counted as an open peer by it.
 */
import type { Timer } from '../io/clock.ts';
import { ErrorCodes, type ErrorCode } from '../errors.ts';
import { checkHello, type PeerHello, type SignatureCheck } from '../peers/handshake.ts';
import { encodeNoiseFrame, type HandshakeFrame } from '../wire/handshake-frames.ts';
import type { ConnectionContext } from './connection-context.ts';
import type { SecureChannel } from './secure-channel.ts';

/**
 * Sealed bytes a dialer may send right behind its last handshake message, before our verdict on its identity.
 * They are held as they came, not opened or decoded: nothing of a peer's is decoded before it is authenticated
 * but the handshake frames, read by their small parser (issue 16, item 5). An honest dialer sends nothing sealed
 * before the listener's confirmation but perhaps its reject (about 2 KiB at most); reading stops as soon as any
 * byte waits, so this is one read's worth. More is a protocol error.
 */
export const earlyBytesMax = 64 * 1024;

/** A peer's reject code, if it is one of ours; anything else is reported as a plain close. */
export function rejectCode(code: string): ErrorCode {
  return Object.hasOwn(ErrorCodes, code) ? (code as ErrorCode) : 'ERR_CONNECTION_CLOSED';
}

/** What the handshake needs of its connection. */
export interface HandshakePort {
  /** Whether the connection is still in its handshake (not open, not closed). */
  handshaking(): boolean;
  /** Whether the connection is closed. */
  closed(): boolean;
  /** Whether the dialer's first message came: a frame was handled, or bytes wait for the turn budget. */
  heardFirst(): boolean;
  /** Writes handshake bytes, coalesced with the connection's other writes. */
  write(bytes: Uint8Array): void;
  close(code: ErrorCode, reason: string, tellPeer?: boolean): void;
  /** Reports misbehaviour to score. */
  offence(code: ErrorCode, reason: string): void;
  /** The peer's identity arrived (not yet verified). */
  identified(peer: PeerHello): void;
  /** The handshake is over on our side: the connection opens. */
  open(): void;
}

/** One connection's handshake steps and deadlines. */
export class ConnectionHandshake {
  /**
   * The listener verifies the dialer's identity: what the dialer sent behind it waits, undecoded, in the
   * connection's unread bytes until the verdict.
   */
  verdictPending = false;

  /**
   * @param lane the verifier lane of this connection (its address): a joining peer's one check does not
   *   wait behind others' broadcasts
   * @param stats the connection's frame counts (handshake frames count as frames in)
   */
  constructor(
    private readonly outbound: boolean,
    private readonly channel: SecureChannel,
    private readonly ctx: Pick<ConnectionContext, 'clock' | 'limits' | 'helloContext' | 'verifier'>,
    private readonly lane: string,
    private readonly stats: { framesIn: number },
    private readonly port: HandshakePort,
  ) {}

  /**
   * The deadlines: the handshake must finish within handshakeTimeoutMs, and a dialer's first message must
   * come within handshakeFirstMessageTimeoutMs. The caller cancels the timers when the connection closes.
   */
  startTimers(): Timer[] {
    const { handshakeTimeoutMs, handshakeFirstMessageTimeoutMs } = this.ctx.limits;
    const timers = [
      this.ctx.clock.setTimer(() => {
        if (this.port.handshaking()) this.port.close('ERR_HANDSHAKE_TIMEOUT', `no handshake within ${handshakeTimeoutMs} ms`);
      }, handshakeTimeoutMs),
    ];
    if (this.outbound) return timers;
    // A dialer sends its first message as soon as it is connected: a connection that sends none is cut early.
    // One whose first message arrived but waits for the turn budget has sent it.
    const firstMessageTimer = this.ctx.clock.setTimer(() => {
      if (this.port.handshaking() && !this.port.heardFirst()) {
        this.port.close('ERR_HANDSHAKE_TIMEOUT', `no first handshake message within ${handshakeFirstMessageTimeoutMs} ms`);
      }
    }, handshakeFirstMessageTimeoutMs);
    timers.push(firstMessageTimer);
    return timers;
  }

  /** Acts on one handshake frame from the peer: a reply, a refusal, or the peer's identity to check. */
  onFrame(frame: HandshakeFrame): void {
    this.stats.framesIn++;
    if (frame.t === 'reject') return this.port.close(rejectCode(frame.code), `peer refused: ${frame.reason}`, false);
    const step = this.channel.handshake.receive(frame.message);
    switch (step.t) {
      case 'reply':
        return this.port.write(encodeNoiseFrame(step.message));
      case 'refuse':
        if (step.misbehaved) this.port.offence(step.code, step.reason);
        return this.port.close(step.code, step.reason);
      case 'identify':
        return void this.onIdentity(step.peer, step.proof);
    }
  }

  /**
   * The peer's identity arrived: checked against the node (ourselves, banned, full) before the signature
   * binding its id to its Noise key is verified, and only then does the handshake complete.
   */
  private async onIdentity(peer: PeerHello, proof: SignatureCheck): Promise<void> {
    const port = this.port;
    port.identified(peer);
    // The listener has the keys now (its last message was read): sealed frames behind it wait for the verdict.
    if (!this.outbound) this.channel.startTransport(this.channel.handshake.complete().keys);
    const refusal = checkHello(peer, this.ctx.helloContext);
    // A peer we will not talk to is not an attacker: refused without scoring.
    if (refusal) return port.close(refusal.code, refusal.reason);
    this.verdictPending = !this.outbound;
    let ok = false;
    try {
      // In this connection's lane: a joining peer's one check does not wait behind others' broadcasts.
      [ok = false] = await this.ctx.verifier.verify([proof], this.lane);
    } catch (e) {
      return port.close('ERR_POOL', `verifier failed: ${(e as Error).message}`);
    }
    if (port.closed()) return;
    this.verdictPending = false;
    if (!ok) {
      port.offence('ERR_BAD_PROOF', 'the signature binding the peer id to its Noise key does not verify');
      return port.close('ERR_BAD_PROOF', 'the signature binding the peer id to its Noise key does not verify');
    }
    if (this.outbound) {
      // Our last message (-> s, se); we count the connection open on the listener's first sealed frame.
      const { message, keys } = this.channel.handshake.complete();
      port.write(encodeNoiseFrame(message!));
      return this.channel.startTransport(keys);
    }
    port.open();
  }
}

