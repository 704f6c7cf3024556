/**
 * The gossip rules, as pure code: message ids, duplicate suppression, the hop count relays carry, and which peers a message is
 * relayed to. Time is passed in; no sockets. The node shell (node.ts) asks `admit` when a floodable message
 * arrives, verifies what it is told to, reports back with `settle`, and sends what `relayTargets` names.
 *
 * Spam protection rests on one rule: an id is verified, delivered and relayed at most once. A copy that
 * arrives while the first is still being verified is a duplicate too, so no signature is ever checked twice
 * for the same message (the throughput ceiling of the network is one verification per message per node).
 */
import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { concatBytes, lengthPrefixed, u32be, utf8 } from '../bytes.ts';
import { assert } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { ConsensusMessage, GossipMessage } from '../wire/schema.ts';
import { SeenCache } from './seen-cache.ts';
import { positiveInt } from '../options.ts';

/** Domain tag of gossip signatures. */
export const GOSSIP_DOMAIN = 'strongcast/gossip/v1';

/** Tunable limits of the gossip core. */
export interface GossipOptions {
  /** Ids remembered to drop duplicates. @default 100000 */
  seenEntriesMax?: number;
  /** How long an id is remembered, in ms. @default 120000 */
  seenTtlMs?: number;
  /**
   * Highest hop count a relay writes: the count goes up by one per relay and stays at this value. The count
   * is not signed, so it is information only and nothing is dropped or held back for it. @default 32
   */
  hopLimit?: number;
  /** Broadcasts being verified at once, all peers together; beyond it new ones wait upstream. @default 4096 */
  inflightMax?: number;
  /**
   * Consensus messages (chains, outcomes) being checked at once, all peers together, counted apart from
   * broadcasts: a broadcast backlog never holds a chain back, and a flood of chains never holds broadcasts;
   * beyond it new ones wait upstream. @default 4096
   */
  consensusInflightMax?: number;
}

/** Defaults of GossipOptions. */
export const gossipDefaults = { seenEntriesMax: 100_000, seenTtlMs: 120_000, hopLimit: 32, inflightMax: 4096, consensusInflightMax: 4096 } as const;

let prefixFor: { networkId: string; bytes: Buffer } = { networkId: '', bytes: Buffer.alloc(0) };

/** The fixed start of every signed broadcast on one network: domain and network id, length-prefixed. */
function signedPrefix(networkId: string): Buffer {
  if (prefixFor.networkId !== networkId) {
    prefixFor = { networkId, bytes: Buffer.from(concatBytes(lengthPrefixed(utf8(GOSSIP_DOMAIN)), lengthPrefixed(utf8(networkId)))) };
  }
  return prefixFor.bytes;
}

/**
 * The signed content of a broadcast: domain || network id || origin key || seq (u64 BE) || topic || data,
 * each variable field length-prefixed so no two messages share bytes. Hops are left out: relays change them.
 * Written into one buffer: every arriving copy is turned into these bytes to find its id, so this is the hot
 * path of duplicate suppression.
 */
export function gossipSignedBytes(networkId: string, m: Pick<GossipMessage, 'origin' | 'seq' | 'topic' | 'data'>): Uint8Array {
  const prefix = signedPrefix(networkId);
  const topicBytes = Buffer.byteLength(m.topic);
  const out = Buffer.allocUnsafe(prefix.byteLength + m.origin.byteLength + 8 + 4 + topicBytes + 4 + m.data.byteLength);
  let at = prefix.copy(out, 0);
  out.set(m.origin, at);
  at += m.origin.byteLength;
  // seq is a safe integer (< 2^53): high and low 32-bit halves, without a BigInt per message
  at = out.writeUInt32BE(Math.floor(m.seq / 0x1_0000_0000), at);
  at = out.writeUInt32BE(m.seq >>> 0, at);
  at = out.writeUInt32BE(topicBytes, at);
  at += out.write(m.topic, at, 'utf8');
  at = out.writeUInt32BE(m.data.byteLength, at);
  out.set(m.data, at);
  return out;
}

/**
 * Data from which a broadcast's id is hashed in parts (gossipIdOf) rather than from its signed bytes made
 * whole: a copy of a large broadcast that turns out to be a duplicate then costs no buffer of its size. Below
 * it one buffer and a one-shot hash cost less than a Hash object.
 */
export const gossipIdInPartsBytesMin = 16 * 1024;

/**
 * A broadcast's id (as gossipId of its signed bytes), and its signed bytes when they were made to find it:
 * for data of gossipIdInPartsBytesMin and more the id is hashed in parts (the bytes before the data, then the
 * data where it lies) and `signed` is null, to be made only for a copy that is checked. Every copy that
 * arrives is hashed to find its id, and in a mesh most copies of a new origin's broadcast are duplicates.
 */
export function gossipIdOf(networkId: string, m: Pick<GossipMessage, 'origin' | 'seq' | 'topic' | 'data'>): { id: string; signed: Uint8Array | null } {
  if (m.data.byteLength < gossipIdInPartsBytesMin) {
    const signed = gossipSignedBytes(networkId, m);
    return { id: gossipId(signed), signed };
  }
  const head = gossipSignedBytes(networkId, { ...m, data: emptyBytes });
  // The head ends with the data's length prefix, written as 0: the real one goes in its place.
  head.set(u32be(m.data.byteLength), head.byteLength - 4);
  return { id: createHash('sha256').update(head).update(m.data).digest('hex'), signed: null };
}

const emptyBytes = new Uint8Array(0);

/**
 * One-shot SHA-256 to hex: `crypto.hash` (Node 20.12 and later) makes no Hash object, which costs more than
 * hashing a broadcast's few hundred bytes; earlier Node 20 releases fall back to createHash.
 */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash;
export const sha256Hex: (data: Uint8Array) => string = oneShotHash
  ? (data) => oneShotHash('sha256', data, 'hex')
  : (data) => createHash('sha256').update(data).digest('hex');

/** A broadcast's id: SHA-256 of its signed content, in hex. Every arriving copy is hashed, duplicates too. */
export function gossipId(signedBytes: Uint8Array): string {
  return sha256Hex(signedBytes);
}

/**
 * A consensus relay's id covers the block, the bitmask, the signer order and every signature, so a relay
 * carrying more signatures is a new message, and a copy with a garbage signature can never shadow the
 * valid one in the seen-cache.
 */
export function consensusId(blockHash: Uint8Array, m: Pick<ConsensusMessage, 'mask' | 'signers' | 'sigs'>): string {
  const h = createHash('sha256').update('ds').update(blockHash).update(lengthPrefixed(m.mask));
  for (const s of m.signers) h.update(u32be(s));
  return h.update(m.sigs).digest('hex');
}

/** What to do with an arriving message. */
export type Admission =
  | { verdict: 'verify' }
  | { verdict: 'drop'; code: ErrorCode | 'DUPLICATE' | 'OVERLOADED'; reason: string };

interface Inflight {
  /** Peers that sent a copy: no point sending it back to them. */
  senders: Set<string>;
  /** A consensus message (counted against consensusInflightMax), not a broadcast. */
  consensus: boolean;
}

/** Duplicate suppression and relay bookkeeping for every floodable message (gossip and consensus). */
export class GossipCore {
  readonly hopLimit: number;
  readonly inflightMax: number;
  readonly consensusInflightMax: number;
  private readonly seen: SeenCache;
  private readonly inflight = new Map<string, Inflight>();
  /** Of the messages in flight, the consensus ones. */
  private consensusInflight = 0;
  /** Counters for status and tests. */
  readonly counters = { admitted: 0, duplicates: 0, verifiedOk: 0, verifiedBad: 0, overloaded: 0 };

  constructor(options: GossipOptions = {}) {
    this.hopLimit = positiveInt(options.hopLimit ?? gossipDefaults.hopLimit, 'hopLimit');
    this.inflightMax = positiveInt(options.inflightMax ?? gossipDefaults.inflightMax, 'inflightMax');
    this.consensusInflightMax = positiveInt(options.consensusInflightMax ?? gossipDefaults.consensusInflightMax, 'consensusInflightMax');
    this.seen = new SeenCache({
      seenEntriesMax: options.seenEntriesMax ?? gossipDefaults.seenEntriesMax,
      seenTtlMs: options.seenTtlMs ?? gossipDefaults.seenTtlMs,
    });
  }

  /** Broadcasts now being verified. */
  get inflightCount(): number {
    return this.inflight.size - this.consensusInflight;
  }

  /** Consensus messages now being checked. */
  get consensusInflightCount(): number {
    return this.consensusInflight;
  }

  /** True when a copy of the id is being verified now. */
  isVerifying(id: string): boolean {
    return this.inflight.has(id);
  }

  /** True when the id was delivered before or is being verified now. */
  known(id: string, nowMs: number): boolean {
    return this.inflight.has(id) || this.seen.has(id, nowMs);
  }

  /**
   * Decides whether a message from `from` should be verified. Duplicates are dropped without verification;
   * their sender is remembered so the message is not sent back to it. The hop count plays no part: it is not
   * signed, and a peer that raised it on an honest copy must not stop the node from relaying what it accepts
   * (a copy delivered but not relayed makes the honest copy behind it a duplicate, and the broadcast or
   * consensus chain stops at this node). Loops end at the seen-cache, as in Plumtree and gossipsub.
   * `consensus` (a chain or an outcome) counts against consensusInflightMax instead of inflightMax.
   */
  admit(from: string, id: string, nowMs: number, consensus = false): Admission {
    const pending = this.inflight.get(id);
    if (pending || this.seen.has(id, nowMs)) {
      pending?.senders.add(from);
      this.counters.duplicates++;
      return { verdict: 'drop', code: 'DUPLICATE', reason: 'already seen' };
    }
    const [count, max] = consensus ? [this.consensusInflight, this.consensusInflightMax] : [this.inflightCount, this.inflightMax];
    if (count >= max) {
      this.counters.overloaded++;
      // Not the sender's fault: every peer together filled the cap, and an honest relay must not be scored.
      return { verdict: 'drop', code: 'OVERLOADED', reason: `${count} ${consensus ? 'consensus messages' : 'broadcasts'} already being verified` };
    }
    this.inflight.set(id, { senders: new Set([from]), consensus });
    if (consensus) this.consensusInflight++;
    this.counters.admitted++;
    return { verdict: 'verify' };
  }

  /** Marks our own message as seen before sending it, so copies coming back are dropped. */
  markOwn(id: string, nowMs: number): void {
    this.seen.add(id, nowMs);
  }

  /**
   * Records the verification outcome. A valid message becomes seen for good; an invalid one is forgotten,
   * so a valid message with the same id (a forger raced it) can still get through. Returns the peers that
   * sent copies, which relays skip.
   */
  settle(id: string, ok: boolean, nowMs: number): ReadonlySet<string> {
    const pending = this.inflight.get(id);
    assert(pending, `settle of an id that is not in flight: ${id}`);
    this.inflight.delete(id);
    if (pending.consensus) this.consensusInflight--;
    if (ok) {
      this.seen.add(id, nowMs);
      this.counters.verifiedOk++;
    } else {
      this.counters.verifiedBad++;
    }
    return pending.senders;
  }

  /** Peers to relay to: every open peer that has not sent us this message. */
  relayTargets(openPeers: Iterable<string>, skip: ReadonlySet<string>): string[] {
    const out: string[] = [];
    for (const p of openPeers) if (!skip.has(p)) out.push(p);
    return out;
  }

  /** The hop count a relay of a copy that arrived with `hops` carries: one more, at most hopLimit. */
  relayHops(hops: number): number {
    return Math.min(hops + 1, this.hopLimit);
  }
}
