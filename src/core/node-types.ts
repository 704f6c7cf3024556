/**
 * The public shapes of a node: its events, what `peers()` and `stats()` report, and the ports through which
 * a validator shell receives consensus and catch-up traffic.
 */
import type { ErrorCode } from '../errors.ts';
import type { Clock } from '../io/clock.ts';
import type { Random } from '../io/random.ts';
import type { Transport } from '../io/transport.ts';
import type { ChainMessage, ConsensusMessage, Message, OutcomeMessage } from '../wire/schema.ts';
import type { FramesByType } from './traffic.ts';

/** A broadcast delivered to the application, once per node. */
export interface GossipDelivery {
  /** Message id: SHA-256 of its signed content, hex. */
  id: string;
  /** Origin's public key, hex. */
  origin: string;
  seq: number;
  topic: string;
  data: Uint8Array;
  /** Hops it travelled to reach this node. */
  hops: number;
  /** The peer it came from, hex. */
  from: string;
}

/** A peer connected or disconnected. */
export interface PeerEvent {
  state: 'connected' | 'disconnected';
  id: string;
  /**
   * Where the peer listens (HOST:PORT): the address it is reached at. For an inbound peer that announced no
   * listening port, the socket address.
   */
  addr: string;
  /** The socket's remote address: for an inbound peer, its ephemeral port. */
  socket: string;
  outbound: boolean;
  code?: ErrorCode;
  reason?: string;
}

/** Misbehaviour the node saw and scored. */
export interface OffenceEvent {
  peer: string;
  addr: string;
  code: ErrorCode;
  reason: string;
  score: number;
  banned: boolean;
}

/** An open peer as `peers()` reports it. */
export interface PeerInfo {
  id: string;
  addr: string;
  /** Where the peer listens, if it said. */
  listen: string | null;
  outbound: boolean;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Times reading from this peer stopped because it sent more than peerBytesPerSec allows. */
  rateHolds: number;
  /**
   * Bytes waiting to be sent to this peer now: frames held back for room on its link (consensus first) and
   * what its socket holds beyond the kernel's buffer; above writeQueueBytesMax the peer is dropped as too slow.
   */
  writeQueuedBytes: number;
}

/** Totals since start, for status views (`stats` console command, testnet view). */
export interface NodeStats {
  peers: number;
  /** Broadcasts delivered to the application (messages in). */
  delivered: number;
  /** Broadcasts this node originated. */
  published: number;
  /** Frames relayed on to peers. */
  relayedFrames: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Times reading from a peer stopped because it went over its message or byte rate, all peers since start. */
  rateHolds: number;
  duplicates: number;
  offences: number;
  bans: number;
  /** Event-loop turns that reached turnWorkMsMax with received frames still waiting (a sign of overload). */
  turnsCut: number;
  /** The broadcast trees (one per origin): frames of each kind sent, GRAFTed broadcasts served, the trees now. */
  tree: {
    ihaveFrames: number;
    graftFrames: number;
    pruneFrames: number;
    graftServed: number;
    /** Full frames of broadcasts not sent for want of room in the write queues (writeQueuedBytesTotalMax): ids announced instead. */
    eagerDeferred: number;
    /** GRAFTed broadcasts not served for want of room in the write queues: announced again, asked for later. */
    graftHeld: number;
    /** Full frames of new origins' large first broadcasts not sent beyond newOriginEagerPeersMax peers: ids announced instead. */
    newOriginAnnounced: number;
    /** Bytes queued for writing to all open peers together, now (bounded for broadcasts by writeQueuedBytesTotalMax). */
    writeQueuedBytes: number;
    /** Open peers. */
    peers: number;
    /** Origins whose tree is kept (0 in flood mode, which keeps no trees: every link carries everything). */
    origins: number;
    /** Links that carry broadcasts in full, summed over every origin's tree. */
    eager: number;
    /** Links that carry only ids, summed over every origin's tree. */
    lazy: number;
    /** Broadcasts announced to us but not yet received. */
    missing: number;
  };
  /**
   * Frames by message type: `in` handled by the node, `out` taken by a connection. framesIn and framesOut less
   * these sums are the connections' own frames (handshake, keepalive, refusals) and frames dropped by the
   * message rate.
   */
  framesByType: { in: FramesByType; out: FramesByType };
  /**
   * Bytes on the wire (length header included) of the frames in framesByType, by message type. bytesIn and
   * bytesOut less these sums are the bytes of the connections' own frames and of frames dropped unread.
   */
  bytesByType: { in: FramesByType; out: FramesByType };
}

/** What the consensus shell tells the node about a chain it was handed. */
export interface ChainVerdict {
  valid: boolean;
  /** Flood the chain on unchanged to other peers. */
  forward: boolean;
  code?: ErrorCode;
  reason?: string;
}

/** The validator shell's side of consensus traffic. */
export interface ConsensusPort {
  onChain(msg: ConsensusMessage, blockHash: Uint8Array, from: string): Promise<ChainVerdict>;
  /** A validator's signed outcome of a round (carried down its signer's broadcast tree; observers follow the chain by them). */
  onOutcome(msg: OutcomeMessage, from: string): Promise<ChainVerdict>;
  /** The key of validator `index` of the genesis (an outcome's tree is its signer's); undefined when there is none. */
  validatorKey(index: number): Uint8Array | undefined;
}

/** The validator shell's side of catch-up traffic (direct request and reply, never flooded). */
export interface SyncPort {
  /** Answer to a peer's `getchain`, or null to send nothing. */
  onGetChain(from: number, peer: string): ChainMessage | null;
  /** A peer's `chain` reply. */
  onChainReply(msg: ChainMessage, peer: string): void;
}

/** Typed events of a node. */
export interface NodeEvents {
  listening: [{ host: string; port: number; id: string }];
  peer: [PeerEvent];
  message: [GossipDelivery];
  offence: [OffenceEvent];
}

/** What a node runs on: its seams to the machine (TCP, the system clock and randomness) or to the simulator. */
export interface NodeEnvironment {
  transport: Transport;
  clock: Clock;
  random: Random;
}

/** What a validator needs from the node that carries its traffic (a StrongcastNode implements it). */
export interface ConsensusNodePort {
  /** The node's clock: the validator keeps time by it. */
  readonly clock: Clock;
  /**
   * The node's frame and write-queue limits: the validator checks that its largest frames fit and that a link
   * can queue a round in which every validator mines (consensus/frame-bound.ts).
   */
  readonly limits: { readonly frameBytesMax: number; readonly writeQueueBytesMax: number };
  /** Lets the validator judge the consensus chains that arrive; null detaches it (a stopped validator). */
  attachConsensus(port: ConsensusPort | null): void;
  /** Lets the validator answer and receive catch-up traffic; null detaches it. */
  attachSync(port: SyncPort | null): void;
  /** Ids of the open peers. */
  peerIds(): string[];
  /** Sends a message to one open peer; false when it is not connected. */
  sendTo(peerId: string, msg: Message): boolean;
  /** Floods our own consensus message (a proposal or a signed relay). */
  publishConsensus(msg: ConsensusMessage): number;
  /** Sends someone else's verified chain on to every open peer (a forward the state machine held back). */
  forwardConsensus(msg: ConsensusMessage): number;
  /** Floods our own signed outcome of a round. */
  publishOutcome(msg: OutcomeMessage): number;
}
