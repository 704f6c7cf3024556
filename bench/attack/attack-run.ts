/**
 * One attack as the attacker process runs it: the target, where to send from, a tally of what was done and
 * how the victim answered, the connections to close at the end, and the stop signal every loop checks. An
 * attack runs until the suite says stop, its hard deadline passes, or it has opened attackBounds
 * connections or sent attackBounds frames, whichever comes first, so every loop is bounded in time and count.
 */
import { AttackPeer, type HandshakeOptions } from './attack-peer.ts';
import { Prng } from '../../src/sim/prng.ts';

/** Most connections one attack opens, and most frames it sends: the bounds in count beside the deadline. */
export const attackBounds = { connectionsMax: 200_000, framesMax: 10_000_000 } as const;

/** Where the victim listens and on which network. */
export interface AttackTarget {
  host: string;
  port: number;
  networkId: string;
}

/** What an attack did, and what the victim did about it, for the run's evidence line. */
export interface AttackTally {
  /** TCP connections opened. */
  connections: number;
  /** Connections the victim accepted as peers (handshake complete) or, for attacks that do not wait, whose last message was sent. */
  handshakes: number;
  /** Connections or handshakes that failed: refused, cut at once, timed out. */
  refused: number;
  framesSent: number;
  bytesSent: number;
  /** Bytes the victim sent us. */
  bytesIn: number;
  /** How our connections ended: the victim's reject code, 'closed by the victim' without one we read, or 'closed by us'. */
  closedWith: Record<string, number>;
  /** Attack-specific counts (e.g. sink dials). */
  facts: Record<string, number>;
}

/** State of one running attack. */
export class AttackRun {
  readonly tally: AttackTally = { connections: 0, handshakes: 0, refused: 0, framesSent: 0, bytesSent: 0, bytesIn: 0, closedWith: {}, facts: {} };
  readonly peers = new Set<AttackPeer>();
  readonly rng: Prng;
  #stopped = false;
  #nextSource = 0;
  readonly #wakers = new Set<() => void>();

  constructor(
    readonly target: AttackTarget,
    readonly sources: readonly string[],
    seed: number,
    readonly deadlineMs: number,
    /** Ids (hex) of the honest nodes, for attacks that aim at their trees. */
    readonly honestIds: readonly string[] = [],
  ) {
    this.rng = new Prng(seed);
  }

  /** True until stop(), the hard deadline, or a bound in count. */
  get live(): boolean {
    const t = this.tally;
    return !this.#stopped && Date.now() < this.deadlineMs && t.connections < attackBounds.connectionsMax && t.framesSent < attackBounds.framesMax;
  }

  /** Ends every loop at its next check and wakes every sleeper. */
  stop(): void {
    this.#stopped = true;
    for (const w of this.#wakers) w();
    this.#wakers.clear();
  }

  /** Sleeps `ms`, or less if the attack stops meanwhile. */
  sleep(ms: number): Promise<void> {
    if (!this.live) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.#wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, Math.min(ms, this.deadlineMs - Date.now())));
      this.#wakers.add(done);
    });
  }

  /** The address the next connection leaves from, in turn. */
  source(): string | undefined {
    if (this.sources.length === 0) return undefined;
    return this.sources[this.#nextSource++ % this.sources.length];
  }

  note(fact: string, n = 1): void {
    this.tally.facts[fact] = (this.tally.facts[fact] ?? 0) + n;
  }

  /** Counts frames and bytes written. */
  sent(frames: number, bytes: number): void {
    this.tally.framesSent += frames;
    this.tally.bytesSent += bytes;
  }

  /** Opens a TCP connection from the next source address; null when refused or timed out. */
  async open(): Promise<AttackPeer | null> {
    let p: AttackPeer;
    try {
      p = await AttackPeer.open(this.target.host, this.target.port, this.source());
    } catch {
      this.tally.refused++;
      return null;
    }
    this.tally.connections++;
    this.peers.add(p);
    p.socket.once('close', () => this.#ended(p));
    if (!this.live) {
      p.close();
      return null;
    }
    return p;
  }

  /**
   * Opens a connection and completes a handshake (a fresh key unless given). Resolves with the peer once
   * the victim accepted it (or, without waitAccepted, once our last message is out); null otherwise.
   */
  async handshake(o: Omit<HandshakeOptions, 'networkId'> = {}): Promise<AttackPeer | null> {
    const p = await this.open();
    if (!p) return null;
    const ok = await p.handshake({ waitAccepted: true, ...o, networkId: this.target.networkId });
    if (!ok) {
      this.tally.refused++;
      p.close();
      return null;
    }
    this.tally.handshakes++;
    return p;
  }

  /** Counts a connection's end once: the bytes it received and the victim's reason. */
  #ended(p: AttackPeer): void {
    if (!this.peers.delete(p)) return;
    this.tally.bytesIn += p.bytesIn;
    const code = p.rejectCode ?? (p.closedByUs ? 'closed by us' : 'closed by the victim');
    this.tally.closedWith[code] = (this.tally.closedWith[code] ?? 0) + 1;
  }

  /** Closes every connection still open (counted now: their close events come later). */
  closeAll(): void {
    for (const p of [...this.peers]) {
      p.close();
      this.#ended(p);
    }
  }
}

/** Runs `n` copies of `loop` at once and resolves when all have returned. */
export async function inParallel(n: number, loop: (i: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => loop(i)));
}

/**
 * Keeps writing what `next` gives to `p` while the attack is live and the connection open, as fast as the
 * victim reads: at most `queuedBytesMax` wait in our socket (beyond it we wait a tick, as TCP flow control
 * makes any sender wait), at most `framesPerTick` frames per tick of `tickMs`.
 */
export async function pump(run: AttackRun, p: AttackPeer, next: () => Uint8Array, framesPerTick: number, tickMs = 10, queuedBytesMax = 1 << 20): Promise<void> {
  while (run.live && !p.closed) {
    let frames = 0;
    const batch: Uint8Array[] = [];
    let bytes = 0;
    while (frames < framesPerTick && p.queuedBytes + bytes < queuedBytesMax) {
      const f = next();
      batch.push(f);
      bytes += f.byteLength;
      frames++;
    }
    if (batch.length > 0 && p.sendFrames(batch.length === 1 ? batch[0]! : Buffer.concat(batch))) run.sent(frames, bytes);
    await run.sleep(tickMs);
  }
}
