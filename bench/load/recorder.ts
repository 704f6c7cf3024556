/**
 * Bookkeeping of a load run: every JSON event of every honest validator goes through `onEvent`, which keeps
 * the counts and records the checks need (broadcasts, deliveries, decisions, offences, final chains).
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

function bump(c: Counts, key: string, by = 1): void {
  c[key] = (c[key] ?? 0) + by;
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
  /** Latest `chain` answer per validator (block hashes, oldest first). */
  readonly chains = new Map<number, string[]>();
  /** Latest `stats` answer per validator. */
  readonly stats = new Map<number, Record<string, unknown>>();
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
      case 'decided': {
        const inst = e.instance as { miner: number; t0: number };
        const block = e.block as { hash: string } | null;
        const key = instanceLabel(inst.miner, inst.t0);
        let byHash = this.decisions.get(key);
        if (!byHash) this.decisions.set(key, (byHash = new Map()));
        const h = block?.hash ?? 'none';
        let nodes = byHash.get(h);
        if (!nodes) byHash.set(h, (nodes = new Set()));
        nodes.add(ev.node);
        return;
      }
      case 'offence': {
        const cls = this.classify(String(e.peer));
        bump(this.offences, String(e.code));
        bump(this.offencesAgainst, cls);
        if (cls === 'honest' && (this.#honestOffenceCodes[String(e.code)] ?? 0) < 3) {
          bump(this.#honestOffenceCodes, String(e.code));
          this.honestOffences.push(`validator ${ev.node} charged ${this.describe(String(e.peer))} ${String(e.code)} (${String(e.reason)}), score ${String(e.score)}${e.banned === true ? ', banned' : ''}`);
        }
        const key = `${ev.node}/${ev.life}/${String(e.peer)}`;
        if (e.banned === true && !this.#banned.has(key)) {
          this.#banned.add(key);
          bump(this.bans, cls);
        }
        return;
      }
      case 'rejected':
        bump(this.rejected, String(e.code));
        return;
      case 'error':
        bump(this.errors, String(e.code));
        return;
      case 'synced':
        this.synced++;
        return;
      case 'caught-up':
        this.caughtUp++;
        return;
      case 'resync':
        this.resyncs.push(`validator ${ev.node}: ${String(e.reason)}`);
        return;
      case 'chain':
        this.chains.set(ev.node, (e.blocks as Array<{ hash: string }>).map((b) => b.hash));
        return;
      case 'stats':
        this.stats.set(ev.node, e);
        return;
      default:
        return;
    }
  }

  /** How honest validators decided one instance: hash (or 'none') -> number of validators. */
  outcome(miner: number, t0: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [h, nodes] of this.decisions.get(instanceLabel(miner, t0)) ?? []) out[h === 'none' ? 'none' : h.slice(0, 12)] = nodes.size;
    return out;
  }
}
