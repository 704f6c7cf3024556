/**
 * Whether each attack of the suite (`--attack-suite`) reached its target validator, as pure code over the
 * attacker's report of the attack and what the target itself said during it. Both sides must show it:
 *
 *  - the attacker's side, by kind: connections opened (silent-sockets), and bytes written on them
 *    (stalled-handshakes, decode-pre); a forged handshake's last message and the frame behind it sent
 *    (decode-preauth); for every attack by sybils that complete the handshake, at least one sybil the target
 *    accepted as a peer, and (but for eclipse, whose sybils only answer pings) frames written to it;
 *  - the target's side: it acted on the attack. Any of: offences it charged to peers that are no validator
 *    (the sybils' fresh keys, the sources' addresses) from the attack's start to `suiteGraceMs` after its
 *    end (or the next attack's start, if sooner); its counters of offences, bans, rate holds or cut turns rose over the window (`stats`); it ended
 *    connections of the attacker (a refusal, a timeout, a ban: every end the attacker did not make itself);
 *    or it accepted a sybil's handshake.
 *
 * A connection that could not be opened counts for neither: an attacker aimed at the wrong address is
 * refused by the kernel, not by the node.
 */
import type { AttackTally } from '../attack/attack-run.ts';
import type { AttackerReport } from '../attack/attacker.ts';
import type { AttackName } from '../attack/catalog.ts';
import type { SuiteAttack } from './suite-plan.ts';

/** Time after an attack's end in which the target's charges still count for it, in ms. */
export const suiteGraceMs = 2000;

/** How the attacker reached the target, by attack. */
type Reach = 'connect' | 'write' | 'forged' | 'sybil' | 'sybil-silent';

const reachOf: Record<Exclude<AttackName, 'baseline'>, Reach> = {
  'silent-sockets': 'connect',
  'stalled-handshakes': 'write',
  'decode-pre': 'write',
  'decode-preauth': 'forged',
  eclipse: 'sybil-silent',
  'relay-rate': 'sybil',
  reflection: 'sybil',
  'decode-post': 'sybil',
  'ihave-flood': 'sybil',
  'graft-flood': 'sybil',
  'getpeers-flood': 'sybil',
  'getchain-flood': 'sybil',
  'prune-flood': 'sybil',
  'big-frames': 'sybil',
  'deep-nesting': 'sybil',
  'badsig-fresh-keys': 'sybil',
};

/** One attack of the suite as the run carried it out. */
export interface SuiteRecord {
  attack: SuiteAttack;
  /** When it started and ended (ms since the epoch); null when it never started or never ended. */
  startedMs: number | null;
  endedMs: number | null;
  report: AttackerReport | null;
  error: string | null;
}

/** What the target said during one attack's window. */
export interface TargetView {
  /** Offences it charged to peers that are no validator, by code, and how many of them banned. */
  charges: Record<string, number>;
  bans: number;
  /** Rises of its counters over the window (`stats` before and after); null without samples on both sides. */
  counters: { offences: number; bans: number; rateHolds: number; turnsCut: number } | null;
}

/** The verdict on one attack of the suite. */
export interface SuiteEvidence {
  name: AttackName;
  /** e.g. "eclipse@+18.2s" (the planned start). */
  label: string;
  happened: boolean;
  /** What the attacker did, one phrase. */
  attacker: string;
  /** What the target did, one phrase. */
  target: string;
}

/** Connections of the attacker that the target ended (every end but the attacker's own), by how. */
export function endedByTarget(t: AttackTally): Record<string, number> {
  return Object.fromEntries(Object.entries(t.closedWith).filter(([how]) => how !== 'closed by us'));
}

function attackerReached(reach: Reach, t: AttackTally): boolean {
  switch (reach) {
    case 'connect':
      return t.connections > 0;
    case 'write':
      return t.connections > 0 && t.framesSent > 0;
    case 'forged':
      return t.handshakes > 0 && t.framesSent > 0;
    case 'sybil':
      return t.handshakes > 0 && t.framesSent > 0;
    case 'sybil-silent':
      return t.handshakes > 0;
  }
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const counted = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} x${n}`)
    .join(', ');

function sec(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Judges one attack of the suite from its record and what its target said during it. */
export function suiteEvidence(rec: SuiteRecord, view: TargetView): SuiteEvidence {
  const name = rec.attack.name;
  const label = `${name}@+${sec(rec.attack.atMs)}`;
  if (rec.error !== null && rec.report === null) return { name, label, happened: false, attacker: `failed: ${rec.error}`, target: '-' };
  const r = rec.report;
  if (r === null || name === 'baseline') return { name, label, happened: false, attacker: rec.startedMs === null ? 'never started' : 'no report', target: '-' };
  const reach = reachOf[name];
  const t = r.tally;
  const ended = endedByTarget(t);
  const accepted = (reach === 'sybil' || reach === 'sybil-silent') && t.handshakes > 0;
  const c = view.counters;
  const moved = c !== null && (c.offences > 0 || c.bans > 0 || c.rateHolds > 0 || c.turnsCut > 0);
  const reacted = sum(view.charges) > 0 || moved || sum(ended) > 0 || accepted;
  const mb = (b: number) => (b / 1048576).toFixed(1);
  const attacker =
    `${t.connections} connections, ${t.handshakes} handshakes, ${t.refused} refused or failed, ${t.framesSent} frames (${mb(t.bytesSent)} MB) in ${sec(r.runMs)}` +
    `; ended by the target: ${counted(ended) || 'none'}`;
  const counters = c === null ? 'no counter samples' : `counters +${c.offences} offences, +${c.bans} bans, +${c.rateHolds} rate holds, +${c.turnsCut} turns cut`;
  const target = `charged ${counted(view.charges) || 'nothing'}${view.bans ? ` (${view.bans} banned)` : ''}; ${counters}`;
  return { name, label, happened: attackerReached(reach, t) && reacted, attacker, target };
}
