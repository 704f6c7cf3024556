/**
 * The load generator of the ingest benchmark (bench/ingest.ts), in its own OS process so its CPU is measured
 * apart from the node's. It signs every broadcast before any measurement (`prepare`: many origins, one
 * gossip frame each, encoded once and kept), then replays them as prepared frames through `peers` real
 * connections (`connect`: the normal encrypted handshake with a key of its own per connection). Sealing is
 * per connection (the transport cipher's nonce is a counter), so each frame is sealed as it is sent, in this
 * process, which is what the generator spends its CPU on; `send` reports that CPU.
 *
 * Message i comes from origin i mod origins and goes over peer i mod peers (origins is a multiple of peers),
 * so each origin reaches the node over one connection, as a broadcast tree feeds it, and every peer carries
 * the same rate. After the warm-up (`prune`), each peer sends PRUNE for every origin except those whose child
 * it is (origin o's child is peer (o + 1) mod peers): the node then relays each broadcast in full to one
 * peer and announces its id (IHAVE) to the others, as an inner node of a settled tree does. The peers read
 * and discard everything the node sends: they never decrypt it.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { identityFromSeed, type Identity } from '../../src/crypto/keys.ts';
import { gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { encodeGossipFrame } from '../../src/wire/gossip-codec.ts';
import { framingDefaults } from '../../src/wire/framing.ts';
import { SecureSession } from '../../test/helpers/secure-session.ts';
import { serveChild } from '../child-serve.ts';

/** Bytes of every benchmark message's data: its index (u32 BE), then filler. */
export const payloadBytes = 128;
/** Topic of benchmark messages. */
export const benchTopic = 'ingest';
/** Messages signed per turn of `prepare` before the loop gets a turn (keepalives, IPC). */
const signChunk = 2048;
/** Frames are kept in blocks of this many. */
const blockMessages = 16384;
/** Time a connection and its handshake may take, in ms. */
const handshakeTimeoutMs = 5000;
/**
 * While a peer's socket holds more than this many bytes it could not yet hand to the kernel (the node does
 * not read fast enough), the generator sends nothing: it falls behind instead of queueing without bound.
 */
const writeBacklogBytesMax = 1 << 20;
/** A send request never runs longer than its nominal duration plus this, in ms. */
const sendSlackMs = 5000;
/** While a long prepare runs, the open peers send a ping this often so the node does not find them idle, in ms. */
const keepaliveMs = 2000;
/** How often the process checks that its parent is still there, in ms. */
const parentCheckMs = 500;
/** The process exits by itself if the parent has not stopped it within this, in ms. */
const lifetimeMaxMs = 15 * 60_000;

/** Requests from the parent. */
export type GeneratorRequest =
  | { rid: number; cmd: 'prepare'; networkId: string; origins: number; count: number }
  | { rid: number; cmd: 'connect'; port: number; peers: number }
  | { rid: number; cmd: 'prune' }
  | { rid: number; cmd: 'send'; from: number; count: number; ratePerSec: number }
  | { rid: number; cmd: 'disconnect' }
  | { rid: number; cmd: 'stop' };

/** Result of `prepare`. */
export interface Prepared {
  /** Messages signed and kept in all. */
  messages: number;
  /** Bytes of the largest frame (plaintext, header included). */
  frameBytesMax: number;
  /** Time spent signing and encoding in this request, ms. */
  signMs: number;
}

/** Result of `send`. */
export interface SendResult {
  sent: number;
  /** Machine-clock ms of each sending tick, and the offset (in the step) its messages end before. */
  tickAtMs: Float64Array;
  tickEnd: Uint32Array;
  firstAtMs: number;
  lastAtMs: number;
  /** Ticks that sent nothing because a socket held too much unsent data. */
  backlogTicks: number;
  /** This process's CPU during the send, ms (sealing, writing, reading what the node relays). */
  cpuMs: number;
  wallMs: number;
  /** Bytes the node sent us during the send (relays, IHAVE, pings), all peers. */
  bytesIn: number;
}

/** The signed frames, in blocks: frame i is block i / blockMessages at its offsets. */
class FrameStore {
  private readonly blocks: { buf: Buffer; offsets: Uint32Array }[] = [];
  count = 0;
  frameBytesMax = 0;
  private networkId = '';
  private origins: Identity[] = [];

  /** Makes the store hold at least `count` messages of `origins` origins (starting afresh if those change). */
  async ensure(networkId: string, origins: number, count: number, keepalive: () => void): Promise<Prepared> {
    const started = performance.now();
    if (networkId !== this.networkId || origins !== this.origins.length) {
      this.networkId = networkId;
      // Fixed seeds: the same origins every run.
      this.origins = Array.from({ length: origins }, (_, o) => identityFromSeed(seedOf(o)));
      this.blocks.length = 0;
      this.count = 0;
    }
    let lastKeepalive = performance.now();
    while (this.count < count) {
      this.signBlock();
      if (performance.now() - lastKeepalive > keepaliveMs) {
        keepalive();
        lastKeepalive = performance.now();
      }
      await new Promise((r) => setImmediate(r));
    }
    return { messages: this.count, frameBytesMax: this.frameBytesMax, signMs: performance.now() - started };
  }

  /** Signs up to signChunk more messages into the last block (a new one when it is full). */
  private signBlock(): void {
    let block = this.blocks[this.blocks.length - 1];
    if (!block || this.count % blockMessages === 0) {
      block = { buf: Buffer.alloc(0), offsets: new Uint32Array(blockMessages + 1) };
      this.blocks.push(block);
    }
    const frames: Buffer[] = [block.buf];
    let at = block.buf.byteLength;
    const first = this.count % blockMessages;
    const n = Math.min(signChunk, blockMessages - first);
    for (let j = 0; j < n; j++) {
      const frame = this.frame(this.count + j);
      block.offsets[first + j] = at;
      at += frame.byteLength;
      block.offsets[first + j + 1] = at;
      frames.push(frame);
      if (frame.byteLength > this.frameBytesMax) this.frameBytesMax = frame.byteLength;
    }
    block.buf = Buffer.concat(frames);
    this.count += n;
  }

  /** The gossip frame of message i, signed by its origin. */
  private frame(i: number): Buffer {
    const origins = this.origins.length;
    const origin = this.origins[i % origins] as Identity;
    const data = Buffer.alloc(payloadBytes);
    data.writeUInt32BE(i, 0);
    for (let b = 4; b < payloadBytes; b++) data[b] = (i * 31 + b * 7) & 0xff;
    const unsigned = { origin: origin.publicKey, seq: Math.floor(i / origins) + 1, topic: benchTopic, data };
    const sig = origin.sign(gossipSignedBytes(this.networkId, unsigned));
    return encodeGossipFrame({ t: 'gossip', ...unsigned, hops: 0, sig }, 0, framingDefaults.frameBytesMax);
  }

  /** Frame i, as a view. */
  get(i: number): Buffer {
    const block = this.blocks[Math.floor(i / blockMessages)];
    if (!block || i >= this.count) throw new Error(`message ${i} was not prepared (${this.count} are)`);
    const j = i % blockMessages;
    return block.buf.subarray(block.offsets[j], block.offsets[j + 1]);
  }

  /** Public key of origin o. */
  originKey(o: number): Uint8Array {
    return (this.origins[o] as Identity).publicKey;
  }

  get originCount(): number {
    return this.origins.length;
  }
}

/** The seed of origin o (and, with the top byte set, of connection key o). */
function seedOf(o: number, connection = false): Uint8Array {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, o);
  seed[31] = connection ? 0xc0 : 0x0a;
  return seed;
}

/** One connection to the node: handshake, then sealed frames out and everything in discarded. */
class IngestPeer {
  bytesIn = 0;
  closed = false;
  private pingSeq = 0;

  private constructor(
    readonly socket: Socket,
    private readonly session: SecureSession,
  ) {
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  /** Connects and completes the handshake; resolves once the node has confirmed with its first sealed frame. */
  static open(port: number, networkId: string, key: Identity): Promise<IngestPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      const session = new SecureSession({ key, networkId, initiator: true });
      const fail = (e: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new Error(`no handshake with port ${port} within ${handshakeTimeoutMs} ms`)), handshakeTimeoutMs);
      socket.once('error', fail);
      socket.once('connect', () => {
        for (const b of session.start()) socket.write(b);
      });
      const onData = (chunk: Buffer): void => {
        const { out, messages, error } = session.push(chunk);
        for (const b of out) socket.write(b);
        if (error) return fail(new Error(`handshake failed: ${error.code} ${error.message}`));
        if (messages.length === 0) return;
        // Confirmed: from here on everything the node sends is counted and dropped unread.
        clearTimeout(timer);
        socket.off('error', fail);
        socket.off('data', onData);
        const peer = new IngestPeer(socket, session);
        socket.on('data', (c: Buffer) => (peer.bytesIn += c.byteLength));
        resolve(peer);
      };
      socket.on('data', onData);
    });
  }

  /** Seals a plaintext frame and writes it (within a cork the caller holds). */
  sendFrame(frame: Uint8Array): void {
    this.socket.write(this.session.sealFrame(frame));
  }

  /** A ping, so the node hears from us while nothing else is sent. */
  ping(): void {
    if (!this.closed) this.socket.write(this.session.seal({ t: 'ping', n: ++this.pingSeq }));
  }

  /** A PRUNE of one origin's tree. */
  prune(origin: Uint8Array): void {
    this.socket.write(this.session.seal({ t: 'prune', origin }));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

class Generator {
  private readonly store = new FrameStore();
  private peers: IngestPeer[] = [];
  private networkId = '';

  handle(req: GeneratorRequest): Promise<unknown> {
    switch (req.cmd) {
      case 'prepare':
        this.networkId = req.networkId;
        return this.store.ensure(req.networkId, req.origins, req.count, () => this.keepalive());
      case 'connect':
        return this.connect(req.port, req.peers);
      case 'prune':
        return Promise.resolve(this.prune());
      case 'send':
        return this.send(req.from, req.count, req.ratePerSec);
      case 'disconnect':
        return Promise.resolve(this.disconnect());
      case 'stop':
        return Promise.resolve(this.disconnect());
    }
  }

  private keepalive(): void {
    for (const p of this.peers) p.ping();
  }

  private async connect(port: number, peers: number): Promise<{ peers: number }> {
    this.disconnect();
    if (this.store.originCount % peers !== 0) throw new Error(`origins (${this.store.originCount}) must be a multiple of peers (${peers})`);
    this.peers = await Promise.all(Array.from({ length: peers }, (_, k) => IngestPeer.open(port, this.networkId, identityFromSeed(seedOf(k, true)))));
    return { peers: this.peers.length };
  }

  /** Every peer prunes every origin except those whose child it is (see the file comment). */
  private prune(): { prunes: number } {
    const n = this.peers.length;
    let prunes = 0;
    for (let o = 0; o < this.store.originCount; o++) {
      for (let k = 0; k < n; k++) {
        if (k === (o + 1) % n) continue;
        this.peers[k]?.prune(this.store.originKey(o));
        prunes++;
      }
    }
    return { prunes };
  }

  private disconnect(): { ok: true } {
    for (const p of this.peers) p.close();
    this.peers = [];
    return { ok: true };
  }

  /** Sends messages [from, from + count) at `ratePerSec`, message i over peer i mod peers; bounded in time. */
  private send(from: number, count: number, ratePerSec: number): Promise<SendResult> {
    const peers = this.peers;
    if (peers.length === 0) throw new Error('not connected');
    if (from + count > this.store.count) throw new Error(`messages up to ${from + count} needed, ${this.store.count} prepared`);
    const cpu0 = process.cpuUsage();
    const bytesIn0 = peers.reduce((a, p) => a + p.bytesIn, 0);
    const start = performance.now();
    const deadline = start + (count / ratePerSec) * 1000 + sendSlackMs;
    const tickAt: number[] = [];
    const tickEnd: number[] = [];
    let next = 0;
    let backlogTicks = 0;
    return new Promise((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const due = Math.min(count, Math.floor(((now - start) * ratePerSec) / 1000) + 1);
        if (peers.some((p) => p.socket.writableLength > writeBacklogBytesMax)) backlogTicks++;
        else if (due > next) {
          for (const p of peers) p.socket.cork();
          for (; next < due; next++) {
            const i = from + next;
            (peers[i % peers.length] as IngestPeer).sendFrame(this.store.get(i));
          }
          for (const p of peers) p.socket.uncork();
          tickAt.push(performance.timeOrigin + now);
          tickEnd.push(next);
        }
        if (next < count && performance.now() < deadline && !peers.some((p) => p.closed)) {
          setTimeout(tick, 1);
          return;
        }
        const cpu = process.cpuUsage(cpu0);
        resolve({
          sent: next,
          tickAtMs: Float64Array.from(tickAt),
          tickEnd: Uint32Array.from(tickEnd),
          firstAtMs: tickAt[0] ?? 0,
          lastAtMs: tickAt[tickAt.length - 1] ?? 0,
          backlogTicks,
          cpuMs: (cpu.user + cpu.system) / 1000,
          wallMs: performance.now() - start,
          bytesIn: peers.reduce((a, p) => a + p.bytesIn, 0) - bytesIn0,
        });
      };
      tick();
    });
  }
}

function main(): void {
  const generator = new Generator();
  serveChild<GeneratorRequest>((req) => generator.handle(req), { parentCheckMs, lifetimeMaxMs });
}

if (process.send) main();
