/**
 * The attacker: a process of its own, so that its CPU is measured apart from the victim's and the suite's.
 * Driven by the suite over IPC (../child-rpc.ts): `prepare` builds what an attack sends (signing in advance,
 * crafted frames, sinks), `start` begins it against the victim, `stop` ends it and answers with what it did
 * and the CPU it took (this process's user + system time, preparation and attack apart).
 *
 *   node dist/bench/attack/attacker.js      (started by bench/attack.ts, never by hand)
 */
import { serveRequests } from '../child-serve.ts';
import type { AttackName } from './catalog.ts';
import { AttackRun, type AttackTally, type AttackTarget } from './attack-run.ts';
import { decodePre, decodePreauth, prepareDecodePre, prepareManyKeys, silentSockets, stalledHandshakes, type DecodePrePrepared, type ManyKeysPrepared } from './attacks-handshake.ts';
import { closeReflection, eclipse, prepareReflection, prepareRelayRate, reflectionFlood, relayRateFlood, type ReflectionPrepared, type RelayRatePrepared } from './attacks-sybil.ts';
import { badSigFreshKeys, bigFrames, decodePost, deepNesting, getchainFlood, getpeersFlood, graftFlood, ihaveFlood, prepareBigFrames, prepareDeepNesting, prepareGraft, pruneFlood, type GraftPrepared } from './attacks-flood.ts';

/** A request of the suite. */
export type AttackerRequest =
  | { rid: number; cmd: 'prepare'; attack: AttackName; networkId: string; expectedMs: number; seed: number }
  | { rid: number; cmd: 'start'; target: AttackTarget; sources: string[]; seed: number; hardMs: number; honestIds: string[] }
  | { rid: number; cmd: 'stop' };

/** The answer to `stop`. */
export interface AttackerReport {
  attack: AttackName;
  /** CPU of the preparation and of the attack itself, in ms. */
  prepCpuMs: number;
  runCpuMs: number;
  /** From start to the end of the attack, in ms. */
  runMs: number;
  tally: AttackTally;
}

/** How long the attack's loops get to end after stop before the answer goes anyway, in ms. */
const stopGraceMs = 5000;

/** What prepare made, whichever attack it was. */
type Prepared = { attack: AttackName; data: unknown; cleanup?: () => void };

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** What each attack prepares; none for those that build nothing in advance. */
async function prepare(attack: AttackName, networkId: string, expectedMs: number, seed: number): Promise<Prepared> {
  switch (attack) {
    case 'relay-rate':
      return { attack, data: prepareRelayRate(networkId, expectedMs, seed) };
    case 'reflection': {
      const data = await prepareReflection(seed);
      return { attack, data, cleanup: () => closeReflection(data) };
    }
    case 'decode-pre':
      return { attack, data: prepareDecodePre(networkId) };
    case 'decode-preauth':
    case 'decode-post':
      return { attack, data: prepareManyKeys() };
    case 'graft-flood':
      return { attack, data: prepareGraft(networkId, seed) };
    case 'big-frames':
      return { attack, data: prepareBigFrames() };
    case 'deep-nesting':
      return { attack, data: prepareDeepNesting() };
    default:
      return { attack, data: null };
  }
}

/** Runs the prepared attack until `run` stops. */
function attackWith(p: Prepared, run: AttackRun): Promise<void> {
  const d = p.data;
  switch (p.attack) {
    case 'baseline':
      return run.sleep(run.deadlineMs - Date.now());
    case 'silent-sockets':
      return silentSockets(run);
    case 'stalled-handshakes':
      return stalledHandshakes(run);
    case 'eclipse':
      return eclipse(run);
    case 'relay-rate':
      return relayRateFlood(run, d as RelayRatePrepared);
    case 'reflection':
      return reflectionFlood(run, d as ReflectionPrepared);
    case 'decode-pre':
      return decodePre(run, d as DecodePrePrepared);
    case 'decode-preauth':
      return decodePreauth(run, d as ManyKeysPrepared);
    case 'decode-post':
      return decodePost(run, d as ManyKeysPrepared);
    case 'ihave-flood':
      return ihaveFlood(run);
    case 'graft-flood':
      return graftFlood(run, d as GraftPrepared);
    case 'getpeers-flood':
      return getpeersFlood(run);
    case 'getchain-flood':
      return getchainFlood(run);
    case 'prune-flood':
      return pruneFlood(run);
    case 'big-frames':
      return bigFrames(run, d as { frame: Buffer });
    case 'deep-nesting':
      return deepNesting(run, d as { frame: Buffer });
    case 'badsig-fresh-keys':
      return badSigFreshKeys(run);
  }
}

let prepared: Prepared | null = null;
let prepCpuMs = 0;
let current: { run: AttackRun; done: Promise<void>; cpu0: number; startedMs: number } | null = null;

async function handle(req: AttackerRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'prepare': {
      // An attack the suite gave up on (its measurement timed out) ends here, unreported.
      if (current) {
        current.run.stop();
        current.run.closeAll();
        current = null;
      }
      prepared?.cleanup?.();
      const c0 = cpuMs();
      prepared = await prepare(req.attack, req.networkId, req.expectedMs, req.seed);
      prepCpuMs = cpuMs() - c0;
      return { prepCpuMs };
    }
    case 'start': {
      if (!prepared) throw new Error('start before prepare');
      if (current) throw new Error('an attack is running');
      const run = new AttackRun(req.target, req.sources, req.seed, Date.now() + req.hardMs, req.honestIds);
      const cpu0 = cpuMs();
      const done = attackWith(prepared, run).catch((e: unknown) => void run.note(`attack loop failed: ${(e as Error).message}`));
      current = { run, done, cpu0, startedMs: Date.now() };
      return { started: true };
    }
    case 'stop': {
      const c = current;
      const p = prepared;
      if (!c || !p) throw new Error('stop without a running attack');
      c.run.stop();
      c.run.closeAll();
      await Promise.race([c.done, new Promise((r) => setTimeout(r, stopGraceMs))]);
      c.run.closeAll();
      const report: AttackerReport = { attack: p.attack, prepCpuMs, runCpuMs: cpuMs() - c.cpu0, runMs: Date.now() - c.startedMs, tally: c.run.tally };
      p.cleanup?.();
      current = null;
      prepared = null;
      return report;
    }
  }
}

serveRequests<AttackerRequest>(handle);
process.on('disconnect', () => process.exit(0));
