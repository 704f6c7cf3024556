/**
 * The wire schema: protocol version, every message type, and `decodeMessage`, which checks every field,
 * type and byte length of an untyped msgpack value before any other code sees it. This is the only place
 * that knows the message shapes; a new message type is added here first.
 */
import { StrongcastError } from '../errors.ts';

/**
 * Protocol version spoken on the wire; peers with another version are refused at the handshake.
 * Version 2 added the `outcome` message (validators' signed outcomes of each round's instances, which
 * observers follow); a version-1 node would close the connection on it, so the versions do not mix.
 * Version 3 added `heldFrom` to chain statements (what a syncing signer holds; catch-up.ts): a version-2
 * node would refuse the field, and its own statements would not say it.
 * Version 4 encrypts and authenticates every byte after a Noise XX handshake (peers/handshake.ts); the
 * plaintext `hello` and `auth` messages are gone, and the hello of versions 1 to 3 is refused as another version.
 * Version 5 added `digest` to chain statements: a statement names the whole chain, not only its last block,
 * whose hash covers neither height nor parent (catch-up.ts). A version-4 node would refuse the field.
 * Version 6 caps a block's payload per network at min(blockPayloadBytesMax, floor(4 MiB / n)) for n
 * validators (consensus/payload-cap.ts), so an all-mine round fits every link's write queue. The wire format
 * is unchanged, but a version-5 node would sign and relay blocks a version-6 one refuses as invalid: the two
 * would disagree on what a valid block is, so they do not mix. Version 6 also widens `heldFrom` in chain
 * statements to every decision the signer held and has not appended (dropped on a second outage) and every
 * one a crash may have cost it (held, or appended and not yet durable: the crash mark a restarted validator
 * states), partial decisions aside (of instances that ran while the signer was out), and adds catch-up's
 * quorum rule, which counts on it (catch-up.ts): a version-5 signer's statement could leave such a decision
 * out, and a version-6 node would count it.
 * Version 7 adds `appendsFrom` to chain statements (the earliest decision the signer will append, what it
 * dropped or lost left out) and catch-up's unanimity rule, which counts on it (catch-up.ts): after every
 * validator crashed at once, each states its crash mark and none counted for another's quorum. A version-6
 * node would refuse the field, and the statement's signed bytes cover it.
 * Version 8 adds `decided` to chain statements (the start rounds the signer decided itself and the blocks it
 * decided there, held ones included) and catch-up's per-instance rule, which counts on it (catch-up.ts): a
 * version-7 node would refuse the field, and the statement's signed bytes cover it.
 */
export const PROTOCOL_VERSION = 8;

/** Byte lengths fixed by Ed25519 and SHA-256. */
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const HASH_BYTES = 32;

/** Schema limits: any message beyond these is malformed, whatever the frame limit. */
export const schemaLimits = {
  /** Longest network id, in UTF-8 bytes. */
  networkIdBytesMax: 64,
  /** Longest host name or address in a handshake identity or peer list, in bytes of UTF-8. */
  hostCharsMax: 255,
  /** Longest gossip topic, in UTF-8 bytes. */
  topicBytesMax: 64,
  /** Largest gossip payload, in bytes. */
  gossipDataBytesMax: 256 * 1024,
  /**
   * Largest block payload, in bytes, in any network; a network of n validators caps it lower from n = 17 on
   * (consensus/payload-cap.ts), a consensus rule the schema, which knows no genesis, leaves to the validator.
   */
  blockPayloadBytesMax: 256 * 1024,
  /** Most addresses in one peer-exchange reply. */
  peersPerReplyMax: 64,
  /** Most validators a network may have (bitmask of 128 bytes). */
  validatorsMax: 1024,
  /** Longest reject reason, in characters. */
  reasonCharsMax: 512,
  /** Most blocks in one catch-up reply. */
  chainBlocksPerReplyMax: 64,
  /** Most decided blocks one chain statement's `decided` run names (catch-up.ts, the per-instance rule). */
  decidedBlocksPerStatementMax: 64,
  /** Most message ids in one IHAVE (broadcast-tree announcement). */
  ihaveIdsMax: 1024,
  /** Most message ids in one GRAFT (broadcast-tree request). */
  graftIdsMax: 256,
} as const;

/** Sent just before closing a connection, so the other side can log why. */
export interface RejectMessage {
  t: 'reject';
  code: string;
  reason: string;
}

export interface PingMessage {
  t: 'ping';
  n: number;
}

export interface PongMessage {
  t: 'pong';
  n: number;
}

/** Asks the peer for listening addresses it knows (peer exchange). */
export interface GetPeersMessage {
  t: 'getpeers';
}

/** A listening address a node knows, with the id it proved there. */
export interface PeerAddress {
  id: Uint8Array;
  host: string;
  port: number;
}

export interface PeersMessage {
  t: 'peers';
  addrs: PeerAddress[];
}

/** A broadcast: signed by its origin, flooded hop by hop, delivered once per node. */
export interface GossipMessage {
  t: 'gossip';
  origin: Uint8Array;
  /** Per-origin sequence number, so equal payloads from one origin stay distinct messages. */
  seq: number;
  topic: string;
  data: Uint8Array;
  /** Hops travelled so far; not signed, because every relay increments it. */
  hops: number;
  sig: Uint8Array;
}

/**
 * Broadcast tree (plumtree.ts): "I have these broadcasts" to a peer off the tree. `ids` is the
 * concatenation of 32-byte gossip ids (SHA-256 of each message's signed bytes).
 */
export interface IhaveMessage {
  t: 'ihave';
  ids: Uint8Array;
}

/** Broadcast tree: "send me these broadcasts in full, and put this link on the tree". Ids as in IHAVE. */
export interface GraftMessage {
  t: 'graft';
  ids: Uint8Array;
}

/**
 * Broadcast tree: "I got a copy I already had from you: send me only ids of `origin`'s broadcasts from now
 * on" (one tree per origin, plumtree.ts).
 */
export interface PruneMessage {
  t: 'prune';
  origin: Uint8Array;
}

/** A block as it travels: height and parent are assigned only when it is appended to a chain. */
export interface WireBlock {
  /** Index of the validator that mined it. */
  miner: number;
  /** Start round of the instance (rounds of length roundMs since genesis start). */
  t0: number;
  /** Miner's wall-clock time in ms when it proposed the block (informational only). */
  ts: number;
  payload: Uint8Array;
}

/** A Dolev-Strong relay: the block and the ordered signature chain, signers named by index and bitmask. */
export interface ConsensusMessage {
  t: 'ds';
  block: WireBlock;
  /** Bit i (byte i>>3, bit i&7, least significant first) is set when validator i signed. */
  mask: Uint8Array;
  /** Signer indices in the order they signed; signers[0] must be the miner. */
  signers: number[];
  /** signers.length signatures of 64 bytes each, concatenated in signer order. */
  sigs: Uint8Array;
  hops: number;
}

/**
 * A validator's signed statement about its decided chain: "as of round `round`, my chain ends at `height`
 * with block `tip`". Catch-up appends a block only when f+1 distinct validators' statements vouch for a
 * chain through it (see catch-up.ts for the bytes signed and the rules).
 */
export interface ChainStatement {
  signer: number;
  round: number;
  height: number;
  /** Hash of the block at `height` (the genesis hash when height is 0). */
  tip: Uint8Array;
  /** Running digest of the signer's chain through `height` (block.ts chainDigest): what catch-up compares. */
  digest: Uint8Array;
  /** True while the signer is itself still catching up (its statement then proves less; see catch-up.ts). */
  syncing: boolean;
  /**
   * While syncing: the start round (t0) of the earliest decision the signer holds and will append when its
   * catch-up ends, a block its tip does not show yet; null when it holds none, and always when not syncing.
   */
  heldFrom: number | null;
  /**
   * While syncing: the start round of the earliest decision the signer holds and will append when its
   * catch-up ends (what it dropped or may have lost left out, unlike `heldFrom`); null when it will append
   * none, and always when not syncing. Never below `heldFrom`.
   */
  appendsFrom: number | null;
  /**
   * The signer's evidence per instance (catch-up.ts, the per-instance rule): every instance whose start round
   * is in `from`..`through` it decided itself in synchrony (or its live chain holds), and the blocks decided
   * there are exactly `blocks`; absent or nil when it states none.
   */
  decided?: DecidedRun | null;
  sig: Uint8Array;
}

/** A run of start rounds a signer decided, and the blocks decided in them (ChainStatement.decided). */
export interface DecidedRun {
  /** First start round (t0) of the run. */
  from: number;
  /** Last start round of the run, at or after `from`. */
  through: number;
  /** Every block decided in the run, in (t0, miner) order, each t0 within it: at most decidedBlocksPerStatementMax. */
  blocks: DecidedEntry[];
}

/** One decided block of a run: its instance and its hash. */
export interface DecidedEntry {
  miner: number;
  t0: number;
  hash: Uint8Array;
}

/** A decided block as catch-up carries it: the wire block plus its place in the chain. */
export interface WireChainBlock extends WireBlock {
  height: number;
  parent: Uint8Array;
}

/** Catch-up request: "send me your statement and your blocks from height `from` on". */
export interface GetChainMessage {
  t: 'getchain';
  from: number;
}

/** Catch-up reply: the responder's statement (null from a non-validator) and up to 64 consecutive blocks. */
export interface ChainMessage {
  t: 'chain';
  statement: ChainStatement | null;
  blocks: WireChainBlock[];
}

/** One non-empty outcome of an instance: its miner and the block decided. */
export interface OutcomeEntry {
  miner: number;
  /** The decided block's hash. */
  hash: Uint8Array;
}

/**
 * A validator's signed outcome of the instances of one start round: "for t0 my chain gained exactly these
 * blocks, in miner order, and ends at `height` after them". Flooded like consensus chains; an observer
 * appends a round's blocks once f+1 validators signed the same outcome (see consensus/follower.ts).
 */
export interface OutcomeMessage {
  t: 'outcome';
  signer: number;
  t0: number;
  height: number;
  /** In increasing miner order; at most one per miner, at least one. */
  blocks: OutcomeEntry[];
  sig: Uint8Array;
}

/** Every message of the protocol. */
export type Message =
  | RejectMessage
  | PingMessage
  | PongMessage
  | GetPeersMessage
  | PeersMessage
  | GossipMessage
  | IhaveMessage
  | GraftMessage
  | PruneMessage
  | ConsensusMessage
  | GetChainMessage
  | ChainMessage
  | OutcomeMessage;

/** The `t` tag of a message. */
export type MessageType = Message['t'];

type Obj = Record<string, unknown>;

function bad(what: string): never {
  throw new StrongcastError('ERR_BAD_MESSAGE', what);
}

function isObject(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

/** Rejects fields we do not know, so a message has exactly one reading. */
function onlyKeys(o: Obj, keys: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`${what}: unexpected field '${k}'`);
}

function bytes(o: Obj, k: string, what: string, exact?: number, max?: number): Uint8Array {
  const v = o[k];
  if (!(v instanceof Uint8Array)) bad(`${what}.${k} must be bytes`);
  if (exact !== undefined && v.byteLength !== exact) bad(`${what}.${k} must be ${exact} bytes`);
  if (max !== undefined && v.byteLength > max) bad(`${what}.${k} must be at most ${max} bytes`);
  return v;
}

function uint(o: Obj, k: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    bad(`${what}.${k} must be an integer in 0..${max}`);
  }
  return v;
}

function str(o: Obj, k: string, what: string, maxBytes: number): string {
  const v = o[k];
  if (typeof v !== 'string') bad(`${what}.${k} must be a string`);
  if (Buffer.byteLength(v, 'utf8') > maxBytes) bad(`${what}.${k} must be at most ${maxBytes} bytes`);
  return v;
}

function decodeReject(o: Obj): RejectMessage {
  onlyKeys(o, ['t', 'code', 'reason'], 'reject');
  return {
    t: 'reject',
    code: str(o, 'code', 'reject', 64),
    reason: str(o, 'reason', 'reject', schemaLimits.reasonCharsMax * 4),
  };
}

function decodePingPong(o: Obj, t: 'ping' | 'pong'): PingMessage | PongMessage {
  onlyKeys(o, ['t', 'n'], t);
  return { t, n: uint(o, 'n', t) };
}

function decodePeerAddress(x: unknown): PeerAddress {
  if (!isObject(x)) bad('peers.addrs entries must be maps');
  onlyKeys(x, ['id', 'host', 'port'], 'peer address');
  const port = uint(x, 'port', 'peer address', 65535);
  if (port === 0) bad('peer address.port must be in 1..65535');
  return {
    id: bytes(x, 'id', 'peer address', PUBLIC_KEY_BYTES),
    host: str(x, 'host', 'peer address', schemaLimits.hostCharsMax),
    port,
  };
}

function decodePeers(o: Obj): PeersMessage {
  onlyKeys(o, ['t', 'addrs'], 'peers');
  const addrs = o['addrs'];
  if (!Array.isArray(addrs)) bad('peers.addrs must be an array');
  if (addrs.length > schemaLimits.peersPerReplyMax) bad(`peers.addrs must hold at most ${schemaLimits.peersPerReplyMax}`);
  return { t: 'peers', addrs: addrs.map(decodePeerAddress) };
}

function decodeGossip(o: Obj): GossipMessage {
  onlyKeys(o, ['t', 'origin', 'seq', 'topic', 'data', 'hops', 'sig'], 'gossip');
  return {
    t: 'gossip',
    origin: bytes(o, 'origin', 'gossip', PUBLIC_KEY_BYTES),
    seq: uint(o, 'seq', 'gossip'),
    topic: str(o, 'topic', 'gossip', schemaLimits.topicBytesMax),
    data: bytes(o, 'data', 'gossip', undefined, schemaLimits.gossipDataBytesMax),
    hops: uint(o, 'hops', 'gossip', 255),
    sig: bytes(o, 'sig', 'gossip', SIGNATURE_BYTES),
  };
}

function decodeIds(o: Obj, t: 'ihave' | 'graft', idsMax: number): IhaveMessage | GraftMessage {
  onlyKeys(o, ['t', 'ids'], t);
  const ids = bytes(o, 'ids', t, undefined, idsMax * HASH_BYTES);
  if (ids.byteLength === 0 || ids.byteLength % HASH_BYTES !== 0) bad(`${t}.ids must be 1..${idsMax} ids of ${HASH_BYTES} bytes`);
  return { t, ids };
}

function decodeBlock(x: unknown): WireBlock {
  if (!isObject(x)) bad('ds.block must be a map');
  onlyKeys(x, ['miner', 't0', 'ts', 'payload'], 'block');
  return {
    miner: uint(x, 'miner', 'block', schemaLimits.validatorsMax - 1),
    t0: uint(x, 't0', 'block'),
    ts: uint(x, 'ts', 'block'),
    payload: bytes(x, 'payload', 'block', undefined, schemaLimits.blockPayloadBytesMax),
  };
}

function decodeConsensus(o: Obj): ConsensusMessage {
  onlyKeys(o, ['t', 'block', 'mask', 'signers', 'sigs', 'hops'], 'ds');
  const signers = o['signers'];
  if (!Array.isArray(signers) || signers.length === 0 || signers.length > schemaLimits.validatorsMax) {
    bad(`ds.signers must be an array of 1..${schemaLimits.validatorsMax} indices`);
  }
  const indices = signers.map((s, i) => uint({ s }, 's', `ds.signers[${i}]`, schemaLimits.validatorsMax - 1));
  const sigs = bytes(o, 'sigs', 'ds', indices.length * SIGNATURE_BYTES);
  return {
    t: 'ds',
    block: decodeBlock(o['block']),
    mask: bytes(o, 'mask', 'ds', undefined, schemaLimits.validatorsMax / 8),
    signers: indices,
    sigs,
    hops: uint(o, 'hops', 'ds', 255),
  };
}

function decodeStatement(x: unknown): ChainStatement | null {
  if (x === null) return null;
  if (!isObject(x)) bad('chain.statement must be a map or nil');
  onlyKeys(x, ['signer', 'round', 'height', 'tip', 'digest', 'syncing', 'heldFrom', 'appendsFrom', 'decided', 'sig'], 'statement');
  if (typeof x['syncing'] !== 'boolean') bad('statement.syncing must be a boolean');
  const heldFrom = nilOrUint(x, 'heldFrom');
  const appendsFrom = nilOrUint(x, 'appendsFrom');
  if (heldFrom !== null && !x['syncing']) bad('statement.heldFrom must be nil when not syncing');
  if (appendsFrom !== null && !x['syncing']) bad('statement.appendsFrom must be nil when not syncing');
  // What a signer will append it holds, so heldFrom (held, dropped or lost) is at or below it.
  if (appendsFrom !== null && (heldFrom === null || appendsFrom < heldFrom)) bad('statement.appendsFrom must be nil or at least heldFrom');
  return {
    signer: uint(x, 'signer', 'statement', schemaLimits.validatorsMax - 1),
    round: uint(x, 'round', 'statement'),
    height: uint(x, 'height', 'statement'),
    tip: bytes(x, 'tip', 'statement', HASH_BYTES),
    digest: bytes(x, 'digest', 'statement', HASH_BYTES),
    syncing: x['syncing'],
    heldFrom,
    appendsFrom,
    decided: decodeDecided(x['decided'] ?? null),
    sig: bytes(x, 'sig', 'statement', SIGNATURE_BYTES),
  };
}

/** A statement's `decided` run: nil, or a run whose blocks lie within it, strictly in (t0, miner) order. */
function decodeDecided(x: unknown): DecidedRun | null {
  if (x === null) return null;
  if (!isObject(x)) bad('statement.decided must be a map or nil');
  onlyKeys(x, ['from', 'through', 'blocks'], 'statement.decided');
  const from = uint(x, 'from', 'statement.decided');
  const through = uint(x, 'through', 'statement.decided');
  if (through < from) bad('statement.decided.through must be at least from');
  const list = x['blocks'];
  const max = schemaLimits.decidedBlocksPerStatementMax;
  if (!Array.isArray(list) || list.length > max) bad(`statement.decided.blocks must be an array of at most ${max}`);
  const blocks = list.map((e, i): DecidedEntry => {
    const what = `statement.decided.blocks[${i}]`;
    if (!isObject(e)) bad(`${what} must be a map`);
    onlyKeys(e, ['miner', 't0', 'hash'], what);
    return { miner: uint(e, 'miner', what, schemaLimits.validatorsMax - 1), t0: uint(e, 't0', what), hash: bytes(e, 'hash', what, HASH_BYTES) };
  });
  for (const [i, e] of blocks.entries()) {
    if (e.t0 < from || e.t0 > through) bad(`statement.decided.blocks[${i}].t0 must be within from..through`);
    const prev = blocks[i - 1];
    // One reading per run: each instance once, in the order the chain appends them.
    if (prev && (e.t0 < prev.t0 || (e.t0 === prev.t0 && e.miner <= prev.miner))) bad(`statement.decided.blocks[${i}] must follow the one before it in (t0, miner) order`);
  }
  return { from, through, blocks };
}

/** A statement field that must be present: an unsigned integer, or nil. */
function nilOrUint(x: Obj, field: 'heldFrom' | 'appendsFrom'): number | null {
  if (!Object.hasOwn(x, field)) bad(`statement.${field} must be an unsigned integer or nil`);
  return x[field] === null ? null : uint(x, field, 'statement');
}

function decodeChainBlock(x: unknown, i: number): WireChainBlock {
  if (!isObject(x)) bad(`chain.blocks[${i}] must be a map`);
  onlyKeys(x, ['miner', 't0', 'ts', 'payload', 'height', 'parent'], 'chain block');
  const { miner, t0, ts, payload } = x;
  return {
    ...decodeBlock({ miner, t0, ts, payload }),
    height: uint(x, 'height', 'chain block'),
    parent: bytes(x, 'parent', 'chain block', HASH_BYTES),
  };
}

function decodeChain(o: Obj): ChainMessage {
  onlyKeys(o, ['t', 'statement', 'blocks'], 'chain');
  const blocks = o['blocks'];
  if (!Array.isArray(blocks) || blocks.length > schemaLimits.chainBlocksPerReplyMax) {
    bad(`chain.blocks must be an array of at most ${schemaLimits.chainBlocksPerReplyMax}`);
  }
  return { t: 'chain', statement: decodeStatement(o['statement'] ?? null), blocks: blocks.map(decodeChainBlock) };
}

function decodeOutcome(o: Obj): OutcomeMessage {
  onlyKeys(o, ['t', 'signer', 't0', 'height', 'blocks', 'sig'], 'outcome');
  const blocks = o['blocks'];
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > schemaLimits.validatorsMax) {
    bad(`outcome.blocks must be an array of 1..${schemaLimits.validatorsMax} entries`);
  }
  const entries = blocks.map((b, i): OutcomeEntry => {
    if (!isObject(b)) bad(`outcome.blocks[${i}] must be a map`);
    onlyKeys(b, ['miner', 'hash'], 'outcome block');
    return { miner: uint(b, 'miner', 'outcome block', schemaLimits.validatorsMax - 1), hash: bytes(b, 'hash', 'outcome block', HASH_BYTES) };
  });
  for (let i = 1; i < entries.length; i++) if (entries[i]!.miner <= entries[i - 1]!.miner) bad('outcome.blocks must be in increasing miner order');
  return {
    t: 'outcome',
    signer: uint(o, 'signer', 'outcome', schemaLimits.validatorsMax - 1),
    t0: uint(o, 't0', 'outcome'),
    height: uint(o, 'height', 'outcome'),
    blocks: entries,
    sig: bytes(o, 'sig', 'outcome', SIGNATURE_BYTES),
  };
}

/**
 * Checks an untyped decoded value and returns it as a typed Message.
 * @throws StrongcastError ERR_BAD_MESSAGE naming the first field that is wrong.
 */
export function decodeMessage(x: unknown): Message {
  if (!isObject(x)) bad('message must be a map');
  switch (x['t']) {
    case 'reject':
      return decodeReject(x);
    case 'ping':
    case 'pong':
      return decodePingPong(x, x['t']);
    case 'getpeers':
      onlyKeys(x, ['t'], 'getpeers');
      return { t: 'getpeers' };
    case 'peers':
      return decodePeers(x);
    case 'gossip':
      return decodeGossip(x);
    case 'ihave':
      return decodeIds(x, 'ihave', schemaLimits.ihaveIdsMax);
    case 'graft':
      return decodeIds(x, 'graft', schemaLimits.graftIdsMax);
    case 'prune':
      onlyKeys(x, ['t', 'origin'], 'prune');
      return { t: 'prune', origin: bytes(x, 'origin', 'prune', PUBLIC_KEY_BYTES) };
    case 'ds':
      return decodeConsensus(x);
    case 'getchain':
      onlyKeys(x, ['t', 'from'], 'getchain');
      return { t: 'getchain', from: uint(x, 'from', 'getchain') };
    case 'chain':
      return decodeChain(x);
    case 'outcome':
      return decodeOutcome(x);
    default:
      // Never call String() on a peer's value: an object with a hostile toString would throw untyped.
      return bad(`unknown message type ${typeof x['t'] === 'string' ? JSON.stringify(x['t'].slice(0, 32)) : typeof x['t']}`);
  }
}
