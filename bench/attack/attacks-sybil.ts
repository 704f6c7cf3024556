/**
 * Attacks by sybils that complete the handshake with fresh keys: taking the victim's peer slots, making it
 * relay more than its honest neighbours' per-peer rate, and aiming its dials with peer-exchange replies.
 */
import { createServer, type Server } from 'node:net';
import type { Identity } from '../../src/crypto/keys.ts';
import type { PeerAddress } from '../../src/wire/schema.ts';
import { encodeFrame } from '../../src/wire/framing.ts';
import { inParallel, type AttackRun } from './attack-run.ts';
import { fastSigner, signedGossipFrame } from './crafted-frames.ts';
import { Prng } from '../../src/sim/prng.ts';

/** Sybils of the eclipse attack: about the victim's 32 peer slots (24 of them open to inbound peers). */
export const eclipseSybils = 30;

/**
 * `eclipseSybils` sybils with fresh keys complete the handshake and then only answer pings. One the victim
 * cuts (evicted, refused as full) is replaced by a fresh one after 200 ms, for as long as the attack lasts.
 */
export async function eclipse(run: AttackRun): Promise<void> {
  let open = 0;
  await inParallel(eclipseSybils, async () => {
    while (run.live) {
      const p = await run.handshake({ read: true });
      if (!p) {
        await run.sleep(200);
        continue;
      }
      p.answerPings = true;
      open++;
      run.tally.facts['most sybils open at once'] = Math.max(run.tally.facts['most sybils open at once'] ?? 0, open);
      await p.waitClosed(Math.max(0, run.deadlineMs - Date.now()));
      open--;
      if (p.rejectCode) run.note(`cut ${p.rejectCode}`);
      await run.sleep(200);
    }
  });
}

/** Relay-rate sybils, each one's rate (under the default per-peer rate of 5,000 msg/s), and the origins. */
export const relayRate = { sybils: 6, msgsPerSecEach: 1500, origins: 5000 } as const;

/** Broadcasts signed in advance for relay-rate, one list per sybil. */
export interface RelayRatePrepared {
  framesBySybil: Buffer[][];
}

/**
 * Signs `relayRate.msgsPerSecEach` broadcasts per second of `expectedMs` for each sybil, from
 * `relayRate.origins` origins whose keys come from `seed`. This is most of the attacker's work.
 */
export function prepareRelayRate(networkId: string, expectedMs: number, seed: number): RelayRatePrepared {
  const rng = new Prng(seed);
  const origins: Array<Pick<Identity, 'publicKey' | 'sign'>> = Array.from({ length: relayRate.origins }, () => fastSigner(Uint8Array.from({ length: 32 }, () => rng.int(0, 255))));
  const perSybil = Math.ceil((relayRate.msgsPerSecEach * expectedMs) / 1000);
  const data = new Uint8Array(64);
  let n = 0;
  const framesBySybil = Array.from({ length: relayRate.sybils }, () =>
    Array.from({ length: perSybil }, () => {
      n++;
      data.fill(n & 0xff);
      return signedGossipFrame(networkId, origins[n % origins.length]!, Date.now() * 1000 + n, data).frame;
    }),
  );
  return { framesBySybil };
}

/**
 * Each sybil sends its signed broadcasts at `relayRate.msgsPerSecEach`, in a batch every 20 ms, never more
 * than 1 MiB waiting in its socket (it waits as any sender held by TCP would). A sybil the victim cuts is
 * replaced by one with a fresh key; a sybil that has sent every prepared broadcast stops.
 */
export async function relayRateFlood(run: AttackRun, prep: RelayRatePrepared): Promise<void> {
  const tickMs = 20;
  const perTick = Math.ceil((relayRate.msgsPerSecEach * tickMs) / 1000);
  await inParallel(relayRate.sybils, async (i) => {
    const frames = prep.framesBySybil[i]!;
    let next = 0;
    while (run.live && next < frames.length) {
      const p = await run.handshake();
      if (!p) {
        await run.sleep(200);
        continue;
      }
      const started = Date.now();
      let due = 0;
      while (run.live && !p.closed && next < frames.length) {
        due = Math.min(frames.length, Math.floor(((Date.now() - started) / 1000) * relayRate.msgsPerSecEach));
        if (p.queuedBytes < 1 << 20 && next < due) {
          const batch = frames.slice(next, Math.min(due, next + perTick * 4));
          if (p.sendFrames(Buffer.concat(batch))) {
            run.sent(batch.length, batch.reduce((a, f) => a + f.byteLength, 0));
            next += batch.length;
          }
        } else if (next < due) run.note('ticks held by the victim reading slowly');
        await run.sleep(tickMs);
      }
      p.close();
    }
  });
}

/** Reflection: sybils, unsolicited replies per second each, and listening sinks among the 64 addresses. */
export const reflection = { sybils: 2, repliesPerSecEach: 1000, sinks: 16 } as const;

/** The sinks of the reflection attack: listeners that count the victim's dials to addresses we chose. */
export interface ReflectionPrepared {
  sinks: Server[];
  sinkDials: { n: number };
  addrs: PeerAddress[];
}

/** Opens the sinks (127.0.0.1, ephemeral ports) and makes the 64 addresses: the sinks, then closed ports on 127.66/16. */
export async function prepareReflection(seed: number): Promise<ReflectionPrepared> {
  const rng = new Prng(seed);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rng.int(0, 255));
  const sinkDials = { n: 0 };
  const sinks = await Promise.all(
    Array.from({ length: reflection.sinks }, () =>
      new Promise<Server>((resolve) => {
        const s = createServer((c) => {
          sinkDials.n++;
          c.destroy();
        });
        s.listen(0, '127.0.0.1', () => resolve(s));
      }),
    ),
  );
  const addrs: PeerAddress[] = sinks.map((s) => ({ id: bytes(32), host: '127.0.0.1', port: (s.address() as { port: number }).port }));
  while (addrs.length < 64) addrs.push({ id: bytes(32), host: `127.66.${rng.int(0, 255)}.${rng.int(1, 254)}`, port: rng.int(20_000, 30_000) });
  return { sinks, sinkDials, addrs };
}

/** Closes the sinks. */
export function closeReflection(prep: ReflectionPrepared): void {
  for (const s of prep.sinks) s.close();
}

/**
 * Each sybil answers the victim's getpeers (the one reply it may use) with the 64 addresses, and sends
 * unsolicited replies of the same 64 at `reflection.repliesPerSecEach`; banned or cut, it comes back with a
 * fresh key. Counts the victim's dials that reached a sink.
 */
export async function reflectionFlood(run: AttackRun, prep: ReflectionPrepared): Promise<void> {
  const reply = encodeFrame({ t: 'peers', addrs: prep.addrs });
  const tickMs = 20;
  const perTick = Math.ceil((reflection.repliesPerSecEach * tickMs) / 1000);
  const batch = Buffer.concat(Array.from({ length: perTick }, () => reply));
  const dials0 = prep.sinkDials.n;
  await inParallel(reflection.sybils, async () => {
    while (run.live) {
      const p = await run.handshake({ read: true });
      if (!p) {
        await run.sleep(100);
        continue;
      }
      p.answerPings = true;
      p.onMessage = (m) => {
        if (m.t === 'getpeers' && p.sendFrames(reply)) {
          run.sent(1, reply.byteLength);
          run.note('solicited replies');
        }
      };
      while (run.live && !p.closed) {
        if (p.queuedBytes < 1 << 20 && p.sendFrames(batch)) {
          run.sent(perTick, batch.byteLength);
          run.note('unsolicited replies', perTick);
        }
        await run.sleep(tickMs);
      }
      if (p.rejectCode) run.note(`cut ${p.rejectCode}`);
    }
  });
  run.note('victim dials to our sinks', prep.sinkDials.n - dials0);
}
