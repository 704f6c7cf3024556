/**
 * Bookkeeping of a load run: every JSON event of every honest validator goes through `onEvent`, which keeps
 * the counts and records the checks need (broadcasts, deliveries, decisions, relays, refusals, offences,
 * counters sampled with `stats`, catch-up periods, `diverged` alarms, final chains). What the honest side saw
 * is the evidence that an attack took place and that a proposal was decided.
 */
import { DeliveryLedger } from './checks.ts';
import type { NodeEvent } from './honest-node.ts';

/** Who a peer id belongs to, as the run knows it. */
export type PeerClass = 'honest' | 'byzantine' | 'other';

/** A block an honest validator proposed. */
export interface Proposal {
  node: number;
  miner: number;
  t0: number;
  hash: string;
}

type Counts = Record<string, number>;

/** Something an honest validator charged or refused, stamped when the run read it. */
export interface Charge {
  node: number;
  atMs: number;
  /** Peer id (hex key) the offence was charged to, or the `from` of a refused chain. */
  peer: string;
  code: string;
  /** The charge banned the peer: the node stopped reading it there. */
  banned?: boolean;
}

/** One `stats` answer: the counters the checks read, stamped when the run read it. */
export interface StatsSample {
  atMs: number;
  life: number;
  /** Gossip and consensus copies the node dropped as already seen. */
  duplicates: number;
  /** Times the node stopped reading a peer that went over its rate (all peers, since start). */
  rateHolds: number;
  /** Offences it charged and bans it made, since start. */
  offences: number;
  bans: number;
  /** Event-loop turns cut with received frames still waiting, since start. */
  turnsCut: number;
}

/** A validator's own report that its process stalled past its stallMsMax (`stalled`). */
export interface StallReport {
  node: number;
  life: number;
  atMs: number;
  lateMs: number;
  /** Whether it caught up again because of it (a `resync` follows). */
  catchingUp: boolean;
}

/** A validator's alarm that f+1 validators hold a chain its own contradicts (`diverged`). */
export interface DivergedAlarm {
  node: number;
  life: number;
  atMs: number;
  /** `outcomes` or `catch-up`: what showed it. */
  source: string;
  /** The height the alarm names. */
  height: number;
}

/** A period in which a running validator caught up again (from `resync` to `caught-up`). */
export interface CatchUpPeriod {
  node: number;
  life: number;
  fromMs: number;
  /** When it said `caught-up`; null while it still catches up. */
  toMs: number | null;
  reason: string;
}

/** What honest validators did about one instance: hash -> validators, per kind of event. */
export interface InstanceView {
  relayed: Map<string, Set<number>>;
  /** Validators that refused a chain of it, by error code. */
  refused: Map<string, Set<number>>;
}

function bump(c: Counts, key: string, by = 1): void {
  c[key] = (c[key] ?? 0) + by;
}

function addTo(m: Map<string, Set<number>>, key: string, node: number): void {
  let s = m.get(key);
  if (!s) m.set(key, (s = new Set()));
  s.add(node);
}

/** Instance key as the run prints it. */
export function instanceLabel(miner: number, t0: number): string {
  return `${miner}@${t0}`;
}

/** Everything the run learns from honest validators' events. */
export class Recorder {
  readonly ledger = new DeliveryLedger();
  /** Offences honest validators charged, by error code. */
  readonly offences: Counts = {};
  /** Offences by the class of the peer charged. */
  readonly offencesAgainst: Counts = {};
  /** Offences honest validators charged to honest validators: what, by whom, to whom (the first 3 per code). */
  readonly honestOffences: string[] = [];
  readonly #honestOffenceCodes: Counts = {};
  /** Every offence charged to an honest node (validator or observer), by code. */
  readonly honestOffenceCounts: Counts = {};
  /** Bans honest validators imposed (one per validator life and peer), by the class of the peer banned. */
  readonly bans: Counts = {};
  readonly #banned = new Set<string>();
  /** Chains honest validators refused, by error code. */
  readonly rejected: Counts = {};
  /** Command errors, by code. */
  readonly errors: Counts = {};
  readonly proposals: Proposal[] = [];
  /** instance -> decided hash (or 'none') -> validators that decided it */
  readonly decisions = new Map<string, Map<string, Set<number>>>();
  synced = 0;
  caughtUp = 0;
  /** Catch-ups a running validator started on its own (it noticed a pause or an outage), with the reason. */
  readonly resyncs: string[] = [];
  /** Stalls validators reported of themselves, in order. */
  readonly stalls: StallReport[] = [];
  /** `diverged` alarms validators raised, in order (every life). */
  readonly divergences: DivergedAlarm[] = [];
  /** Latest `chain` answer per validator (block hashes, oldest first). */
  readonly chains = new Map<number, string[]>();
  /** Latest `stats` answer per validator. */
  readonly stats = new Map<number, Record<string, unknown>>();
  /** When the latest `stats` answer of each validator was read. */
  readonly statsAtMs = new Map<number, number>();
  /** Every `stats` answer, per validator, in the order read. */
  readonly statsLog = new Map<number, StatsSample[]>();
  /** Offences honest validators charged to peers that are not honest validators (Byzantine or unknown keys). */
  readonly charges: Charge[] = [];
  /** Chains honest validators refused, with who sent them. */
  readonly refusals: Charge[] = [];
  /** instance -> what honest validators relayed and refused of it */
  readonly instances = new Map<string, InstanceView>();
  /** Catch-ups running validators began on their own (`resync`), in order. */
  readonly catchUps: CatchUpPeriod[] = [];
  lastDeliveryMs = 0;

  constructor(
    private readonly classify: (peerId: string) => PeerClass,
    private readonly describe: (peerId: string) => string,
  ) {}

  onEvent(ev: NodeEvent): void {
    const e = ev.e;
    switch (e.event) {
      case 'broadcast':
        this.ledger.onSent(String(e.id), ev.node, ev.atMs);
        return;
      case 'message':
        this.lastDeliveryMs = ev.atMs;
        this.ledger.onDelivered(ev.node, ev.life, String(e.id), ev.atMs);
        return;
      case 'proposed': {
        const inst = e.instance as { miner: number; t0: number };
        this.proposals.push({ node: ev.node, miner: inst.miner, t0: inst.t0, hash: String(e.hash) });
        return;
      }
      case 'relayed':
        addTo(this.#view(e.instance as { miner: number; t0: number }).relayed, String(e.hash), ev.node);
        return;
      case 'decided': {
        const inst = e.instance as { miner: number; t0: number };
        const block = e.block as { hash: string } | null;
        const key = instanceLabel(inst.miner, inst.t0);
        let byHash = this.decisions.get(key);
        if (!byHash) this.decisions.set(key, (byHash = new Map()));
        addTo(byHash, block?.hash ?? 'none', ev.node);
        return;
      }
      case 'offence':
        return this.#onOffence(ev);
      case 'rejected': {
        bump(this.rejected, String(e.code));
        this.refusals.push({ node: ev.node, atMs: ev.atMs, peer: String(e.from), code: String(e.code) });
        const inst = e.instance as { miner: number; t0: number } | null;
        if (inst) addTo(this.#view(inst).refused, String(e.code), ev.node);
        return;
      }
      case 'error':
        bump(this.errors, String(e.code));
        return;
      case 'synced':
        this.synced++;
        return;
      case 'stalled':
        this.stalls.push({ node: ev.node, life: ev.life, atMs: ev.atMs, lateMs: Number(e.lateMs), catchingUp: e.catchingUp === true });
        return;
      case 'diverged':
        this.divergences.push({ node: ev.node, life: ev.life, atMs: ev.atMs, source: String(e.source), height: Number(e.height) });
        return;
      case 'resync':
      case 'caught-up':
        return this.#onCatchUp(ev);
      case 'chain':
        this.chains.set(ev.node, (e.blocks as Array<{ hash: string }>).map((b) => b.hash));
        return;
      case 'stats':
        return this.#onStats(ev);
      default:
        return;
    }
  }

  #onOffence(ev: NodeEvent): void {
    const e = ev.e;
    const cls = this.classify(String(e.peer));
    if (cls !== 'honest') this.charges.push({ node: ev.node, atMs: ev.atMs, peer: String(e.peer), code: String(e.code), banned: e.banned === true });
    bump(this.offences, String(e.code));
    bump(this.offencesAgainst, cls);
    if (cls === 'honest') bump(this.honestOffenceCounts, String(e.code));
    if (cls === 'honest' && (this.#honestOffenceCodes[String(e.code)] ?? 0) < 3) {
      bump(this.#honestOffenceCodes, String(e.code));
      this.honestOffences.push(`validator ${ev.node} charged ${this.describe(String(e.peer))} ${String(e.code)} (${String(e.reason)}), score ${String(e.score)}${e.banned === true ? ', banned' : ''}`);
    }
    const key = `${ev.node}/${ev.life}/${String(e.peer)}`;
    if (e.banned === true && !this.#banned.has(key)) {
      this.#banned.add(key);
      bump(this.bans, cls);
    }
  }

  /** `resync` opens a catch-up period of the validator's life, its next `caught-up` closes it. */
  #onCatchUp(ev: NodeEvent): void {
    if (ev.e.event === 'resync') {
      this.resyncs.push(`validator ${ev.node}: ${String(ev.e.reason)}`);
      this.catchUps.push({ node: ev.node, life: ev.life, fromMs: ev.atMs, toMs: null, reason: String(ev.e.reason) });
      return;
    }
    this.caughtUp++;
    const open = this.catchUps.find((c) => c.node === ev.node && c.life === ev.life && c.toMs === null);
    if (open) open.toMs = ev.atMs;
  }

  #onStats(ev: NodeEvent): void {
    this.stats.set(ev.node, ev.e);
    this.statsAtMs.set(ev.node, ev.atMs);
    let log = this.statsLog.get(ev.node);
    if (!log) this.statsLog.set(ev.node, (log = []));
    const n = (k: string) => Number(ev.e[k] ?? 0);
    log.push({ atMs: ev.atMs, life: ev.life, duplicates: n('duplicates'), rateHolds: n('rateHolds'), offences: n('offences'), bans: n('bans'), turnsCut: n('turnsCut') });
  }

  #view(inst: { miner: number; t0: number }): InstanceView {
    const key = instanceLabel(inst.miner, inst.t0);
    let v = this.instances.get(key);
    if (!v) this.instances.set(key, (v = { relayed: new Map(), refused: new Map() }));
    return v;
  }

  /** `diverged` alarms per validator (every life), for validators that raised any. */
  divergedBy(): Map<number, number> {
    const out = new Map<number, number>();
    for (const a of this.divergences) out.set(a.node, (out.get(a.node) ?? 0) + 1);
    return out;
  }

  /** How honest validators decided one instance: hash (or 'none') -> number of validators. */
  outcome(miner: number, t0: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [h, nodes] of this.decisions.get(instanceLabel(miner, t0)) ?? []) out[h === 'none' ? 'none' : h.slice(0, 12)] = nodes.size;
    return out;
  }
}
