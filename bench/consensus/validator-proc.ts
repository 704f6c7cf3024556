/**
 * One validator of the consensus benchmark's loopback runs (bench/consensus.ts), in its own OS process: the
 * production wiring (createNode on 127.0.0.1, a one-thread verification pool with the validator set, the
 * Validator shell on real timers), as the CLI validator builds it.
 *
 * The parent drives it over the IPC channel, each request answered once: `start` a validator for a genesis
 * (a fresh node, pool and validator every time, so one process serves every round length of a run), `peers`,
 * `mark` (start counting CPU and verifications), `mine`, `mineRounds` (one proposal in each of several
 * consecutive rounds, from a given moment), `report`, `stop`. The process exits when the
 * parent goes away or after lifetimeMaxMs.
 */
import { genesisHash, parseGenesis, type GenesisJson } from '../../src/consensus/genesis.ts';
import { identityFromSeed } from '../../src/crypto/keys.ts';
import { createVerifyPool, type VerifyPool, type VerifyPoolStats } from '../../src/crypto/verify-pool.ts';
import { type StrongcastNode } from '../../src/core/node.ts';
import { createNode } from '../../src/create-node.ts';
import { Validator } from '../../src/core/validator.ts';
import { serveRequests } from '../child-serve.ts';
import { toHex } from '../../src/bytes.ts';

/** The process exits by itself if the parent has not stopped it within this, in ms. */
const lifetimeMaxMs = 10 * 60_000;
/** Verification worker threads per validator, as `--threads 1` on the CLI. */
const poolThreads = 1;
/** A proposal refused for its timing is repeated at most this often (see mine()). */
const retriesMax = 5;

/** Requests from the parent; `rid` pairs a request with its reply. */
export type ValidatorRequest =
  | { rid: number; cmd: 'start'; genesis: GenesisJson; seed: Uint8Array }
  | { rid: number; cmd: 'peers' }
  | { rid: number; cmd: 'mark' }
  | { rid: number; cmd: 'mine'; payload: string }
  /** At `atMs` (this machine's Date.now), mine `rounds` blocks, one per round, each in the round after the last. */
  | { rid: number; cmd: 'mineRounds'; payload: string; atMs: number; rounds: number }
  | { rid: number; cmd: 'report' }
  | { rid: number; cmd: 'stop' };

/** One decided instance as this validator saw it. */
export interface DecidedRecord {
  miner: number;
  t0: number;
  hash: string | null;
  height: number | null;
  /** Date.now() when the validator emitted `decided` for it. */
  atMs: number;
}

/** One chain a validator checked out of synchrony (its `late-chain` event). */
export interface LateChainRecord {
  miner: number;
  t0: number;
  /** The round the chain arrived in (1 = the miner's). */
  round: number;
  checkMs: number;
  /** How long after the end of its round the check ended (or was found still running). */
  lateMs: number;
  /** False when it was found still running. */
  ended: boolean;
}

/** Late chains listed per validator report, at most. */
const lateChainsListedMax = 4;

/** Result of `mine`: the instance the proposal went out for. */
export interface MineResult {
  miner: number;
  t0: number;
  hash: string;
  /** Proposals repeated because the round-start timer fired before the round began (see mine()). */
  earlyTimerRetries: number;
  /** Proposals repeated in a later round because the timer fired too late in the round (see mine()). */
  lateTimerRetries: number;
}

/** Result of `report`, counted since `mark`. */
export interface ValidatorReport {
  decided: DecidedRecord[];
  /** Height of the validator's chain and the hash of its last block (hex; "" for an empty chain). */
  height: number;
  tipHash: string;
  /** Rejections by error code (chains refused by round, pool or core). */
  rejected: Record<string, number>;
  /** Blocks learned by catch-up rather than decided (none when every validator started before the genesis start). */
  synced: number;
  /**
   * What the validator knew of its own synchrony (issue 18): its events since `start` (a process stall, a
   * chain checked out of synchrony, a catch-up started again, an alarm of honest chains forked), and from
   * status the chains checked after their round ended and the smallest recent margin of a check to its
   * round deadline (ms; null before any check).
   */
  synchrony: { stalled: number; lateChains: number; resyncs: number; divergences: number; chainsCheckedLate: number; chainMarginMsRecentMin: number | null };
  /**
   * The chains its `late-chain` events named, the first lateChainsListedMax of them: which instance, in which
   * round, how long its check ran and how far past its round it ended. A run's failure names the oldest
   * block a validator did not decide, which after a resync is simply the oldest instance still open then
   * (up to f + 1 rounds before the late chain), not the chain that was late; this says which one was.
   */
  lateChainList: LateChainRecord[];
  cpuMs: number;
  /** Frames the node handled, by kind: Dolev-Strong chains, validators' outcomes, the trees' IHAVE, GRAFT and PRUNE. */
  framesIn: FramesIn;
  signaturesVerified: number;
  signaturesRequested: number;
  cacheHits: number;
  inFlightHits: number;
}

/** Frames a node handled by kind (core/traffic.ts). */
export interface FramesIn {
  chain: number;
  outcome: number;
  tree: number;
}

function framesIn(node: StrongcastNode): FramesIn {
  const t = node.traffic.in;
  return { chain: t.ds, outcome: t.outcome, tree: t.ihave + t.graft + t.prune };
}

interface Running {
  node: StrongcastNode;
  pool: VerifyPool;
  validator: Validator;
  decided: DecidedRecord[];
  rejected: Record<string, number>;
  /** Blocks learned by catch-up instead of decided here. */
  synced: number;
  /** Synchrony events since start, by name. */
  events: { stalled: number; lateChains: number; resyncs: number; divergences: number };
  /** The first late chains, as their events named them. */
  lateChainList: LateChainRecord[];
  cpu0: NodeJS.CpuUsage;
  stats0: VerifyPoolStats;
  frames0: FramesIn;
}

let running: Running | null = null;

/** Result of `start`. */
export interface StartResult {
  port: number;
  /** True when the validator started after the genesis start and so began by catching up from its peers. */
  syncing: boolean;
}

async function start(genesisJson: GenesisJson, seed: Uint8Array): Promise<StartResult> {
  if (running) await stop();
  const genesis = parseGenesis(genesisJson);
  const identity = identityFromSeed(seed);
  const self = genesis.validators.find((v) => v.publicKey.every((b, i) => b === identity.publicKey[i]));
  if (!self) throw new Error('the key is not a validator of this genesis');
  const pool = createVerifyPool({
    threads: poolThreads,
    consensus: { networkId: genesis.networkId, genesisHash: genesisHash(genesis), validatorKeys: genesis.validators.map((v) => v.publicKey) },
  });
  const peers = genesis.validators.filter((v) => v.index !== self.index).map((v) => `${v.host}:${v.port}`);
  const node = createNode({ host: '127.0.0.1', port: self.port, networkId: genesis.networkId, identity, peers, verifier: pool });
  const validator = new Validator({ node, genesis, identity, verifier: pool });
  const events = { stalled: 0, lateChains: 0, resyncs: 0, divergences: 0 };
  const r: Running = { node, pool, validator, decided: [], rejected: {}, synced: 0, events, lateChainList: [], cpu0: process.cpuUsage(), stats0: pool.stats(), frames0: framesIn(node) };
  validator.on('stalled', () => events.stalled++);
  validator.on('late-chain', (e) => {
    events.lateChains++;
    if (r.lateChainList.length < lateChainsListedMax) r.lateChainList.push({ miner: e.instance.miner, t0: e.instance.t0, round: e.round, checkMs: e.checkMs, lateMs: e.lateMs, ended: e.ended });
  });
  validator.on('resync', () => events.resyncs++);
  validator.on('diverged', () => events.divergences++);
  validator.on('decided', (e) => r.decided.push({ miner: e.instance.miner, t0: e.instance.t0, hash: e.block?.hash ?? null, height: e.block?.height ?? null, atMs: Date.now() }));
  validator.on('rejected', (e) => (r.rejected[e.code] = (r.rejected[e.code] ?? 0) + 1));
  validator.on('synced', () => r.synced++);
  running = r;
  const info = await node.start();
  validator.start();
  const syncing = validator.syncing;
  // Load the worker now: its start-up is not what a round length has to absorb.
  const probe = new TextEncoder().encode('warm-up');
  await pool.verify([{ publicKey: identity.publicKey, message: probe, signature: identity.sign(probe) }]);
  return { port: info.port, syncing };
}

function need(): Running {
  if (!running) throw new Error('no validator running');
  return running;
}

async function stop(): Promise<null> {
  const r = running;
  running = null;
  if (!r) return null;
  r.validator.stop();
  await r.node.stop();
  await r.pool.close();
  return null;
}

/**
 * Proposes, repeating a proposal the core refused for its timing, as an operator would mine again:
 *  - early: Validator.mine waits with setTimeout until the round starts, and a Node timer can fire up to a
 *    millisecond before that by Date.now() (timers run on the event loop's cached monotonic clock), so the
 *    core refuses it as "has not started"; mining again proposes in that same round;
 *  - late: the timer fired more than proposeLateMsMax into the round (a busy machine), so the core refuses it
 *    rather than risk a proposal that reaches some validators after round 1; mining again takes the next round.
 * Both are counted; any other refusal, or more than retriesMax, fails the request.
 */
async function mine(r: Running, payload: string): Promise<MineResult> {
  let early = 0;
  let late = 0;
  for (;;) {
    try {
      const { instance, hash } = await r.validator.mine(new TextEncoder().encode(payload));
      return { miner: instance.miner, t0: instance.t0, hash, earlyTimerRetries: early, lateTimerRetries: late };
    } catch (e) {
      const message = (e as Error).message;
      if (early + late >= retriesMax) throw e;
      if (/has not started/.test(message)) early++;
      else if (/past proposeLateMsMax/.test(message)) late++;
      else throw e;
    }
  }
}

/**
 * Waits until `atMs`, then mines `rounds` blocks back to back: each Validator.mine after a proposal in round t
 * takes round t + 1 (a miner proposes once per round), so the blocks go out in consecutive rounds unless a
 * proposal had to move to a later round (counted in its lateTimerRetries).
 */
async function mineRounds(r: Running, payload: string, atMs: number, rounds: number): Promise<MineResult[]> {
  await new Promise((res) => setTimeout(res, Math.max(0, atMs - Date.now())));
  const out: MineResult[] = [];
  for (let i = 0; i < rounds; i++) out.push(await mine(r, `${payload} round ${i}`));
  return out;
}

function report(): ValidatorReport {
  const r = need();
  const cpu = process.cpuUsage(r.cpu0);
  const s = r.pool.stats();
  const chain = r.validator.chain();
  const tip = chain[chain.length - 1];
  const sync = r.validator.status().synchrony;
  const frames = framesIn(r.node);
  return {
    decided: r.decided,
    height: tip?.height ?? 0,
    tipHash: tip ? toHex(tip.hash) : '',
    rejected: r.rejected,
    synced: r.synced,
    synchrony: { ...r.events, chainsCheckedLate: sync.chainsCheckedLate, chainMarginMsRecentMin: sync.chainMarginMsRecentMin },
    lateChainList: r.lateChainList,
    cpuMs: (cpu.user + cpu.system) / 1000,
    framesIn: { chain: frames.chain - r.frames0.chain, outcome: frames.outcome - r.frames0.outcome, tree: frames.tree - r.frames0.tree },
    signaturesVerified: s.signaturesVerified - r.stats0.signaturesVerified,
    signaturesRequested: s.signaturesRequested - r.stats0.signaturesRequested,
    cacheHits: s.cacheHits - r.stats0.cacheHits,
    inFlightHits: s.inFlightHits - r.stats0.inFlightHits,
  };
}

async function handle(req: ValidatorRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start':
      return start(req.genesis, req.seed);
    case 'peers':
      return need().node.peers().length;
    case 'mark': {
      const r = need();
      r.cpu0 = process.cpuUsage();
      r.stats0 = r.pool.stats();
      r.frames0 = framesIn(r.node);
      r.decided = [];
      r.rejected = {};
      r.synced = 0;
      return null;
    }
    case 'mine':
      return mine(need(), req.payload);
    case 'mineRounds':
      return mineRounds(need(), req.payload, req.atMs, req.rounds);
    case 'report':
      return report();
    case 'stop':
      return stop();
  }
}

serveRequests<ValidatorRequest>(handle);
process.on('disconnect', () => {
  void stop().finally(() => process.exit(0));
});
setTimeout(() => process.exit(1), lifetimeMaxMs).unref();
