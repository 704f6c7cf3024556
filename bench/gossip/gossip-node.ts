/**
 * One node of the gossip benchmark (bench/gossip.ts), in its own OS process so that the figures are honest
 * about CPU: every node parses, verifies and relays on whatever share of the cores the OS gives it.
 *
 * The parent drives it over the IPC channel with small requests (`start`, `connect`, `phase`, `publish`,
 * `progress`, `report`, `stop`), each answered once. The node records, per measured phase, every delivery of
 * a message published in that phase with its end-to-end latency, ids delivered more than once, frames sent,
 * verifications run, CPU time, the largest event-loop delay and the peak resident memory.
 *
 * A benchmark payload is exactly `payloadBytes` bytes: publish time (float64, ms on the machine clock, which
 * every process on one host shares), phase (u16), publisher index (u16), message index (u32), then filler.
 */
import { performance } from 'node:perf_hooks';
import { createNode, type StrongcastNode } from '../../src/index.ts';
import { createMainThreadVerifier } from '../../src/crypto/main-thread-verifier.ts';
import { createVerifyPool, type VerifyPool } from '../../src/crypto/verify-pool.ts';
import type { GossipMode } from '../../src/gossip/plumtree.ts';
import { serveChild } from '../child-serve.ts';
import { StallMeter, type StallFigures } from './stall-meter.ts';

/** Bytes of every benchmark message's data. */
export const payloadBytes = 128;
/** Topic of benchmark messages. */
export const benchTopic = 'bench';
/**
 * How often the node reads its process CPU time (for the stall figures) and resident memory, in ms: one
 * JavaScript timer for both. Each wake-up of an idle node costs CPU that the figures would charge to the node
 * (stall-meter.ts); peaks of resident memory between readings are caught by the kernel's own maximum.
 */
export const readingMs = 100;
/** Readings kept to cover a stall: a minute's worth, longer than any stall a phase survives. */
const readingsKept = 600;
/** Messages a burst publisher signs before it yields to the event loop (so it keeps relaying). */
const burstChunk = 32;
/** A publish request never runs longer than its nominal duration plus this, in ms. */
const publishSlackMs = 10_000;
/** Interval of the (native) timer whose lateness measures event-loop stalls, in ms. */
export const stallTickMs = 10;
/** How often the process checks that its parent is still there, in ms. */
const parentCheckMs = 500;
/** The process exits by itself if the parent has not stopped it within this, in ms. */
const lifetimeMaxMs = 15 * 60_000;

/** Which verifier a benchmark node uses. */
export type VerifierKind = 'main' | 'pool';

/** Requests from the parent; `rid` pairs a request with its reply. */
export type NodeRequest =
  | { rid: number; cmd: 'start'; index: number; verifier: VerifierKind; mode: GossipMode; networkId: string }
  | { rid: number; cmd: 'connect'; ports: number[] }
  | { rid: number; cmd: 'phase'; phase: number }
  | { rid: number; cmd: 'publish'; phase: number; publisher: number; count: number; ratePerSec: number }
  | { rid: number; cmd: 'progress'; phase: number }
  | { rid: number; cmd: 'report'; phase: number }
  | { rid: number; cmd: 'stop' };

/** Result of `start`. */
export interface StartResult {
  port: number;
  id: string;
  /** Resident memory right after the node started, before any traffic (the runtime and module loader), MB. */
  rssMb: number;
}

/** Result of `publish`. */
export interface PublishResult {
  published: number;
  failed: number;
  /** Machine-clock ms of the first and last publish. */
  firstAtMs: number;
  lastAtMs: number;
}

/** Result of `progress`: the phase's distinct deliveries so far and the open peers. */
export interface ProgressResult {
  delivered: number;
  peers: number;
}

/** Result of `report`: everything measured on this node since the `phase` request. */
export interface PhaseReport {
  /** Distinct messages of the phase delivered to the application. */
  delivered: number;
  /** End-to-end latency of each first delivery, ms. */
  latenciesMs: Float64Array;
  /** Machine-clock ms of the last delivery of a phase message (0 if none). */
  lastDeliveryAtMs: number;
  /** Deliveries of an id this node had delivered already (any phase). */
  duplicatesDelivered: number;
  /** Deliveries of messages from an earlier phase that arrived during this one. */
  lateFromEarlierPhases: number;
  /** Frames this node wrote to its peers during the phase (gossip, relays, pings). */
  framesSent: number;
  /** Copies dropped as duplicates before verification. */
  duplicateCopiesDropped: number;
  /** Broadcast-tree frames this node sent during the phase: id announcements, requests for missing messages, prunes. */
  ihaveFrames: number;
  graftFrames: number;
  pruneFrames: number;
  /** Signatures the verifier ran during the phase. */
  signaturesVerified: number;
  /** Messages the gossip core verified valid during the phase. */
  verifiedOk: number;
  /** Process CPU time (user + system) during the phase, ms, and the system (kernel) part of it. */
  cpuMs: number;
  cpuSystemMs: number;
  /** Wall time of the phase on this node, ms. */
  wallMs: number;
  /** Event-loop stalls during the phase, and what they were made of (stall-meter.ts). */
  stalls: StallFigures;
  /** Peak resident set size during the phase and since start, MB. */
  peakRssMb: number;
  peakRssMbSinceStart: number;
  /** Open peers at report time, disconnections and offences since start. */
  peers: number;
  disconnects: number;
  offences: number;
}

/** The state of one benchmark node process. */
class BenchNode {
  private node: StrongcastNode | null = null;
  private verifier: VerifyPool | null = null;
  private index = 0;
  private phase = -1;
  private readonly everDelivered = new Set<string>();
  private latencies: number[] = [];
  private phaseIds = new Set<string>();
  private lastDeliveryAtMs = 0;
  private duplicatesDelivered = 0;
  private lateFromEarlierPhases = 0;
  private disconnects = 0;
  private offences = 0;
  private base = { framesSent: 0, duplicates: 0, ihaveFrames: 0, graftFrames: 0, pruneFrames: 0, signaturesVerified: 0, verifiedOk: 0, wallMs: 0, cpu: process.cpuUsage() };
  private peakRss = 0;
  private peakRssPhase = 0;
  /** The kernel's peak resident memory of the process when the phase began, bytes. */
  private maxRssAtPhase = 0;
  private readonly readingTimer: NodeJS.Timeout;
  private readonly stalls = new StallMeter(stallTickMs, readingsKept);

  constructor() {
    this.sampleRss();
    this.readingTimer = setInterval(() => {
      this.stalls.sample();
      this.sampleRss();
    }, readingMs);
  }

  async handle(req: NodeRequest): Promise<unknown> {
    switch (req.cmd) {
      case 'start':
        return this.start(req.index, req.verifier, req.mode, req.networkId);
      case 'connect':
        return this.connect(req.ports);
      case 'phase':
        return this.beginPhase(req.phase);
      case 'publish':
        return this.publish(req.phase, req.publisher, req.count, req.ratePerSec);
      case 'progress':
        return { delivered: this.phaseIds.size, peers: this.requireNode().peers().length } satisfies ProgressResult;
      case 'report':
        return this.report();
      case 'stop':
        return this.stop();
    }
  }

  private requireNode(): StrongcastNode {
    if (!this.node) throw new Error('node not started');
    return this.node;
  }

  private sampleRss(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peakRss) this.peakRss = rss;
    if (rss > this.peakRssPhase) this.peakRssPhase = rss;
  }

  /** The kernel's peak resident memory of the process so far (getrusage ru_maxrss, in KiB on Linux), bytes. */
  private maxRss(): number {
    return process.resourceUsage().maxRSS * 1024;
  }

  /**
   * Peak resident memory of the phase and since start: the readings', and the kernel's maximum, which is the
   * phase's own whenever it rose during the phase (a peak between two readings).
   */
  private peaks(): { phase: number; sinceStart: number } {
    const maxRss = this.maxRss();
    return { phase: Math.max(this.peakRssPhase, maxRss > this.maxRssAtPhase ? maxRss : 0), sinceStart: Math.max(this.peakRss, maxRss) };
  }

  private async start(index: number, kind: VerifierKind, mode: GossipMode, networkId: string): Promise<StartResult> {
    this.index = index;
    // One verification thread per node at most: 16 or 32 nodes already share 2 cores.
    this.verifier = kind === 'pool' ? createVerifyPool({ threads: 1 }) : createMainThreadVerifier();
    const node = createNode({
      host: '127.0.0.1',
      port: 0,
      networkId,
      peerExchange: false,
      verifier: this.verifier,
      gossipMode: mode,
      // A 32-node mesh on 2 cores can starve a connection's keepalive for a while; a dropped edge would
      // change the mesh under measurement, so idle detection is relaxed (pings still flow).
      idleTimeoutMs: 120_000,
    });
    node.on('message', (m) => this.onMessage(m.id, m.data));
    node.on('peer', (e) => {
      if (e.state === 'disconnected') this.disconnects++;
    });
    node.on('offence', () => this.offences++);
    this.node = node;
    const { port, id } = await node.start();
    return { port, id, rssMb: process.memoryUsage.rss() / (1024 * 1024) };
  }

  private async connect(ports: number[]): Promise<{ peers: number }> {
    const node = this.requireNode();
    await Promise.all(ports.map((p) => node.connect(`127.0.0.1:${p}`)));
    return { peers: node.peers().length };
  }

  private onMessage(id: string, data: Uint8Array): void {
    const nowMs = performance.timeOrigin + performance.now();
    if (this.everDelivered.has(id)) {
      this.duplicatesDelivered++;
      return;
    }
    this.everDelivered.add(id);
    if (data.byteLength !== payloadBytes) return;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const phase = view.getUint16(8);
    if (phase !== this.phase) {
      this.lateFromEarlierPhases++;
      return;
    }
    this.phaseIds.add(id);
    this.latencies.push(nowMs - view.getFloat64(0));
    this.lastDeliveryAtMs = nowMs;
  }

  private framesSent(): number {
    let n = 0;
    for (const p of this.requireNode().peers()) n += p.framesOut;
    return n;
  }

  private beginPhase(phase: number): { ok: true } {
    const node = this.requireNode();
    const { tree } = node.stats();
    this.phase = phase;
    this.latencies = [];
    this.phaseIds = new Set();
    this.lastDeliveryAtMs = 0;
    this.duplicatesDelivered = 0;
    this.lateFromEarlierPhases = 0;
    this.base = {
      framesSent: this.framesSent(),
      duplicates: node.gossip.counters.duplicates,
      ihaveFrames: tree.ihaveFrames,
      graftFrames: tree.graftFrames,
      pruneFrames: tree.pruneFrames,
      signaturesVerified: this.verifier?.stats().signaturesVerified ?? 0,
      verifiedOk: node.gossip.counters.verifiedOk,
      wallMs: performance.now(),
      cpu: process.cpuUsage(),
    };
    this.stalls.reset();
    this.peakRssPhase = 0;
    this.maxRssAtPhase = this.maxRss();
    this.sampleRss();
    return { ok: true };
  }

  /** Publishes `count` messages at `ratePerSec` (0: as fast as possible), bounded in count and time. */
  private publish(phase: number, publisher: number, count: number, ratePerSec: number): Promise<PublishResult> {
    const node = this.requireNode();
    const startMs = performance.now();
    const deadlineMs = startMs + (ratePerSec > 0 ? (count / ratePerSec) * 1000 : 0) + publishSlackMs;
    const out: PublishResult = { published: 0, failed: 0, firstAtMs: 0, lastAtMs: 0 };
    let next = 0;
    const publishOne = (i: number): void => {
      const data = new Uint8Array(payloadBytes);
      const view = new DataView(data.buffer);
      const at = performance.timeOrigin + performance.now();
      view.setFloat64(0, at);
      view.setUint16(8, phase);
      view.setUint16(10, publisher);
      view.setUint32(12, i);
      for (let b = 16; b < payloadBytes; b++) data[b] = (i * 31 + b * 7 + publisher) & 0xff;
      if (out.published === 0) out.firstAtMs = at;
      out.lastAtMs = at;
      out.published++;
      node.broadcast(benchTopic, data).catch(() => {
        out.failed++;
      });
    };
    return new Promise((resolve) => {
      const step = (): void => {
        const elapsed = performance.now() - startMs;
        const due = ratePerSec > 0 ? Math.min(count, Math.floor((elapsed * ratePerSec) / 1000) + 1) : Math.min(count, next + burstChunk);
        while (next < due) publishOne(next++);
        if (next >= count || performance.now() > deadlineMs) return resolve(out);
        if (ratePerSec > 0) setTimeout(step, Math.max(1, Math.floor(((next * 1000) / ratePerSec) - elapsed)));
        else setImmediate(step);
      };
      step();
    });
  }

  private report(): PhaseReport {
    const node = this.requireNode();
    const { tree } = node.stats();
    const cpu = process.cpuUsage(this.base.cpu);
    this.sampleRss();
    const peaks = this.peaks();
    const mb = (b: number): number => b / (1024 * 1024);
    return {
      delivered: this.phaseIds.size,
      latenciesMs: Float64Array.from(this.latencies),
      lastDeliveryAtMs: this.lastDeliveryAtMs,
      duplicatesDelivered: this.duplicatesDelivered,
      lateFromEarlierPhases: this.lateFromEarlierPhases,
      framesSent: this.framesSent() - this.base.framesSent,
      duplicateCopiesDropped: node.gossip.counters.duplicates - this.base.duplicates,
      ihaveFrames: tree.ihaveFrames - this.base.ihaveFrames,
      graftFrames: tree.graftFrames - this.base.graftFrames,
      pruneFrames: tree.pruneFrames - this.base.pruneFrames,
      signaturesVerified: (this.verifier?.stats().signaturesVerified ?? 0) - this.base.signaturesVerified,
      verifiedOk: node.gossip.counters.verifiedOk - this.base.verifiedOk,
      cpuMs: (cpu.user + cpu.system) / 1000,
      cpuSystemMs: cpu.system / 1000,
      wallMs: performance.now() - this.base.wallMs,
      stalls: this.stalls.read(),
      peakRssMb: mb(peaks.phase),
      peakRssMbSinceStart: mb(peaks.sinceStart),
      peers: node.peers().length,
      disconnects: this.disconnects,
      offences: this.offences,
    };
  }

  async stop(): Promise<{ ok: true }> {
    clearInterval(this.readingTimer);
    this.stalls.stop();
    const node = this.node;
    this.node = null;
    if (node) await node.stop();
    if (this.verifier) await this.verifier.close();
    this.verifier = null;
    return { ok: true };
  }
}

function main(): void {
  const bench = new BenchNode();
  serveChild<NodeRequest>((req) => bench.handle(req), { parentCheckMs, lifetimeMaxMs });
}

if (process.send) main();
