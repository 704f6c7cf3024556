/**
 * Seeded catch-up schedules within the fault bound, for reviewing the catch-up rules (consensus/catch-up.ts):
 * a full mesh of n validators (n of 4, 5, 7; f the largest below n/2, sometimes one less), clocks up to
 * +-24 ms apart, blocks mined in about half the rounds, and from round 2 to 60 kills, pauses and cuts of one
 * honest validator after another, never more than f faulty (Byzantine ones included) in one instance. A fault
 * counts from its start until k+1 rounds after the validator is back (and 200 ms to relink after a kill or
 * cut), as test/sim-net/scenario.ts counts it. Catch-up asks every 600, 2,000, 4,000 or 6,000 ms, so that
 * several validators catch up at once and the quorum rule is needed. Byzantine validators (up to f) may
 * equivocate or withhold when they mine and, as flatterers (ByzRoles.flatter), state the asker's own chain.
 *
 * Checks: every half round, the chains of validators (and observers) that are up and not catching up are
 * prefixes of one another (safety); at the end, which are still catching up (liveness; the run ends four ask
 * intervals and 10 rounds after the last fault can start).
 *
 * With `allCrash`, beyond those: one to three times every honest validator is killed in the same
 * millisecond and each comes back at its own moment 50 ms to 3 s later (outside the fault bound; the
 * unanimity rule of catch-up.ts is what lets them go on). Blocks are still mined by whoever is up, disks
 * may lag (DISK_MS), and the safety check is the same; validators still catching up at the end are counted,
 * not a failure (a crash can leave a decision on fewer than f+1 disks).
 *
 *   npx tsx test/sim-net/catch-up-fuzz.ts FROM TO [--flatter] [--observer] [--busy] [--all-crash]
 *   env: SYNC_MS (fix the ask interval), DISK_MS (disk time drawn in 0..DISK_MS), N and F (fix them)
 */
import { toHex, utf8 } from '../../src/bytes.ts';
import { Prng } from '../../src/sim/prng.ts';
import { ByzValidator } from './byzantine.ts';
import { World } from './world.ts';

const roundMs = 200;
/** Faults start from round 2 up to this round. */
const lastFaultT0 = 60;

type Kind = 'kill' | 'pause' | 'cut';
interface Fault {
  kind: Kind;
  node: number;
  atMs: number;
  ms: number;
  /** End of the interval it counts against the budget. */
  untilMs: number;
}

/** What one seed's run found. */
export interface FuzzResult {
  seed: number;
  n: number;
  f: number;
  byzantine: number[];
  syncIntervalMs: number;
  faults: number;
  /** Pairs of live chains that are not prefixes of one another, with the round. */
  violations: string[];
  /** Validators (and observers) still catching up at the end. */
  stuck: number[];
}

/** Options of a run. */
export interface FuzzOptions {
  /** Every Byzantine validator is a flatterer, and there is at least one. */
  flatter?: boolean;
  observers?: number;
  /** Chance that a round gets a block. @default 0.5 */
  mineP?: number;
  /** Every honest validator killed at once, one to three times, each back at its own moment. @default false */
  allCrash?: boolean;
}

/** Runs seed `seed`. */
export async function runCatchUpFuzz(seed: number, opt: FuzzOptions = {}): Promise<FuzzResult> {
  const d = new Prng(seed * 7919 + 11);
  const n = process.env['N'] ? Number(process.env['N']) : d.pick([4, 4, 5, 7]);
  const fMax = Math.floor((n - 1) / 2);
  const f = process.env['F'] ? Number(process.env['F']) : d.next() < 0.8 ? fMax : Math.max(1, fMax - 1);
  const k = f + 1;
  const b = opt.flatter ? d.int(1, f) : d.next() < 0.5 ? 0 : d.int(0, f);
  const offsetsMs = [...Array(n).keys()].map(() => d.int(-24, 24));
  const syncIntervalMs = process.env['SYNC_MS'] ? Number(process.env['SYNC_MS']) : d.pick([600, 2000, 4000, 6000]);
  const diskMsMax = Number(process.env['DISK_MS'] ?? 2);
  const w = new World({ seed, n, faults: f, roundMs, delayMinMs: 1, delayMaxMs: 12, verifyMsMax: 2, diskMsMax, syncIntervalMs, eventsMax: 20_000_000, offsetsMs, observers: opt.observers ?? 0 });
  const all = [...Array(n).keys()];
  const everyone = [...Array(w.total).keys()];
  w.mesh = everyone.map((i) => new Set(everyone.filter((j) => j !== i)));
  const byz = d.shuffle([...all]).slice(0, b).sort((x, y) => x - y);
  const honest = all.filter((i) => !byz.includes(i));
  const byzantine = byz.map((i) => new ByzValidator(w, i, byz, { equivocate: d.next() < 0.3, withhold: d.next() < 0.5, lie: false, flatter: opt.flatter ?? d.next() < 0.7, flatterLive: d.next() < 0.5 }));
  for (const i of honest) w.startNode(i);
  for (let o = n; o < w.total; o++) w.startNode(o);

  const faults = drawFaults(w, d, honest, f - b, k);
  for (const x of faults) {
    w.sched.at(x.atMs, () => {
      if (x.kind === 'kill') {
        // Already down (an all-crash): the all-crash restarts it.
        if (!w.nodes[x.node]) return;
        w.kill(x.node);
        w.sched.after(x.ms, () => void (w.nodes[x.node] ?? w.restart(x.node)));
      } else if (x.kind === 'pause') w.pause(x.node, x.ms);
      else w.cut(x.node, x.ms);
    });
  }
  if (opt.allCrash) {
    const crashes = d.int(1, 3);
    for (let c = 0; c < crashes; c++) {
      const atMs = w.T0(d.int(8, lastFaultT0)) + d.int(0, roundMs - 1);
      const backMs = honest.map(() => d.int(50, 3000));
      w.sched.at(atMs, () => {
        for (const i of honest) if (w.nodes[i]) w.kill(i);
        honest.forEach((i, j) => w.sched.after(backMs[j]!, () => void (w.nodes[i] ?? w.restart(i))));
      });
    }
  }
  const endT0 = lastFaultT0 + 10 + Math.ceil((4 * syncIntervalMs) / roundMs) + 2 * k;
  for (let t0 = 1; t0 < endT0 - 3 * k; t0++) {
    if (d.next() > (opt.mineP ?? 0.5)) continue;
    const m = d.pick(all);
    // A validator is not asked to mine while it counts as faulty (scenario.ts).
    if (faults.some((x) => x.node === m && x.atMs - roundMs <= w.T0(t0) && w.T0(t0) < x.untilMs)) continue;
    const bz = byzantine.find((x) => x.index === m);
    if (bz) {
      w.sched.at(w.T0(t0), () => bz.mine(t0));
      continue;
    }
    w.sched.at(w.T0(t0) - 15, () => {
      const sv = w.nodes[m];
      sv?.host.run(sv.host.incarnation, () => void sv.validator.mine(utf8(`seed ${seed} block ${m}@${t0}`)).catch(() => undefined));
    });
  }

  const watched = [...honest, ...everyone.slice(n)];
  const violations: string[] = [];
  for (let t = 5; t < endT0; t++) {
    w.sched.at(w.T0(t) + roundMs / 2, () => {
      if (violations.length === 0) violations.push(...forks(w, watched, t));
    });
  }
  await w.sched.run(w.T0(endT0));
  const stuck = watched.filter((i) => w.nodes[i]?.validator.syncing);
  return { seed, n, f, byzantine: byz, syncIntervalMs, faults: faults.length, violations, stuck };
}

/** Kills, pauses and cuts of honest validators, one after another, at most `budget` faulty in one instance. */
function drawFaults(w: World, d: Prng, honest: number[], budget: number, k: number): Fault[] {
  const faults: Fault[] = [];
  const fits = (c: Fault): boolean => {
    const fs = [...faults, c];
    const lo = Math.max(0, Math.floor((c.atMs - w.T0(0)) / roundMs) - k - 1);
    const hi = Math.ceil((c.untilMs - w.T0(0)) / roundMs) + 1;
    for (let t0 = lo; t0 <= hi; t0++) {
      const from = w.T0(t0);
      const to = w.T0(t0 + k);
      if (new Set(fs.filter((x) => x.atMs < to && from < x.untilMs).map((x) => x.node)).size > budget) return false;
    }
    return true;
  };
  for (let atMs = w.T0(2) + d.int(0, roundMs); atMs < w.T0(lastFaultT0); atMs += d.int(50, 600)) {
    const kind = d.pick<Kind>(['kill', 'kill', 'pause', 'cut']);
    const node = d.pick(honest);
    const ms = kind === 'kill' ? d.int(50, 4 * roundMs) : d.int(roundMs, 3 * roundMs);
    const untilMs = atMs + ms + (kind === 'pause' ? 0 : 200) + (k + 1) * roundMs;
    const c = { kind, node, atMs, ms, untilMs };
    if (faults.some((x) => x.node === node && x.atMs < untilMs + roundMs && atMs < x.untilMs + roundMs)) continue;
    if (fits(c)) faults.push(c);
  }
  return faults;
}

/** Pairs of live chains of which neither is a prefix of the other. */
function forks(w: World, ids: number[], round: number): string[] {
  const chains = ids
    .filter((i) => w.nodes[i] && !w.nodes[i]!.validator.syncing)
    .map((i) => ({ i, c: w.nodes[i]!.validator.chain().map((x) => toHex(x.hash).slice(0, 8)) }));
  for (const a of chains) {
    for (const z of chains) {
      const m = Math.min(a.c.length, z.c.length);
      if (a.i < z.i && a.c.slice(0, m).join() !== z.c.slice(0, m).join()) return [`round ${round}: v${a.i} [${a.c}] / v${z.i} [${z.c}]`];
    }
  }
  return [];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const from = Number(process.argv[2] ?? 1);
  const to = Number(process.argv[3] ?? 20);
  const opt: FuzzOptions = {
    flatter: process.argv.includes('--flatter'),
    observers: process.argv.includes('--observer') ? 1 : 0,
    allCrash: process.argv.includes('--all-crash'),
    ...(process.argv.includes('--busy') ? { mineP: 0.95 } : {}),
  };
  let unsafe = 0;
  let stuckRuns = 0;
  for (let seed = from; seed <= to; seed++) {
    const r = await runCatchUpFuzz(seed, opt);
    if (r.violations.length > 0) unsafe++;
    if (r.stuck.length > 0) stuckRuns++;
    if (r.violations.length > 0 || r.stuck.length > 0) console.log(JSON.stringify(r));
  }
  console.log(`runs ${to - from + 1}, forks ${unsafe}, runs ending with validators still catching up ${stuckRuns}`);
}
