/**
 * What a node does with the messages that spread over the whole network: broadcasts, consensus chains and
 * validators' outcomes. Each is admitted once (gossip-core.ts: duplicates, including copies that arrive
 * while the first is checked, cost no check), checked (a broadcast's signature by the verifier; a chain or
 * an outcome by the validator), then relayed to the peers that did not send it and, for a broadcast,
 * delivered to the application. A check that fails scores the sender; nothing a peer sends is thrown back.
 */
import { toHex } from '../bytes.ts';
import type { ErrorCode } from '../errors.ts';
import { encodeFrame, sealedFrameBytes } from '../wire/framing.ts';
import { encodeGossipFrame } from '../wire/gossip-codec.ts';
import { consensusId, gossipIdOf, gossipSignedBytes, type GossipCore } from '../gossip/gossip-core.ts';
import type { BroadcastRelay } from '../gossip/broadcast-relay.ts';
import type { PeerConnection } from '../net/peer-connection.ts';
import { outcomeId } from '../consensus/outcome.ts';
import { blockHash } from '../consensus/block.ts';
import type { Verifier } from '../crypto/verifier.ts';
import type { ConsensusMessage, GossipMessage, Message, MessageType, OutcomeMessage } from '../wire/schema.ts';
import { logError, type Logger } from '../log.ts';
import type { NodeLimits } from './node-options.ts';
import type { ChainVerdict, ConsensusPort, GossipDelivery } from './node-types.ts';
import type { TrafficCounters } from './traffic.ts';

/** Counters the flooding keeps on the node. */
export interface FloodCounters {
  delivered: number;
  relayedFrames: number;
  badSignatures: number;
}

/** What flooding needs from its node. */
export interface FloodHost {
  readonly networkId: string;
  readonly gossip: GossipCore;
  readonly broadcastRelay: BroadcastRelay;
  readonly verifier: Verifier;
  readonly limits: NodeLimits;
  readonly log: Logger;
  readonly counters: FloodCounters;
  /** Frames by message type. */
  readonly traffic: TrafficCounters;
  /** Open connections by peer id. */
  readonly openPeers: ReadonlyMap<string, PeerConnection>;
  now(): number;
  /** The validator's side, when the node follows a genesis. */
  consensusPort(): ConsensusPort | null;
  /** Scores the sender of bad input. */
  offence(c: PeerConnection, code: ErrorCode, reason: string): void;
  /**
   * A check ended (its message left the verifications in progress): senders waiting for room in its class
   * (`consensus`: chains and outcomes; else broadcasts) may go on.
   */
  checkEnded(consensus: boolean): void;
  /** Hands a broadcast to the application (its listeners). */
  deliver(d: GossipDelivery): void;
}

/** A node's flooding of broadcasts, chains and outcomes. */
export class Flooding {
  constructor(private readonly host: FloodHost) {}

  /** A broadcast: admitted once, its origin's signature checked, relayed down the tree, delivered. */
  onGossip(c: PeerConnection, msg: GossipMessage): void {
    const h = this.host;
    // A large copy's id is hashed in parts: a duplicate (most copies of a new origin's broadcast in a mesh)
    // makes no buffer of its size; its signed bytes are made only once it is to be checked.
    const { id, signed } = gossipIdOf(h.networkId, msg);
    if (!this.#admit(c, id, msg.origin)) return;
    const check = { publicKey: msg.origin, message: signed ?? gossipSignedBytes(h.networkId, msg), signature: msg.sig };
    // Checked on this thread, the broadcast is delivered and relayed right away, inside the turn budget that
    // paces reading: through a promise, that work would run after the whole read, outside the budget.
    const { verifyNow, tryVerifyNow } = h.verifier;
    if (verifyNow) return void this.#settleGossipNow(c, msg, id, () => verifyNow(check));
    // A pool verifies a lone check on this thread when nothing waits before it (its inline budget allowing):
    // the same path, with no promise, batch or turn between the read and the relay.
    if (tryVerifyNow && this.#settleGossipNow(c, msg, id, () => tryVerifyNow(check, c.addr))) return;
    c.beginWork(false);
    // The connection's own lane: its checks queue behind its own backlog, not behind other peers' (batch-scheduler.ts).
    // The relay and delivery that follow are this peer's work too, within the turn budget (afterVerdict).
    h.verifier.verify([check], c.addr).then(
      ([ok]) =>
        c.afterVerdict(() => {
          c.endWork(false);
          this.#afterGossipVerify(c, msg, id, ok === true);
        }),
      (e: unknown) => {
        c.endWork(false);
        this.#afterVerifyFailure(id, e, false);
      },
    );
  }

  /** A consensus chain: judged by the validator (round, signatures, its state machine), forwarded if it says so. */
  onConsensus(c: PeerConnection, msg: ConsensusMessage): void {
    const port = this.host.consensusPort();
    if (!port) return; // not following a genesis: consensus traffic is not ours to judge or carry
    const hash = blockHash(msg.block);
    // Flooded, not sent down a tree: Dolev-Strong needs every chain at every honest validator within its
    // round, and a tree's lazy links would recover a lost one only after lazyFlushMs + graftTimeoutMs.
    this.#judgeAndRelay(c, consensusId(hash, msg), undefined, 'ERR_BAD_CHAIN', () => port.onChain(msg, hash, c.peerId), (senders) =>
      this.relay({ ...msg, hops: this.host.gossip.relayHops(msg.hops) }, senders),
    );
  }

  /**
   * A validator's outcome: judged by the validator (its signature, once per signer and round), then carried
   * down its signer's broadcast tree (origin: the signer's key), as a broadcast is. Flooded, every validator's
   * outcome of every round reached every node from each of its peers: n^2 (n - 1) frames a round in a full
   * mesh of n validators, 88% of the consensus frames at n = 16 (test/outcome-tree-sim.test.ts). Outcomes
   * have no deadline within a round (an observer follows, and a validator watches for a fork, within
   * outcomeWindowRounds), so a lost one may wait for the tree's lazy repair (IHAVE, then GRAFT).
   */
  onOutcome(c: PeerConnection, msg: OutcomeMessage): void {
    const h = this.host;
    const id = outcomeId(msg);
    const port = h.consensusPort();
    // Not following a genesis: not ours to judge or carry, and no longer asked for if it was announced. Not
    // marked seen: unchecked, a peer's junk outcomes would push the ids of delivered broadcasts out of the seen
    // cache, and a replay of one would be delivered again (test/node-spam.test.ts).
    if (!port) return h.broadcastRelay.tree.dropMissing(id);
    const key = port.validatorKey(msg.signer);
    this.#judgeAndRelay(c, id, key, 'ERR_BAD_SIGNATURE', () => port.onOutcome(msg, c.peerId), (senders) => {
      const frame = encodeFrame(msg, h.limits.frameBytesMax);
      h.counters.relayedFrames += h.broadcastRelay.relay(id, toHex(key!), frame, c.peerId, senders, h.now(), 'outcome');
    });
  }

  /** Sends a frame of a message of type `type` to every open peer not in `skip`; returns how many took it. */
  sendToAll(frame: Buffer, type: MessageType, skip: ReadonlySet<string>): number {
    const h = this.host;
    let sent = 0;
    for (const id of h.gossip.relayTargets(h.openPeers.keys(), skip)) {
      if (h.openPeers.get(id)?.sendFrame(frame, type)) sent++;
    }
    return sent;
  }

  /** Encodes `msg` once and sends it to every open peer not in `skip`, counting the relayed frames. */
  relay(msg: Message, skip: ReadonlySet<string>): number {
    const frame = encodeFrame(msg, this.host.limits.frameBytesMax);
    const sent = this.sendToAll(frame, msg.t, skip);
    this.host.counters.relayedFrames += sent;
    this.host.traffic.sent(msg.t, sent, sealedFrameBytes(frame.byteLength));
    return sent;
  }

  /**
   * The shared path of chains and outcomes: admitted once (a duplicate of a message on `treeOrigin`'s tree
   * also prunes its link), the sender's work counted while the validator judges it, then settled (seen for
   * good, or forgotten so a genuine copy can still pass), scored when invalid, and handed to `relay` with the
   * peers that sent a copy when forwarded.
   */
  #judgeAndRelay(c: PeerConnection, id: string, treeOrigin: Uint8Array | undefined, badCode: ErrorCode, judge: () => Promise<ChainVerdict>, relay: (senders: ReadonlySet<string>) => void): void {
    const h = this.host;
    // Counted apart from broadcasts (consensusInflightMax): a broadcast backlog never holds a chain back.
    if (!this.#admit(c, id, treeOrigin, true)) return;
    c.beginWork(true);
    judge().then(
      (v) => {
        c.endWork(true);
        this.#settleJudged(c, id, v, badCode, relay);
        // Last, so senders that waited for room are handled after this message has gone on.
        h.checkEnded(true);
      },
      (e: unknown) => {
        c.endWork(true);
        this.#afterVerifyFailure(id, e, true);
      },
    );
  }

  /** A judged chain or outcome: seen for good or forgotten, scored when invalid, relayed when forwarded. */
  #settleJudged(c: PeerConnection, id: string, v: ChainVerdict, badCode: ErrorCode, relay: (senders: ReadonlySet<string>) => void): void {
    const h = this.host;
    const senders = h.gossip.settle(id, v.valid, h.now());
    if (!v.valid) return h.offence(c, v.code ?? badCode, v.reason ?? 'invalid');
    c.lastUsefulMs = h.now(); // new and valid: eviction protects peers that bring us such
    if (v.forward) relay(senders);
  }

  /**
   * Settles a broadcast here when `verify` answers at once (true: verified, or failed with an error); when it
   * answers undefined the check has to wait its turn, and the caller hands it to verify() (false).
   */
  #settleGossipNow(c: PeerConnection, msg: GossipMessage, id: string, verify: () => boolean | undefined): boolean {
    let ok: boolean | undefined;
    try {
      ok = verify();
    } catch (e) {
      this.#afterVerifyFailure(id, e, false);
      return true;
    }
    if (ok === undefined) return false;
    this.#afterGossipVerify(c, msg, id, ok);
    return true;
  }

  /** Whether to check an arriving message (`consensus`: a chain or an outcome); a duplicate broadcast (of `origin`) also prunes its link. */
  #admit(c: PeerConnection, id: string, origin?: Uint8Array, consensus = false): boolean {
    const h = this.host;
    const a = h.gossip.admit(c.peerId, id, h.now(), consensus);
    if (a.verdict === 'verify') return true;
    // Overload is ours (gossip counters.overloaded), not the sender's: unscored. Connections wait for room
    // before handing on a message to check (net/overload-gate.ts), so only our own bugs can land here.
    if (a.code === 'OVERLOADED') return false;
    if (a.code !== 'DUPLICATE') h.offence(c, a.code, a.reason);
    // A copy of one still being verified says nothing yet about the link: the first may be a forgery.
    else if (origin && !h.gossip.isVerifying(id)) h.broadcastRelay.duplicate(c.peerId, origin, h.now());
    return false;
  }

  #afterVerifyFailure(id: string, e: unknown, consensus: boolean): void {
    this.host.gossip.settle(id, false, this.host.now());
    logError(this.host.log, 'verification failed', { error: (e as Error).message });
    this.host.checkEnded(consensus);
  }

  /** A checked broadcast goes on (see #settleGossip); then senders that waited for room may go on too. */
  #afterGossipVerify(c: PeerConnection, msg: GossipMessage, id: string, ok: boolean): void {
    this.#settleGossip(c, msg, id, ok);
    this.host.checkEnded(false);
  }

  /** A checked broadcast: scored if forged, else relayed down its tree and delivered. */
  #settleGossip(c: PeerConnection, msg: GossipMessage, id: string, ok: boolean): void {
    const h = this.host;
    const senders = h.gossip.settle(id, ok, h.now());
    if (!ok) {
      h.counters.badSignatures++;
      h.broadcastRelay.verifyFailed(id, senders, c.peerId, h.now());
      return h.offence(c, 'ERR_BAD_SIGNATURE', `gossip ${id.slice(0, 16)} has a bad signature`);
    }
    h.counters.delivered++;
    c.lastUsefulMs = h.now(); // new and valid: eviction protects peers that bring us such
    const origin = toHex(msg.origin);
    const frame = encodeGossipFrame(msg, h.gossip.relayHops(msg.hops), h.limits.frameBytesMax);
    h.counters.relayedFrames += h.broadcastRelay.relay(id, origin, frame, c.peerId, senders, h.now());
    h.deliver({ id, origin, seq: msg.seq, topic: msg.topic, data: msg.data, hops: msg.hops, from: c.peerId });
  }
}
