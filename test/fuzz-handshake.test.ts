/**
 * Fuzzes the encrypted handshake and the sealed channel (src/net/peer-connection.ts over peers/handshake.ts,
 * wire/handshake-frames.ts, net/transport-cipher.ts and framing.ts) with random and mutated bytes. Each case
 * is a fresh PeerConnection, dialing or listening, on an in-memory Duplex socket (no network); the fuzzer
 * plays the peer through a SecureSession (the real protocol), answering each handshake message in turn, and
 * damages the exchange at a random point: bit flips, overwrites, truncation, a corrupted length header, an
 * inserted or deleted byte, garbage, another network or version, our own or a banned id, a wrong signature,
 * a reject. If the connection opened, it then throws sealed valid, sealed damaged, tampered, replayed and
 * unsealed frames at it.
 *
 * Checked for every connection: no exception escapes; it opens only after a genuine, undamaged handshake
 * and always opens after one (handing on, in order, the frames the dialer sent right behind its last
 * message); it closes exactly once, with a typed code, which its reject repeats when the peer could read it;
 * what it writes always reads cleanly on the peer's side; buffers stay within their limits. Every run takes
 * the fixed seeds and one random seed, printed, each for an equal share of the frames; a failure names its
 * seed, and `FUZZ_SEED=<seed> npm test -- fuzz-handshake` replays that one alone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import NoiseState from 'noise-handshake';
import { toHex } from '../src/bytes.ts';
import { identityFromSeed, type Identity } from '../src/crypto/keys.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { ErrorCodes, type ErrorCode } from '../src/errors.ts';
import { encodeFrame } from '../src/wire/framing.ts';
import { encodeVersionAndNetwork, makeNoiseIdentity, makeNoiseKeyPair, noisePrologue, type LocalHello } from '../src/peers/handshake.ts';
import { encodeNoiseFrame, encodeRejectFrame, handshakeFrameBytesMax } from '../src/wire/handshake-frames.ts';
import type { SecureChannel } from '../src/net/secure-channel.ts';
import { consensusTypes, type Inbox } from '../src/net/inbox.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import { systemClock } from '../src/io/system-clock.ts';
import { seededRandom } from '../src/sim/sim-host.ts';
import { socketLink } from '../src/io/tcp-transport.ts';
import { PeerConnection } from '../src/net/peer-connection.ts';
import { earlyBytesMax } from '../src/net/connection-handshake.ts';
import type { ConnectionContext } from '../src/net/connection-context.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { PROTOCOL_VERSION, type Message } from '../src/wire/schema.ts';
import { Prng } from '../src/sim/prng.ts';
import { FakeSocket } from './helpers/fake-socket.ts';
import { SecureSession } from './helpers/secure-session.ts';

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
// Writes flushed at the end of each turn (no coalescing timer), so each answer comes within a few turns.
const limits = resolveLimits({ frameBytesMax, handshakeTimeoutMs: 5000, writeCoalesceMs: 0 });
const verifier = createMainThreadVerifier();

const identity = (tag: number): Identity => identityFromSeed(new Uint8Array(32).fill(tag));
const self = identity(1);
const peer = identity(2);
const banned = identity(4);
const localHello: LocalHello = { networkId, publicKey: self.publicKey, host: '', port: 7000, ...makeNoiseIdentity((m) => self.sign(m), seededRandom(9)) };
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

/** A well-formed message of any type (what an honest peer might send after the handshake). */
function validMessage(): Message {
  switch (rng.int(0, 4)) {
    case 0: return { t: 'ping', n: rng.int(0, 1e9) };
    case 1: return { t: 'pong', n: rng.int(0, 1e6) };
    case 2: return { t: 'getpeers' };
    case 3: return { t: 'peers', addrs: [{ id: bytes(32), host: '203.0.113.9', port: rng.int(1, 65535) }] };
    default: return { t: 'getchain', from: rng.int(0, 100) };
  }
}

/** Bit flips, overwrites, truncation, a corrupted length header, an inserted or deleted byte. */
function mutate(frame: Uint8Array, lengthMax: number): Uint8Array {
  const out = new Uint8Array(frame); // a copy: frames may be pooled Buffer memory
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
      new DataView(out.buffer).setUint32(0, rng.pick([0, 1, out.length - 5, out.length - 3, lengthMax + 1, 0xffffffff, rng.int(0, 2 ** 32 - 1)]));
      return out;
    case 4: {
      const at = body();
      return frameOf(new Uint8Array(Buffer.concat([out.subarray(4, at), out.subarray(at + 1)])));
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

/** How the peer spoils its side of the handshake (or does not). */
type Plan = 'clean' | 'mutate' | 'garbage' | 'other-net' | 'other-version' | 'legacy-hello' | 'self' | 'banned' | 'bad-proof' | 'reject' | 'early-junk' | 'small-order';

const plans: Plan[] = ['clean', 'clean', 'clean', 'mutate', 'mutate', 'mutate', 'garbage', 'other-net', 'other-version', 'legacy-hello', 'self', 'banned', 'bad-proof', 'reject', 'early-junk', 'small-order'];

/** X25519 public keys of small order (RFC 7748 section 7), which libsodium refuses in a Diffie-Hellman. */
const smallOrderKeys = ['00'.repeat(32), '01' + '00'.repeat(31), 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'].map((h) => Buffer.from(h, 'hex'));

/** The peer's first handshake message with its ephemeral key (the message's first 32 bytes) of small order. */
function withSmallOrderKey(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame);
  out.set(rng.pick(smallOrderKeys), 5); // after the 4-byte length and the kind byte
  return out;
}

const stats = { connections: 0, frames: 0, framesAfterOpen: 0, opened: 0, cleanOpened: 0, closes: new Map<string, number>() };
const closeCodes = new Set(Object.keys(ErrorCodes));
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
let clockMs = 1_000_000;

/** A fresh connection with recording events. */
function connection(outbound: boolean) {
  const socket = new FakeSocket();
  const rec = { closes: [] as Array<{ code: ErrorCode; reason: string }>, offences: [] as ErrorCode[], opened: false, handedOn: [] as string[] };
  const ctx: ConnectionContext = {
    local: localHello, verifier, helloContext, limits,
    clock: systemClock(() => clockMs),
    random: seededRandom(rng.int(0, 2 ** 31 - 1)),
    turn: new TurnBudget({ now: () => clockMs, nextTurn: (run) => void setImmediate(run) }),
    events: {
      onOpen: () => void (rec.opened = true),
      onMessage: (_c, m) => void rec.handedOn.push(m.t),
      onOffence: (_c, code) => void rec.offences.push(code),
      onClose: (_c, code, reason) => void rec.closes.push({ code, reason }),
    },
  };
  const conn = new PeerConnection(socketLink(socket as never), outbound, ctx);
  return { conn, socket, rec };
}

/** One fuzzed connection from start to teardown. */
async function fuzzOne(): Promise<void> {
  const outbound = rng.next() < 0.5;
  let plan = rng.pick(plans);
  // Version and network are checked by the listener; against a listening fuzzer they are just its reject.
  if (outbound && (plan === 'other-net' || plan === 'other-version' || plan === 'legacy-hello')) plan = 'reject';
  const key = plan === 'self' ? self : plan === 'banned' ? banned : peer;
  const session = new SecureSession({
    key, networkId: plan === 'other-net' ? 'other-net' : networkId, initiator: !outbound, frameBytesMax,
    random: seededRandom(rng.int(0, 2 ** 31 - 1)),
    ...(plan === 'bad-proof' ? { local: { noiseStaticSig: bytes(64) } } : {}),
  });
  const { conn, socket, rec } = connection(outbound);
  conn.start();
  earlyExpected = [];
  let readAt = 0;
  let ourStreamOk = true;
  const feed = (parts: readonly Uint8Array[], count: number, afterOpen: boolean): void => {
    if (conn.isClosed()) return;
    stats.frames += count;
    if (afterOpen) stats.framesAfterOpen += count;
    for (const p of parts) {
      clockMs += rng.int(0, 3);
      socket.push(p);
    }
  };
  /** What the connection wrote since last asked, read by the peer's session; returns the session's answer. */
  const exchange = async (): Promise<Uint8Array[]> => {
    // writes are corked to the end of a turn, and verification is async: a few turns for an answer to come
    for (let i = 0; i < 8 && (i < 2 || socket.written.length === readAt); i++) await flush();
    const fresh = Buffer.concat(socket.written.slice(readAt));
    readAt = socket.written.length;
    if (fresh.byteLength === 0) return [];
    const r = session.push(fresh);
    if (r.error && !session.rejected && r.error.code !== 'ERR_CONNECTION_CLOSED') {
      // The peer refuses us (another network, our own id ...): it says so, as a node would.
      if (!['ERR_WRONG_NETWORK', 'ERR_SELF_CONNECTION', 'ERR_BANNED'].includes(r.error.code)) ourStreamOk = false;
      assert.ok(plan !== 'clean', `the peer could not read our side of a clean handshake: ${r.error.message}`);
      return [session.reject(r.error.code, r.error.message)];
    }
    return r.out;
  };
  const damageAt = plan === 'mutate' || plan === 'garbage' ? rng.int(0, 1) : -1;
  let expectOpen = plan === 'clean' || plan === 'early-junk';
  let next = outbound ? await exchange() : firstPeerBytes(plan, session);
  for (let round = 0; round < 4 && !conn.isClosed() && next.length > 0; round++) {
    let frames = next;
    if (round === damageAt) {
      const damaged = plan === 'garbage' ? [garbage()] : frames.map((f) => mutate(f, handshakeFrameBytesMax));
      // An overwrite can write the byte that was there: such a "mutation" leaves a genuine handshake.
      if (Buffer.concat(damaged).equals(Buffer.concat(frames))) expectOpen = true;
      frames = damaged;
    }
    if (round === 0 && plan === 'reject') frames = [encodeRejectFrame(rng.pick(['ERR_BANNED', 'ERR_NOT_A_CODE', 'nonsense']), 'fuzz')];
    if (round === 0 && plan === 'small-order') frames = frames.map(withSmallOrderKey);
    // The dialer may send sealed frames right behind its last handshake message: they wait for the verdict.
    if (!outbound && session.sealed && expectOpen) frames = [...frames, ...earlyFrames(plan, session)];
    feed(chunks(frames), frames.length, false);
    next = await exchange();
  }
  if (rec.opened && plan === 'clean' && !outbound) assertEachKindInOrder(rec.handedOn, earlyExpected, 'frames behind the last handshake message');
  assert.ok(!rec.opened || expectOpen, `opened on plan '${plan}'`);
  if (plan === 'clean') assert.ok(rec.opened, `a clean handshake did not open (${outbound ? 'dialing' : 'listening'}): ${JSON.stringify(rec.closes)} offences ${rec.offences.join(',')}`);
  if (rec.opened) stats.opened++;
  if (rec.opened && plan === 'clean') stats.cleanOpened++;
  if (conn.state === 'open') await afterOpen(conn, session, feed, exchange);
  await teardown(conn, socket, session, rec, ourStreamOk, exchange);
}

/** The peer's first handshake bytes for a plan, when it is the dialer (nothing when it listens). */
function firstPeerBytes(plan: Plan, session: SecureSession): Uint8Array[] {
  const first = session.start();
  if (first.length === 0) return first;
  if (plan === 'other-version') {
    const v = PROTOCOL_VERSION + rng.int(1, 5);
    const noise = new NoiseState('XX', true, makeNoiseKeyPair(seededRandom(rng.int(0, 1e9))));
    noise.initialise(noisePrologue(networkId, v));
    return [encodeNoiseFrame(noise.send(encodeVersionAndNetwork(v, networkId)))];
  }
  if (plan === 'legacy-hello') return [encodeFrame({ t: 'hello', v: 3, net: networkId, key: peer.publicKey, host: '', port: 1, nonce: bytes(32) } as unknown as Message)];
  return first;
}

/** Types the connection must hand on from the frames behind the dialer's last handshake message. */
let earlyExpected: string[] = [];

/**
 * Every frame sent was handed on, consensus frames and the rest each in the order sent: within a read the
 * consensus ones go first (net/inbox.ts), and where the reads were cut depends on the chunks.
 */
function assertEachKindInOrder(handedOn: readonly string[], sent: readonly string[], what: string): void {
  for (const consensus of [true, false]) {
    const kind = (ts: readonly string[]) => ts.filter((t) => consensusTypes.has(t as Message['t']) === consensus);
    assert.equal(kind(handedOn), kind(sent), `${what}: ${consensus ? 'consensus frames' : 'the rest'}`);
  }
  assert.is(handedOn.length, sent.length, what);
}

/** Sealed frames right behind the dialer's last message: well-formed, or (early-junk) anything at all. */
function earlyFrames(plan: Plan, session: SecureSession): Uint8Array[] {
  const more = Array.from({ length: rng.next() < 0.1 ? rng.int(33, 80) : rng.int(0, 4) }, validMessage);
  earlyExpected = more.filter((m) => m.t !== 'ping' && m.t !== 'pong').map((m) => m.t);
  if (plan === 'early-junk') return [session.sealFrame(mutate(encodeFrame(validMessage()), frameBytesMax))];
  return more.map((m) => session.seal(m));
}

/** Throws sealed, damaged, tampered, replayed and unsealed frames at an open connection. */
async function afterOpen(conn: PeerConnection, session: SecureSession, feed: (p: readonly Uint8Array[], n: number, open: boolean) => void, exchange: () => Promise<Uint8Array[]>): Promise<void> {
  const internals = conn as unknown as { inbox: Inbox; channel: SecureChannel; unread: Uint8Array | null };
  let lastSealed: Uint8Array | null = null;
  for (let i = rng.int(1, 12); i > 0 && !conn.isClosed(); i--) {
    const frames = Array.from({ length: rng.int(1, 16) }, () => {
      const r = rng.next();
      if (r < 0.75) return (lastSealed = session.seal(validMessage()));
      if (r < 0.85) return session.sealFrame(mutate(encodeFrame(validMessage()), frameBytesMax)); // authentic, but not a message
      if (r < 0.9 && lastSealed) return lastSealed; // a replay
      if (r < 0.95) return mutate(session.seal(validMessage()), frameBytesMax + 16); // tampered on the way
      return garbage();
    });
    feed(chunks(frames), frames.length, true);
    await exchange();
    // at most one read waits: the frames of this step, or those sent behind the last handshake message
    const waiting = internals.inbox.consensus.length + internals.inbox.other.length;
    assert.ok(waiting <= 80 + 16, `inbox holds ${waiting}`);
    assert.ok((internals.unread?.byteLength ?? 0) <= earlyBytesMax, `${internals.unread?.byteLength} bytes unread`);
    assert.ok(internals.channel.bufferedBytes <= 4 + frameBytesMax + 16, `decoder holds ${internals.channel.bufferedBytes} bytes`);
  }
}

/** The peer goes away: one typed close; our stream read cleanly; a reject the peer read repeats our code. */
async function teardown(conn: PeerConnection, socket: FakeSocket, session: SecureSession, rec: ReturnType<typeof connection>['rec'], ourStreamOk: boolean, exchange: () => Promise<Uint8Array[]>): Promise<void> {
  const channel = (conn as unknown as { channel: SecureChannel }).channel;
  assert.ok(channel.sealed || channel.bufferedBytes <= 4 + handshakeFrameBytesMax, 'handshake reader within its frame limit');
  await exchange();
  socket.destroy();
  await flush();
  assert.is(conn.state, 'closed');
  assert.is(rec.closes.length, 1, `onClose ran ${rec.closes.length} times`);
  const { code } = rec.closes[0]!;
  assert.ok(closeCodes.has(code), `closed with the untyped code '${code}'`);
  stats.closes.set(code, (stats.closes.get(code) ?? 0) + 1);
  for (const o of rec.offences) assert.ok(closeCodes.has(o), `offence with the untyped code '${o}'`);
  if (ourStreamOk && session.rejected) assert.is(session.rejected.code, code, `our reject says ${session.rejected.code}, we closed with ${code}`);
  stats.connections++;
}

/** Runs `body` once per seed, with the generator and the clock started afresh; `after` once at the end. */
function withSeeds(name: string, body: () => Promise<void>, after: () => void = () => undefined): void {
  test(`${name} (seeds ${seeds.join(', ')})`, async () => {
    for (const seed of seeds) {
      rng = new Prng(seed);
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
const batch = 32;
let heapBefore = 0;

withSeeds(`${framesMin}+ random and mutated handshake and channel frames on fresh connections: open only on a genuine handshake, one typed close, bounded memory`, async () => {
  heapBefore ||= process.memoryUsage().heapUsed;
  const until = stats.frames + share(framesMin);
  // A bound on work rather than on time: every connection is fed at least one frame.
  const batchesMax = Math.ceil(share(framesMin) / batch);
  for (let batches = 0; stats.frames < until; batches++) {
    assert.ok(batches < batchesMax, `${batches} batches of ${batch} connections and still short of ${until} frames (${stats.frames})`);
    // One at a time within a batch: each case's script depends on the generator's order.
    for (let i = 0; i < batch; i++) await fuzzOne();
  }
}, () => {
  const show = JSON.stringify({ ...stats, closes: [...stats.closes] });
  if (process.env['FUZZ_STATS']) console.log(show);
  assert.ok(stats.cleanOpened > ofRun(300) && stats.opened > stats.cleanOpened, `too few opens: ${show}`);
  assert.ok(stats.framesAfterOpen > ofRun(10_000), `too few frames after the handshake: ${show}`);
  for (const code of ['ERR_BAD_PROOF', 'ERR_BAD_HANDSHAKE', 'ERR_WRONG_NETWORK', 'ERR_WRONG_VERSION', 'ERR_SELF_CONNECTION', 'ERR_BANNED', 'ERR_BAD_CIPHERTEXT', 'ERR_BAD_MSGPACK', 'ERR_BAD_MESSAGE', 'ERR_FRAME_TOO_LARGE', 'ERR_FRAME_EMPTY', 'ERR_CONNECTION_CLOSED']) {
    assert.ok((stats.closes.get(code) ?? 0) > ofRun(10), `fuzzer rarely closed with ${code}: ${show}`);
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
      local: localHello, verifier, helloContext, limits: fast, clock: systemClock(() => clockMs),
      random: seededRandom(rng.int(0, 2 ** 31 - 1)),
      turn: new TurnBudget({ now: () => clockMs, nextTurn: (run) => void setImmediate(run) }),
      events: { onOpen: () => assert.unreachable('opened'), onMessage: () => undefined, onOffence: () => undefined, onClose: (_c, code) => void closes.push(code) },
    };
    const conn = new PeerConnection(socketLink(socket as never), false, ctx);
    conn.start();
    // nothing, part of a first message, or a whole first message and nothing after our answer
    const first = new SecureSession({ key: peer, networkId, initiator: true, random: seededRandom(i) }).start()[0]!;
    const sent = rng.pick([new Uint8Array(0), first.subarray(0, rng.int(1, first.length - 1)), first]);
    if (sent.length > 0) socket.push(sent);
  }
  // The event is each connection's close, waited for (the deadline is far past the timeout); a second close
  // could only come from the timer firing again, watched for four more of its periods.
  const deadline = Date.now() + 5000;
  while (results.some((closes) => closes.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 4 * handshakeTimeoutMs));
  for (const s of sockets) s.destroy();
  await flush();
  for (const closes of results) assert.equal(closes, ['ERR_HANDSHAKE_TIMEOUT']);
});

test.after(() => verifier.close());

test.run();
