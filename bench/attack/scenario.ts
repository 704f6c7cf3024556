/**
 * One attack, measured on a fresh set of processes: the victim V (the compiled CLI as a user runs it:
 * `--host 127.0.0.1 --port 0 --json --network ID --ip-limits-on-loopback`, every other setting its default), honest neighbours H1
 * and H2 that dial only V (`--max-peers 1 --target-peers 1`, so they are linked only through it), probes
 * from H1 to H2, and a new honest node J that dials V once the attack is in force. Every wait is bounded;
 * every process is killed at the end, whatever happened.
 *
 * The timeline: V up; H1 and H2 linked through V; one probe must cross (else the attack is not measured);
 * the baseline window (probes only) gives V's CPU per second without an attack; the attack starts; after
 * its ramp J starts (and, for an attack that restarts a neighbour, H2 is killed and restarted on its port
 * with its key, and the probes wait for it); the probes run; the attack lasts at least attackMsMin and until
 * the probes are in or their grace is over; then it stops and the figures are read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, writeKeyFile } from '../../src/crypto/keys.ts';
import { machineBusyCpuSeconds } from '../lib.ts';
import type { ChildRpc } from '../child-rpc.ts';
import type { AttackerReport, AttackerRequest } from './attacker.ts';
import { prepareAttack, startAttack, stopAttack, type AttackOrder } from './attacker-process.ts';
import type { AttackSpec, RunTiming } from './catalog.ts';
import { CliNode } from './cli-node.ts';
import { percentile, workRatio, type AttackRow } from './goals.ts';
import { Prober } from './prober.ts';
import { evidenceLines, type WindowCpu } from './evidence.ts';

/**
 * Where each honest node listens, and so dials from: a /16 of its own each (127.201, 127.202, 127.203), as
 * honest peers on the internet are spread over network groups, never in the sybils' 127.16 to 127.79 nor in
 * the victim's 127.0. With all of them on 127.0.0.1 they made one group, the largest among the victim's inbound
 * peers, and eviction (which takes from the largest group) picked honest peers first.
 */
const honestHosts: Record<string, string> = { H1: '127.201.0.1', H2: '127.202.0.1', J: '127.203.0.1' };

/** What every attack's measurement shares. */
export interface ScenarioContext {
  timing: RunTiming;
  attacker: ChildRpc<AttackerRequest>;
  networkId: string;
  seed: number;
  sources: string[];
  /** Directory for this run's logs and keys. */
  workDir: string;
}

/** One attack's row and the lines that say what happened. */
export interface ScenarioResult {
  row: AttackRow;
  evidence: string[];
  /** Where the processes' logs were kept (a crash keeps them), else null. */
  keptDir: string | null;
}

/** A node process gets this long to say it listens, in ms. */
const startTimeoutMs = 10_000;
/** H1 and H2 get this long to link through V, in ms. */
const linkTimeoutMs = 10_000;

class SetupError extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Resolves when `cond` holds (true) or after `timeoutMs` (false), checking every 20 ms. */
async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Time from `node` saying it listens to its link with `peerId` opening, in ms; null when either does not
 * happen in time. Called right after the node is spawned, so no event is missed.
 */
async function joinTime(node: CliNode, peerId: string, waitMs: number): Promise<number | null> {
  const connected = node.waitFor((e) => e.event === 'peer' && e.state === 'connected' && e.id === peerId, startTimeoutMs + waitMs);
  const listening = await node.waitFor((e) => e.event === 'listening', startTimeoutMs);
  if (!listening) return null;
  const ev = await Promise.race([connected, sleep(waitMs + 50).then(() => null)]);
  if (!ev) return null;
  const ms = ev.atMs - listening.atMs;
  return ms <= waitMs ? ms : null;
}

/** Runs one attack and measures it. */
export async function runScenario(spec: AttackSpec, ctx: ScenarioContext): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(ctx.workDir, `${spec.name}-`));
  const m = new Measurement(spec, ctx, dir);
  try {
    await m.run();
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    m.setupError = e.message;
  } finally {
    await m.teardown();
  }
  const keep = m.row().crashed;
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return { row: m.row(), evidence: m.evidence(), keptDir: keep ? dir : null };
}

/** The state of one attack's measurement. */
class Measurement {
  setupError: string | undefined;
  readonly #nodes: CliNode[] = [];
  #v: CliNode | null = null;
  #vId = '';
  readonly #honestIds = new Set<string>();
  readonly #bans: string[] = [];
  readonly #honestOffences: Record<string, number> = {};
  readonly #honestDrops: Record<string, number> = {};
  /** Every offence the victim charged, by code (most are the attacker's). */
  readonly #victimOffences: Record<string, number> = {};
  #prober: Prober | null = null;
  #probesSent = 0;
  #latencies: number[] = [];
  /** The probes' two legs: H1 to the victim's delivery, and from there to H2 (ms); how many reached the victim. */
  #legs: { toVictimMs: number[]; fromVictimMs: number[]; atVictim: number } | null = null;
  readonly #joins: Array<{ who: string; ms: number | null }> = [];
  #victimCpuSec: number | null = null;
  #windowSec = 0;
  /** Each node's CPU seconds when the window began (0 for one started later), and what killed ones spent in it. */
  readonly #cpuAtStart = new Map<CliNode, number>();
  readonly #cpuSpent = new Map<string, number>();
  /** CPU seconds over the window: the whole machine, the suite's own process, each node by name. */
  #windowCpu: WindowCpu | null = null;
  #baselineCpuPerSec = 0;
  #report: AttackerReport | null = null;
  readonly #statsMs: number[] = [];
  #lastStats: Record<string, unknown> | null = null;
  /** H2's stats at the end of the attack: what reached it through the victim, and how often it held the victim to its rate. */
  #h2Stats: Record<string, unknown> | null = null;
  #sampling = false;

  constructor(
    private readonly spec: AttackSpec,
    private readonly ctx: ScenarioContext,
    private readonly dir: string,
  ) {}

  /** Starts a CLI node, watched for bans of honest peers and kept for teardown. */
  #start(name: string, args: string[]): CliNode {
    const n = new CliNode(name, ['--host', honestHosts[name] ?? '127.0.0.1', '--json', '--network', this.ctx.networkId, ...args], join(this.dir, `${name}.log`));
    this.#nodes.push(n);
    n.on(({ e }) => this.#onEvent(name, e));
    return n;
  }

  /** Bans of honest peers and what else happened to them, from any node's events. */
  #onEvent(name: string, e: Record<string, unknown>): void {
    const isV = name === 'V';
    if (isV && e.event === 'offence') this.#victimOffences[String(e.code)] = (this.#victimOffences[String(e.code)] ?? 0) + 1;
    if (e.event === 'offence') {
      const againstHonest = isV ? this.#honestIds.has(String(e.peer)) : e.peer === this.#vId;
      if (!againstHonest) return;
      const who = isV ? `V charged an honest peer` : `${name} charged V`;
      this.#honestOffences[`${who} ${String(e.code)}`] = (this.#honestOffences[`${who} ${String(e.code)}`] ?? 0) + 1;
      if (e.banned === true) this.#bans.push(`${isV ? `V banned ${String(e.peer).slice(0, 8)}` : `${name} banned V`} (${String(e.code)})`);
    } else if (isV && e.event === 'peer' && e.state === 'disconnected' && this.#honestIds.has(String(e.id))) {
      const key = `V dropped an honest peer: ${String(e.code)}`;
      this.#honestDrops[key] = (this.#honestDrops[key] ?? 0) + 1;
    }
  }

  async run(): Promise<void> {
    const { timing, attacker } = this.ctx;
    const target = { host: '127.0.0.1', port: 0, networkId: this.ctx.networkId };
    const order: AttackOrder = { attack: this.spec.name, target, sources: this.ctx.sources, seed: this.ctx.seed, expectedMs: timing.attackMsMin + 2000, hardMs: timing.attackHardMs, honestIds: [] };
    await prepareAttack(attacker, order, 120_000).catch((e: unknown) => {
      throw new SetupError(`the attacker could not prepare: ${(e as Error).message}`);
    });
    // As a node on the internet sees its peers: every 127.x source counts as a host of its own, and the
    // per-IP and per-group limits and IP bans apply (off by default on loopback, for tests and testnets).
    const v = this.#start('V', ['--port', '0', '--ip-limits-on-loopback']);
    this.#v = v;
    const listening = await v.waitFor((e) => e.event === 'listening', startTimeoutMs);
    if (!listening) throw new SetupError(`the victim did not start${v.unexpectedExit ? ` (exit ${v.unexpectedExit.code})` : ''}`);
    this.#vId = String(listening.e.id);
    const vPort = Number(listening.e.port);
    const keyPath = join(this.dir, 'h2.key');
    await writeKeyFile(keyPath, generateIdentity());
    const neighbour = ['--peers', `127.0.0.1:${vPort}`, '--max-peers', '1', '--target-peers', '1', '--log-level', 'warn'];
    const h1 = this.#start('H1', ['--port', '0', ...neighbour]);
    let h2 = this.#start('H2', ['--port', '0', '--key', keyPath, ...neighbour]);
    const [l1, l2] = await Promise.all([h1.waitFor((e) => e.event === 'listening', startTimeoutMs), h2.waitFor((e) => e.event === 'listening', startTimeoutMs)]);
    if (!l1 || !l2) throw new SetupError('an honest neighbour did not start');
    this.#honestIds.add(String(l1.e.id)).add(String(l2.e.id));
    if (!(await until(() => h1.openPeers.has(this.#vId) && h2.openPeers.has(this.#vId), linkTimeoutMs))) throw new SetupError('H1 and H2 did not both link to the victim');
    const prober = new Prober(h1, `probe-${this.spec.name}`);
    this.#prober = prober;
    prober.watch(h2);
    prober.watchVictim(v);
    await this.#warmUp(prober);
    await this.#baseline(prober);

    await startAttack(attacker, { ...order, target: { ...target, port: vPort }, honestIds: [...this.#honestIds] }).catch((e: unknown) => {
      throw new SetupError(`the attack did not start: ${(e as Error).message}`);
    });
    const t0 = performance.now();
    const cpu0 = v.cpuSeconds();
    const machine0 = machineBusyCpuSeconds();
    const suite0 = process.cpuUsage();
    for (const n of this.#nodes) this.#cpuAtStart.set(n, n.cpuSeconds() ?? 0);
    const sampler = this.#sample(v);
    await sleep(this.spec.rampMs);
    if (this.spec.restartsNeighbour) {
      this.#spent(h2);
      await h2.kill();
      h2 = this.#start('H2', ['--port', String(Number(l2.e.port)), '--key', keyPath, ...neighbour]);
      prober.watch(h2);
      const ms = await joinTime(h2, this.#vId, timing.joinWaitMs);
      this.#joins.push({ who: 'restarted H2', ms });
    }
    const j = this.#start('J', ['--port', '0', ...neighbour]);
    j.on(({ e }) => {
      if (e.event === 'listening') this.#honestIds.add(String(e.id));
    });
    const joinJ = joinTime(j, this.#vId, timing.joinWaitMs).then((ms) => void this.#joins.push({ who: 'new node J', ms }));
    const lastProbeMs = await this.#probe(prober);
    await until(() => prober.allArrived(), Math.max(0, lastProbeMs + timing.probeGraceMs - performance.now()));
    await joinJ;
    await sleep(t0 + timing.attackMsMin - performance.now());
    const cpu1 = v.cpuSeconds();
    for (const n of this.#nodes) if (n.running) this.#spent(n);
    const machine1 = machineBusyCpuSeconds();
    const suite = process.cpuUsage(suite0);
    this.#windowCpu = { machine: machine0 !== null && machine1 !== null ? machine1 - machine0 : null, suite: (suite.user + suite.system) / 1e6, byNode: Object.fromEntries(this.#cpuSpent) };
    h2.command('stats');
    this.#h2Stats = (await h2.waitFor((e) => e.event === 'stats', 2000))?.e ?? null;
    this.#windowSec = (performance.now() - t0) / 1000;
    this.#victimCpuSec = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
    this.#report = await stopAttack(attacker, 20_000).catch(() => null);
    this.#sampling = false;
    await sampler;
    const res = prober.results();
    this.#probesSent = res.sent;
    this.#latencies = res.latenciesMs;
    this.#legs = res;
  }

  /** Adds what `n` spent since the window began to its name's CPU over the window. */
  #spent(n: CliNode): void {
    const now = n.cpuSeconds();
    if (now === null) return;
    this.#cpuSpent.set(n.name, (this.#cpuSpent.get(n.name) ?? 0) + now - (this.#cpuAtStart.get(n) ?? 0));
  }

  /** One probe must cross before anything is measured (the path through V works). */
  async #warmUp(prober: Prober): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const tag = prober.send();
      if (await until(() => prober.arrived(tag), 2000)) {
        prober.reset();
        return;
      }
    }
    throw new SetupError('no probe crossed the victim before the attack');
  }

  /** The victim's CPU per second with probes and no attack. */
  async #baseline(prober: Prober): Promise<void> {
    const v = this.#v!;
    const { baselineMs, probeIntervalMs } = this.ctx.timing;
    const c0 = v.cpuSeconds();
    const t0 = performance.now();
    while (performance.now() - t0 < baselineMs) {
      prober.send();
      await sleep(probeIntervalMs);
    }
    const c1 = v.cpuSeconds();
    if (c0 !== null && c1 !== null) this.#baselineCpuPerSec = (c1 - c0) / ((performance.now() - t0) / 1000);
    await until(() => prober.allArrived(), 1000);
    prober.reset();
  }

  /** Sends the measured probes, one every probeIntervalMs; returns when the last one left. */
  async #probe(prober: Prober): Promise<number> {
    const { probeCount, probeIntervalMs } = this.ctx.timing;
    for (let i = 0; i < probeCount; i++) {
      prober.send();
      if (i < probeCount - 1) await sleep(probeIntervalMs);
    }
    return performance.now();
  }

  /** Until the attack stops: the victim's memory every 250 ms, and how long it takes to answer `stats`. */
  async #sample(v: CliNode): Promise<void> {
    this.#sampling = true;
    let nextStats = 0;
    while (this.#sampling && v.running) {
      v.sampleMemory();
      if (performance.now() >= nextStats) {
        const t = performance.now();
        v.command('stats');
        const ev = await v.waitFor((e) => e.event === 'stats', 3000);
        if (ev) {
          this.#statsMs.push(ev.atMs - t);
          this.#lastStats = ev.e;
        }
        nextStats = performance.now() + 1000;
      }
      await sleep(250);
    }
  }

  async teardown(): Promise<void> {
    this.#sampling = false;
    this.#v?.sampleMemory();
    await Promise.all(this.#nodes.map((n) => n.kill()));
  }

  /** The attack's row. */
  row(): AttackRow {
    const v = this.#v;
    const r = this.#report;
    const attackerCpuSec = r ? (r.prepCpuMs + r.runCpuMs) / 1000 : 0;
    const joins = this.#joins.map((j) => j.ms);
    const row: AttackRow = {
      attack: this.spec.name,
      preHandshake: this.spec.preHandshake,
      probesSent: this.#probesSent,
      probesDelivered: this.#latencies.length,
      probeP99Ms: percentile(this.#latencies, 99),
      joinMs: joins.length === 0 || joins.includes(null) ? null : Math.max(...(joins as number[])),
      joinWaitMs: this.ctx.timing.joinWaitMs,
      honestBans: this.#bans.length,
      crashed: v?.unexpectedExit !== null && v?.unexpectedExit !== undefined,
      peakRssMb: v?.peakRssMb ?? null,
      victimCpuPct: this.#victimCpuSec === null || this.#windowSec === 0 ? null : (100 * this.#victimCpuSec) / this.#windowSec,
      attackerCpuPct: r && r.runMs > 0 ? (100 * r.runCpuMs) / r.runMs : null,
      workRatio: this.#victimCpuSec === null || !r || this.spec.name === 'baseline' ? null : workRatio(this.#victimCpuSec, this.#baselineCpuPerSec, this.#windowSec, attackerCpuSec),
    };
    if (this.setupError !== undefined) row.setupError = this.setupError;
    const lost = this.#nodes.reduce((sum, n) => sum + n.eventsLost, 0);
    // Probes and charges are read from the nodes' events: a run that lost some cannot be judged.
    if (lost > 0) row.setupError = `${row.setupError ? `${row.setupError}; ` : ''}the suite read the nodes' output too slowly: ${lost} events lost (output-dropped)`;
    return row;
  }

  /** What the attacker did and what the victim and the honest nodes did about it. */
  evidence(): string[] {
    const v = this.#v;
    return evidenceLines({
      attack: this.spec.name,
      report: this.#report,
      baselineCpuPerSec: this.#baselineCpuPerSec,
      victimStats: this.#lastStats,
      statsAnswerMs: this.#statsMs,
      victimOffences: this.#victimOffences,
      joins: this.#joins,
      honestBans: this.#bans,
      honestCharges: { ...this.#honestOffences, ...this.#honestDrops },
      probesSent: this.#probesSent,
      probesStraightFromH1: this.#prober?.direct ?? 0,
      legs: this.#legs,
      h2Stats: this.#h2Stats,
      windowSec: this.#windowSec,
      windowCpu: this.#windowCpu,
      cpus: availableParallelism(),
      victimExit: v?.unexpectedExit ? { ...v.unexpectedExit, logTail: v.logTail() } : null,
      setupError: this.setupError ?? null,
    });
  }
}
