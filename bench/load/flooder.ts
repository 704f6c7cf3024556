/**
 * The flooder: a Byzantine validator that never takes part in consensus and instead attacks honest nodes
 * over raw connections. It keeps one quiet connection open to capture valid gossip and consensus chains, and
 * on each step of the plan hits a few honest nodes with one kind of abuse:
 *  - dups: the captured valid gossip again and again (with changed hop counts), at a high frame rate;
 *  - replay: old consensus chains and old gossip, long after their instances ended;
 *  - garbage: frames that are not msgpack, an oversized length header, a well-formed frame of an unknown
 *    type, and junk before the handshake;
 *  - badsig: gossip and a consensus chain with a forged signature;
 *  - burst: more frames in one write than a peer's burst allowance.
 * Every abusive connection first uses the flooder's validator key; once a node has banned it, fresh keys
 * (a Sybil peer costs the node a handshake). What the nodes did about it shows in their `offence` events.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { encodeFrame } from '../../src/wire/framing.ts';
import { generateIdentity, type Identity } from '../../src/crypto/keys.ts';
import { gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { maskOf } from '../../src/consensus/bitmask.ts';
import type { Genesis } from '../../src/consensus/genesis.ts';
import type { ConsensusMessage, GossipMessage, Message } from '../../src/wire/schema.ts';
import { RawPeer } from './raw-peer.ts';
import { Prng } from './prng.ts';

/** Captured messages kept for replay, per kind. */
const capturedMax = 512;
/** Duplicate frames per second per target during a dups step. */
const dupsPerSecPerTarget = 800;
/** Frames in one burst write: twice the default peer burst allowance of 10000 messages, so even a slow reader drops some. */
const burstFrames = 20_000;
/** Bursts sent to one target, a second apart, while it keeps the connection open. */
const burstRoundsMax = 4;
/** Forged messages per target in a badsig step. */
const badSigsPerTarget = 3;
/**
 * Frames a replay step writes to each target at least: the old gossip is sent again, pass after pass, until
 * there are this many. A target counts them among its duplicates, beside those ordinary gossip brings (about
 * a hundred a second at the run's load), so a step of a few hundred frames could hide in that noise.
 */
const replayFramesMinPerTarget = 1200;
/** Longest wait for a target to read a replay step's frames before the connection is cut, in ms. */
const replayReadWaitMs = 10_000;
/** How long a new abusive connection must stay open before a dups, replay, badsig or burst step writes to it, in ms. */
const openSettleMs = 150;
/** Longest wait for captured gossip before a dups or replay step, in ms. */
const captureWaitMs = 3000;

/** What the flooder did, for the run's report. */
export interface FloodReport {
  steps: Record<string, number>;
  framesSent: number;
  bytesSent: number;
  connectionsOpened: number;
  handshakesRefused: number;
  /** Reject codes the nodes closed abusive connections with, counted. */
  closedWith: Record<string, number>;
  /** Nodes that refused the flooder's validator key at the handshake (it is banned there). */
  bannedValidatorKeyAt: number[];
  captured: { gossip: number; chains: number };
}

/** What one flood step did, for the run to hold against what the targets saw. */
export interface FloodStepResult {
  /** One line for the run's log. */
  text: string;
  frames: number;
  /** Frames written to each target (validator index). */
  framesTo: Record<number, number>;
  /** When the step's first and last frames were written (ms since the epoch); null when none was. */
  firstFrameMs: number | null;
  lastFrameMs: number | null;
  /** When the step was over at the flooder: its connections closed, for a replay once the targets read it all. */
  doneMs: number | null;
}

/** The flooder's state and steps. */
export class Flooder {
  readonly #genesis: Genesis;
  readonly #identity: Identity;
  readonly #rng: Prng;
  readonly #gossip: GossipMessage[] = [];
  readonly #chains: Array<{ msg: ConsensusMessage; atMs: number }> = [];
  #capture: RawPeer | null = null;
  readonly #bannedAt = new Set<number>();
  readonly #open = new Set<RawPeer>();
  /** Target of each abusive connection, so frames are counted per target. */
  readonly #targetOf = new Map<RawPeer, number>();
  /**
   * The step a frame belongs to, carried along each step's own calls: steps overlap (one may start while
   * the last still waits for its targets to close connections), and one shared "current step" gave the
   * frames of the later one to the earlier, or to none once the earlier ended (a badsig step's frames to two
   * of its three targets went uncounted that way, though both targets charged them).
   */
  readonly #stepOf = new AsyncLocalStorage<FloodStepResult>();
  readonly report: FloodReport = {
    steps: {},
    framesSent: 0,
    bytesSent: 0,
    connectionsOpened: 0,
    handshakesRefused: 0,
    closedWith: {},
    bannedValidatorKeyAt: [],
    captured: { gossip: 0, chains: 0 },
  };

  /** Addresses to send from, in turn (with --hosts; none on loopback, where nodes never ban an address). */
  readonly #sources: readonly string[];
  #nextSource = 0;

  constructor(genesis: Genesis, identity: Identity, seed: number, sources: readonly string[] = []) {
    this.#genesis = genesis;
    this.#identity = identity;
    this.#rng = new Prng(seed);
    this.#sources = sources;
  }

  /** The address the next connection leaves from: each its own, in turn, as a flooder with many addresses. */
  #source(): string | undefined {
    if (this.#sources.length === 0) return undefined;
    return this.#sources[this.#nextSource++ % this.#sources.length];
  }

  /**
   * Runs one step of the plan against the honest validators `targets` (indices) and says what it did: frames
   * sent (per target, and when), and how the nodes closed the abusive connections.
   */
  async step(step: string, targets: number[], durMs: number, captureFrom: number[]): Promise<FloodStepResult> {
    this.report.steps[step] = (this.report.steps[step] ?? 0) + 1;
    const closed0 = { ...this.report.closedWith };
    const refused0 = this.report.handshakesRefused;
    const result: FloodStepResult = { text: '', frames: 0, framesTo: {}, firstFrameMs: null, lastFrameMs: null, doneMs: null };
    await this.#stepOf.run(result, async () => {
      await this.#ensureCapture(captureFrom);
      // Duplicates and replays need captured traffic: a step early in the run waits for some, so it happens.
      if (step === 'dups' || step === 'replay') await this.#waitForCapture(captureWaitMs);
      await this.#run(step, targets.map((t) => ({ index: t, ...this.#addressOf(t) })), durMs);
    });
    result.doneMs = Date.now();
    // Let the close events of the last connections arrive.
    await sleep(200);
    const closed = Object.entries(this.report.closedWith)
      .map(([code, n]) => [code, n - (closed0[code] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([code, n]) => `${code} x${n}`);
    const refused = this.report.handshakesRefused - refused0;
    result.frames = Object.values(result.framesTo).reduce((a, n) => a + n, 0);
    result.text = `${result.frames} frames; connections closed: ${closed.join(', ') || 'none'}${refused ? `; ${refused} handshakes refused` : ''}`;
    return result;
  }

  /** Waits until the capture connection has recorded some gossip, at most `ms`. */
  async #waitForCapture(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.#gossip.length === 0 && Date.now() < end) await sleep(50);
  }

  /** Counts `frames` frames of `bytes` bytes written to `p` in the current step. */
  #count(p: RawPeer, frames: number, bytes: number): void {
    this.report.framesSent += frames;
    this.report.bytesSent += bytes;
    const s = this.#stepOf.getStore();
    const target = this.#targetOf.get(p);
    if (!s || target === undefined) return;
    s.framesTo[target] = (s.framesTo[target] ?? 0) + frames;
    const now = Date.now();
    s.firstFrameMs ??= now;
    s.lastFrameMs = now;
  }

  async #run(step: string, ports: Array<{ index: number; host: string; port: number }>, durMs: number): Promise<void> {
    switch (step) {
      case 'dups':
        return this.#dups(ports, durMs);
      case 'replay':
        return this.#replay(ports);
      case 'garbage':
        return this.#garbage(ports);
      case 'badsig':
        return this.#badSig(ports);
      case 'burst':
        return this.#burst(ports);
      default:
        throw new Error(`unknown flood step ${step}`);
    }
  }

  /** Closes every connection. */
  stop(): void {
    this.#capture?.close();
    for (const p of this.#open) p.close();
    this.#open.clear();
  }

  /** Where validator `index` listens (the genesis says: loopback, or its namespace's address). */
  #addressOf(index: number): { host: string; port: number } {
    const v = this.#genesis.validators[index];
    if (!v) throw new Error(`no validator ${index}`);
    return { host: v.host, port: v.port };
  }

  /** Keeps one well-behaved connection (fresh key) that records what the node floods to it. */
  async #ensureCapture(candidates: number[]): Promise<void> {
    if (this.#capture && !this.#capture.closed) return;
    for (const index of candidates) {
      try {
        const a = this.#addressOf(index);
        const p = await RawPeer.handshake(a.host, a.port, this.#genesis.networkId, generateIdentity(), this.#source());
        p.onMessage = (m) => this.#onCaptured(m);
        this.#capture = p;
        return;
      } catch {
        // that node is down or busy: try the next
      }
    }
  }

  #onCaptured(m: Message): void {
    if (m.t === 'gossip') {
      this.#gossip.push(m);
      if (this.#gossip.length > capturedMax) this.#gossip.shift();
      this.report.captured.gossip++;
    } else if (m.t === 'ds') {
      this.#chains.push({ msg: m, atMs: Date.now() });
      if (this.#chains.length > capturedMax) this.#chains.shift();
      this.report.captured.chains++;
    }
  }

  /**
   * An abusive connection to one node: the validator key unless that node banned it, else a fresh key. With
   * many source addresses, an address the node banned (it drops the connection before any handshake) is
   * skipped for the next, a few times.
   */
  async #attackPeer(t: { index: number; host: string; port: number }, triesLeft = Math.min(4, this.#sources.length)): Promise<RawPeer | null> {
    const useOwnKey = !this.#bannedAt.has(t.index);
    try {
      const p = await RawPeer.handshake(t.host, t.port, this.#genesis.networkId, useOwnKey ? this.#identity : generateIdentity(), this.#source());
      this.report.connectionsOpened++;
      this.#open.add(p);
      this.#targetOf.set(p, t.index);
      p.socket.once('close', () => {
        this.#open.delete(p);
        this.#targetOf.delete(p);
        const code = p.rejectCode ?? 'closed';
        this.report.closedWith[code] = (this.report.closedWith[code] ?? 0) + 1;
      });
      return p;
    } catch (e) {
      this.report.handshakesRefused++;
      if (useOwnKey && /ERR_BANNED/.test((e as Error).message)) {
        this.#bannedAt.add(t.index);
        this.report.bannedValidatorKeyAt = [...this.#bannedAt].sort((a, b) => a - b);
        return this.#attackPeer(t, triesLeft);
      }
      return triesLeft > 1 ? this.#attackPeer(t, triesLeft - 1) : null;
    }
  }

  #write(p: RawPeer, frame: Uint8Array): boolean {
    if (!p.sendFrames(frame)) return false;
    this.#count(p, 1, frame.byteLength);
    return true;
  }

  async #dups(targets: Array<{ index: number; host: string; port: number }>, durMs: number): Promise<void> {
    if (this.#gossip.length === 0) return;
    const peers = (await Promise.all(targets.map((t) => this.#openAttackPeer(t)))).filter((p): p is RawPeer => p !== null);
    const tickMs = 50;
    const perTick = Math.ceil((dupsPerSecPerTarget * tickMs) / 1000);
    const end = Date.now() + durMs;
    let i = 0;
    while (Date.now() < end && peers.some((p) => !p.closed)) {
      for (const p of peers) {
        // Do not queue without end in our own memory when the node reads slowly (that is its flow control).
        if (p.closed || p.queuedBytes > 1 << 20) continue;
        for (let j = 0; j < perTick; j++) {
          const g = this.#gossip[i++ % this.#gossip.length] as GossipMessage;
          this.#write(p, encodeFrame({ ...g, hops: this.#rng.int(0, 8) }));
        }
      }
      await sleep(tickMs);
    }
    for (const p of peers) p.close();
  }

  async #replay(targets: Array<{ index: number; host: string; port: number }>): Promise<void> {
    const oldMs = Date.now() - (this.#genesis.faults + 2) * this.#genesis.roundMs;
    const chains = this.#chains.filter((c) => c.atMs < oldMs).map((c) => c.msg);
    const gossip = this.#gossip.slice(0, Math.floor(this.#gossip.length / 2));
    const peers = (await Promise.all(targets.map((t) => this.#openAttackPeer(t)))).filter((p): p is RawPeer => p !== null);
    const frames = [...chains, ...gossip].map((m) => encodeFrame(m));
    for (const p of peers) {
      for (let sent = 0; frames.length > 0 && sent < replayFramesMinPerTarget; ) {
        for (const f of frames) this.#write(p, f);
        sent += frames.length;
      }
    }
    // Until each target has read every frame (a close right after the writes drops what is still queued).
    await Promise.all(peers.map((p) => p.finish(replayReadWaitMs)));
  }

  async #garbage(targets: Array<{ index: number; host: string; port: number }>): Promise<void> {
    const kinds: Array<(p: RawPeer) => void> = [
      // random bytes as a frame body: not msgpack (or not a message)
      (p) => {
        const body = randomBytes(this.#rng.int(8, 200));
        const frame = Buffer.alloc(4 + body.byteLength);
        frame.writeUInt32BE(body.byteLength, 0);
        body.copy(frame, 4);
        this.#write(p, frame);
      },
      // a length header above any frame limit
      (p) => {
        const frame = Buffer.alloc(8);
        frame.writeUInt32BE(0x7fffffff, 0);
        this.#write(p, frame);
      },
      // a well-formed msgpack map of a type nobody speaks
      (p) => this.#write(p, encodeFrame({ t: 'zap', x: 1 } as unknown as Message)),
    ];
    for (const t of targets) {
      for (const kind of kinds) {
        const p = await this.#attackPeer(t);
        if (!p) continue;
        kind(p);
        await p.waitClosed(2000);
        p.close();
      }
      // junk before any handshake
      try {
        const p = await RawPeer.open(t.host, t.port, this.#source());
        this.report.connectionsOpened++;
        this.#targetOf.set(p, t.index);
        this.#write(p, randomBytes(64));
        await p.waitClosed(2000);
        p.close();
        this.#targetOf.delete(p);
      } catch {
        // refused outright: fine
      }
    }
  }

  /**
   * An abusive connection that is still open a moment after the handshake. A node may take the handshake and
   * then close the connection at once as banned (a key it banned while we were connecting, or one whose score
   * the first charge pushes over): the step then tries again with a fresh key, from the next address, a few
   * times, so a target that still accepts new peers gets the step's frames.
   */
  async #openAttackPeer(t: { index: number; host: string; port: number }, triesLeft = 4): Promise<RawPeer | null> {
    const p = await this.#attackPeer(t);
    if (!p) return null;
    await p.waitClosed(openSettleMs);
    if (!p.closed) return p;
    if (p.rejectCode === 'ERR_BANNED') this.#bannedAt.add(t.index);
    return triesLeft > 1 ? this.#openAttackPeer(t, triesLeft - 1) : null;
  }

  async #badSig(targets: Array<{ index: number; host: string; port: number }>): Promise<void> {
    const g = this.#genesis;
    for (const t of targets) {
      const p = await this.#openAttackPeer(t);
      if (!p) continue;
      for (let i = 0; i < badSigsPerTarget && !p.closed; i++) {
        const origin = this.#identity;
        const unsigned = { origin: origin.publicKey, seq: Date.now() * 1000 + i, topic: 'chat', data: randomBytes(32) };
        const sig = origin.sign(gossipSignedBytes(g.networkId, unsigned));
        sig[0] = (sig[0] ?? 0) ^ 0xff;
        this.#write(p, encodeFrame({ t: 'gossip', ...unsigned, hops: 0, sig }));
        // a consensus chain for the current round in an honest miner's name, with a made-up signature
        const round = Math.floor((Date.now() - g.startMs) / g.roundMs);
        const miner = t.index;
        const forged: ConsensusMessage = {
          t: 'ds',
          block: { miner, t0: round, ts: Date.now(), payload: randomBytes(16) },
          mask: maskOf(g.validators.length, [miner]),
          signers: [miner],
          sigs: randomBytes(64),
          hops: 0,
        };
        this.#write(p, encodeFrame(forged));
        await sleep(100);
      }
      await p.waitClosed(1500);
      p.close();
    }
  }

  async #burst(targets: Array<{ index: number; host: string; port: number }>): Promise<void> {
    const ping = encodeFrame({ t: 'ping', n: 1 });
    const burst = Buffer.concat(Array.from({ length: burstFrames }, () => ping));
    // All targets at once: a node holds a peer over its rate (backpressure) rather than cutting it, so a
    // burst now runs its rounds to the end at each target, and one after the other the last targets of a
    // step were never reached.
    await Promise.all(
      targets.map(async (t) => {
        const p = await this.#openAttackPeer(t);
        if (!p) return;
        // Again each second, until the target cuts the connection or the rounds are done: a node on a busy
        // machine may handle one burst no faster than its rate allows, and then nothing is over it.
        for (let round = 0; round < burstRoundsMax && !p.closed; round++) {
          if (p.sendFrames(burst)) this.#count(p, burstFrames, burst.byteLength);
          await p.waitClosed(1000);
        }
        p.close();
      }),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
