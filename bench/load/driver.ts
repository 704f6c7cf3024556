/**
 * Runs a load plan: writes the genesis, starts 13 honest CLI validators and 3 Byzantine processes on
 * loopback, plays the schedule (broadcasts, mining, attacks, faults) for the load phase, drains, asks every
 * honest validator for its chain and counters, and stops everything. What happened is left in `recorder`,
 * `outages` and the fields below for checks.ts and summary.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/bytes.ts';
import { initNetwork } from '../../src/cli/init.ts';
import { readGenesisFile } from '../../src/cli/validator.ts';
import type { Genesis } from '../../src/consensus/genesis.ts';
import { killAllChildren } from '../child-rpc.ts';
import type { Outage } from './checks.ts';
import { ByzantineProcess } from './byzantine.ts';
import type { EquivocationRecord } from './consensus-attacks.ts';
import type { FloodStepResult } from './flooder.ts';
import { HonestNode, type NodeEvent } from './honest-node.ts';
import { eligibleAt, floodSettleMs, type Attack, type Fault, type Plan } from './plan.ts';
import { freeBasePort, pauseProcess } from './processes.ts';
import { Prng } from './prng.ts';
import { Recorder, type PeerClass } from './recorder.ts';
import { loopbackHosting, namespaceHosting, type Hosting } from './hosting.ts';
import { SuiteRunner } from './suite-runner.ts';

/** Honest peers a validator needs open to count as connected (there are at most 2 Byzantine listeners). */
export const recoveredPeers = 3;
/** Time from writing the genesis to its round 0: every validator should be up before it, in ms. */
const startupMarginMs = 16_000;
/** Longest wait for the network to connect, in ms. */
const meshTimeoutMs = 40_000;
/** Longest wait after the load phase for restarted validators to catch up, in ms (quick runs: half). */
const catchUpWaitMs = 40_000;
/** Longest wait after the load phase for the last broadcasts to arrive, in ms (quick runs: half). */
const gossipDrainMaxMs = 20_000;
/** The drain ends early when nothing was delivered for this long, in ms. */
const gossipQuietMs = 4000;
/** How long an answer to `chain` or `stats` may take, in ms. */
const answerTimeoutMs = 15_000;
/** A refused proposal (its timer fired too early or late) is mined again at most this often. */
const mineRetriesMax = 2;
/** Characters of every broadcast's text. */
const broadcastChars = 128;
/** Honest validators are asked for their counters (`stats`) at most this often, in ms. */
const statsEveryMs = 1000;
/** With breakValidity, how long the cut validator stays isolated: past the proposal's first rounds, in ms. */
const sabotageCutMs = 3000;
/** Addresses the attack suite's attacker sends from in each attack (two per /16), as the suite's own default. */
const suiteSourceCount = 32;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An outage as the driver tracks it. */
export interface RunOutage extends Outage {
  /** The validator's life when the fault hit. */
  life: number;
  /** When the fault itself ends (restart, SIGCONT, end of isolation). */
  untilMs: number;
  /** For a kill: when the restarted validator had caught up. */
  caughtUpMs: number | null;
}

/** One block the run asked an honest validator to mine, and what came of the request. */
export interface MineRecord {
  /** Index of the mine in the plan. */
  index: number;
  node: number;
  text: string;
  issuedMs: number;
  /** The validator's `proposed` event for it; null when it made none. */
  proposal: { t0: number; hash: string; atMs: number } | null;
  /** Why the validator gave up on it, when it did. */
  refused: string | null;
}

/** One attack of the plan as the run carried it out. */
export interface AttackRecord {
  attack: Attack;
  startedMs: number;
  endedMs: number | null;
  /** What the flooder says it did (flood steps). */
  flood: FloodStepResult | null;
  /** What the equivocating miner says it did (equivocate, withhold). */
  equivocation: EquivocationRecord | null;
  error: string | null;
}

/** A load run in progress. */
export class LoadRun {
  readonly dir: string;
  readonly recorder: Recorder;
  readonly outages: RunOutage[] = [];
  readonly honest = new Map<number, HonestNode>();
  /** Observers, by index (n, n+1, ...: after the validators). */
  readonly observers = new Map<number, HonestNode>();
  /** Each observer's answer to `chain` at the end (block hashes, oldest first). */
  readonly observerChains = new Map<number, string[]>();
  /** Where the processes live (loopback, or one network namespace each). */
  hosting: Hosting | null = null;
  byzantine: { flooder: ByzantineProcess; equivocator: ByzantineProcess; withholder: ByzantineProcess } | null = null;
  genesis: Genesis | null = null;
  /** The machine's 1-minute load average when the run began (before any process of the run started). */
  readonly loadAverageAtStart = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  /** Start of the load phase (ms since the epoch). */
  loadStartMs = 0;
  loadEndMs = 0;
  drainEndMs = 0;
  readonly log: string[] = [];
  readonly equivocations: EquivocationRecord[] = [];
  readonly byzantineReports: Record<string, unknown> = {};
  readonly attackErrors: string[] = [];
  /** Blocks to mine: planned, issued, skipped, moved to another validator, proposals made again. */
  readonly mines = { planned: 0, issued: 0, skipped: 0, moved: 0, retried: 0 };
  /** Every mine request issued, in order. */
  readonly mineLog: MineRecord[] = [];
  /** Every attack of the plan, in the order started. */
  readonly attackLog: AttackRecord[] = [];
  /**
   * Cuts made by breakValidity: they excuse the gossip the cut validator missed (so the delivery check stays
   * quiet) but are left out of `outages`, which the fault accounting reads.
   */
  readonly hiddenOutages: RunOutage[] = [];
  /** What breakValidity did, for the summary. */
  sabotage: string | null = null;
  #lastStatsMs = 0;
  readonly broadcasts = { issued: 0, skippedNoOrigin: 0 };
  readonly #pendingMine = new Map<number, { text: string; retries: number; record: MineRecord }>();
  readonly #paused = new Set<number>();
  readonly #isolatedUntil = new Map<number, number>();
  readonly #honestKeys = new Map<string, number>();
  /** Observers' node keys (their own, not the genesis's), learned from their `listening` events. */
  readonly #observerKeys = new Map<string, number>();
  readonly #byzantineKeys = new Set<string>();
  /** Validators that began catching up again (`resync`) before round 0. */
  readonly earlyResyncs = new Set<number>();
  /** The attack suite's attacks on one validator (attackSuite), else null. */
  suite: SuiteRunner | null = null;
  #suiteDone: Promise<void> = Promise.resolve();

  constructor(readonly plan: Plan) {
    this.dir = mkdtempSync(join(tmpdir(), 'strongcast-load-'));
    this.recorder = new Recorder(
      (id) => this.#classify(id),
      (id) => (this.#honestKeys.has(id) ? `validator ${this.#honestKeys.get(id)}` : this.#observerKeys.has(id) ? `observer ${this.#observerKeys.get(id)}` : id.slice(0, 16)),
    );
  }

  #classify(peerId: string): PeerClass {
    if (this.#honestKeys.has(peerId) || this.#observerKeys.has(peerId)) return 'honest';
    if (this.#byzantineKeys.has(peerId)) return 'byzantine';
    return 'other';
  }

  /** Prints and keeps one line of the run's log, stamped relative to the load phase. */
  note(line: string): void {
    const t = this.loadStartMs === 0 ? 'setup' : `+${((Date.now() - this.loadStartMs) / 1000).toFixed(1)}s`;
    const s = `[${t}] ${line}`;
    this.log.push(s);
    console.log(s);
  }

  honestPeers(node: HonestNode): number {
    let n = 0;
    for (const id of node.peers) if (this.#honestKeys.has(id)) n++;
    return n;
  }

  /** Writes the genesis, starts every process and waits for the network and round 0. */
  async setUp(): Promise<void> {
    const c = this.plan.config;
    const t0 = Date.now();
    const total = c.validators + c.observers;
    // The attack suite's attacker is one more process (its own namespace with --hosts); on loopback every
    // process then gets a /16 of its own, which the target's per-IP limits count apart.
    const hosting = c.hosts ? namespaceHosting(total + (c.attackSuite ? 1 : 0), c.seed) : loopbackHosting(await freeBasePort(total), c.attackSuite);
    this.hosting = hosting;
    hosting.setUp();
    for (const line of hosting.describe()) this.note(line);
    await initNetwork({ nodes: c.validators, out: this.dir, faults: c.faults, roundMs: c.roundMs, basePort: hosting.port(0), host: '127.0.0.1', startMs: Date.now() + startupMarginMs });
    this.#placeValidators(hosting);
    const g = await readGenesisFile(join(this.dir, 'genesis.json'));
    this.genesis = g;
    const r = this.plan.roles;
    for (const v of g.validators) (r.honest.includes(v.index) ? this.#honestKeys.set(toHex(v.publicKey), v.index) : this.#byzantineKeys.add(toHex(v.publicKey)));
    const key = (i: number) => join(this.dir, `node-${i}.key`);
    const genesisPath = join(this.dir, 'genesis.json');
    // With real addresses the flooder needs many: nodes ban an address that misbehaves before its handshake.
    const sources = hosting.addAliases(r.flooder, 64);
    const start = (p: ByzantineProcess, i: number) =>
      p.request({ cmd: 'start', role: p.role, genesisPath, keyPath: key(i), seed: c.seed + i, honest: r.honest, withholder: r.withholder, ...(p.role === 'flooder' ? { sources } : {}) });
    this.byzantine = {
      flooder: new ByzantineProcess('flooder', r.flooder, this.dir, hosting.launch(r.flooder)),
      equivocator: new ByzantineProcess('equivocator', r.equivocator, this.dir, hosting.launch(r.equivocator)),
      withholder: new ByzantineProcess('withholder', r.withholder, this.dir, hosting.launch(r.withholder)),
    };
    // Byzantine listeners first: an honest validator then finds a peer as soon as it starts.
    await Promise.all([start(this.byzantine.flooder, r.flooder), start(this.byzantine.equivocator, r.equivocator), start(this.byzantine.withholder, r.withholder)]);
    const suiteTarget = this.plan.suite?.target;
    for (const i of r.honest) {
      // The suite's target sees its peers as a node on the internet does: per-IP and per-group limits and IP bans apply on loopback too.
      const flags = i === suiteTarget ? ['--ip-limits-on-loopback'] : [];
      const node = new HonestNode(i, this.dir, g.startMs, (ev) => this.#onEvent(ev), { address: hosting.address(i), launch: hosting.launch(i), flags });
      this.honest.set(i, node);
      node.start();
    }
    this.#startObservers(hosting, g);
    this.#startSuite(hosting, g);
    const want = r.honest.length - 1;
    const deadline = Date.now() + meshTimeoutMs;
    let connected = true;
    while ([...this.honest.values()].some((n) => this.honestPeers(n) < want)) {
      if (Date.now() > deadline) {
        connected = false;
        break;
      }
      await sleep(100);
    }
    const peersNow = [...this.honest.values()].map((n) => `${n.index}:${this.honestPeers(n)}`).join(' ');
    this.note(
      connected
        ? `${r.honest.length} honest and 3 Byzantine validators started, honest ones fully connected, in ${((Date.now() - t0) / 1000).toFixed(1)} s`
        : `honest validators not fully connected after ${meshTimeoutMs} ms (validator:honest peers ${peersNow}); going on`,
    );
    const late = [...this.honest.values()].filter((n) => n.caughtUpAtMs === null && !this.earlyResyncs.has(n.index));
    if (late.length > 0) this.note(`validators ${late.map((n) => n.index).join(',')} came up after round 0 and catch up first`);
    if (this.earlyResyncs.size > 0) this.note(`validators ${[...this.earlyResyncs].join(',')} began catching up again (resync) before round 0`);
    // The load phase starts half a round into a round, so commands never race a round boundary.
    const firstRound = Math.max(1, Math.ceil((Date.now() - g.startMs) / g.roundMs) + 1);
    this.loadStartMs = g.startMs + firstRound * g.roundMs + g.roundMs / 2;
    this.loadEndMs = this.loadStartMs + c.loadMs;
    await sleep(this.loadStartMs - Date.now());
  }

  /** The attack suite's attacker process, aimed at the plan's target (attackSuite only). */
  #startSuite(hosting: Hosting, g: Genesis): void {
    const s = this.plan.suite;
    if (!s) return;
    const c = this.plan.config;
    const index = c.validators + c.observers;
    const sources = hosting.attackerSources(index, suiteSourceCount, s.attacks.length);
    const target = { host: hosting.address(s.target), port: hosting.port(s.target), networkId: g.networkId };
    this.suite = new SuiteRunner({
      plan: s,
      target,
      sources,
      honestIds: [...this.#honestKeys.keys()],
      seed: c.seed,
      launch: hosting.launch(index),
      dir: this.dir,
      askTargetStats: () => void this.honest.get(s.target)?.command('stats'),
      note: (l) => this.note(l),
    });
    this.suite.start();
    this.note(`attack suite: attacker process ${index}${c.hosts ? ` at ${hosting.address(index)}` : ''}, aimed at validator ${s.target} (${target.host}:${target.port}), sending from ${suiteSourceCount} addresses in ${suiteSourceCount / 2} /16s, fresh ones for each attack (first ${sources[0]?.[0]} .. ${sources[0]?.at(-1)}, last ${sources.at(-1)?.[0]} .. ${sources.at(-1)?.at(-1)})`);
  }

  /**
   * The genesis names where each validator listens: on loopback one port each, with --hosts the address of
   * its own namespace. Addresses are outside the genesis hash, so this changes no key or data binding.
   */
  #placeValidators(hosting: Hosting): void {
    const path = join(this.dir, 'genesis.json');
    const json = JSON.parse(readFileSync(path, 'utf8')) as { validators: Array<{ host: string; port: number }> };
    json.validators.forEach((v, i) => {
      v.host = hosting.address(i);
      v.port = hosting.port(i);
    });
    writeFileSync(path, JSON.stringify(json, null, 2) + '\n');
  }

  /**
   * Observers, each linked to three honest validators spread over the index range and to the other observers:
   * they check and carry consensus traffic and follow the chain by validators' signed outcomes.
   */
  #startObservers(hosting: Hosting, g: Genesis): void {
    const c = this.plan.config;
    const honest = this.plan.roles.honest;
    for (let j = 0; j < c.observers; j++) {
      const index = c.validators + j;
      const linked = [0, 1, 2].map((k) => honest[(j * 5 + k * Math.floor(honest.length / 3)) % honest.length]!);
      const others = Array.from({ length: c.observers }, (_, o) => c.validators + o).filter((o) => o !== index);
      const peers = [...linked, ...others].map((x) => `${hosting.address(x)}:${hosting.port(x)}`);
      const place = { address: hosting.address(index), launch: hosting.launch(index), observer: { port: hosting.port(index), peers } };
      const node = new HonestNode(index, this.dir, g.startMs, (ev) => this.#onObserverEvent(ev), place);
      this.observers.set(index, node);
      node.start();
    }
  }

  /** An observer's event: its key (so offences against it count as against an honest node), chain, offences. */
  #onObserverEvent(ev: NodeEvent): void {
    const e = ev.e;
    if (e.event === 'listening') this.#observerKeys.set(String(e.id), ev.node);
    else if (e.event === 'chain') this.observerChains.set(ev.node, (e.blocks as Array<{ hash: string }>).map((b) => b.hash));
    else if (e.event === 'offence') this.recorder.onEvent(ev);
  }

  #onEvent(ev: NodeEvent): void {
    const node = this.honest.get(ev.node);
    if (ev.e.event === 'resync' && this.genesis && ev.atMs < this.genesis.startMs) this.earlyResyncs.add(ev.node);
    this.recorder.onEvent(ev);
    if (node && (ev.e.event === 'peer' || ev.e.event === 'caught-up')) this.#checkRecovered(node);
    const pending = this.#pendingMine.get(ev.node);
    if (!pending || !node) return;
    if (ev.e.event === 'proposed') {
      const inst = ev.e.instance as { t0: number };
      pending.record.proposal = { t0: inst.t0, hash: String(ev.e.hash), atMs: ev.atMs };
      this.#pendingMine.delete(ev.node);
    } else if (ev.e.event === 'error' && /has not started|proposeLateMsMax|round 1 of/.test(String(ev.e.message))) {
      if (pending.retries >= mineRetriesMax) {
        this.#pendingMine.delete(ev.node);
        pending.record.refused = `refused ${pending.retries + 1} times: ${String(ev.e.message)}`;
        this.note(`validator ${ev.node}: proposal refused ${pending.retries + 1} times (${String(ev.e.message)})`);
        return;
      }
      pending.retries++;
      this.mines.retried++;
      node.command(`mine ${pending.text}`);
    }
  }

  /** Closes an outage once its validator has honest peers again. */
  #checkRecovered(node: HonestNode): void {
    const now = Date.now();
    for (const o of [...this.outages, ...this.hiddenOutages]) {
      if (o.node === node.index && o.kind === 'kill' && o.caughtUpMs === null && node.life > o.life && node.caughtUpAtMs !== null) o.caughtUpMs = node.caughtUpAtMs;
      if (o.node !== node.index || o.endMs !== null || o.kind === 'pause') continue;
      if (o.kind === 'kill' && node.life <= o.life) continue;
      if (o.kind === 'isolate' && now < o.untilMs) continue;
      if (this.honestPeers(node) >= recoveredPeers) {
        o.endMs = now;
        this.note(`validator ${node.index} back after ${o.kind} (${((now - o.startMs) / 1000).toFixed(1)} s out)`);
      }
    }
  }

  /** Whether validator i can originate or mine now. */
  #usable(i: number, planMs: number): boolean {
    const n = this.honest.get(i);
    if (!n || !n.running || this.#paused.has(i) || (this.#isolatedUntil.get(i) ?? 0) > Date.now()) return false;
    if (this.honestPeers(n) < recoveredPeers) return false;
    return eligibleAt(this.plan.faults, i, planMs);
  }

  /** Plays the schedule for the load phase. */
  async runLoad(): Promise<void> {
    const p = this.plan;
    type Timed = { atMs: number; run: () => void };
    const timed: Timed[] = [
      ...p.faults.map((f) => ({ atMs: f.atMs, run: () => void this.#fault(f) })),
      ...p.attacks.map((a) => ({ atMs: a.atMs, run: () => void this.#attack(a) })),
      ...p.mines.map((m, i) => ({ atMs: m.atMs, run: () => this.#mine(m.node, i, m.atMs) })),
    ].sort((a, b) => a.atMs - b.atMs);
    this.mines.planned = p.mines.length;
    if (this.suite) this.#suiteDone = this.suite.run(this.loadStartMs, this.loadEndMs);
    const rng = new Prng(p.config.seed ^ 0x5eed);
    const tickMs = 50;
    const perTickMax = Math.max(1, Math.ceil((p.config.msgsPerSec * tickMs * 4) / 1000));
    let next = 0;
    let seq = 0;
    let lastSample = 0;
    while (Date.now() < this.loadEndMs) {
      const planMs = Date.now() - this.loadStartMs;
      while (next < timed.length && (timed[next] as Timed).atMs <= planMs) (timed[next++] as Timed).run();
      const due = Math.min(perTickMax, Math.floor((p.config.msgsPerSec * planMs) / 1000) - this.broadcasts.issued - this.broadcasts.skippedNoOrigin);
      for (let j = 0; j < due; j++) {
        const origins = p.roles.honest.filter((i) => this.#usable(i, planMs));
        if (origins.length === 0) {
          this.broadcasts.skippedNoOrigin++;
          continue;
        }
        const o = rng.pick(origins);
        const head = `load #${++seq} from ${o} `;
        this.honest.get(o)!.command(`broadcast ${head}${'.'.repeat(Math.max(0, broadcastChars - head.length))}`);
        this.broadcasts.issued++;
      }
      if (Date.now() - lastSample >= 1000) {
        lastSample = Date.now();
        this.#sampleAll();
      }
      await sleep(tickMs);
    }
  }

  #sampleAll(): void {
    // Counters read now and then let the checks compare what a validator counted before and after an attack.
    const askStats = Date.now() - this.#lastStatsMs >= statsEveryMs;
    if (askStats) this.#lastStatsMs = Date.now();
    for (const n of this.honest.values()) {
      n.sampleMemory();
      this.#checkRecovered(n);
      if (askStats) n.command('stats');
    }
    if (this.byzantine) for (const b of Object.values(this.byzantine)) b.sampleMemory();
  }

  /** Mines block i on the planned validator, or on the next one in index order that is up and caught up. */
  #mine(planned: number, i: number, planMs: number): void {
    const honest = this.plan.roles.honest;
    const from = honest.indexOf(planned);
    const order = [...honest.slice(from), ...honest.slice(0, from)];
    const node = order.find((x) => this.#usable(x, planMs) && this.honest.get(x)?.caughtUpAtMs !== null);
    if (node === undefined) {
      this.mines.skipped++;
      this.note(`mine ${i} skipped: no honest validator is up, connected and caught up`);
      return;
    }
    if (node !== planned) this.mines.moved++;
    const text = `load block ${i} by ${node}`;
    const record: MineRecord = { index: i, node, text, issuedMs: Date.now(), proposal: null, refused: null };
    this.mineLog.push(record);
    this.#pendingMine.set(node, { text, retries: 0, record });
    this.honest.get(node)!.command(`mine ${text}`);
    this.mines.issued++;
    if (this.plan.config.breakValidity && this.sabotage === null && i >= 1) this.#cutSomeoneOff(node, i, planMs);
  }

  /**
   * breakValidity: isolates an honest validator other than the miner, which has no fault in the plan, just
   * before the block's round 1, long enough that it cannot decide the block live (it notices it is alone and
   * catches up later). The cut is kept out of `outages`, so the checks count that validator as up and the
   * proposal as made within the fault bound.
   */
  #cutSomeoneOff(miner: number, i: number, planMs: number): void {
    // Not a flood target near the cut either: only the validity check is meant to see the harm.
    const flooded = (x: number) =>
      this.plan.attacks.some((a) => a.kind === 'flood' && a.targets.includes(x) && a.atMs < planMs + sabotageCutMs + floodSettleMs && planMs < a.atMs + a.durMs + floodSettleMs);
    const victim = this.plan.roles.honest.find((x) => x !== miner && !this.plan.faults.some((f) => f.node === x) && !flooded(x) && this.#usable(x, planMs));
    const n = victim === undefined ? undefined : this.honest.get(victim);
    if (victim === undefined || !n) return;
    const now = Date.now();
    this.hiddenOutages.push({ node: victim, kind: 'isolate', startMs: now, endMs: null, life: n.life, untilMs: now + sabotageCutMs, caughtUpMs: null });
    this.#isolatedUntil.set(victim, now + sabotageCutMs);
    n.command(`isolate ${sabotageCutMs}`);
    this.sabotage = `validator ${victim} isolated for ${sabotageCutMs} ms as validator ${miner} mined block ${i}, left out of the fault accounting`;
    this.note(`deliberately breaking validity: ${this.sabotage}`);
  }

  async #fault(f: Fault): Promise<void> {
    const n = this.honest.get(f.node);
    if (!n) return;
    const now = Date.now();
    switch (f.kind) {
      case 'kill': {
        this.outages.push({ node: f.node, kind: 'kill', startMs: now, endMs: null, life: n.life, untilMs: now + f.downMs, caughtUpMs: null });
        this.note(`SIGKILL validator ${f.node} (pid ${n.pid})`);
        await n.kill();
        await sleep(f.downMs - (Date.now() - now));
        n.start();
        this.note(`restarted validator ${f.node} on its data directory (life ${n.life})`);
        return;
      }
      case 'pause': {
        const pid = n.pid;
        if (pid === null) return;
        const o: RunOutage = { node: f.node, kind: 'pause', startMs: now, endMs: now + f.durMs, life: n.life, untilMs: now + f.durMs, caughtUpMs: null };
        this.outages.push(o);
        this.#paused.add(f.node);
        this.note(`SIGSTOP validator ${f.node} for ${f.durMs} ms`);
        await pauseProcess(pid, f.durMs);
        // The helper sends SIGCONT itself and exits: this is when the pause really ended, not when it was due.
        o.endMs = Date.now();
        this.#paused.delete(f.node);
        this.note(`SIGCONT validator ${f.node}`);
        return;
      }
      case 'isolate': {
        this.outages.push({ node: f.node, kind: 'isolate', startMs: now, endMs: null, life: n.life, untilMs: now + f.durMs, caughtUpMs: null });
        this.#isolatedUntil.set(f.node, now + f.durMs);
        n.command(`isolate ${f.durMs}`);
        this.note(`isolate validator ${f.node} for ${f.durMs} ms`);
        return;
      }
    }
  }

  async #attack(a: Attack): Promise<void> {
    const b = this.byzantine;
    if (!b) return;
    const record: AttackRecord = { attack: a, startedMs: Date.now(), endedMs: null, flood: null, equivocation: null, error: null };
    this.attackLog.push(record);
    try {
      if (a.kind === 'flood') {
        const captureFrom = this.plan.roles.honest.filter((i) => !this.plan.faults.some((f) => f.node === i));
        const what = await b.flooder.request<FloodStepResult>({ cmd: 'flood', step: a.step, targets: a.targets, durMs: a.durMs, captureFrom });
        record.flood = what;
        // Read the targets' counters once the step is over, so what they saw of it can be compared.
        for (const t of a.targets) this.honest.get(t)?.command('stats');
        this.note(`flood ${a.step} -> ${a.targets.join('/')}: ${what.text}`);
      } else {
        const rec = await b.equivocator.request<EquivocationRecord>({ cmd: a.kind });
        record.equivocation = rec;
        this.equivocations.push(rec);
        this.note(`${a.kind} at t0 ${rec.t0}: ${rec.hashes.map((h, i) => `${h.slice(0, 8)} to ${rec.sentTo[i]?.length ?? 0}`).join(', ')}`);
      }
    } catch (e) {
      record.error = (e as Error).message;
      this.attackErrors.push(`${a.kind}${a.kind === 'flood' ? ` ${a.step}` : ''}: ${(e as Error).message}`);
    } finally {
      record.endedMs = Date.now();
    }
  }

  /** Waits for restarts, catch-up, the last instances and the last broadcasts. */
  async drain(): Promise<void> {
    const g = this.genesis!;
    // The last attack of the suite ends within the load phase unless it started late; each step has a timeout.
    await this.#suiteDone;
    const lastMine = this.plan.mines.at(-1)?.atMs ?? 0;
    const lastByz = this.plan.attacks.filter((a) => a.kind !== 'flood').at(-1)?.atMs ?? 0;
    const instancesEndMs = this.loadStartMs + Math.max(lastMine, lastByz) + (this.plan.k + 4) * g.roundMs;
    const scale = this.plan.config.quick ? 0.5 : 1;
    const catchUpDeadline = Date.now() + catchUpWaitMs * scale;
    while ([...this.honest.values()].some((n) => !n.running || n.caughtUpAtMs === null) && Date.now() < catchUpDeadline) {
      this.#sampleAll();
      await sleep(250);
    }
    const behind = [...this.honest.values()].filter((n) => !n.running || n.caughtUpAtMs === null).map((n) => n.index);
    if (behind.length > 0) this.note(`still not caught up after ${catchUpWaitMs * scale} ms: ${behind.join(',')}`);
    if (Date.now() < instancesEndMs) await sleep(instancesEndMs - Date.now());
    const drainDeadline = Date.now() + gossipDrainMaxMs * scale;
    while (Date.now() < drainDeadline) {
      this.#sampleAll();
      const quiet = Date.now() - this.recorder.lastDeliveryMs > gossipQuietMs;
      const open = [...this.outages, ...this.hiddenOutages].some((o) => o.endMs === null && o.kind !== 'pause');
      if (quiet && !open) break;
      await sleep(250);
    }
    this.drainEndMs = Date.now();
  }

  /** Asks every honest validator for its chain and counters, and every Byzantine process for its report. */
  async collect(): Promise<void> {
    const nodes = [...this.honest.values()].filter((n) => n.running);
    const askedMs = Date.now();
    for (const n of nodes) n.command('chain');
    for (const n of nodes) n.command('stats');
    for (const o of this.observers.values()) o.command('chain');
    const deadline = Date.now() + answerTimeoutMs;
    // Counters were read during the run too: only an answer to this request counts as the last one.
    const answered = (i: number) => this.recorder.chains.has(i) && (this.recorder.statsAtMs.get(i) ?? 0) >= askedMs;
    const observersAnswered = () => [...this.observers.keys()].every((i) => this.observerChains.has(i));
    while ((nodes.some((n) => !answered(n.index)) || !observersAnswered()) && Date.now() < deadline) await sleep(100);
    this.#sampleAll();
    if (this.byzantine) {
      for (const [role, b] of Object.entries(this.byzantine)) {
        this.byzantineReports[role] = await b.request({ cmd: 'report' }).catch((e: unknown) => ({ error: (e as Error).message }));
      }
    }
  }

  /** Stops every process: honest validators with SIGTERM, Byzantine ones by closing their channel. */
  async tearDown(): Promise<void> {
    try {
      const nodes = [...this.honest.values(), ...this.observers.values()];
      await Promise.all([...nodes.map((n) => n.stop()), ...Object.values(this.byzantine ?? {}).map((b) => b.close()), this.suite?.close()]);
    } finally {
      killAllChildren();
      this.hosting?.tearDown();
    }
  }
}
