/**
 * The node under test of the ingest benchmark (bench/ingest.ts), alone in its own OS process, so its CPU
 * figure is its own. It is built the way the CLI builds a plain node: `strongcast --host 127.0.0.1 --threads N`
 * goes through the CLI's own flag parser and nodeOptionsFromFlags, and its verifier is the CLI's pool
 * (createVerifyPool with the flags' threads and backend) with the batch settings of the configuration, or
 * the main-thread verifier. The encrypted transport is the only one; peers go through the normal handshake.
 *
 * The parent drives it over IPC: `start`, `step` (begin measuring the messages of one step), `progress`,
 * `report`, `stop`. A message of the benchmark carries its index (u32, big-endian) in the first bytes of its
 * data; the node records the machine-clock time of each first delivery by index, so the parent can pair it
 * with the time the generator sent it.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createNode, type StrongcastNode } from '../../src/index.ts';
import { parseCommandLine, type RunFlags } from '../../src/cli/args.ts';
import { nodeOptionsFromFlags } from '../../src/cli/run.ts';
import { lineLogger } from '../../src/log.ts';
import { createMainThreadVerifier } from '../../src/crypto/main-thread-verifier.ts';
import { createVerifyPool, type VerifyPool } from '../../src/crypto/verify-pool.ts';
import { serveChild } from '../child-serve.ts';
import { ThreadCpuMeter, threadIds, type ThreadCpu } from './thread-cpu.ts';

/** How often resident memory is sampled, in ms. */
const rssSampleMs = 50;
/**
 * Sampling period of the event-loop delay histogram (Node's default; 1 ms would itself cost CPU). Node 20
 * records whole sampling intervals, so the period is subtracted to give the delay.
 */
export const loopResolutionMs = 10;
/** How often the process checks that its parent is still there, in ms. */
const parentCheckMs = 500;
/** The process exits by itself if the parent has not stopped it within this, in ms. */
const lifetimeMaxMs = 15 * 60_000;

/** Which verifier, and for the pool its threads and batching. */
export interface VerifierConfig {
  kind: 'main' | 'pool';
  /** Worker threads (pool only). */
  threads: number;
  /** The pool's batchMax and batchWaitMs (pool only). */
  batchMax: number;
  batchWaitMs: number;
  /** The pool's inlineSignaturesMax (pool only); absent: its default. */
  inlineSignaturesMax?: number;
  /** The pool's inlineMsPerSecMax (pool only); absent: its default. */
  inlineMsPerSecMax?: number;
}

/** Requests from the parent; `rid` pairs a request with its reply. */
export type IngestNodeRequest =
  | { rid: number; cmd: 'start'; verifier: VerifierConfig }
  | { rid: number; cmd: 'step'; from: number; count: number }
  | { rid: number; cmd: 'progress' }
  | { rid: number; cmd: 'report' }
  | { rid: number; cmd: 'stop' };

/** Result of `start`. */
export interface IngestNodeStarted {
  port: number;
  /** The node's options as the CLI made them, for the report. */
  cli: string;
  rssMb: number;
}

/** Result of `progress`. */
export interface IngestProgress {
  delivered: number;
  peers: number;
}

/** Result of `report`: everything measured since the `step` request. */
export interface IngestStepReport {
  /** Distinct messages of the step delivered. */
  delivered: number;
  /** Deliveries of a step message already delivered. */
  duplicates: number;
  /** Deliveries of messages outside the step (a backlog of an earlier one). */
  outside: number;
  /** Machine-clock ms of each step message's delivery, by offset in the step (NaN: not delivered). */
  deliveredAtMs: Float64Array;
  /** Process CPU (all threads: main, workers, GC, libuv), ms, and its kernel part. */
  cpuMs: number;
  cpuSystemMs: number;
  /**
   * CPU by thread, ms (Linux, 10 ms ticks; zeros elsewhere): the main thread, the pool's worker threads, and
   * the rest (V8's GC and compiler helpers, libuv).
   */
  mainThreadCpuMs: number;
  poolThreadsCpuMs: number;
  otherThreadsCpuMs: number;
  wallMs: number;
  /** Event-loop delay over the step: p99 and max, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
  signaturesVerified: number;
  batches: number;
  /** The node's own limits at work: see StepFigures.drops in search.ts. */
  overloaded: number;
  refusedFull: number;
  verifyFailed: number;
  disconnects: number;
  rateHolds: number;
  turnsCut: number;
  relayedFrames: number;
  ihaveFrames: number;
  framesOut: number;
  peers: number;
  peakRssMb: number;
  peakRssMbSinceStart: number;
}

interface Base {
  cpu: NodeJS.CpuUsage;
  threads: ThreadCpu;
  wallMs: number;
  signaturesVerified: number;
  batches: number;
  refusedFull: number;
  overloaded: number;
  verifiedBad: number;
  disconnects: number;
  rateHolds: number;
  turnsCut: number;
  relayedFrames: number;
  ihaveFrames: number;
  framesOut: number;
}

/** Network id of the benchmark. */
export const networkId = 'strongcast-ingest';

/** The CLI's flags for the node under test: loopback only, any free port, the benchmark's network, the pool's thread count. */
export function cliArgs(v: VerifierConfig): string[] {
  return ['--host', '127.0.0.1', '--port', '0', '--network', networkId, ...(v.kind === 'pool' ? ['--threads', String(v.threads)] : [])];
}

class IngestNode {
  private node: StrongcastNode | null = null;
  private verifier: VerifyPool | null = null;
  private threadCpu = new ThreadCpuMeter([]);
  private from = 0;
  private times = new Float64Array(0);
  private delivered = 0;
  private duplicates = 0;
  private outside = 0;
  private disconnects = 0;
  private base: Base | null = null;
  private peakRss = 0;
  private peakRssStep = 0;
  private readonly rssTimer: NodeJS.Timeout;
  private readonly loop = monitorEventLoopDelay({ resolution: loopResolutionMs });

  constructor() {
    this.sampleRss();
    this.rssTimer = setInterval(() => this.sampleRss(), rssSampleMs);
  }

  handle(req: IngestNodeRequest): Promise<unknown> {
    switch (req.cmd) {
      case 'start':
        return this.start(req.verifier);
      case 'step':
        return Promise.resolve(this.beginStep(req.from, req.count));
      case 'progress':
        return Promise.resolve({ delivered: this.delivered, peers: this.requireNode().peers().length } satisfies IngestProgress);
      case 'report':
        return Promise.resolve(this.report());
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
    if (rss > this.peakRssStep) this.peakRssStep = rss;
  }

  private async start(v: VerifierConfig): Promise<IngestNodeStarted> {
    const args = cliArgs(v);
    const cmd = parseCommandLine(args);
    if (cmd.kind !== 'run') throw new Error(`not a run command: ${args.join(' ')}`);
    const flags: RunFlags = cmd.flags;
    // The CLI logs warnings and errors at a text console: the same here, on this process's stderr.
    const log = lineLogger({ level: 'warn' });
    const options = await nodeOptionsFromFlags(flags, log);
    const threadsBefore = threadIds();
    this.verifier =
      v.kind === 'pool'
        ? createVerifyPool({
            threads: flags.threads,
            backend: flags.backend,
            batchMax: v.batchMax,
            batchWaitMs: v.batchWaitMs,
            ...(v.inlineSignaturesMax === undefined ? {} : { inlineSignaturesMax: v.inlineSignaturesMax }),
            ...(v.inlineMsPerSecMax === undefined ? {} : { inlineMsPerSecMax: v.inlineMsPerSecMax }),
          })
        : createMainThreadVerifier({ backend: flags.backend });
    // The pool starts its worker threads as it is created: the threads that appeared are its own.
    this.threadCpu = new ThreadCpuMeter(threadIds().filter((t) => !threadsBefore.includes(t)));
    const node = createNode({ ...options, verifier: this.verifier });
    node.on('message', (m) => this.onMessage(m.data));
    node.on('peer', (e) => {
      if (e.state === 'disconnected') this.disconnects++;
    });
    this.node = node;
    const { port } = await node.start();
    return { port, cli: `strongcast ${args.join(' ')}`, rssMb: process.memoryUsage.rss() / 1048576 };
  }

  private onMessage(data: Uint8Array): void {
    if (data.byteLength < 4) return;
    const index = ((data[0] as number) * 0x1000000 + ((data[1] as number) << 16) + ((data[2] as number) << 8) + (data[3] as number)) - this.from;
    if (index < 0 || index >= this.times.length) {
      this.outside++;
      return;
    }
    if (!Number.isNaN(this.times[index] as number)) {
      this.duplicates++;
      return;
    }
    this.times[index] = performance.timeOrigin + performance.now();
    this.delivered++;
  }

  private counters(): Base {
    const node = this.requireNode();
    const s = node.stats();
    const v = this.verifier?.stats();
    return {
      cpu: process.cpuUsage(),
      threads: this.threadCpu.read(),
      wallMs: performance.now(),
      signaturesVerified: v?.signaturesVerified ?? 0,
      batches: v?.batches ?? 0,
      refusedFull: v?.refusedFull ?? 0,
      overloaded: node.gossip.counters.overloaded,
      verifiedBad: node.gossip.counters.verifiedBad,
      disconnects: this.disconnects,
      rateHolds: s.rateHolds,
      turnsCut: s.turnsCut,
      relayedFrames: s.relayedFrames,
      ihaveFrames: s.tree.ihaveFrames,
      framesOut: s.framesOut,
    };
  }

  private beginStep(from: number, count: number): { ok: true } {
    this.from = from;
    this.times = new Float64Array(count).fill(Number.NaN);
    this.delivered = 0;
    this.duplicates = 0;
    this.outside = 0;
    this.peakRssStep = 0;
    this.sampleRss();
    this.loop.disable();
    this.loop.reset();
    this.loop.enable();
    this.base = this.counters();
    return { ok: true };
  }

  private report(): IngestStepReport {
    const b = this.base;
    if (!b) throw new Error('no step begun');
    const now = this.counters();
    const cpu = process.cpuUsage(b.cpu);
    this.sampleRss();
    const loopMs = (ns: number): number => Math.max(0, ns / 1e6 - loopResolutionMs);
    return {
      delivered: this.delivered,
      duplicates: this.duplicates,
      outside: this.outside,
      deliveredAtMs: this.times,
      cpuMs: (cpu.user + cpu.system) / 1000,
      cpuSystemMs: cpu.system / 1000,
      mainThreadCpuMs: now.threads.mainMs - b.threads.mainMs,
      poolThreadsCpuMs: now.threads.poolMs - b.threads.poolMs,
      otherThreadsCpuMs: now.threads.otherMs - b.threads.otherMs,
      wallMs: now.wallMs - b.wallMs,
      loopP99Ms: loopMs(this.loop.percentile(99)),
      loopMaxMs: loopMs(this.loop.max),
      signaturesVerified: now.signaturesVerified - b.signaturesVerified,
      batches: now.batches - b.batches,
      overloaded: now.overloaded - b.overloaded,
      refusedFull: now.refusedFull - b.refusedFull,
      verifyFailed: now.verifiedBad - b.verifiedBad,
      disconnects: now.disconnects - b.disconnects,
      rateHolds: now.rateHolds - b.rateHolds,
      turnsCut: now.turnsCut - b.turnsCut,
      relayedFrames: now.relayedFrames - b.relayedFrames,
      ihaveFrames: now.ihaveFrames - b.ihaveFrames,
      framesOut: now.framesOut - b.framesOut,
      peers: this.requireNode().peers().length,
      peakRssMb: this.peakRssStep / 1048576,
      peakRssMbSinceStart: this.peakRss / 1048576,
    };
  }

  async stop(): Promise<{ ok: true }> {
    clearInterval(this.rssTimer);
    this.loop.disable();
    const node = this.node;
    this.node = null;
    if (node) await node.stop();
    if (this.verifier) await this.verifier.close();
    this.verifier = null;
    return { ok: true };
  }
}

function main(): void {
  const node = new IngestNode();
  serveChild<IngestNodeRequest>((req) => node.handle(req), { parentCheckMs, lifetimeMaxMs });
}

if (process.send) main();
