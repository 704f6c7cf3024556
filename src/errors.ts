/**
 * Typed errors with stable codes. Codes are a public interface: logs, `--json` events and scripts match on
 * them, so a code is never renamed once released. Add new codes; never reuse one for another meaning.
 */

/** Every error code strongcast raises or reports. */
export const ErrorCodes = {
  // framing and decoding (a peer's bytes)
  ERR_FRAME_TOO_LARGE: 'a frame length is above the configured frameBytesMax',
  ERR_FRAME_EMPTY: 'a frame has length zero',
  ERR_BAD_MSGPACK: 'a frame body is not valid msgpack',
  ERR_BAD_MESSAGE: 'a frame body is not a known, well-formed message',
  ERR_BAD_CIPHERTEXT: 'a sealed frame did not authenticate: altered, replayed, reordered or cut short on the way',
  // handshake
  ERR_BAD_HANDSHAKE: 'the handshake was not followed',
  ERR_WRONG_NETWORK: 'the peer belongs to another network id',
  ERR_WRONG_VERSION: 'the peer speaks another protocol version',
  ERR_BAD_PROOF: 'the peer could not prove it holds its key',
  ERR_SELF_CONNECTION: 'the node connected to itself',
  ERR_WRONG_PEER: 'the node dialed proved another id than the one its address was given with',
  ERR_DUPLICATE_PEER: 'a connection to this node id is already open',
  ERR_TOO_MANY_PEERS: 'the node is at its maxPeers limit',
  ERR_EVICTED: 'an inbound peer was disconnected to make room for another: the inbound slots were full',
  ERR_BANNED: 'the peer is temporarily banned for misbehaviour',
  ERR_HANDSHAKE_TIMEOUT: 'the handshake did not finish in time',
  ERR_HANDSHAKE_EVICTED: 'a connection in its handshake was closed to make room for a newer one: the pending-handshake slots of its network group, or of the node, were full',
  // connection health
  ERR_IDLE_TIMEOUT: 'the peer sent nothing for longer than idleTimeoutMs',
  ERR_SLOW_PEER: 'the peer did not drain its write queue',
  ERR_RATE_LIMITED: 'the peer exceeded its message or byte rate',
  ERR_BAD_SIGNATURE: 'a signature did not verify',
  ERR_UNSOLICITED: 'a reply that answers no request of ours (or came after its timeout)',
  /** No longer raised: the hop count is not signed, so it decides nothing (kept so the code is never reused). */
  ERR_HOP_LIMIT: 'a message travelled more hops than allowed',
  ERR_CONNECTION_CLOSED: 'the connection closed',
  ERR_CONNECT_FAILED: 'a connection could not be opened',
  // consensus
  ERR_BAD_CHAIN: 'a Dolev-Strong signature chain is malformed',
  ERR_TOO_FEW_SIGNATURES: 'a chain carries fewer signatures than its round requires',
  ERR_INSTANCE_OVER: 'a message arrived after the last round of its instance',
  ERR_TOO_EARLY: 'a message arrived longer before its instance starts than the clock skew bound allows',
  ERR_GENESIS: 'the genesis file is missing or invalid',
  ERR_NOT_VALIDATOR: 'the key is not one of the genesis validators',
  ERR_PAYLOAD_TOO_LARGE: "a block payload to mine is above its network's block payload cap (min(256 KiB, floor(4 MiB / n)) for n validators)",
  // local use
  ERR_INVALID_OPTION: 'an option or flag has an invalid value',
  ERR_PORT_IN_USE: 'the listening port is already in use',
  ERR_KEY_FILE: 'the key file is missing, unreadable or malformed',
  ERR_NOT_STARTED: 'the node is not running',
  ERR_NO_PEERS: 'no peer is connected, so a block mined now would reach nobody',
  ERR_STORE: 'the data directory could not be read or written',
  ERR_POOL: 'the verification pool failed',
  ERR_POOL_FULL: 'the verification pool already holds pendingChecksMax signatures; the check was not run',
  ERR_INPUT_ENDED: 'standard input ended before the interactive start had its answers',
  ERR_UNKNOWN_COMMAND: 'a console command that does not exist',
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ErrorCodes;

/** The one error class of strongcast: `code` is stable, `message` is for people. */
export class StrongcastError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code], options);
    this.name = 'StrongcastError';
    this.code = code;
  }
}

/** True when `e` is a StrongcastError, optionally with the given code. */
export function isStrongcastError(e: unknown, code?: ErrorCode): e is StrongcastError {
  return e instanceof StrongcastError && (code === undefined || e.code === code);
}

/** Raises a bug (a broken invariant in our own code), never used for a peer's bad input. */
export function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`strongcast invariant broken: ${what}`);
}
