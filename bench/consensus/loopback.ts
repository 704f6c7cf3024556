/**
 * The loopback half of the consensus benchmark: n validators as separate OS processes (validator-proc.ts)
 * on 127.0.0.1 with real sockets, real timers and a one-thread verification pool each, for a decreasing
 * list of round lengths Δ. Each run has a fresh genesis (round 0 starts a moment after it is made, fresh
 * ports), waits until every validator is connected to every other, then mines: n blocks one after the other, each from the next
 * validator (a new instance every round, overlapping ones still running), then several all-mine rounds:
 * every validator mines in each of R consecutive rounds (n instances per round, R n in all). A run is
 * correct when every validator decided every mined block (the very hash its miner proposed), all validators
 * decided the same instances in the same order with the same heights, and all chains end at the same tip
 * (verdict.ts). A proposal the core refused for its timing is made again (validator-proc.ts, counted); one
 * that never goes out fails the run. Per round length it also reports the all-mine rounds' blocks decided
 * per round and per second, and decision latency (T0 to each validator's `decided`) against the
 * Dolev-Strong lower bound (f + 1)Δ.
 *
 * The processes are started once and serve every Δ; every child is killed when the search ends, when the
 * parent exits for any reason, or on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../src/bytes.ts';
import { isCompiled } from '../../src/module-path.ts';
import { machineBusyCpuSeconds } from '../lib.ts';
import { benchNodeFlags } from '../node-flags.ts';
import type { GenesisJson } from '../../src/consensus/genesis.ts';
import { identityFromSeed } from '../../src/crypto/keys.ts';
import { ChildRpcGroup } from '../child-rpc.ts';
import type { MineResult, StartResult, ValidatorReport, ValidatorRequest } from './validator-proc.ts';
import { allMineThroughput, decisionLatenciesMs, judgeRun, latencySummary, throughputRates, type Throughput } from './verdict.ts';

/**
 * Validators run the compiled script of `npm run build` with plain Node, as the installed `strongcast` command
 * runs (search.ts and consensus.ts build first): under tsx every validator process would also carry the
 * loader's thread, and its verification worker another, and compile the sources at each start.
 */
const compiled = isCompiled(import.meta.url);
const script = fileURLToPath(compiled ? new URL('./validator-proc.js', import.meta.url) : new URL('../../dist/bench/consensus/validator-proc.js', import.meta.url));
const repoRoot = fileURLToPath(new URL(compiled ? '../../..' : '../..', import.meta.url));

/** Time a request may take, in ms. */
const requestTimeoutMs = 30_000;
/** Time the validators get to connect to each other after start, in ms. */
const connectTimeoutMs = 20_000;
/** How often connection counts are polled, in ms. */
const pollMs = 50;
/** Wait after the last instance's round k before asking for decisions, in ms (beyond one round). */
const decideSlackMs = 100;
/**
 * First gap between creating a genesis and its round 0, in ms per validator, at least startMarginMsMin
 * (doubled when a validator started too late): n processes start their node and pool on shared cores.
 */
const startMarginMsPerValidator = 150;
const startMarginMsMin = 600;
const startAttemptsMax = 3;
/** The all-mine rounds begin at least this long after they are asked for (the request reaching n processes), in ms. */
const allMineLeadMs = 200;
/** Time children get to exit after the channel closes before they are killed, in ms. */
const exitTimeoutMs = 3_000;

/** What one round length measured, over all its runs. */
export interface LoopbackResult {
  validators: number;
  faults: number;
  rounds: number;
  roundMs: number;
  runs: number;
  blocksPerRun: number;
  blocksDecided: number;
  allDecidedCorrectly: boolean;
  /** Consecutive rounds per run in which every validator mined. */
  allMineRounds: number;
  /** Every run ended with every validator on the same chain (same tip at the same height). */
  chainsIdentical: boolean;
  /** All-mine blocks decided everywhere per round they spanned, and per second from the first T0 to the last decision. */
  blocksPerRound: number | null;
  blocksPerSecond: number | null;
  /** Decision latency of the all-mine blocks (T0 to each validator's `decided`), in ms, and (f + 1)Δ. */
  latencyP50Ms: number | null;
  latencyMaxMs: number | null;
  latencyBoundMs: number;
  latencyP50OverBound: number | null;
  latencyMaxOverBound: number | null;
  /** Instances not decided alike by every validator, over all runs (agreement violations). */
  disagreements: number;
  /** Why the first failing run failed, else null. */
  failure: string | null;
  /**
   * Per node per block mined (every proposal that went out, decided everywhere or not: a failed run's work is
   * still for all of them), from connected to report: verifications by the pools and signatures handed to
   * them (naive); CPU of a validator process (main thread and its worker, idle time included); frames the
   * node handled by kind (Dolev-Strong chains, validators' outcomes, the trees' IHAVE, GRAFT and PRUNE).
   */
  verificationsPerNodePerBlock: number | null;
  naiveVerificationsPerNodePerBlock: number | null;
  cpuMsPerNodePerBlock: number | null;
  chainFramesPerNodePerBlock: number | null;
  outcomeFramesPerNodePerBlock: number | null;
  treeFramesPerNodePerBlock: number | null;
  /** Chains refused by round, pool or core, per node per block (late chains show up here first). */
  rejectedPerNodePerBlock: number;
  /** 1-minute load average of the machine when this round length began: other processes delay messages. */
  loadAverage1m: number;
  /** Blocks a validator learned by catch-up instead of deciding them (0 when the network started normally). */
  syncedBlocks: number;
  /** Those rejections by error code, e.g. "ERR_INSTANCE_OVER:3", or "" for none. */
  rejectedCodes: string;
  /**
   * What the validators knew of their synchrony, summed over validators and runs: stalls, chains checked out
   * of synchrony, catch-ups started again and fork alarms (events), chains checked after their round ended
   * (status); and the smallest recent margin of a check to its deadline among them, in ms. A run whose chains
   * differ with all of these 0 forked silently.
   */
  stalls: number;
  lateChains: number;
  resyncs: number;
  divergenceAlarms: number;
  chainsCheckedLate: number;
  chainMarginMsMin: number | null;
  /**
   * Some run ended with chains that differ while none of its validators knew it was out of synchrony or
   * raised the alarm: the failure issue 18 forbids (a fork the operator cannot see). Judged run by run, so
   * a resync in another run cannot hide it.
   */
  silentFork: boolean;
  /** Proposals repeated because Validator.mine's round-start timer fired before the round began. */
  earlyTimerRetries: number;
  /** Proposals repeated in a later round because the timer fired more than proposeLateMsMax into the round. */
  lateTimerRetries: number;
  /** All-mine proposals that went out in a later round than asked (Validator.mine moved them: the process ran late). */
  allMineLateProposals: number;
}

/** n validator processes and a request/reply channel to each. */
type Validators = ChildRpcGroup<ValidatorRequest>;

/** Starts n validator processes (`node dist/bench/consensus/validator-proc.js`), their output on this process's. */
function spawnValidators(n: number): Validators {
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  return new ChildRpcGroup<ValidatorRequest>(n, (i) => ({ name: `validator ${i}`, argv: [...benchNodeFlags(), script], cwd: repoRoot, requestTimeoutMs }));
}

/** `count` distinct ports free on 127.0.0.1 right now (the system picks them; all held until all are known). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

function seedOf(i: number): Uint8Array {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, i + 1);
  seed.set(new TextEncoder().encode('consensus-loopback'), 8);
  return seed;
}

/** What one run found. */
interface RunOutcome {
  blocks: number;
  /** Proposals that went out (blocks mined), whether decided everywhere or not. */
  mined: number;
  decided: number;
  disagreements: number;
  chainsIdentical: boolean;
  failure: string | null;
  reports: ValidatorReport[];
  /** The all-mine rounds' blocks, rounds and span. */
  throughput: Throughput;
  /** Decision latencies of the all-mine blocks, in ms. */
  latenciesMs: number[];
  /** All-mine proposals that went out in a later round than asked. */
  allMineLate: number;
  earlyTimerRetries: number;
  lateTimerRetries: number;
  /** The machine's CPU while the one-by-one blocks ran, and from the all-mine rounds' request to the report. */
  cpu: Partial<Record<'oneByOne' | 'allMine', PhaseCpu>>;
}

/**
 * Starts a fresh network whose round 0 begins max(startMarginMsMin, n startMarginMsPerValidator) from now, so every validator starts and is
 * connected to every other before it, as in a new network (a validator starting later, or alone at its first
 * round tick, begins by catching up from its peers, which is another benchmark). When one was too slow
 * anyway, the network is stopped and started again with twice the margin.
 */
async function startNetwork(vs: Validators, n: number, faults: number, roundMs: number, run: number): Promise<GenesisJson> {
  const keys = Array.from({ length: n }, (_, i) => identityFromSeed(seedOf(i)).publicKey);
  for (let attempt = 0, marginMs = Math.max(startMarginMsMin, n * startMarginMsPerValidator); ; attempt++, marginMs *= 2) {
    const ports = await freePorts(n);
    const genesis: GenesisJson = {
      networkId: `bench-ds-${roundMs}-${run}-${attempt}`,
      faults,
      roundMs,
      startMs: Date.now() + marginMs,
      validators: keys.map((k, index) => ({ index, publicKey: toHex(k), host: '127.0.0.1', port: ports[index] as number })),
    };
    const started = await vs.all<StartResult>((i) => ({ cmd: 'start', genesis, seed: seedOf(i) }));
    if (!started.some((s) => s.syncing)) {
      await waitConnected(vs, n);
      if (Date.now() < genesis.startMs) return genesis;
    }
    await vs.all(() => ({ cmd: 'stop' }));
    if (attempt + 1 >= startAttemptsMax) throw new Error(`validators took more than ${marginMs} ms to start and connect, ${startAttemptsMax} times`);
  }
}

async function waitConnected(vs: Validators, n: number): Promise<void> {
  const deadline = Date.now() + connectTimeoutMs;
  for (;;) {
    const peers = await vs.all<number>(() => ({ cmd: 'peers' }));
    if (peers.every((p) => p >= n - 1)) return;
    if (Date.now() > deadline) throw new Error(`validators did not connect within ${connectTimeoutMs} ms: peers ${peers.join(',')}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** How often the machine's CPU time is sampled during a run, in ms (cpuPhases). */
const cpuSampleMs = 250;
/** A sample this busy (share of all cores, 0..1) counts as the machine saturated. */
const saturatedBusyMin = 0.95;

/** CPU time of all cores in ms: busy since boot (bench/lib.ts machineBusyCpuSeconds, 0 where unknown), and available until now. */
function cpuTimes(): { busy: number; total: number } {
  return { busy: (machineBusyCpuSeconds() ?? 0) * 1000, total: Date.now() * cpus().length };
}

/** The machine's CPU over one phase of a run: the share of all cores busy, and how long every core was (nearly) busy. */
export interface PhaseCpu {
  busyPercent: number;
  saturatedMs: number;
}

/**
 * Samples the whole machine's CPU (every process, the validators' included) every cpuSampleMs until `phase`
 * names the next phase; `end` stops it and returns each phase's account. The validators share the machine's
 * cores: a phase saturated for longer than a fraction of a round leaves checks waiting for a core, which is
 * what a late chain then says (bench/RESULTS.md on the n = 16 loopback failures).
 */
function cpuPhases<P extends string>(first: P): { phase(next: P): void; end(): Record<P, PhaseCpu> } {
  const acc = new Map<P, { busy: number; total: number; saturatedMs: number }>();
  let current = first;
  let last = cpuTimes();
  let lastMs = Date.now();
  const sample = (): void => {
    const now = cpuTimes();
    const nowMs = Date.now();
    const busy = now.busy - last.busy;
    const total = now.total - last.total;
    const a = acc.get(current) ?? { busy: 0, total: 0, saturatedMs: 0 };
    a.busy += busy;
    a.total += total;
    if (total > 0 && busy / total >= saturatedBusyMin) a.saturatedMs += nowMs - lastMs;
    acc.set(current, a);
    last = now;
    lastMs = nowMs;
  };
  const timer = setInterval(sample, cpuSampleMs);
  timer.unref();
  return {
    phase(next) {
      sample();
      current = next;
    },
    end() {
      sample();
      clearInterval(timer);
      const out = {} as Record<P, PhaseCpu>;
      for (const [p, a] of acc) out[p] = { busyPercent: a.total > 0 ? Math.round((100 * a.busy) / a.total) : 0, saturatedMs: a.saturatedMs };
      return out;
    },
  };
}

const sleepUntil = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/** The first round t0 after `afterT0` whose T0 - Δ/2 is at least `leadMs` from now, and that moment. */
function allMineStart(startMs: number, roundMs: number, afterT0: number, leadMs: number): { t0: number; atMs: number } {
  const t0 = Math.max(afterT0 + 1, Math.ceil((Date.now() + leadMs + roundMs / 2 - startMs) / roundMs));
  return { t0, atMs: startMs + t0 * roundMs - roundMs / 2 };
}

async function oneRun(vs: Validators, spec: LoopbackSpec, roundMs: number, run: number): Promise<RunOutcome> {
  const { validators: n, faults, allMineRounds } = spec;
  const genesis = await startNetwork(vs, n, faults, roundMs, run);
  const roundStart = (t0: number): number => genesis.startMs + t0 * roundMs;
  try {
    await vs.all(() => ({ cmd: 'mark' }));
    const cpu = cpuPhases<'oneByOne' | 'allMine'>('oneByOne');
    const mined: MineResult[] = [];
    let refused: string | null = null;
    const mine = async (i: number): Promise<MineResult | null> => {
      try {
        const m = await vs.request<MineResult>(i, { cmd: 'mine', payload: `run ${run} block by validator ${i}` });
        mined.push(m);
        return m;
      } catch (e) {
        refused ??= `proposal of validator ${i} refused: ${(e as Error).message}`;
        return null;
      }
    };
    // n instances in consecutive rounds: the next mine is asked for past the point where a proposal may still
    // go out in the current round, so it takes the next one.
    for (let i = 0; i < n; i++) {
      const m = await mine(i);
      if (m) await sleepUntil(roundStart(m.t0) + roundMs / 2);
    }
    // Then every validator mines in each of allMineRounds consecutive rounds. Each starts half a round before
    // the first of them (past the proposal window of the round before), so its first proposal takes that round.
    const lastSingle = Math.max(-1, ...mined.map((m) => m.t0));
    const from = allMineStart(genesis.startMs, roundMs, lastSingle, allMineLeadMs);
    const allMine: MineResult[] = [];
    let allMineLate = 0;
    cpu.phase('allMine');
    await Promise.all(Array.from({ length: n }, async (_, i) => {
      try {
        const ms = await vs.request<MineResult[]>(i, { cmd: 'mineRounds', payload: `run ${run} all-mine by validator ${i}`, atMs: from.atMs, rounds: allMineRounds });
        allMine.push(...ms);
        allMineLate += ms.filter((m, j) => m.t0 > from.t0 + j).length;
      } catch (e) {
        refused ??= `all-mine proposal of validator ${i} refused: ${(e as Error).message}`;
      }
    }));
    mined.push(...allMine);
    const lastT0 = Math.max(...mined.map((m) => m.t0));
    await sleepUntil(roundStart(lastT0 + faults + 1) + roundMs + decideSlackMs);
    const reports = await vs.all<ValidatorReport>(() => ({ cmd: 'report' }));
    const cpuByPhase = cpu.end();
    const verdict = judgeRun(mined, reports);
    const earlyTimerRetries = mined.reduce((s, m) => s + m.earlyTimerRetries, 0);
    const lateTimerRetries = mined.reduce((s, m) => s + m.lateTimerRetries, 0);
    return {
      blocks: n + allMineRounds * n,
      mined: mined.length,
      decided: verdict.decided,
      disagreements: verdict.disagreements,
      chainsIdentical: verdict.chainsIdentical,
      failure: refused ?? verdict.failure,
      reports,
      throughput: allMineThroughput(allMine, reports, genesis.startMs, roundMs),
      latenciesMs: decisionLatenciesMs(allMine, reports, genesis.startMs, roundMs),
      allMineLate,
      earlyTimerRetries,
      lateTimerRetries,
      cpu: cpuByPhase,
    };
  } finally {
    await vs.all(() => ({ cmd: 'stop' }));
  }
}

/** Options of the round-length search. */
export interface LoopbackSpec {
  validators: number;
  faults: number;
  /** Round lengths to try, longest first; the search stops after the first that fails. */
  roundMsList: readonly number[];
  runsPerRoundMs: number;
  /** Consecutive rounds per run in which every validator mines (after the n one-by-one blocks). */
  allMineRounds: number;
}

/** Runs the search for one n and returns one result per round length tried. */
export async function searchRoundMs(spec: LoopbackSpec, log: (line: string) => void): Promise<LoopbackResult[]> {
  const n = spec.validators;
  const vs = spawnValidators(n);
  const out: LoopbackResult[] = [];
  try {
    for (const roundMs of spec.roundMsList) {
      const load = Math.round((loadavg()[0] ?? 0) * 100) / 100;
      const outcomes: RunOutcome[] = [];
      for (let run = 0; run < spec.runsPerRoundMs; run++) {
        const o = await oneRun(vs, spec, roundMs, run);
        outcomes.push(o);
        const lat = latencySummary(o.latenciesMs, spec.faults, roundMs);
        const rates = throughputRates([o.throughput]);
        log(
          `  loopback n=${n} roundMs=${roundMs} run ${run + 1}/${spec.runsPerRoundMs}: ${o.decided}/${o.blocks} blocks decided everywhere, chains ${o.chainsIdentical ? 'identical' : 'DIFFER'}; ` +
            `all-mine ${o.throughput.blocks} blocks in ${o.throughput.rounds} rounds (${fmt(rates.blocksPerRound)}/round, ${fmt(rates.blocksPerSecond)}/s), ` +
            `latency p50 ${fmt(lat.p50Ms)} max ${fmt(lat.maxMs)} ms vs (f+1)Δ ${lat.boundMs} ms (${fmt(lat.p50OverBound)}x, ${fmt(lat.maxOverBound)}x)` +
            `; per node per block mined: CPU ${fmt(perNodeMined(o, (r) => r.cpuMs))} ms, chain frames ${fmt(perNodeMined(o, (r) => r.framesIn.chain))}, outcome frames ${fmt(perNodeMined(o, (r) => r.framesIn.outcome))}` +
            `; machine CPU ${cpuLine(o.cpu)}` +
            `${o.failure ? `, FAILED: ${o.failure}; ${synchronyLine(o.reports)}${lateChainsLine(o.reports)}` : ''}`,
        );
        if (o.failure) break;
      }
      out.push(summarize(spec, roundMs, outcomes, load));
      if (outcomes.some((o) => o.failure)) break;
    }
  } finally {
    await vs.close(exitTimeoutMs);
  }
  return out;
}

/** A per-validator count of one run over its validators and blocks mined. */
function perNodeMined(o: RunOutcome, f: (r: ValidatorReport) => number): number | null {
  const cells = o.reports.length * o.mined;
  return cells === 0 ? null : o.reports.reduce((s, r) => s + f(r), 0) / cells;
}

const fmt = (x: number | null): string => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(2));

function summarize(spec: LoopbackSpec, roundMs: number, outcomes: RunOutcome[], loadAverage1m: number): LoopbackResult {
  const n = spec.validators;
  const decided = outcomes.reduce((s, o) => s + o.decided, 0);
  const reports = outcomes.flatMap((o) => o.reports);
  const total = (f: (r: ValidatorReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
  const perNodeBlock = n * outcomes.reduce((s, o) => s + o.mined, 0);
  const per = (x: number): number | null => (perNodeBlock === 0 ? null : x / perNodeBlock);
  const failure = outcomes.find((o) => o.failure)?.failure ?? null;
  const blocksPerRun = n + spec.allMineRounds * n;
  const lat = latencySummary(outcomes.flatMap((o) => o.latenciesMs), spec.faults, roundMs);
  const rates = throughputRates(outcomes.map((o) => o.throughput));
  return {
    validators: n,
    faults: spec.faults,
    rounds: spec.faults + 1,
    roundMs,
    runs: outcomes.length,
    blocksPerRun,
    blocksDecided: decided,
    allDecidedCorrectly: failure === null,
    allMineRounds: spec.allMineRounds,
    chainsIdentical: outcomes.every((o) => o.chainsIdentical),
    blocksPerRound: rates.blocksPerRound,
    blocksPerSecond: rates.blocksPerSecond,
    latencyP50Ms: lat.p50Ms,
    latencyMaxMs: lat.maxMs,
    latencyBoundMs: lat.boundMs,
    latencyP50OverBound: lat.p50OverBound,
    latencyMaxOverBound: lat.maxOverBound,
    disagreements: outcomes.reduce((s, o) => s + o.disagreements, 0),
    failure,
    verificationsPerNodePerBlock: per(total((r) => r.signaturesVerified)),
    naiveVerificationsPerNodePerBlock: per(total((r) => r.signaturesRequested)),
    cpuMsPerNodePerBlock: per(total((r) => r.cpuMs)),
    chainFramesPerNodePerBlock: per(total((r) => r.framesIn.chain)),
    outcomeFramesPerNodePerBlock: per(total((r) => r.framesIn.outcome)),
    treeFramesPerNodePerBlock: per(total((r) => r.framesIn.tree)),
    rejectedPerNodePerBlock: total((r) => Object.values(r.rejected).reduce((s, v) => s + v, 0)) / Math.max(1, n * blocksPerRun * outcomes.length),
    loadAverage1m,
    syncedBlocks: total((r) => r.synced),
    rejectedCodes: rejectedCodes(reports),
    ...synchronySummary(reports),
    silentFork: outcomes.some((o) => !o.chainsIdentical && !knewOfSynchrony(o.reports)),
    earlyTimerRetries: outcomes.reduce((s, o) => s + o.earlyTimerRetries, 0),
    lateTimerRetries: outcomes.reduce((s, o) => s + o.lateTimerRetries, 0),
    allMineLateProposals: outcomes.reduce((s, o) => s + o.allMineLate, 0),
  };
}

/** Whether any of these validators said it was out of synchrony (a stall, a late chain, a resync) or raised the fork alarm. */
function knewOfSynchrony(reports: ValidatorReport[]): boolean {
  return reports.some((r) => r.synchrony.stalled + r.synchrony.lateChains + r.synchrony.resyncs + r.synchrony.divergences > 0);
}

/** The validators' own account of their synchrony, summed (margins: the smallest). */
function synchronySummary(reports: ValidatorReport[]): Pick<LoopbackResult, 'stalls' | 'lateChains' | 'resyncs' | 'divergenceAlarms' | 'chainsCheckedLate' | 'chainMarginMsMin'> {
  const sum = (f: (s: ValidatorReport['synchrony']) => number): number => reports.reduce((a, r) => a + f(r.synchrony), 0);
  const margins = reports.map((r) => r.synchrony.chainMarginMsRecentMin).filter((m): m is number => m !== null);
  return {
    stalls: sum((s) => s.stalled),
    lateChains: sum((s) => s.lateChains),
    resyncs: sum((s) => s.resyncs),
    divergenceAlarms: sum((s) => s.divergences),
    chainsCheckedLate: sum((s) => s.chainsCheckedLate),
    chainMarginMsMin: margins.length === 0 ? null : Math.min(...margins),
  };
}

/** What the validators of a failed run said of their synchrony, and what they refused, in one line. */
function synchronyLine(reports: ValidatorReport[]): string {
  const s = synchronySummary(reports);
  return `the validators' own account: stalls ${s.stalls}, late chains ${s.lateChains}, chains checked late ${s.chainsCheckedLate}, resyncs ${s.resyncs}, divergence alarms ${s.divergenceAlarms}, smallest chain margin ${s.chainMarginMsMin ?? '-'} ms; refused: ${rejectedCodes(reports) || 'none'}`;
}

/** Each phase's share of the machine's cores busy, and how long they were all busy. */
function cpuLine(cpu: RunOutcome['cpu']): string {
  const one = (name: string, p: PhaseCpu | undefined): string => (p ? `${name} ${p.busyPercent}% busy (saturated ${p.saturatedMs} ms)` : `${name} -`);
  return `${one('one-by-one', cpu.oneByOne)}, ${one('all-mine', cpu.allMine)}`;
}

/**
 * The chains the validators checked out of synchrony, by validator: the instance and round of each, its check
 * and how late it ended. The failure names the oldest block some validator did not decide; after a resync
 * that is the oldest instance still open at the time, up to f + 1 rounds before the chain that was late.
 */
function lateChainsLine(reports: ValidatorReport[]): string {
  const parts = reports.flatMap((r, i) =>
    r.lateChainList.map((c) => `validator ${i}: (miner ${c.miner}, t0 ${c.t0}) round ${c.round}, check ${c.checkMs} ms, ${c.ended ? 'ended' : 'still running'} ${c.lateMs} ms past its round`),
  );
  return parts.length === 0 ? '' : `; late chains: ${parts.join('; ')}`;
}

function rejectedCodes(reports: ValidatorReport[]): string {
  const byCode = new Map<string, number>();
  for (const r of reports) for (const [code, count] of Object.entries(r.rejected)) byCode.set(code, (byCode.get(code) ?? 0) + count);
  return [...byCode].map(([code, count]) => `${code}:${count}`).join(' ');
}
