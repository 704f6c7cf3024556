/**
 * A flood of validly signed broadcasts from raw sybil hosts, with the validators mining one block a round
 * meanwhile: the load of the consensus-first simulator tests (receive side and send side).
 */
import { gossipSignedBytes } from '../../src/gossip/gossip-core.ts';
import { testKey } from '../sim/keys.ts';
import type { RawHost } from './raw-host.ts';
import type { World } from './world.ts';

/** How the sybils flood. */
export interface SybilFlood {
  /** Ticks of 10 ms the flood lasts. */
  floodTicks: number;
  /** Broadcasts each sybil connection sends per tick. */
  perTick: number;
  roundMs: number;
  /** Called with each broadcast's sequence number as it is sent. */
  onSent?: (seq: number) => void;
}

/**
 * Validators 0-3 mine in turn, one block a round, from round 3 for as long as the flood lasts; every open
 * connection of `raws` sends `perTick` broadcasts (256 origins, signed) each 10 ms tick. Returns the number
 * sent and the first and last t0 mined.
 */
export async function runSybilFlood(w: World, raws: readonly RawHost[], o: SybilFlood): Promise<{ sent: number; firstT0: number; lastT0: number }> {
  const firstT0 = 3;
  const lastT0 = firstT0 + Math.floor((o.floodTicks * 10) / o.roundMs) - 1;
  for (let t0 = firstT0; t0 <= lastT0; t0++) w.mineAt(t0 % 4, t0, `block at t0 ${t0}`);
  const origins = Array.from({ length: 256 }, (_, i) => testKey(i, 92));
  let sent = 0;
  for (let tick = 0; tick < o.floodTicks; tick++) {
    for (const h of raws) {
      for (const c of h.open.values()) {
        for (let j = 0; j < o.perTick; j++) {
          const origin = origins[sent % origins.length]!;
          const unsigned = { origin: origin.publicKey, seq: ++sent, topic: 'flood', data: new Uint8Array(32).fill(j) };
          o.onSent?.(sent);
          c.send({ t: 'gossip', ...unsigned, hops: 0, sig: origin.sign(gossipSignedBytes(w.networkId, unsigned)) });
        }
      }
    }
    await w.sched.run(w.sched.now + 10);
  }
  return { sent, firstT0, lastT0 };
}
