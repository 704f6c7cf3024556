/**
 * The connection handshake, as pure code: Noise XX (Noise spec rev 34, section 7.5) as
 * Noise_XX_25519_ChaChaPoly_BLAKE2b, run by the noise-handshake library over libsodium, with strongcast's
 * identity in the payloads. The dialer is the initiator:
 *
 *   -> e                      payload: protocol version and network id (plaintext, but hashed)
 *   <- e, ee, s, es           payload: the responder's identity (encrypted)
 *   -> s, se                  payload: the initiator's identity (encrypted)
 *
 * The Noise static keys are X25519 keys each node makes at start. A node's identity payload carries its
 * Ed25519 id and that key's signature over the Noise static key it uses, so the id a peer shows is bound to
 * the key the channel authenticates: Noise proves possession of the static key (es, se), the signature binds
 * it to the id (as libp2p's Noise handshake does). The prologue holds the protocol version and network id
 * (section 6), so two nodes that disagree on either cannot complete a handshake even if the plaintext
 * first payload were rewritten on the way.
 *
 * Nothing here touches a socket, a timer or the verifier: the connection feeds messages in, writes what comes
 * out, and verifies the identity signature through the node's verifier before calling `complete`.
 */
import NoiseState from 'noise-handshake';
import dh from 'noise-handshake/dh.js';
import { concatBytes, lengthPrefixed, toHex, utf8 } from '../bytes.ts';
import { assert, type ErrorCode } from '../errors.ts';
import type { Random } from '../io/random.ts';
import { PROTOCOL_VERSION, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, schemaLimits } from '../wire/schema.ts';

/**
 * An X25519 key pair (32-byte keys), as noise-handshake takes it. Declared here rather than taken from the
 * library's types, which are ours (src/types) and do not ship: the published declarations stay self-contained.
 */
export interface NoiseKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** The Noise protocol name (section 8): pattern, DH, cipher and hash functions. */
export const NOISE_PROTOCOL_NAME = 'Noise_XX_25519_ChaChaPoly_BLAKE2b';

/** Start of the prologue, naming this use of Noise. */
export const NOISE_PROLOGUE_DOMAIN = 'strongcast/noise/v1';

/** Domain tag of the signature binding a Noise static key to a node id. */
export const NOISE_STATIC_DOMAIN = 'strongcast/noise-static/v1';

/** What a node says about itself, and the keys it handshakes with. */
export interface LocalHello {
  networkId: string;
  /** The node id: its Ed25519 public key. */
  publicKey: Uint8Array;
  /** Listening host and port to advertise ('' and 0 when not listening). */
  host: string;
  port: number;
  /** The node's X25519 Noise static key pair. */
  noiseStatic: NoiseKeyPair;
  /** The node's Ed25519 signature over noiseStaticSignedBytes(noiseStatic.publicKey). */
  noiseStaticSig: Uint8Array;
}

/** What the peer showed of itself in its identity payload. */
export interface PeerHello {
  /** Its node id, the Ed25519 public key. */
  key: Uint8Array;
  host: string;
  port: number;
}

/** A signature to verify before the handshake may go on. */
export interface SignatureCheck {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/** Why a peer is refused: a code and a reason to send in the reject frame and to log. */
export interface HelloRefusal {
  code: ErrorCode;
  reason: string;
}

/** The node-wide facts a peer is checked against. */
export interface HelloContext {
  networkId: string;
  selfKeyHex: string;
  isBanned: (keyHex: string) => boolean;
  /** True when a connection from this peer would exceed maxPeers (one already open to it may be replaced). */
  isFull?: (keyHex: string) => boolean;
  /** On a dial to an address given with an id: that id (hex); the node there must prove it. */
  expectedKeyHex?: string | null;
}

/** A fresh X25519 key pair from 32 bytes of the node's randomness (X25519 clamps any 32 bytes). */
export function makeNoiseKeyPair(random: Random): NoiseKeyPair {
  return dh.generateKeyPair(random.bytes(dh.SKLEN));
}

/** The bytes a node signs to bind its Noise static key to its id: domain || static key. */
export function noiseStaticSignedBytes(noiseStaticKey: Uint8Array): Uint8Array {
  return concatBytes(lengthPrefixed(utf8(NOISE_STATIC_DOMAIN)), noiseStaticKey);
}

/** The Noise side of a node's identity: a fresh static key, signed once by its id key (one signature per run). */
export function makeNoiseIdentity(sign: (m: Uint8Array) => Uint8Array, random: Random): Pick<LocalHello, 'noiseStatic' | 'noiseStaticSig'> {
  const noiseStatic = makeNoiseKeyPair(random);
  return { noiseStatic, noiseStaticSig: sign(noiseStaticSignedBytes(noiseStatic.publicKey)) };
}

/** version (u16 BE) || network id length (u8) || network id (UTF-8): the first payload and the prologue's tail. */
export function encodeVersionAndNetwork(version: number, networkId: string): Uint8Array {
  const net = utf8(networkId);
  const out = new Uint8Array(3 + net.byteLength);
  new DataView(out.buffer).setUint16(0, version);
  out[2] = net.byteLength;
  out.set(net, 3);
  return out;
}

/** The Noise prologue (section 6): domain || version || network id. */
export function noisePrologue(networkId: string, version: number = PROTOCOL_VERSION): Uint8Array {
  return concatBytes(lengthPrefixed(utf8(NOISE_PROLOGUE_DOMAIN)), encodeVersionAndNetwork(version, networkId));
}

/** Reads the first payload; null when it is not exactly one version and one network id. */
export function decodeVersionAndNetwork(p: Uint8Array): { version: number; networkId: string } | null {
  if (p.byteLength < 3 || p[2]! > schemaLimits.networkIdBytesMax || p.byteLength !== 3 + p[2]!) return null;
  const version = (p[0]! << 8) | p[1]!;
  return { version, networkId: Buffer.from(p.buffer, p.byteOffset + 3, p[2]!).toString('utf8') };
}

/** id (32) || signature (64) || port (u16 BE) || host length (u8) || host (UTF-8): an identity payload. */
export function encodeIdentity(local: LocalHello): Uint8Array {
  const host = utf8(local.host);
  assert(host.byteLength <= schemaLimits.hostCharsMax, 'advertised host fits in 255 bytes');
  const out = new Uint8Array(PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 3 + host.byteLength);
  out.set(local.publicKey, 0);
  out.set(local.noiseStaticSig, PUBLIC_KEY_BYTES);
  new DataView(out.buffer).setUint16(PUBLIC_KEY_BYTES + SIGNATURE_BYTES, local.port);
  out[PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 2] = host.byteLength;
  out.set(host, PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 3);
  return out;
}

/** Reads an identity payload; null when its lengths do not add up. Bytes are copied out of `p`. */
export function decodeIdentity(p: Uint8Array): { peer: PeerHello; sig: Uint8Array } | null {
  const fixed = PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 3;
  if (p.byteLength < fixed || p.byteLength !== fixed + p[fixed - 1]!) return null;
  const port = (p[PUBLIC_KEY_BYTES + SIGNATURE_BYTES]! << 8) | p[PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 1]!;
  const host = Buffer.from(p.buffer, p.byteOffset + fixed, p[fixed - 1]!).toString('utf8');
  return { peer: { key: p.slice(0, PUBLIC_KEY_BYTES), host, port }, sig: p.slice(PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES + SIGNATURE_BYTES) };
}

/**
 * Checks the peer's id against this node: not ourselves, the one dialed if the dial named one, not banned,
 * not beyond maxPeers. Whether a second
 * connection to the same id is allowed is decided once the handshake completes (see node.ts), because both
 * sides must agree on which of two crossing connections survives.
 */
export function checkHello(peer: PeerHello, ctx: HelloContext): HelloRefusal | null {
  const keyHex = toHex(peer.key);
  if (keyHex === ctx.selfKeyHex) return { code: 'ERR_SELF_CONNECTION', reason: 'connected to itself' };
  // A pinned dial: whoever answers at the address must be the node we were told of (libp2p dials an address
  // with its peer id the same way). Not an offence of the peer: an address can change hands honestly.
  if (ctx.expectedKeyHex && keyHex !== ctx.expectedKeyHex) {
    return { code: 'ERR_WRONG_PEER', reason: `dialed peer ${ctx.expectedKeyHex.slice(0, 16)}, reached ${keyHex.slice(0, 16)}` };
  }
  if (ctx.isBanned(keyHex)) return { code: 'ERR_BANNED', reason: `peer ${keyHex.slice(0, 16)} is banned` };
  // Refused before the handshake completes, so the peer never counts the connection as open (node.ts
  // checks again at open, when crossing handshakes may have filled the table meanwhile).
  if (ctx.isFull?.(keyHex)) return { code: 'ERR_TOO_MANY_PEERS', reason: 'node has its maximum of peers' };
  return null;
}

/** What a handshake message from the peer calls for. */
export type HandshakeStep =
  /** Send this Noise message (the responder's answer to the first message). */
  | { t: 'reply'; message: Uint8Array }
  /** The peer showed its identity: verify `proof`, check the peer, then call `complete` (or refuse). */
  | { t: 'identify'; peer: PeerHello; proof: SignatureCheck }
  /** Refuse the peer; `misbehaved` when it broke the protocol (scored), not a mere mismatch. */
  | { t: 'refuse'; code: ErrorCode; reason: string; misbehaved: boolean };

/** The keys of the channel once the handshake is complete (section 5.2 Split). */
export interface SessionKeys {
  tx: Uint8Array;
  rx: Uint8Array;
  /** The handshake hash h, the same on both sides. */
  hash: Uint8Array;
}

type Stage = 'start' | 'await-e' | 'await-responder' | 'await-initiator' | 'identified' | 'done' | 'failed';

/** One side of one Noise XX handshake. */
export class Handshake {
  readonly #noise: NoiseState;
  #stage: Stage;

  constructor(
    readonly initiator: boolean,
    private readonly local: LocalHello,
    random: Random,
  ) {
    this.#noise = new NoiseState('XX', initiator, local.noiseStatic);
    // The ephemeral key from the node's Random, so a simulated network stays reproducible from its seed.
    this.#noise.e = makeNoiseKeyPair(random);
    this.#noise.initialise(noisePrologue(local.networkId));
    this.#stage = initiator ? 'start' : 'await-e';
  }

  /** The initiator's first message (-> e, with version and network id). */
  start(): Uint8Array {
    assert(this.initiator && this.#stage === 'start', 'start is the initiator\'s first step');
    this.#stage = 'await-responder';
    return this.#noise.send(encodeVersionAndNetwork(PROTOCOL_VERSION, this.local.networkId));
  }

  /** True once `complete` gave the keys. */
  get done(): boolean {
    return this.#stage === 'done';
  }

  /** Handles the peer's next Noise message. Never throws for bad input: a refusal says why. */
  receive(message: Uint8Array): HandshakeStep {
    let payload: Uint8Array;
    try {
      if (this.#stage !== 'await-e' && this.#stage !== 'await-responder' && this.#stage !== 'await-initiator') {
        return this.#fail('ERR_BAD_HANDSHAKE', 'handshake message out of turn');
      }
      payload = this.#noise.recv(message);
    } catch (e) {
      // A message cut short, a key of small order, a payload that does not authenticate (tampering, or a
      // prologue that differs: another version or network id than the one the first payload claimed).
      return this.#fail('ERR_BAD_HANDSHAKE', `handshake message rejected: ${String((e as Error).message ?? e).slice(0, 100)}`);
    }
    return this.#stage === 'await-e' ? this.#onFirst(payload) : this.#onIdentity(payload);
  }

  /** Responder: checks version and network before any Diffie-Hellman, then answers <- e, ee, s, es. */
  #onFirst(payload: Uint8Array): HandshakeStep {
    const first = decodeVersionAndNetwork(payload);
    if (!first) return this.#fail('ERR_BAD_HANDSHAKE', 'first handshake payload malformed');
    if (first.version !== PROTOCOL_VERSION) {
      return this.#fail('ERR_WRONG_VERSION', `peer speaks protocol version ${first.version}, this node speaks ${PROTOCOL_VERSION}`, false);
    }
    if (first.networkId !== this.local.networkId) {
      return this.#fail('ERR_WRONG_NETWORK', `peer is on network '${first.networkId}', this node is on '${this.local.networkId}'`, false);
    }
    let reply: Uint8Array;
    try {
      reply = this.#noise.send(encodeIdentity(this.local));
    } catch (e) {
      // ee with the peer's ephemeral key: libsodium refuses a key of small order (an all-zero shared secret).
      return this.#fail('ERR_BAD_HANDSHAKE', `handshake message rejected: ${String((e as Error).message ?? e).slice(0, 100)}`);
    }
    this.#stage = 'await-initiator';
    return { t: 'reply', message: reply };
  }

  /** Either side: the peer's identity payload arrived, authenticated under its Noise static key. */
  #onIdentity(payload: Uint8Array): HandshakeStep {
    const id = decodeIdentity(payload);
    const rs = this.#noise.rs;
    if (!id || !rs) return this.#fail('ERR_BAD_HANDSHAKE', 'identity payload malformed');
    this.#stage = 'identified';
    return { t: 'identify', peer: id.peer, proof: { publicKey: id.peer.key, message: noiseStaticSignedBytes(rs), signature: id.sig } };
  }

  /**
   * After the peer's proof verified and the peer passed checkHello: the channel's keys, and for the initiator
   * its last message (-> s, se, with its identity) to send before anything sealed with them.
   */
  complete(): { message: Uint8Array | null; keys: SessionKeys } {
    assert(this.#stage === 'identified', 'complete follows identify');
    const message = this.initiator ? this.#noise.send(encodeIdentity(this.local)) : null;
    assert(this.#noise.complete && this.#noise.tx && this.#noise.rx && this.#noise.hash, 'Noise split after the last message');
    this.#stage = 'done';
    return { message, keys: { tx: this.#noise.tx, rx: this.#noise.rx, hash: this.#noise.hash } };
  }

  #fail(code: ErrorCode, reason: string, misbehaved = true): HandshakeStep {
    this.#stage = 'failed';
    return { t: 'refuse', code, reason, misbehaved };
  }
}

/**
 * Of two open connections between the same pair of nodes, the one dialed by the node with the smaller key
 * survives. Both ends compute the same answer from facts both know, so they close the same connection.
 */
export function keepsConnection(dialerKeyHex: string, otherDialerKeyHex: string): boolean {
  return dialerKeyHex < otherDialerKeyHex;
}
