/**
 * Whether each scheduled attack of a load run took place, as pure code. An attack whose outcome the run
 * judges must first be shown to have happened, from what honest validators observed where they can observe
 * it, not only from what the attacker says:
 *
 *  - equivocate: both blocks the equivocating miner signed for the instance were relayed by honest
 *    validators (their `relayed` events), i.e. honest validators held the two conflicting blocks;
 *  - withhold: the withholder reports a late release of the block, and an honest validator took notice of the
 *    instance (relayed or decided the block, or refused a chain of it);
 *  - flood steps, at every target (each must have been written to): dups, replay: the target's duplicate
 *    counter (`stats`) rose, from the step's first frame to graceMs after its end (a stalled target reads the
 *    frames only once it runs again), by at least half the frames the flooder wrote to it, over what the
 *    target's lowest rate of duplicates in the seconds before the step explains
 *    (ordinary gossip brings duplicates too; the lowest, because a validator working off a backlog after a
 *    pause, or hit by an earlier step, counts far more for a while); replayed chains the node refused count
 *    as well; a target that banned the flooder for the step's frames (a replay of stale chains adds a mild
 *    offence per chain where the node has no memory of them, as after a restart) read no more of them, and
 *    the ban is its evidence; garbage, badsig, burst:
 *    the target charged the flooder (its validator key, or a key no validator holds) an offence of the step's
 *    kind or refused a chain of it, from the step's first frame to `graceMs` after its last;
 *  - burst, dups and replay also: the target stopped reading a connection over its rate (its `rateHolds`
 *    counter rose over the step). Going over the rate is backpressure, not an offence (a node never bans a
 *    peer for its rate), so a burst leaves no charge, and a held flooder's frames wait unread in TCP: the
 *    hold is the evidence. The counter is the node's, over all its peers; honest traffic in these runs stays
 *    far under the rates, so a hold during a step is the step's.
 */
import type { Attack, FloodStep } from './plan.ts';
import type { FloodStepResult } from './flooder.ts';
import type { EquivocationRecord, ReleaseRecord } from './consensus-attacks.ts';
import { instanceLabel, type Charge, type InstanceView, type StatsSample } from './recorder.ts';

/** Time after a flood step's last frame in which the targets' offences and refusals still count, in ms. */
export const graceMs = 2000;

/** Error codes an honest node charges or refuses with for each kind of flood (replay and dups count duplicates too). */
export const floodCodes: Record<FloodStep, readonly string[]> = {
  dups: [],
  replay: ['ERR_INSTANCE_OVER', 'ERR_TOO_FEW_SIGNATURES'],
  garbage: ['ERR_BAD_MSGPACK', 'ERR_FRAME_TOO_LARGE', 'ERR_BAD_MESSAGE', 'ERR_BAD_HANDSHAKE'],
  badsig: ['ERR_BAD_SIGNATURE'],
  burst: ['ERR_RATE_LIMITED'],
};

/** One attack as the run carried it out (the driver's record). */
export interface AttackFact {
  attack: Attack;
  startedMs: number;
  endedMs: number | null;
  flood: FloodStepResult | null;
  equivocation: EquivocationRecord | null;
  error: string | null;
}

/** What honest validators observed, and the little the attackers report. */
export interface Observations {
  equivocator: number;
  /** Whether an offence or refusal charged to this peer id was charged to the flooder. */
  isFlooder: (peer: string) => boolean;
  instances: ReadonlyMap<string, InstanceView>;
  decisions: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<number>>>;
  charges: readonly Charge[];
  refusals: readonly Charge[];
  statsLog: ReadonlyMap<number, readonly StatsSample[]>;
  /** The withholder's late releases (from its report at the end of the run). */
  releases: readonly ReleaseRecord[];
}

/** The verdict on one scheduled attack. */
export interface AttackEvidence {
  label: string;
  kind: Attack['kind'] | FloodStep;
  happened: boolean;
  /** What was seen (or not), one short phrase. */
  evidence: string;
  /** The instance attacked (equivocate, withhold), once the attacker has picked it. */
  t0?: number;
}

function sizeOf(m: ReadonlyMap<string, ReadonlySet<number>> | undefined, key: string): number {
  return m?.get(key)?.size ?? 0;
}

function equivocation(rec: EquivocationRecord, o: Observations): Pick<AttackEvidence, 'happened' | 'evidence'> {
  const relayed = o.instances.get(instanceLabel(o.equivocator, rec.t0))?.relayed;
  const seen = rec.hashes.map((h) => sizeOf(relayed, h));
  const held = seen.filter((n) => n > 0).length;
  const sent = rec.sentTo.map((t) => t.length).join('+');
  return { happened: rec.hashes.length >= 2 && held >= 2, evidence: `${held} of ${rec.hashes.length} blocks relayed by honest validators (${seen.join(', ')} relayers; sent to ${sent})` };
}

function withholding(rec: EquivocationRecord, o: Observations): Pick<AttackEvidence, 'happened' | 'evidence'> {
  const hash = rec.hashes[0] ?? '';
  const release = o.releases.find((r) => r.miner === o.equivocator && r.t0 === rec.t0 && r.hash === hash);
  const key = instanceLabel(o.equivocator, rec.t0);
  const view = o.instances.get(key);
  const noticed = new Set<number>([...(view?.relayed.get(hash) ?? []), ...(o.decisions.get(key)?.get(hash) ?? [])]);
  for (const nodes of view?.refused.values() ?? []) for (const n of nodes) noticed.add(n);
  const made = release ? `released in round ${release.round} with ${release.signatures} signatures to ${release.to}` : 'no late release reported';
  return { happened: release !== undefined && noticed.size > 0, evidence: `${made}; ${noticed.size} honest validators took notice` };
}

/** How far back the samples before a step go to measure a target's ordinary rate of duplicates, in ms. */
export const baselineMs = 5000;
/** Two samples closer than this do not make a rate (a probe right after a periodic one), in ms. */
const rateIntervalMinMs = 500;

/** The lowest rate of duplicates (per ms) between consecutive samples of `samples`, 0 without two of them. */
function lowestRate(samples: readonly StatsSample[]): number {
  let rate = Infinity;
  let prev: StatsSample | undefined;
  for (const s of samples) {
    if (prev && s.atMs - prev.atMs >= rateIntervalMinMs) {
      rate = Math.min(rate, (s.duplicates - prev.duplicates) / (s.atMs - prev.atMs));
      prev = s;
    } else prev ??= s;
  }
  return Number.isFinite(rate) ? Math.max(0, rate) : 0;
}

/**
 * Duplicates a validator counted from the last sample at or before `fromMs` to the first at or after `toMs`
 * (same life), less what its lowest rate over the `baselineMs` before that first sample explains; null
 * without samples on both sides.
 */
export function excessDuplicates(log: readonly StatsSample[] | undefined, fromMs: number, toMs: number): number | null {
  const around = samplesAround(log, fromMs, toMs);
  if (!log || !around) return null;
  const { before, after } = around;
  const base = log.filter((s) => s.life === before.life && s.atMs >= before.atMs - baselineMs && s.atMs <= before.atMs);
  return after.duplicates - before.duplicates - lowestRate(base) * (after.atMs - before.atMs);
}

/** How often a validator stopped reading an over-rate peer from the last sample at or before `fromMs` to the
 * first at or after `toMs` (same life); null without samples on both sides. */
export function holdsDuring(log: readonly StatsSample[] | undefined, fromMs: number, toMs: number): number | null {
  const around = samplesAround(log, fromMs, toMs);
  return around ? around.after.rateHolds - around.before.rateHolds : null;
}

/** The last sample at or before `fromMs` and the first at or after `toMs` of the same life, if both exist. */
export function samplesAround(log: readonly StatsSample[] | undefined, fromMs: number, toMs: number): { before: StatsSample; after: StatsSample } | null {
  const before = log?.filter((s) => s.atMs <= fromMs).at(-1);
  const after = before && log?.find((s) => s.atMs >= toMs && s.life === before.life);
  return before && after ? { before, after } : null;
}

/** The evidence at one target of a flood step: whether it saw the step, and a short figure. */
function atTarget(step: FloodStep, t: number, r: FloodStepResult, o: Observations): { seen: boolean; figure: string } {
  const frames = r.framesTo[t] ?? 0;
  if (frames === 0 || r.firstFrameMs === null || r.lastFrameMs === null) return { seen: false, figure: `${t}: 0 frames` };
  const from = r.firstFrameMs;
  const to = r.lastFrameMs + graceMs;
  const codes = floodCodes[step];
  const mine = (c: Charge) => c.node === t && c.atMs >= from && c.atMs <= to && codes.includes(c.code) && o.isFlooder(c.peer);
  const refused = o.refusals.filter(mine).length;
  const holds = holdsDuring(o.statsLog.get(t), from, Math.max(r.lastFrameMs, r.doneMs ?? 0)) ?? 0;
  const held = holds > 0 ? `, ${holds} rate holds` : '';
  if (step === 'dups' || step === 'replay') {
    // A refused chain is also charged as an offence: counted once, as the refusal.
    // Up to graceMs after the step's end: a target may still be reading a replay's frames after the last was
    // written, and one that was stalled (every validator was, under a burst and the suite's graft-flood at
    // once) reads them from its socket only once it runs again, after the flooder's last write returned.
    const dups = excessDuplicates(o.statsLog.get(t), from, Math.max(r.lastFrameMs, r.doneMs ?? 0) + graceMs);
    const counted = Math.round((dups ?? 0) + refused);
    const banned = o.charges.some((c) => mine(c) && c.banned === true);
    const figure = `${t}: ${dups === null ? 'no counter samples' : `${counted} counted`} for ${frames} frames${banned ? ', flooder banned' : ''}${held}`;
    return { seen: counted * 2 >= frames || banned || holds > 0, figure };
  }
  const charged = o.charges.filter(mine).length + refused;
  return { seen: charged > 0 || (step === 'burst' && holds > 0), figure: `${t}: ${charged} charged for ${frames} frames${held}` };
}

function flood(step: FloodStep, targets: readonly number[], r: FloodStepResult, o: Observations): Pick<AttackEvidence, 'happened' | 'evidence'> {
  const seen = targets.map((t) => atTarget(step, t, r, o));
  const n = seen.filter((s) => s.seen).length;
  return { happened: targets.length > 0 && n === targets.length, evidence: `seen at ${n}/${targets.length} targets (${seen.map((s) => s.figure).join('; ')})` };
}

function sec(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Judges every scheduled attack: `planned` from the plan, `done` as the run carried them out. */
export function attackEvidence(planned: readonly Attack[], done: readonly AttackFact[], o: Observations): AttackEvidence[] {
  return planned.map((a) => {
    const kind = a.kind === 'flood' ? a.step : a.kind;
    const label = `${kind}@+${sec(a.atMs)}${a.kind === 'flood' ? `->${a.targets.join('/')}` : ''}`;
    const d = done.find((x) => x.attack === a);
    if (!d) return { label, kind, happened: false, evidence: 'never started' };
    if (d.error !== null) return { label, kind, happened: false, evidence: `failed: ${d.error}` };
    if (a.kind === 'flood') return d.flood ? { label, kind, ...flood(a.step, a.targets, d.flood, o) } : { label, kind, happened: false, evidence: 'no report' };
    if (!d.equivocation) return { label, kind, happened: false, evidence: 'no report' };
    const t0 = d.equivocation.t0;
    return { label: `${label} t0 ${t0}`, kind, t0, ...(a.kind === 'equivocate' ? equivocation(d.equivocation, o) : withholding(d.equivocation, o)) };
  });
}
