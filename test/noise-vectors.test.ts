/**
 * The construction against its published test vectors (the cacophony vector of
 * Noise_XX_25519_ChaChaPoly_BLAKE2b, pinned in fixtures/noise-xx-vectors.json): the handshake library gives
 * the vector's messages, handshake hash and keys, and our transport cipher, keyed from them, gives the
 * vector's transport messages, both ways. Then the cipher's own rules: the counter nonce, the rekey interval
 * at its edge, and the sealed-frame limits of the decoder.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import NoiseState from 'noise-handshake';
import dh from 'noise-handshake/dh.js';
import { toHex } from '../src/bytes.ts';
import { isStrongcastError } from '../src/errors.ts';
import { encodeVersionAndNetwork, Handshake, makeNoiseIdentity, NOISE_PROTOCOL_NAME } from '../src/peers/handshake.ts';
import { PROTOCOL_VERSION } from '../src/wire/schema.ts';
import { CipherState, REKEY_INTERVAL_MESSAGES, TAG_BYTES } from '../src/net/transport-cipher.ts';
import { encodeFrame, FrameDecoder, sealFrame } from '../src/wire/framing.ts';
import { seededRandom } from '../src/sim/sim-host.ts';
import { identityFromSeed } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { nextTurn, openMemoryConnection, range } from './helpers/memory-connection.ts';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  resp_prologue: string;
  init_static: string;
  init_ephemeral: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: Array<{ payload: string; ciphertext: string }>;
}

const v = JSON.parse(readFileSync(new URL('./fixtures/noise-xx-vectors.json', import.meta.url), 'utf8')) as Vector;
const bin = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const keyPair = (secretHex: string) => dh.generateKeyPair(bin(secretHex));

/** Both sides of the vector's handshake, run through noise-handshake with the vector's keys. */
function vectorHandshake(): { init: NoiseState; resp: NoiseState } {
  const init = new NoiseState('XX', true, keyPair(v.init_static));
  const resp = new NoiseState('XX', false, keyPair(v.resp_static));
  init.e = keyPair(v.init_ephemeral);
  resp.e = keyPair(v.resp_ephemeral);
  init.initialise(bin(v.init_prologue));
  resp.initialise(bin(v.resp_prologue));
  return { init, resp };
}

test('the vector is the suite strongcast speaks', () => {
  assert.is(v.protocol_name, NOISE_PROTOCOL_NAME);
});

/**
 * The handshake hash h by the specification (Noise section 5.2, MixHash = h := BLAKE2b(h || data)), from
 * node:crypto over the vector transcript: protocol name padded to 64 bytes, prologue, -> e and its payload,
 * <- e, the encrypted s and payload, -> the encrypted s and payload.
 */
function specHandshakeHashes(c0: Uint8Array, c1: Uint8Array, c2: Uint8Array): { afterSecond: string; final: string } {
  let h = Buffer.alloc(64);
  Buffer.from(v.protocol_name).copy(h);
  const mix = (data: Uint8Array): void => void (h = createHash('blake2b512').update(h).update(data).digest());
  for (const part of [bin(v.init_prologue), c0.subarray(0, 32), c0.subarray(32), c1.subarray(0, 32), c1.subarray(32, 80), c1.subarray(80)]) mix(part);
  const afterSecond = h.toString('hex');
  for (const part of [c2.subarray(0, 48), c2.subarray(48)]) mix(part);
  return { afterSecond, final: h.toString('hex') };
}

test('handshake: noise-handshake writes and reads the vector messages, and both sides reach the handshake hash of the specification', () => {
  const { init, resp } = vectorHandshake();
  const [m0, m1, m2] = v.messages;
  // Copies: the library zeroes the peer's ephemeral key where it read it, in the message, once it completes.
  const c0 = Uint8Array.from(init.send(bin(m0!.payload)));
  assert.is(toHex(c0), m0!.ciphertext);
  assert.is(toHex(resp.recv(c0.slice())), m0!.payload);
  const c1 = Uint8Array.from(resp.send(bin(m1!.payload)));
  assert.is(toHex(c1), m1!.ciphertext);
  assert.is(toHex(init.recv(c1.slice())), m1!.payload);
  const c2 = Uint8Array.from(init.send(bin(m2!.payload)));
  assert.is(toHex(c2), m2!.ciphertext);
  assert.is(toHex(resp.recv(c2.slice())), m2!.payload);
  assert.ok(init.complete && resp.complete);
  // h by the specification, computed here: the library's final h is it. The vector file's handshake_hash
  // field holds h as it stands after the second message (before -> s, se), which the computation also shows.
  const spec = specHandshakeHashes(c0, c1, c2);
  assert.is(spec.afterSecond, v.handshake_hash);
  assert.is(toHex(init.hash!), spec.final);
  assert.is(toHex(resp.hash!), spec.final);
  assert.is(toHex(init.rs!), toHex(keyPair(v.resp_static).publicKey), 'each side learned the other static key');
});

test('transport: our cipher, keyed by the vector handshake, gives the vector transport messages both ways', () => {
  const { init, resp } = vectorHandshake();
  resp.recv(init.send(bin(v.messages[0]!.payload)));
  init.recv(resp.send(bin(v.messages[1]!.payload)));
  resp.recv(init.send(bin(v.messages[2]!.payload)));
  // Cacophony alternates from where the handshake left off: 3 and 5 the responder's, 4 the initiator's.
  const respTx = new CipherState(resp.tx!);
  const initRx = new CipherState(init.rx!);
  const initTx = new CipherState(init.tx!);
  const respRx = new CipherState(resp.rx!);
  for (const [i, tx, rx] of [[3, respTx, initRx], [4, initTx, respRx], [5, respTx, initRx]] as const) {
    const m = v.messages[i]!;
    const sealed = new Uint8Array(bin(m.payload).byteLength + TAG_BYTES);
    tx.sealInto(sealed, bin(m.payload));
    assert.is(toHex(sealed), m.ciphertext, `transport message ${i}`);
    const opened = new Uint8Array(sealed.byteLength - TAG_BYTES);
    assert.ok(rx.openInto(opened, sealed), `opens message ${i}`);
    assert.is(toHex(opened), m.payload);
  }
});

test('our Handshake: both sides derive the same hash and crossed keys, and each learns the other id', () => {
  const a = identityFromSeed(new Uint8Array(32).fill(1));
  const b = identityFromSeed(new Uint8Array(32).fill(2));
  const local = (id: typeof a, seed: number) => ({ networkId: 'n', publicKey: id.publicKey, host: 'h', port: 1, ...makeNoiseIdentity(id.sign, seededRandom(seed)) });
  const init = new Handshake(true, local(a, 1), seededRandom(2));
  const resp = new Handshake(false, local(b, 3), seededRandom(4));
  const r1 = resp.receive(init.start());
  assert.is(r1.t, 'reply');
  const i2 = init.receive(r1.t === 'reply' ? r1.message : new Uint8Array());
  assert.ok(i2.t === 'identify' && toHex(i2.peer.key) === toHex(b.publicKey));
  const done = init.complete();
  const r3 = resp.receive(done.message!);
  assert.ok(r3.t === 'identify' && toHex(r3.peer.key) === toHex(a.publicKey));
  const back = resp.complete();
  assert.is(back.message, null, 'the responder sends nothing more');
  assert.is(toHex(done.keys.hash), toHex(back.keys.hash));
  assert.is(toHex(done.keys.tx), toHex(back.keys.rx));
  assert.is(toHex(done.keys.rx), toHex(back.keys.tx));
});

test('a handshake message out of turn or of the wrong shape is refused, never thrown', () => {
  const a = identityFromSeed(new Uint8Array(32).fill(5));
  const hs = new Handshake(false, { networkId: 'n', publicKey: a.publicKey, host: '', port: 0, ...makeNoiseIdentity(a.sign, seededRandom(5)) }, seededRandom(6));
  for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(32), new Uint8Array(200).fill(9)]) {
    const fresh = new Handshake(false, { networkId: 'n', publicKey: a.publicKey, host: '', port: 0, ...makeNoiseIdentity(a.sign, seededRandom(7)) }, seededRandom(8));
    const step = fresh.receive(bad);
    assert.is(step.t, 'refuse');
  }
  assert.is(hs.receive(new Uint8Array(32)).t, 'refuse', 'a first message without a payload');
  // Ephemeral keys of small order (RFC 7748 section 7): libsodium refuses the Diffie-Hellman, the handshake refuses the peer.
  const smallOrder = ['00'.repeat(32), '01' + '00'.repeat(31), 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'];
  for (const [i, hex] of smallOrder.entries()) {
    const listener = new Handshake(false, { networkId: 'n', publicKey: a.publicKey, host: '', port: 0, ...makeNoiseIdentity(a.sign, seededRandom(10 + i)) }, seededRandom(20 + i));
    const first = Buffer.concat([Buffer.from(hex, 'hex'), encodeVersionAndNetwork(PROTOCOL_VERSION, 'n')]);
    const step = listener.receive(first);
    assert.ok(step.t === 'refuse' && step.code === 'ERR_BAD_HANDSHAKE', `listener, small-order key ${i}: ${JSON.stringify(step)}`);
    const dialer = new Handshake(true, { networkId: 'n', publicKey: a.publicKey, host: '', port: 0, ...makeNoiseIdentity(a.sign, seededRandom(30 + i)) }, seededRandom(40 + i));
    dialer.start();
    const second = Buffer.concat([Buffer.from(hex, 'hex'), new Uint8Array(48 + 16 + 99)]);
    assert.is(dialer.receive(second).t, 'refuse', `dialer, small-order key ${i}`);
  }
  assert.is(hs.receive(new Uint8Array(64)).t, 'refuse', 'anything after a refusal');
});

/** `n` frames of `plain` sealed by a cipher with the given rekey interval. */
function sealRun(key: Uint8Array, interval: number, n: number, plain: Uint8Array): Uint8Array[] {
  const c = new CipherState(key, interval);
  return Array.from({ length: n }, () => {
    const out = new Uint8Array(plain.byteLength + TAG_BYTES);
    c.sealInto(out, plain);
    return out;
  });
}

test('rekey: frames up to the interval use the first key; the next frame and all after use REKEY(k), on both ends', () => {
  assert.is(REKEY_INTERVAL_MESSAGES, 65_536, 'the documented default');
  const key = new Uint8Array(32).fill(3);
  const plain = new Uint8Array(40).fill(1);
  const interval = 4;
  const rekeyed = sealRun(key, interval, 9, plain);
  const never = sealRun(key, Number.MAX_SAFE_INTEGER, 9, plain);
  for (let i = 0; i < interval; i++) assert.is(toHex(rekeyed[i]!), toHex(never[i]!), `frame ${i}: still the first key`);
  for (let i = interval; i < 9; i++) assert.is.not(toHex(rekeyed[i]!), toHex(never[i]!), `frame ${i}: the next key`);
  // REKEY(k) is ENCRYPT(k, 2^64 - 1, empty, zeros) cut to 32 bytes (Noise section 4.2): nonce 0xff..ff, not a counter value.
  const reader = new CipherState(key, interval);
  for (const [i, f] of rekeyed.entries()) assert.ok(reader.openInto(new Uint8Array(plain.byteLength), f), `frame ${i} opens on a peer with the same interval`);
  const mismatched = new CipherState(key, interval + 1);
  const opened = rekeyed.map((f) => mismatched.openInto(new Uint8Array(plain.byteLength), f));
  assert.equal(opened.slice(0, interval), [true, true, true, true]);
  assert.is(opened[interval], false, 'a peer that rekeys one frame later fails exactly at the first rekeyed frame');
});

test('the counter nonce: a frame replayed, reordered or dropped does not open', () => {
  const key = new Uint8Array(32).fill(4);
  const plain = new Uint8Array(10).fill(2);
  const frames = sealRun(key, REKEY_INTERVAL_MESSAGES, 3, plain);
  const open = (order: number[]) => {
    const c = new CipherState(key);
    return order.map((i) => c.openInto(new Uint8Array(plain.byteLength), frames[i]!));
  };
  assert.equal(open([0, 1, 2]), [true, true, true]);
  assert.equal(open([0, 0]), [true, false], 'replayed');
  assert.equal(open([1]), [false], 'reordered');
  assert.equal(open([0, 2]), [true, false], 'one dropped');
});

test('sealed framing: a body of frameBytesMax seals to frameBytesMax + 16 and is accepted; one byte more is refused from the header alone', () => {
  const key = new Uint8Array(32).fill(5);
  const m = { t: 'getchain' as const, from: 7 };
  const frame = encodeFrame(m);
  const size = frame.byteLength - 4;
  const sealed = sealFrame(frame, new CipherState(key));
  assert.is(sealed.byteLength, frame.byteLength + TAG_BYTES);
  assert.equal(new FrameDecoder({ frameBytesMax: size, rx: new CipherState(key) }).push(sealed).messages, [m]);
  const d = new FrameDecoder({ frameBytesMax: size - 1, rx: new CipherState(key) });
  const r = d.push(sealed.subarray(0, 4));
  assert.ok(isStrongcastError(r.error, 'ERR_FRAME_TOO_LARGE'), String(r.error));
  assert.is(d.bufferedBytes, 0);
  // A sealed body no longer than its tag cannot hold a message: refused before it is buffered.
  const short = new FrameDecoder({ frameBytesMax: size, rx: new CipherState(key) }).push(Buffer.from([0, 0, 0, TAG_BYTES]));
  assert.ok(isStrongcastError(short.error, 'ERR_BAD_CIPHERTEXT'), String(short.error));
  const flipped = Buffer.from(sealed);
  flipped[10]! ^= 1;
  const bad = new FrameDecoder({ frameBytesMax: size, rx: new CipherState(key) }).push(flipped);
  assert.equal(bad.messages, []);
  assert.ok(isStrongcastError(bad.error, 'ERR_BAD_CIPHERTEXT'), String(bad.error));
});

test('a connection rekeys at the interval both ways: frames past several rekeys are all handled; a peer rekeying one frame later is cut at that frame', async () => {
  const verifier = createMainThreadVerifier();
  const setup = (peerSeed: number) => {
    const clock = { ms: 1_000_000 };
    const turn = new TurnBudget({ turnWorkMsMax: 1000, now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
    return { networkId: 'rekey-net', selfSeed: 51, peerSeed, verifier, limits: resolveLimits({}), clock, turn, rekeyIntervalMessages: 3 };
  };
  try {
    const h = await openMemoryConnection(setup(52));
    h.socket.push(h.frames(0, 10)); // 10 frames: the peer's key changes after its 3rd, 6th and 9th sealed frame
    await nextTurn();
    assert.equal(h.handled, range(0, 10));
    assert.is(h.conn.state, 'open');
    // Our side rekeys too: the peer opens everything the connection sent (its ping, and pongs to pings).
    for (let i = 0; i < 8; i++) h.socket.push(h.peer.seal({ t: 'ping', n: i + 1 }));
    const got: string[] = [];
    let readAt = 1; // after our second handshake message, which the peer has read
    for (const deadline = Date.now() + 3000; got.filter((t) => t === 'pong').length < 8 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 5));
      const { messages, error } = h.peer.push(Buffer.concat(h.socket.written.slice(readAt)));
      readAt = h.socket.written.length;
      assert.is(error, undefined, 'the peer opens every frame the connection sealed');
      got.push(...messages.map((m) => m.t));
    }
    assert.equal(got, ['ping', ...Array.from({ length: 8 }, () => 'pong')], 'our confirmation and eight pongs, across two of our rekeys');
    h.conn.close('ERR_CONNECTION_CLOSED', 'test', false);
    // The peer's first sealed frame is its 0th; with an interval of 4 against our 3, frame 3 is the first that differs.
    const off = await openMemoryConnection({ ...setup(53), peerRekeyIntervalMessages: 4 });
    off.socket.push(off.frames(0, 6));
    await nextTurn();
    assert.equal(off.handled, range(0, 3), 'the frames before the first rekey');
    assert.equal(off.closes, ['ERR_BAD_CIPHERTEXT']);
  } finally {
    await verifier.close();
  }
});

test.run();
