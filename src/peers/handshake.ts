/**
 * The connection handshake, as pure code. Both sides send `hello` (version, network id, public key,
 * listening port, fresh nonce) at once; on the other's hello each checks it and answers `auth`, a signature
 * over the other side's nonce; a connection is open when both proofs verified. Signing the peer's nonce
 * (not our own) is what stops a recorded handshake being replayed: nobody can predict the nonce we chose.
 */
import { concatBytes, lengthPrefixed, toHex, utf8 } from '../bytes.ts';
import type { ErrorCode } from '../errors.ts';
import { PROTOCOL_VERSION, type AuthMessage, type HelloMessage } from '../wire/schema.ts';

/** Domain tag of handshake signatures, so they can never be mistaken for gossip or consensus signatures. */
export const HANDSHAKE_DOMAIN = 'strongcast/handshake/v1';

/** What a node says about itself in its hello. */
export interface LocalHello {
  networkId: string;
  publicKey: Uint8Array;
  /** Listening host and port to advertise ('' and 0 when not listening). */
  host: string;
  port: number;
}

/**
 * The bytes a node signs to prove it holds `signerKey` to the peer holding `verifierKey`:
 * domain || network id || the verifier's nonce || signer key || verifier key (all length-prefixed or fixed size).
 * Binding both keys stops a man in the middle relaying one side's proof to a third node.
 */
export function handshakeSignedBytes(networkId: string, verifierNonce: Uint8Array, signerKey: Uint8Array, verifierKey: Uint8Array): Uint8Array {
  return concatBytes(lengthPrefixed(utf8(HANDSHAKE_DOMAIN)), lengthPrefixed(utf8(networkId)), verifierNonce, signerKey, verifierKey);
}

/** A fresh hello with a random nonce; keep the nonce to check the peer's auth. */
export function makeHello(local: LocalHello, nonce: Uint8Array): HelloMessage {
  return { t: 'hello', v: PROTOCOL_VERSION, net: local.networkId, key: local.publicKey, host: local.host, port: local.port, nonce };
}

/** Why a hello is refused: a code and a reason to send in `reject` and to log. */
export interface HelloRefusal {
  code: ErrorCode;
  reason: string;
}

/** The node-wide facts a hello is checked against. */
export interface HelloContext {
  networkId: string;
  selfKeyHex: string;
  isBanned: (keyHex: string) => boolean;
  /** True when a connection from this peer would exceed maxPeers (one already open to it may be replaced). */
  isFull?: (keyHex: string) => boolean;
}

/**
 * Checks the peer's hello against this node: version, network id, not ourselves, not banned. Whether a
 * second connection to the same id is allowed is decided once the handshake completes (see node.ts), because
 * both sides must agree on which of two crossing connections survives.
 */
export function checkHello(hello: HelloMessage, ctx: HelloContext): HelloRefusal | null {
  if (hello.v !== PROTOCOL_VERSION) {
    return { code: 'ERR_WRONG_VERSION', reason: `peer speaks protocol version ${hello.v}, this node speaks ${PROTOCOL_VERSION}` };
  }
  if (hello.net !== ctx.networkId) {
    return { code: 'ERR_WRONG_NETWORK', reason: `peer is on network '${hello.net}', this node is on '${ctx.networkId}'` };
  }
  const keyHex = toHex(hello.key);
  if (keyHex === ctx.selfKeyHex) return { code: 'ERR_SELF_CONNECTION', reason: 'connected to itself' };
  if (ctx.isBanned(keyHex)) return { code: 'ERR_BANNED', reason: `peer ${keyHex.slice(0, 16)} is banned` };
  // Refused before our proof is sent, so the peer never counts the connection as open (node.ts checks again
  // at open, when crossing handshakes may have filled the table meanwhile).
  if (ctx.isFull?.(keyHex)) return { code: 'ERR_TOO_MANY_PEERS', reason: 'node has its maximum of peers' };
  return null;
}

/** Our proof for the peer: a signature over its nonce with our key. */
export function makeAuth(local: LocalHello, peerHello: HelloMessage, sign: (m: Uint8Array) => Uint8Array): AuthMessage {
  return { t: 'auth', sig: sign(handshakeSignedBytes(local.networkId, peerHello.nonce, local.publicKey, peerHello.key)) };
}

/** The check the peer's auth must pass: its key signed our nonce, both keys bound in. */
export function authCheck(local: LocalHello, ourNonce: Uint8Array, peerHello: HelloMessage, auth: AuthMessage) {
  return {
    publicKey: peerHello.key,
    message: handshakeSignedBytes(local.networkId, ourNonce, peerHello.key, local.publicKey),
    signature: auth.sig,
  };
}

/**
 * Of two open connections between the same pair of nodes, the one dialed by the node with the smaller key
 * survives. Both ends compute the same answer from facts both know, so they close the same connection.
 */
export function keepsConnection(dialerKeyHex: string, otherDialerKeyHex: string): boolean {
  return dialerKeyHex < otherDialerKeyHex;
}
