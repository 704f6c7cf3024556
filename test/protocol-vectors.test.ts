/**
 * Known-answer vectors of every byte format the network agrees on: genesis hash, block hash, consensus signed
 * bytes and relay id, chain-statement bytes, handshake bytes, gossip bytes and id, and the Ed25519 signatures
 * over them from fixed seeds.
 *
 * Three sources must agree: the pinned values in fixtures/protocol-vectors.json, the reference encoder in
 * fixtures/protocol-vectors.ts (written from the format text of docs/PROTOCOL.md, sharing no code with src/), and the
 * node's own functions. A change to any format fails here even if the encoder and the code change together.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { toHex } from '../src/bytes.ts';
import { blockHash, chainDigest } from '../src/consensus/block.ts';
import { statementSignedBytes } from '../src/consensus/catch-up.ts';
import { genesisHash, parseGenesis } from '../src/consensus/genesis.ts';
import { consensusSignedBytes } from '../src/consensus/signing.ts';
import { identityFromSeed, type Identity } from '../src/crypto/keys.ts';
import { verifySignature } from '../src/crypto/ed25519.ts';
import { consensusId, gossipId, gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import dh from 'noise-handshake/dh.js';
import { decodeIdentity, encodeIdentity, encodeVersionAndNetwork, makeNoiseIdentity, noisePrologue, noiseStaticSignedBytes } from '../src/peers/handshake.ts';
import { PROTOCOL_VERSION } from '../src/wire/schema.ts';
import {
  buildVectors,
  refBlockBytes,
  refConsensusSignedBytes,
  refGossipBytes,
  refStatementBytes,
  type ProtocolVectors,
} from './fixtures/protocol-vectors.ts';

const pinned = JSON.parse(readFileSync(new URL('./fixtures/protocol-vectors.json', import.meta.url), 'utf8')) as ProtocolVectors;

const bin = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const identities: Identity[] = pinned.keys.map((k) => identityFromSeed(bin(k.seed)));
const identity = (i: number): Identity => {
  const id = identities[i];
  if (id === undefined) throw new Error(`no key ${i} in the fixture`);
  return id;
};

test('the pinned vectors are exactly what the reference encoder builds from the specification', async () => {
  assert.equal(await buildVectors(), pinned);
});

test('keys: the node derives the pinned public key from each seed', () => {
  assert.is(pinned.keys.length, 4);
  for (const [i, k] of pinned.keys.entries()) assert.is(toHex(identity(i).publicKey), k.publicKey, `key ${i}`);
});

test('genesis hash: the SHA-256 of the pinned encoding, and the node computes it (addresses play no part)', () => {
  const v = pinned.genesis;
  assert.is(sha256Hex(bin(v.bytes)), v.hash);
  for (const [host, basePort] of [['127.0.0.1', 7001], ['example.org', 9100]] as const) {
    const g = parseGenesis({
      networkId: v.input.networkId,
      faults: v.input.faults,
      roundMs: v.input.roundMs,
      startMs: v.input.startMs,
      validators: v.input.publicKeys.map((publicKey, index) => ({ index, publicKey, host, port: basePort + index })),
    });
    assert.is(toHex(genesisHash(g)), v.hash, `validators on ${host}`);
  }
});

test('block hash: the SHA-256 of the pinned encoding, and the node computes it', () => {
  const v = pinned.block;
  assert.is(sha256Hex(bin(v.bytes)), v.hash);
  assert.is(toHex(blockHash({ miner: v.input.miner, t0: v.input.t0, ts: v.input.ts, payload: bin(v.input.payload) })), v.hash);
});

test('consensus signed bytes: the node builds the pinned bytes, and each signer signs them to the pinned signature', () => {
  const v = pinned.consensusSignedBytes;
  const bytes = consensusSignedBytes({ ...v.input, genesisHash: bin(v.input.genesisHash), blockHash: bin(v.input.blockHash) });
  assert.is(toHex(bytes), v.bytes);
  assert.is(v.input.genesisHash, pinned.genesis.hash, 'signatures bind the pinned genesis');
  assert.is(v.input.blockHash, pinned.block.hash, 'signatures bind the pinned block');
  assert.equal(v.signatures.map((s) => s.signer), [v.input.miner, 0], 'the miner signs first');
  for (const s of v.signatures) {
    assert.is(toHex(identity(s.signer).sign(bytes)), s.signature, `signature of validator ${s.signer}`);
    assert.ok(verifySignature('native', identity(s.signer).publicKey, bytes, bin(s.signature)), `validator ${s.signer}'s signature verifies`);
  }
});

test('consensus relay id: the SHA-256 of the pinned bytes, and the node computes it', () => {
  const v = pinned.consensusId;
  assert.is(sha256Hex(bin(v.bytes)), v.id);
  assert.is(v.input.sigs, pinned.consensusSignedBytes.signatures.map((s) => s.signature).join(''), 'the signatures of the vector above, in signing order');
  assert.is(consensusId(bin(v.input.blockHash), { mask: bin(v.input.mask), signers: v.input.signers, sigs: bin(v.input.sigs) }), v.id);
});

test('chain digest: the node computes the pinned running digest of a chain', () => {
  const v = pinned.chainDigest;
  assert.is(v.input.previous, pinned.genesis.hash, 'through the genesis');
  assert.is(toHex(chainDigest(bin(v.input.previous), v.input.height, bin(v.input.blockHash))), v.digest);
  assert.is(pinned.statements[0]!.input.digest, v.digest, 'the statements name that chain');
});

test('chain statement: the node builds the pinned bytes (live, and syncing with a held decision) and signs them to the pinned signature', () => {
  assert.equal(pinned.statements.map((s) => [s.input.syncing, s.input.heldFrom, s.input.appendsFrom, s.input.decided?.blocks.length ?? null]), [[false, null, null, 1], [true, 4243, 4244, null]]);
  for (const v of pinned.statements) {
    const { networkId, genesisHash: gh, ...rest } = v.input;
    const decided = rest.decided && { ...rest.decided, blocks: rest.decided.blocks.map((b) => ({ ...b, hash: bin(b.hash) })) };
    const bytes = statementSignedBytes(networkId, bin(gh), { ...rest, tip: bin(rest.tip), digest: bin(rest.digest), decided });
    assert.is(toHex(bytes), v.bytes, `statement of validator ${v.input.signer}`);
    assert.is(toHex(identity(v.input.signer).sign(bytes)), v.signature);
  }
});

test('handshake: the node binds its Noise static key with the pinned bytes and signature, and builds the pinned prologue and payloads', () => {
  const v = pinned.handshake;
  const signer = identity(v.signedBy);
  const secret = bin(v.input.noiseStaticSecret);
  const noiseStatic = dh.generateKeyPair(Uint8Array.from(secret));
  assert.is(toHex(noiseStatic.publicKey), v.noiseStaticKey, 'X25519 public key: libsodium agrees with node:crypto');
  assert.is(toHex(noiseStaticSignedBytes(noiseStatic.publicKey)), v.bytes);
  const random = { next: () => 0, bytes: () => Uint8Array.from(secret) };
  const ours = makeNoiseIdentity(signer.sign, random);
  assert.is(toHex(ours.noiseStaticSig), v.signature);
  assert.ok(verifySignature('native', signer.publicKey, bin(v.bytes), ours.noiseStaticSig));
  assert.is(toHex(noisePrologue(v.input.networkId, v.input.version)), v.prologue);
  assert.is(v.input.version, PROTOCOL_VERSION, 'the vectors are of the version the node speaks');
  assert.is(toHex(encodeVersionAndNetwork(v.input.version, v.input.networkId)), v.firstPayload);
  const local = { networkId: v.input.networkId, publicKey: signer.publicKey, host: v.input.host, port: v.input.port, ...ours };
  assert.is(toHex(encodeIdentity(local)), v.identityPayload);
  const back = decodeIdentity(bin(v.identityPayload));
  assert.ok(back && toHex(back.peer.key) === toHex(signer.publicKey) && back.peer.host === v.input.host && back.peer.port === v.input.port);
});

test('gossip: the node builds the pinned bytes, the id is their SHA-256, and the origin signs them to the pinned signature', () => {
  assert.is(pinned.gossip.length, 2);
  for (const v of pinned.gossip) {
    const { networkId, ...m } = v.input;
    const bytes = gossipSignedBytes(networkId, { ...m, origin: bin(m.origin), data: bin(m.data) });
    assert.is(toHex(bytes), v.bytes, `seq ${m.seq}`);
    assert.is(gossipId(bytes), v.id);
    assert.is(sha256Hex(bin(v.bytes)), v.id);
    assert.is(toHex(identity(v.signedBy).sign(bytes)), v.signature);
    assert.is(toHex(identity(v.signedBy).publicKey), m.origin, 'signed by its origin');
  }
  assert.ok(pinned.gossip.some((v) => v.input.seq >= 2 ** 32), 'a seq with both 32-bit halves non-zero');
});

test('beyond the pinned inputs: the node and the reference encoder agree at the edges of every field', () => {
  const origin = identity(0).publicKey;
  for (const networkId of ['n', 'strongcast-vectors', 'ré-seau', 'x'.repeat(64)]) {
    for (const m of [
      { origin, seq: 0, topic: '', data: new Uint8Array(0) },
      { origin, seq: 2 ** 32 - 1, topic: 't', data: new Uint8Array([0]) },
      { origin, seq: 2 ** 32, topic: '話題', data: new Uint8Array(300).fill(7) },
      { origin, seq: Number.MAX_SAFE_INTEGER, topic: 'z'.repeat(64), data: new Uint8Array(65_536).fill(255) },
    ]) {
      const ref = refGossipBytes({ networkId, ...m, origin: Buffer.from(m.origin), data: Buffer.from(m.data) });
      assert.is(toHex(gossipSignedBytes(networkId, m)), ref.toString('hex'), `gossip on ${networkId}, seq ${m.seq}`);
    }
    const h = new Uint8Array(32).fill(0xab);
    for (const [miner, t0] of [[0, 0], [1023, Number.MAX_SAFE_INTEGER]] as const) {
      const ref = refConsensusSignedBytes({ networkId, genesisHash: Buffer.from(h), miner, t0, blockHash: Buffer.from(h) });
      assert.is(toHex(consensusSignedBytes({ networkId, genesisHash: h, miner, t0, blockHash: h })), ref.toString('hex'));
    }
    for (const [syncing, heldFrom, appendsFrom] of [[false, null, null], [true, null, null], [true, 0, null], [true, 0, 0], [true, 5, Number.MAX_SAFE_INTEGER], [true, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]] as const) {
      const s = { signer: 1023, round: Number.MAX_SAFE_INTEGER, height: 2 ** 32, tip: h, digest: h.map((x) => x ^ 0xff), syncing, heldFrom, appendsFrom };
      assert.is(toHex(statementSignedBytes(networkId, h, s)), refStatementBytes({ networkId, genesisHash: Buffer.from(h), ...s, tip: Buffer.from(h), digest: Buffer.from(s.digest) }).toString('hex'));
    }
    const entry = (miner: number, t0: number) => ({ miner, t0, hash: h.map((x) => x ^ miner) });
    for (const decided of [null, { from: 0, through: 0, blocks: [] }, { from: 5, through: Number.MAX_SAFE_INTEGER, blocks: [entry(0, 5), entry(1023, 5), entry(7, Number.MAX_SAFE_INTEGER)] }]) {
      const s = { signer: 2, round: 9, height: 3, tip: h, digest: h, syncing: true, heldFrom: 4, appendsFrom: null, decided };
      const refDecided = decided && { ...decided, blocks: decided.blocks.map((b) => ({ ...b, hash: Buffer.from(b.hash) })) };
      assert.is(toHex(statementSignedBytes(networkId, h, s)), refStatementBytes({ networkId, genesisHash: Buffer.from(h), ...s, tip: Buffer.from(h), digest: Buffer.from(h), decided: refDecided }).toString('hex'), 'with a decided run');
    }
  }
  for (const b of [
    { miner: 0, t0: 0, ts: 0, payload: new Uint8Array(0) },
    { miner: 1023, t0: Number.MAX_SAFE_INTEGER, ts: Number.MAX_SAFE_INTEGER, payload: new Uint8Array(256 * 1024).fill(1) },
  ]) {
    assert.is(toHex(blockHash(b)), sha256Hex(refBlockBytes({ ...b, payload: Buffer.from(b.payload) })));
  }
});

test.run();
