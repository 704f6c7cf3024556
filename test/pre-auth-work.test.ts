/**
 * Work a peer can cause before it is authenticated is bounded (issue 16, item 5), counted rather than timed:
 * sealed frames sent behind the dialer's last handshake message are neither opened nor decoded before the
 * verdict on its identity (the decoder's meter stays at zero, and a failed verdict drops them so), a 1 MiB
 * map of 209,000 keys is refused undecoded before the verdict and at its header after it, and handshake
 * frames are handled within the per-turn work budget like every other frame.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../src/bytes.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { identityFromSeed } from '../src/crypto/keys.ts';
import type { SignatureCheck, Verifier } from '../src/crypto/verifier.ts';
import { systemClock } from '../src/io/system-clock.ts';
import { socketLink } from '../src/io/tcp-transport.ts';
import { PeerConnection } from '../src/net/peer-connection.ts';
import { earlyBytesMax } from '../src/net/connection-handshake.ts';
import { TurnBudget } from '../src/net/turn-budget.ts';
import { makeNoiseIdentity, type LocalHello } from '../src/peers/handshake.ts';
import { seededRandom } from '../src/sim/sim-host.ts';
import { FRAME_HEADER_BYTES } from '../src/wire/framing.ts';
import { FakeSocket } from './helpers/fake-socket.ts';
import { nextTurn, startMemoryConnection } from './helpers/memory-connection.ts';
import { SecureSession } from './helpers/secure-session.ts';

const networkId = 'pre-auth';
const inner = createMainThreadVerifier();

/** A verifier whose answers wait until the test releases them: the time of the verdict is the test's. */
function gatedVerifier(): { verifier: Verifier; release: () => void; asked: () => number } {
  const waiting: Array<() => void> = [];
  let asked = 0;
  const verifier: Verifier = {
    verify: (checks: readonly SignatureCheck[]) => {
      asked++;
      return new Promise((resolve) => waiting.push(() => void inner.verify(checks).then(resolve)));
    },
    close: async () => undefined,
  };
  return { verifier, release: () => waiting.splice(0).forEach((go) => go()), asked: () => asked };
}

/** A msgpack map32 of `n` distinct 3-byte keys with nil values (5 bytes an entry), as a plaintext frame. */
function wideMapFrame(n: number): Buffer {
  const body = Buffer.alloc(5 + 5 * n);
  body[0] = 0xdf;
  body.writeUInt32BE(n, 1);
  for (let i = 0, at = 5; i < n; i++, at += 5) body.set([0xa3, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 0xc0], at);
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + body.byteLength);
  frame.writeUInt32BE(body.byteLength, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

const zero = { valuesWalked: 0, bodiesUnpacked: 0 };

for (const proof of ['bad', 'good'] as const) {
  test(`sealed frames behind the last handshake message are not decoded before the verdict; with a ${proof} proof they are ${proof === 'bad' ? 'dropped undecoded' : 'decoded after it, and a wide map among them is refused at its header'}`, async () => {
    const clock = { ms: 1_000_000 };
    const turn = new TurnBudget({ now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
    const gate = gatedVerifier();
    const h = await startMemoryConnection({
      networkId, selfSeed: 1, peerSeed: 2, verifier: gate.verifier, limits: resolveLimits({}), clock, turn,
      ...(proof === 'bad' ? { peerLocal: { noiseStaticSig: new Uint8Array(64).fill(7) } } : {}),
    });
    // three getchain frames, then a map of 12,000 keys (60 KB, under earlyBytesMax), in the read of the last handshake message
    const early = Buffer.concat([h.frames(0, 3), h.peer.sealFrame(wideMapFrame(12_000))]);
    assert.ok(early.byteLength <= earlyBytesMax);
    h.socket.push(Buffer.concat([h.peerHandshake, early]));
    for (let i = 0; i < 5 && gate.asked() === 0; i++) await nextTurn();
    assert.is(gate.asked(), 1, 'the identity is being verified');
    for (let i = 0; i < 3; i++) await nextTurn();
    assert.is(h.conn.state, 'handshaking');
    assert.equal(h.conn.decodeWork, zero, 'nothing opened or decoded while the verdict is pending');
    gate.release();
    for (let i = 0; i < 10 && h.closes.length === 0; i++) await nextTurn();
    if (proof === 'bad') {
      assert.equal(h.closes, ['ERR_BAD_PROOF']);
      assert.equal(h.conn.decodeWork, zero, 'a peer that failed to authenticate cost no decoding');
      assert.equal(h.handled, []);
    } else {
      assert.equal(h.closes, ['ERR_BAD_MESSAGE']);
      assert.equal(h.handled, [0, 1, 2], 'the frames before the map were handled, after the verdict');
      // three getchain bodies of five values each, then the map's header alone
      assert.equal(h.conn.decodeWork, { valuesWalked: 3 * 5 + 1, bodiesUnpacked: 3 });
    }
  });
}

test('a 1 MiB map of 209,000 keys behind the last handshake message is refused undecoded; right after the handshake, at its header', async () => {
  for (const when of ['before', 'after'] as const) {
    const clock = { ms: 2_000_000 };
    const turn = new TurnBudget({ now: () => clock.ms, nextTurn: (run) => void setImmediate(run) });
    const h = await startMemoryConnection({ networkId, selfSeed: 3, peerSeed: 4, verifier: inner, limits: resolveLimits({}), clock, turn });
    const map = h.peer.sealFrame(wideMapFrame(209_000));
    if (when === 'before') {
      h.socket.push(Buffer.concat([h.peerHandshake, map]));
    } else {
      h.socket.push(h.peerHandshake);
      for (let i = 0; i < 10 && h.conn.state !== 'open'; i++) await nextTurn();
      assert.is(h.conn.state, 'open');
      h.socket.push(map);
    }
    for (let i = 0; i < 10 && h.closes.length === 0; i++) await nextTurn();
    if (when === 'before') {
      assert.equal(h.closes, ['ERR_BAD_HANDSHAKE'], 'more than earlyBytesMax before the verdict');
      assert.equal(h.conn.decodeWork, zero);
    } else {
      assert.equal(h.closes, ['ERR_BAD_MESSAGE']);
      assert.equal(h.conn.decodeWork, { valuesWalked: 1, bodiesUnpacked: 0 }, 'one header read, msgpackr never ran');
    }
    assert.is(h.offences.length, 1, 'scored once');
  }
});

test('handshake frames count against the per-turn work budget: a burst of first messages is answered a budget at a time', async () => {
  // Every ask of the budget's clock is one ms: a 3 ms turn holds three pieces of work.
  let ticks = 0;
  const turns: Array<() => void> = [];
  const turn = new TurnBudget({ turnWorkMsMax: 3, now: () => ticks++, nextTurn: (run) => void turns.push(run) });
  const self = identityFromSeed(new Uint8Array(32).fill(5));
  const local: LocalHello = { networkId, publicKey: self.publicKey, host: '', port: 7000, ...makeNoiseIdentity((m) => self.sign(m), seededRandom(5)) };
  const conns: PeerConnection[] = [];
  for (let i = 0; i < 10; i++) {
    const socket = new FakeSocket(`198.51.100.${i + 1}`);
    const conn = new PeerConnection(socketLink(socket as never), false, {
      local, verifier: inner, turn, limits: resolveLimits({ writeCoalesceMs: 0 }),
      helloContext: { networkId, selfKeyHex: toHex(self.publicKey), isBanned: () => false },
      clock: systemClock(() => 3_000_000), random: seededRandom(100 + i),
      events: { onOpen: () => undefined, onMessage: () => undefined, onOffence: () => undefined, onClose: () => undefined },
    });
    conn.start();
    conns.push(conn);
    const dialer = new SecureSession({ key: identityFromSeed(new Uint8Array(32).fill(20 + i)), networkId, initiator: true, random: seededRandom(200 + i) });
    socket.push(dialer.start()[0]!);
  }
  const answered = (): number => conns.reduce((n, c) => n + c.stats.framesIn, 0);
  for (let i = 0; i < 5; i++) await nextTurn(); // the sockets deliver; the budget's turns are run by hand below
  assert.is(answered(), 3, 'three first messages fit in the turn that read them; the rest wait');
  let runs = 0;
  for (; runs < 20 && answered() < 10; runs++) turns.shift()?.();
  assert.is(answered(), 10, 'every first message answered in later turns');
  assert.ok(runs >= 3, `over ${runs} more turns`);
  assert.ok(turn.counters.turnsCut >= 3);
  for (const c of conns) c.close('ERR_CONNECTION_CLOSED', 'test', false);
});

test.after(() => inner.close());
test.run();
