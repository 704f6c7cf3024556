/**
 * The loopback half of the consensus benchmark: n validators as separate OS processes (validator-proc.ts)
 * on 127.0.0.1 with real sockets, real timers and a one-thread verification pool each, for a decreasing
 * list of round lengths Δ. Each run has a fresh genesis (round 0 starts a moment after it is made, fresh
 * ports), waits until every validator is connected to every other, then mines: n blocks one after the other, each from the next
 * validator (a new instance every round, overlapping ones still running), then one block from every
 * validator at once (n instances of the same round). A run is correct when every validator decided every
 * mined block (the very hash its miner proposed) and all validators decided the same instances in the same
 * order with the same heights. A proposal the core refused for its timing is made again (validator-proc.ts,
 * counted); one that never goes out fails the run.
 *
 * The processes are started once and serve every Δ; every child is killed when the search ends, when the
 * parent exits for any reason, or on SIGINT/SIGTERM.
 */
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../src/bytes.ts';
import type { GenesisJson } from '../../src/consensus/genesis.ts';
import { identityFromSeed } from '../../src/crypto/keys.ts';
import { ChildRpcGroup } from '../child-rpc.ts';
import type { DecidedRecord, MineResult, StartResult, ValidatorReport, ValidatorRequest } from './validator-proc.ts';

const script = fileURLToPath(new URL('./validator-proc.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Time a request may take, in ms. */
const requestTimeoutMs = 30_000;
/** Time the validators get to connect to each other after start, in ms. */
const connectTimeoutMs = 20_000;
/** How often connection counts are polled, in ms. */
const pollMs = 50;
/** Wait after the last instance's round k before asking for decisions, in ms (beyond one round). */
const decideSlackMs = 100;
/** First gap between creating a genesis and its round 0, in ms (doubled when a validator started too late). */
const startMarginMs = 600;
const startAttemptsMax = 3;
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
  /** Instances not decided alike by every validator, over all runs (agreement violations). */
  disagreements: number;
  /** Why the first failing run failed, else null. */
  failure: string | null;
  /** Verifications by the pools per node per decided block, and signatures handed to them (naive). */
  verificationsPerNodePerBlock: number | null;
  naiveVerificationsPerNodePerBlock: number | null;
  /** CPU of a validator process (main thread and its worker) per decided block, from connected to report. */
  cpuMsPerNodePerBlock: number | null;
  /** Chains refused by round, pool or core, per node per block (late chains show up here first). */
  rejectedPerNodePerBlock: number;
  /** 1-minute load average of the machine when this round length began: other processes delay messages. */
  loadAverage1m: number;
  /** Blocks a validator learned by catch-up instead of deciding them (0 when the network started normally). */
  syncedBlocks: number;
  /** Those rejections by error code, e.g. "ERR_INSTANCE_OVER:3", or "" for none. */
  rejectedCodes: string;
  /** Proposals repeated because Validator.mine's round-start timer fired before the round began. */
  earlyTimerRetries: number;
  /** Proposals repeated in a later round because the timer fired more than proposeLateMsMax into the round. */
  lateTimerRetries: number;
}

/** n validator processes and a request/reply channel to each. */
type Validators = ChildRpcGroup<ValidatorRequest>;

/** Starts n validator processes under tsx, their output on this process's. */
function spawnValidators(n: number): Validators {
  return new ChildRpcGroup<ValidatorRequest>(n, (i) => ({ name: `validator ${i}`, argv: ['--import', 'tsx', script], cwd: repoRoot, requestTimeoutMs }));
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
  decided: number;
  disagreements: number;
  failure: string | null;
  reports: ValidatorReport[];
  earlyTimerRetries: number;
  lateTimerRetries: number;
}

/** What one run's decisions show. */
interface Verdict {
  /** Mined blocks every validator decided with the hash its miner proposed. */
  decided: number;
  /** Instances not decided alike by every validator (a different block, "no block", or none at all). */
  disagreements: number;
  failure: string | null;
}

/** Checks agreement (same instances, blocks and heights everywhere) and validity (every mined block decided). */
function judge(mined: MineResult[], reports: ValidatorReport[]): Verdict {
  const show = (d: DecidedRecord | undefined): string => (d === undefined ? 'no decision' : d.hash === null ? 'no block' : `${d.hash.slice(0, 8)} at height ${d.height}`);
  const byInstance = reports.map((r) => new Map(r.decided.map((d) => [`${d.t0}/${d.miner}`, d])));
  const instances = [...new Set(byInstance.flatMap((m) => [...m.keys()]))].sort((a, b) => Number(a.split('/')[0]) - Number(b.split('/')[0]) || a.localeCompare(b));
  let disagreements = 0;
  let failure: string | null = null;
  for (const key of instances) {
    const seen = byInstance.map((m) => show(m.get(key)));
    if (seen.every((v) => v === seen[0])) continue;
    disagreements++;
    // Group validators by outcome: "instance t0/miner 30/0: 6a6af045 at height 5 on validators 0,2,3; no decision on validators 1".
    const groups = new Map<string, number[]>();
    seen.forEach((v, i) => groups.set(v, [...(groups.get(v) ?? []), i]));
    failure ??= `instance t0/miner ${key}: ${[...groups].map(([v, is]) => `${v} on validators ${is.join(',')}`).join('; ')}`;
  }
  let decided = 0;
  for (const m of mined) {
    if (byInstance.every((b) => b.get(`${m.t0}/${m.miner}`)?.hash === m.hash)) decided++;
    else failure ??= `block of miner ${m.miner} at t0 ${m.t0} not decided by every validator`;
  }
  return { decided, disagreements, failure };
}

/**
 * Starts a fresh network whose round 0 begins `startMarginMs` from now, so every validator starts and is
 * connected to every other before it, as in a new network (a validator starting later, or alone at its first
 * round tick, begins by catching up from its peers, which is another benchmark). When one was too slow
 * anyway, the network is stopped and started again with twice the margin.
 */
async function startNetwork(vs: Validators, n: number, faults: number, roundMs: number, run: number): Promise<GenesisJson> {
  const keys = Array.from({ length: n }, (_, i) => identityFromSeed(seedOf(i)).publicKey);
  for (let attempt = 0, marginMs = startMarginMs; ; attempt++, marginMs *= 2) {
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

const sleepUntil = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

async function oneRun(vs: Validators, n: number, faults: number, roundMs: number, run: number): Promise<RunOutcome> {
  const genesis = await startNetwork(vs, n, faults, roundMs, run);
  const roundStart = (t0: number): number => genesis.startMs + t0 * roundMs;
  try {
    await vs.all(() => ({ cmd: 'mark' }));
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
    // go out in the current round, so it takes the next one. Then n instances in one round.
    for (let i = 0; i < n; i++) {
      const m = await mine(i);
      if (m) await sleepUntil(roundStart(m.t0) + roundMs / 2);
    }
    await Promise.all(Array.from({ length: n }, (_, i) => mine(i)));
    const lastT0 = Math.max(...mined.map((m) => m.t0));
    await sleepUntil(roundStart(lastT0 + faults + 1) + roundMs + decideSlackMs);
    const reports = await vs.all<ValidatorReport>(() => ({ cmd: 'report' }));
    const verdict = judge(mined, reports);
    const earlyTimerRetries = mined.reduce((s, m) => s + m.earlyTimerRetries, 0);
    const lateTimerRetries = mined.reduce((s, m) => s + m.lateTimerRetries, 0);
    return { blocks: 2 * n, decided: verdict.decided, disagreements: verdict.disagreements, failure: refused ?? verdict.failure, reports, earlyTimerRetries, lateTimerRetries };
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
        const o = await oneRun(vs, n, spec.faults, roundMs, run);
        outcomes.push(o);
        log(`  loopback n=${n} roundMs=${roundMs} run ${run + 1}/${spec.runsPerRoundMs}: ${o.decided}/${o.blocks} blocks decided everywhere${o.failure ? `, FAILED: ${o.failure}` : ''}`);
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

function summarize(spec: LoopbackSpec, roundMs: number, outcomes: RunOutcome[], loadAverage1m: number): LoopbackResult {
  const n = spec.validators;
  const decided = outcomes.reduce((s, o) => s + o.decided, 0);
  const reports = outcomes.flatMap((o) => o.reports);
  const total = (f: (r: ValidatorReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
  const perNodeBlock = n * decided;
  const per = (x: number): number | null => (perNodeBlock === 0 ? null : x / perNodeBlock);
  const failure = outcomes.find((o) => o.failure)?.failure ?? null;
  return {
    validators: n,
    faults: spec.faults,
    rounds: spec.faults + 1,
    roundMs,
    runs: outcomes.length,
    blocksPerRun: 2 * n,
    blocksDecided: decided,
    allDecidedCorrectly: failure === null,
    disagreements: outcomes.reduce((s, o) => s + o.disagreements, 0),
    failure,
    verificationsPerNodePerBlock: per(total((r) => r.signaturesVerified)),
    naiveVerificationsPerNodePerBlock: per(total((r) => r.signaturesRequested)),
    cpuMsPerNodePerBlock: per(total((r) => r.cpuMs)),
    rejectedPerNodePerBlock: total((r) => Object.values(r.rejected).reduce((s, v) => s + v, 0)) / Math.max(1, n * 2 * n * outcomes.length),
    loadAverage1m,
    syncedBlocks: total((r) => r.synced),
    rejectedCodes: rejectedCodes(reports),
    earlyTimerRetries: outcomes.reduce((s, o) => s + o.earlyTimerRetries, 0),
    lateTimerRetries: outcomes.reduce((s, o) => s + o.lateTimerRetries, 0),
  };
}

function rejectedCodes(reports: ValidatorReport[]): string {
  const byCode = new Map<string, number>();
  for (const r of reports) for (const [code, count] of Object.entries(r.rejected)) byCode.set(code, (byCode.get(code) ?? 0) + count);
  return [...byCode].map(([code, count]) => `${code}:${count}`).join(' ');
}
