/**
 * Fuzzes the connection handshake (src/net/peer-connection.ts over handshake.ts and framing.ts) with random and
 * mutated frames. Each case is a fresh PeerConnection on an in-memory Duplex socket (no network): the fuzzer
 * reads the node's hello, answers with a genuine, mutated, reordered or garbage handshake in random chunks,
 * then, if the connection opened, keeps throwing mutated and random frames at it.
 *
 * Checked for every connection: no exception escapes; the connection opens only after a genuine proof (a
 * hello and an auth whose signature verifies over our nonce) and always opens after a clean one; it closes
 * exactly once, with a typed code that its reject frame repeats; its own proof always verifies; the inbox
 * and the frame buffer stay within their limits. Every run takes the fixed seeds and one random seed,
 * printed, each for an equal share of the frames; a failure names its seed, and
 * `FUZZ_SEED=<seed> npm test -- fuzz-handshake` replays that one alone (each test starts every seed afresh).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../src/bytes.ts';
import { identityFromSeed, type Identity } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { ErrorCodes, type ErrorCode } from '../src/errors.ts';
import { encodeFrame, FrameDecoder } from '../src/wire/framing.ts';
import { gossipSignedBytes } from '../src/gossip/gossip-core.ts';
import { handshakeSignedBytes, makeAuth, makeHello, type LocalHello } from '../src/peers/handshake.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import { systemClock } from '../src/io/system-clock.ts';
import { seededRandom } from '../src/sim/sim-host.ts';
import { socketLink } from '../src/io/tcp-transport.ts';
import { earlyMessagesHardMax, PeerConnection, type ConnectionContext } from '../src/net/peer-connection.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { PROTOCOL_VERSION, type HelloMessage, type Message } from '../src/wire/schema.ts';
import { verifyEd25519 } from './sim/keys.ts';
import { Prng } from '../src/sim/prng.ts';
import { FakeSocket } from './helpers/fake-socket.ts';

/** Seeds run every time, plus one random seed, printed; FUZZ_SEED=<seed> runs only that one. */
const fixedSeeds = [1, 2];
const replay = process.env['FUZZ_SEED'];
const randomSeed = Math.floor(Math.random() * 2 ** 32);
const seeds = replay === undefined ? [...fixedSeeds, randomSeed] : [Number(replay) >>> 0];
if (replay === undefined) console.log(`  random seed ${randomSeed} (replay with FUZZ_SEED=${randomSeed})`);
/** Each seed's share of a test's work: the same in a replay as in the run that failed. */
const share = (total: number): number => Math.ceil(total / (fixedSeeds.length + 1));
/** Of a coverage count asked of a whole run, the part the seeds run here must reach. */
const ofRun = (count: number): number => Math.floor((count * seeds.length) / (fixedSeeds.length + 1));

let rng = new Prng(0);

const networkId = 'fuzz-net';
const frameBytesMax = 8192;
const limits = resolveLimits({ frameBytesMax, handshakeTimeoutMs: 5000 });
const verifier = createMainThreadVerifier();

/** A fixed identity from a one-byte tag. */
function identity(tag: number): Identity {
  return identityFromSeed(new Uint8Array(32).fill(tag));
}
const self = identity(1);
const peer = identity(2);
const other = identity(3);
const banned = identity(4);
const localHello: LocalHello = { networkId, publicKey: self.publicKey, host: '', port: 7000 };
const helloContext = { networkId, selfKeyHex: toHex(self.publicKey), isBanned: (k: string) => k === toHex(banned.publicKey) };

const bytes = (n: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(0, 255);
  return b;
};

function frameOf(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

/** Signed broadcasts, made once per seed: hops are not signed, so copies with other hops stay valid. */
const makeSignedGossip = () =>
  Array.from({ length: 16 }, (_, seq) => {
    const unsigned = { origin: peer.publicKey, seq, topic: 'fuzz', data: bytes(rng.int(0, 64)) };
    return { t: 'gossip' as const, ...unsigned, hops: 0, sig: peer.sign(gossipSignedBytes(networkId, unsigned)) };
  });
let signedGossip = makeSignedGossip();

/** A well-formed message of any type (what an honest peer might send after the handshake). */
function validMessage(): Message {
  switch (rng.int(0, 6)) {
    case 0: return { t: 'ping', n: rng.int(0, 1e9) };
    case 1: return { t: 'pong', n: rng.int(0, 1e6) };
    case 2: return { t: 'getpeers' };
    case 3: return { t: 'peers', addrs: [{ id: bytes(32), host: '203.0.113.9', port: rng.int(1, 65535) }] };
    case 4: return { ...rng.pick(signedGossip), hops: rng.int(0, 40) };
    case 5: return { t: 'getchain', from: rng.int(0, 100) };
    default: return { t: 'ds', block: { miner: rng.int(0, 9), t0: rng.int(0, 1e5), ts: rng.int(0, 2 ** 40), payload: bytes(rng.int(0, 40)) }, mask: bytes(2), signers: [rng.int(0, 9)], sigs: bytes(64), hops: rng.int(0, 40) };
  }
}

/** Bit flips, overwrites, truncation, a corrupted length header, an inserted or deleted byte. */
function mutate(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame); // a copy: encodeFrame returns pooled Buffer memory
  const body = (): number => rng.int(4, Math.max(4, out.length - 1));
  switch (rng.int(0, 5)) {
    case 0:
      for (let i = rng.int(1, 3); i > 0; i--) out[body()]! ^= 1 << rng.int(0, 7);
      return out;
    case 1:
      for (let i = rng.int(1, 6); i > 0; i--) out[body()] = rng.int(0, 255);
      return out;
    case 2:
      return frameOf(out.subarray(4, rng.int(4, out.length - 1)));
    case 3:
      new DataView(out.buffer).setUint32(0, rng.pick([0, 1, out.length - 5, out.length - 3, frameBytesMax + 1, 0xffffffff, rng.int(0, 2 ** 32 - 1)]));
      return out;
    case 4: {
      const at = body();
      return frameOf(new Uint8Array(Buffer.concat([out.subarray(4, at), out.subarray(at + 1)])).subarray(0));
    }
    default: {
      const at = body();
      return frameOf(new Uint8Array(Buffer.concat([out.subarray(4, at), bytes(1), out.subarray(at)])));
    }
  }
}

/** Garbage: random bytes, a random body in a frame, or a frame announcing more than it holds. */
function garbage(): Uint8Array {
  switch (rng.int(0, 2)) {
    case 0: return bytes(rng.int(1, 48));
    case 1: return frameOf(bytes(rng.int(1, 48)));
    default: {
      const f = frameOf(bytes(rng.int(1, 16)));
      new DataView(f.buffer).setUint32(0, rng.int(17, frameBytesMax + 100));
      return f;
    }
  }
}

/** A random, mostly damaged frame for an open connection. */
function postOpenFrame(): Uint8Array {
  const r = rng.next();
  if (r < 0.6) return encodeFrame(validMessage());
  if (r < 0.9) return mutate(encodeFrame(validMessage()));
  if (r < 0.97) return garbage();
  return encodeFrame(rng.pick<Message>([makeHello(localHello, bytes(32)), { t: 'auth', sig: bytes(64) }, { t: 'reject', code: rng.pick(['ERR_BANNED', 'nonsense']), reason: 'fuzz' }]));
}

/**
 * The peer's handshake frames for one case, whether they are a clean, genuine handshake, and for a clean one
 * the types of the messages right behind its auth that the connection must hand on, in order, once open.
 */
function handshakeScript(ourNonce: Uint8Array): { frames: Uint8Array[]; clean: boolean; handedOn?: string[] } {
  const signer = rng.next() < 0.9 ? peer : other;
  const genuineHello: HelloMessage = { ...makeHello({ networkId, publicKey: signer.publicKey, host: '', port: rng.int(0, 65535) }, bytes(32)) };
  let auth: Message | undefined;
  // signed only for the cases that send it: signing is most of the cost of a case
  const genuineAuth = (): Message => (auth ??= makeAuth({ networkId, publicKey: signer.publicKey, host: '', port: 0 }, { ...genuineHello, nonce: ourNonce, key: self.publicKey }, (m) => signer.sign(m)));
  const earlyMessages = (): Message[] => Array.from({ length: rng.next() < 0.1 ? rng.int(33, 80) : rng.int(0, 4) }, validMessage);
  const early = (): Uint8Array[] => earlyMessages().map((m) => encodeFrame(m));
  switch (rng.int(0, 9)) {
    case 0:
    case 1: {
      // genuine, with well-formed messages right behind the auth (they may overtake our check of it)
      const more = earlyMessages();
      // ping and pong are the connection's own business; everything else goes to the node
      const handedOn = more.filter((m) => m.t !== 'ping' && m.t !== 'pong').map((m) => m.t);
      return { frames: [encodeFrame(genuineHello), encodeFrame(genuineAuth()), ...more.map((m) => encodeFrame(m))], clean: more.length <= earlyMessagesHardMax, handedOn };
    }
    case 2: {
      // a hello with one field changed: network, version, key (ourselves, banned, other), nonce, host, port
      const h: HelloMessage = { ...genuineHello };
      switch (rng.int(0, 6)) {
        case 0: h.net = 'other-net'; break;
        case 1: h.v = PROTOCOL_VERSION + rng.int(1, 5); break;
        case 2: h.key = self.publicKey; break;
        case 3: h.key = banned.publicKey; break;
        case 4: h.key = rng.next() < 0.5 ? other.publicKey : bytes(32); break;
        case 5: h.host = 'x'.repeat(rng.int(0, 300)); break;
        default: h.port = rng.int(0, 65535); break;
      }
      let f: Uint8Array;
      try {
        f = encodeFrame(h);
      } catch {
        f = garbage();
      }
      return { frames: [f, encodeFrame(genuineAuth()), ...early()], clean: false };
    }
    case 3:
      // byte-level damage to the hello or the auth
      return rng.next() < 0.5
        ? { frames: [mutate(encodeFrame(genuineHello)), encodeFrame(genuineAuth())], clean: false }
        : { frames: [encodeFrame(genuineHello), mutate(encodeFrame(genuineAuth()))], clean: false };
    case 4: {
      // a wrong proof: another key, another nonce (a replay), or random bytes
      const sig = rng.pick([
        makeAuth({ networkId, publicKey: other.publicKey, host: '', port: 0 }, { ...genuineHello, nonce: ourNonce, key: self.publicKey }, (m) => other.sign(m)).sig,
        makeAuth({ networkId, publicKey: signer.publicKey, host: '', port: 0 }, { ...genuineHello, nonce: bytes(32), key: self.publicKey }, (m) => signer.sign(m)).sig,
        signer.sign(handshakeSignedBytes('other-net', ourNonce, signer.publicKey, self.publicKey)),
        bytes(64),
      ]);
      return { frames: [encodeFrame(genuineHello), encodeFrame({ t: 'auth', sig }), ...early()], clean: false };
    }
    case 5:
      // out of order: auth first, two hellos, two auths, other messages before the hello, a reject
      return {
        frames: rng.pick([
          [encodeFrame(genuineAuth()), encodeFrame(genuineHello)],
          [encodeFrame(genuineHello), encodeFrame(genuineHello), encodeFrame(genuineAuth())],
          [encodeFrame(genuineHello), encodeFrame(genuineAuth()), encodeFrame(genuineAuth())],
          [encodeFrame(validMessage()), encodeFrame(genuineHello), encodeFrame(genuineAuth())],
          [encodeFrame(genuineHello), encodeFrame({ t: 'reject', code: rng.pick(['ERR_BANNED', 'ERR_NOT_A_CODE', 'nonsense']), reason: 'fuzz' })],
        ]),
        clean: false,
      };
    case 6:
      return { frames: Array.from({ length: rng.int(1, 4) }, garbage), clean: false };
    case 7:
      return { frames: [encodeFrame(genuineHello), ...Array.from({ length: rng.int(1, 3) }, garbage)], clean: false };
    default:
      // random frames of any shape, valid or damaged
      return { frames: Array.from({ length: rng.int(1, 5) }, () => (rng.next() < 0.5 ? encodeFrame(validMessage()) : mutate(encodeFrame(validMessage())))), clean: false };
  }
}

/** Concatenates frames and cuts the stream into 1..6 pieces at random points. */
function chunks(frames: readonly Uint8Array[]): Uint8Array[] {
  const all = Buffer.concat(frames);
  const cuts = [0, all.length];
  for (let i = rng.int(0, 5); i > 0 && all.length > 1; i--) cuts.push(rng.int(1, all.length - 1));
  cuts.sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i + 1]! > cuts[i]!) out.push(all.subarray(cuts[i], cuts[i + 1]));
  return out;
}

/** Decodes a byte stream the way a peer would, up to the first bad frame. */
function decodeAll(parts: readonly Uint8Array[]): Message[] {
  const d = new FrameDecoder({ frameBytesMax });
  const out: Message[] = [];
  for (const p of parts) {
    const r = d.push(p);
    out.push(...r.messages);
    if (r.error) break;
  }
  return out;
}

/** The hello rules, written out here rather than taken from checkHello, so a broken checkHello shows. */
function acceptableHello(h: HelloMessage): boolean {
  const key = toHex(h.key);
  return h.v === PROTOCOL_VERSION && h.net === networkId && key !== toHex(self.publicKey) && key !== toHex(banned.publicKey);
}

/** Whether the peer's stream starts with an acceptable hello and an auth that together prove the hello's key. */
function genuineProof(peerStream: readonly Uint8Array[], ourNonce: Uint8Array): boolean {
  const [h, a] = decodeAll(peerStream);
  if (h?.t !== 'hello' || a?.t !== 'auth' || !acceptableHello(h)) return false;
  return verifyEd25519(h.key, handshakeSignedBytes(networkId, ourNonce, h.key, self.publicKey), a.sig);
}

const stats = { connections: 0, frames: 0, framesAfterOpen: 0, opened: 0, cleanOpened: 0, closes: new Map<string, number>() };
const closeCodes = new Set(Object.keys(ErrorCodes));
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
let clockMs = 1_000_000;

/** One fuzzed connection from start to teardown. */
async function fuzzOne(): Promise<void> {
  const socket = new FakeSocket();
  const closes: Array<{ code: ErrorCode; reason: string }> = [];
  const offences: ErrorCode[] = [];
  let opened = false;
  const handedOn: string[] = [];
  const ctx: ConnectionContext = {
    local: localHello,
    sign: (m) => self.sign(m),
    verifier,
    helloContext,
    limits,
    clock: systemClock(() => clockMs),
    // our nonce from the seed too: the peer's proof signs it, and damage to that proof acts on its bytes
    random: seededRandom(rng.int(0, 2 ** 31 - 1)),
    turn: new TurnBudget({ now: () => clockMs, nextTurn: (run) => void setImmediate(run) }),
    events: {
      onOpen: () => void (opened = true),
      onMessage: (_c, m) => void handedOn.push(m.t),
      onOffence: (_c, code) => void offences.push(code),
      onClose: (_c, code, reason) => void closes.push({ code, reason }),
    },
  };
  const conn = new PeerConnection(socketLink(socket as never), rng.next() < 0.5, ctx);
  conn.start();
  await flush(); // writes are corked until the end of the event-loop turn
  const ours = decodeAll(socket.written);
  assert.ok(ours[0]?.t === 'hello', 'the connection did not open with its hello');
  const ourNonce = (ours[0] as HelloMessage).nonce;
  const script = handshakeScript(ourNonce);
  const peerStream: Uint8Array[] = [];
  const feed = (parts: readonly Uint8Array[], count: number, afterOpen: boolean): void => {
    if (conn.isClosed()) return;
    stats.frames += count;
    if (afterOpen) stats.framesAfterOpen += count;
    for (const p of parts) {
      clockMs += rng.int(0, 3);
      peerStream.push(p);
      socket.push(p);
    }
  };
  feed(chunks(script.frames), script.frames.length, false);
  await flush();
  const internals = conn as unknown as { inbox: unknown[]; inboxHead: number; decoder: FrameDecoder };
  const waiting = internals.inbox.length - internals.inboxHead;
  assert.ok(waiting <= earlyMessagesHardMax, `inbox holds ${waiting}`);
  await flush();
  // The messages that overtook our check of the peer's auth were held, not lost: all handed on, in order.
  if (opened && script.handedOn) assert.equal(handedOn, script.handedOn, 'messages behind the auth');
  if (conn.state === 'open') {
    for (let i = rng.int(1, 12); i > 0 && !conn.isClosed(); i--) {
      const frames = Array.from({ length: rng.int(1, 16) }, postOpenFrame);
      feed(chunks(frames), frames.length, true);
      await flush();
      assert.ok(internals.decoder.bufferedBytes <= 4 + frameBytesMax, `decoder holds ${internals.decoder.bufferedBytes} bytes`);
    }
  }
  assert.ok(!opened || genuineProof(peerStream, ourNonce), `opened without a genuine proof; the peer began with ${JSON.stringify(decodeAll(peerStream).slice(0, 2).map((m) => (m.t === 'hello' ? { t: m.t, v: m.v, net: m.net, key: toHex(m.key).slice(0, 8) } : m.t)))}`);
  if (script.clean) assert.ok(opened, `a clean handshake did not open: ${JSON.stringify(closes)} offences ${offences.join(',')}`);
  if (opened) stats.opened++;
  if (opened && script.clean) stats.cleanOpened++;

  // teardown: the peer goes away; the connection must end up closed exactly once
  socket.destroy();
  await flush();
  assert.is(conn.state, 'closed');
  assert.is(closes.length, 1, `onClose ran ${closes.length} times`);
  const { code } = closes[0]!;
  // A peer's reject with a code we do not know is mapped to a plain close: every close code is typed.
  assert.ok(closeCodes.has(code), `closed with the untyped code '${code}'`);
  stats.closes.set(code, (stats.closes.get(code) ?? 0) + 1);
  for (const o of offences) assert.ok(closeCodes.has(o), `offence with the untyped code '${o}'`);

  // what we wrote: hello first, then well-formed frames; our auth proves our key; a reject repeats our code
  const written = decodeAll(socket.written);
  assert.ok(decodeAll(socket.written).length === written.length && written[0]?.t === 'hello');
  const ourAuth = written.find((m) => m.t === 'auth');
  // (checking every proof we sent would double the cost of the run: all of those that opened, some of the rest;
  // drawn whatever was written, which may depend on when a write-coalescing timer fired, so a seed replays)
  const sampled = rng.next() < 0.1;
  if (ourAuth?.t === 'auth' && (opened || sampled)) {
    const h = conn.peerHello;
    assert.ok(h !== null && acceptableHello(h), 'sent our auth to a hello that fails its checks');
    assert.ok(verifyEd25519(self.publicKey, handshakeSignedBytes(networkId, h.nonce, self.publicKey, h.key), ourAuth.sig), 'our own proof does not verify');
  }
  const reject = written.findIndex((m) => m.t === 'reject');
  if (reject >= 0) {
    assert.is(reject, written.length - 1, 'wrote frames after its reject');
    const r = written[reject]!;
    assert.ok(r.t === 'reject' && r.code === code, `reject says ${r.t === 'reject' ? r.code : ''}, closed with ${code}`);
  }
  stats.connections++;
}

/** Runs `body` once per seed, with the generator, the signed broadcasts and the clock started afresh; `after` once at the end. */
function withSeeds(name: string, body: () => Promise<void>, after: () => void = () => undefined): void {
  test(`${name} (seeds ${seeds.join(', ')})`, async () => {
    for (const seed of seeds) {
      rng = new Prng(seed);
      signedGossip = makeSignedGossip();
      clockMs = 1_000_000;
      try {
        await body();
      } catch (e) {
        console.error(`fuzz failure with seed ${seed}: replay with FUZZ_SEED=${seed}`);
        throw e;
      }
    }
    after();
  });
}

const framesMin = 100_000;
const heapLimitBytes = 256 * 1024 * 1024;
const batch = 64;
let heapBefore = 0;

withSeeds(`${framesMin}+ random and mutated frames on fresh connections: open only on a genuine proof, one typed close, bounded memory and work`, async () => {
  heapBefore ||= process.memoryUsage().heapUsed;
  const until = stats.frames + share(framesMin);
  // A bound on work rather than on time (speed is the benchmarks' to hold): every connection is fed at least
  // one frame, so a seed's share takes at most this many batches.
  const batchesMax = Math.ceil(share(framesMin) / batch);
  for (let batches = 0; stats.frames < until; batches++) {
    assert.ok(batches < batchesMax, `${batches} batches of ${batch} connections and still short of ${until} frames (${stats.frames})`);
    await Promise.all(Array.from({ length: batch }, fuzzOne));
  }
}, () => {
  const show = JSON.stringify({ ...stats, closes: [...stats.closes] });
  // the fuzzer reached every outcome: opens, clean opens, and the typed refusals of each kind of damage
  assert.ok(stats.cleanOpened > ofRun(500) && stats.opened > stats.cleanOpened, `too few opens: ${show}`);
  assert.ok(stats.framesAfterOpen > ofRun(10_000), `too few frames after the handshake: ${show}`);
  for (const code of ['ERR_BAD_PROOF', 'ERR_BAD_HANDSHAKE', 'ERR_WRONG_NETWORK', 'ERR_WRONG_VERSION', 'ERR_SELF_CONNECTION', 'ERR_BANNED', 'ERR_BAD_MSGPACK', 'ERR_BAD_MESSAGE', 'ERR_FRAME_TOO_LARGE', 'ERR_FRAME_EMPTY', 'ERR_CONNECTION_CLOSED']) {
    assert.ok((stats.closes.get(code) ?? 0) > ofRun(20), `fuzzer rarely closed with ${code}: ${show}`);
  }
  assert.ok(process.memoryUsage().heapUsed - heapBefore < heapLimitBytes, 'heap grew by more than 256 MiB');
});

withSeeds('a handshake that stalls is closed with ERR_HANDSHAKE_TIMEOUT, once', async () => {
  const handshakeTimeoutMs = 30;
  const fast = resolveLimits({ frameBytesMax, handshakeTimeoutMs });
  const results: Array<ErrorCode[]> = [];
  const sockets: FakeSocket[] = [];
  for (let i = 0; i < share(100); i++) {
    const socket = new FakeSocket();
    const closes: ErrorCode[] = [];
    results.push(closes);
    sockets.push(socket);
    const ctx: ConnectionContext = {
      local: localHello, sign: (m) => self.sign(m), verifier, helloContext, limits: fast, clock: systemClock(() => clockMs),
      random: seededRandom(rng.int(0, 2 ** 31 - 1)),
      turn: new TurnBudget({ now: () => clockMs, nextTurn: (run) => void setImmediate(run) }),
      events: { onOpen: () => assert.unreachable('opened'), onMessage: () => undefined, onOffence: () => undefined, onClose: (_c, code) => void closes.push(code) },
    };
    const conn = new PeerConnection(socketLink(socket as never), false, ctx);
    conn.start();
    // nothing, part of a hello, or a whole hello and no auth
    const hello = encodeFrame(makeHello({ networkId, publicKey: peer.publicKey, host: '', port: 1 }, bytes(32)));
    const sent = rng.pick([new Uint8Array(0), hello.subarray(0, rng.int(1, hello.length - 1)), hello]);
    if (sent.length > 0) socket.push(sent);
  }
  // The event is each connection's close, waited for (the deadline is far past the timeout); a second close
  // could only come from the timer firing again, watched for four more of its periods.
  const deadline = Date.now() + 5000;
  while (results.some((closes) => closes.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 4 * handshakeTimeoutMs));
  // Then the peers go away: a connection already closed must not close again.
  for (const s of sockets) s.destroy();
  await flush();
  for (const closes of results) assert.equal(closes, ['ERR_HANDSHAKE_TIMEOUT']);
});

test.after(() => verifier.close());

test.run();
