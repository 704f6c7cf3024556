/**
 * Floods after a complete handshake (sybils with fresh keys): tree-control frames, requests, the largest
 * legal frames, frames that are costly to decode or deeply nested, and bad signatures. Each sybil the victim
 * cuts is replaced by one with a fresh key, for as long as the attack lasts.
 */
import { randomBytes } from 'node:crypto';
import { fromHex } from '../../src/bytes.ts';
import { encodeFrame } from '../../src/wire/framing.ts';
import { Prng } from '../../src/sim/prng.ts';
import type { AttackPeer } from './attack-peer.ts';
import { inParallel, pump, type AttackRun } from './attack-run.ts';
import { bigChainFrame, deepNestingFrame, fastSigner, forgedGossipFrame, graftFrame, signedGossipFrame } from './crafted-frames.ts';
import type { ManyKeysPrepared } from './attacks-handshake.ts';

/** Sybils of each flood. */
export const floodSybils = 4;

/**
 * `floodSybils` sybils, each writing what `next` gives as fast as the victim reads it (`framesPerTick` per
 * 10 ms at most), replaced with a fresh key when cut. `onOpen` runs once per sybil before the flood.
 */
async function flood(run: AttackRun, next: () => Uint8Array, framesPerTick: number, onOpen?: (p: AttackPeer) => Promise<void>): Promise<void> {
  await inParallel(floodSybils, async () => {
    while (run.live) {
      const p = await run.handshake();
      if (!p) {
        await run.sleep(100);
        continue;
      }
      await onOpen?.(p);
      await pump(run, p, next, framesPerTick);
      if (p.rejectCode) run.note(`cut ${p.rejectCode}`);
      p.close();
    }
  });
}

/** IHAVE frames of 1,024 random ids (the most one may hold). */
export function ihaveFlood(run: AttackRun): Promise<void> {
  return flood(run, () => encodeFrame({ t: 'ihave', ids: randomBytes(32 * 1024) }), 16);
}

/** getpeers, as fast as the victim reads. */
export function getpeersFlood(run: AttackRun): Promise<void> {
  const f = encodeFrame({ t: 'getpeers' });
  return flood(run, () => f, 500);
}

/** getchain from random heights, as fast as the victim reads. */
export function getchainFlood(run: AttackRun): Promise<void> {
  return flood(run, () => encodeFrame({ t: 'getchain', from: run.rng.int(0, 1_000_000) }), 500);
}

/** PRUNE for the honest origins (the probes' among them) and for random ones, as fast as the victim reads. */
export function pruneFlood(run: AttackRun): Promise<void> {
  const honest = run.honestIds.map((id) => encodeFrame({ t: 'prune', origin: fromHex(id) }));
  let i = 0;
  return flood(run, () => (i++ % 2 === 0 && honest.length > 0 ? honest[i % honest.length]! : encodeFrame({ t: 'prune', origin: randomBytes(32) })), 500);
}

/** Legal 1 MiB frames (a chain reply of 4 blocks), as fast as the victim reads. */
export function bigFrames(run: AttackRun, prep: { frame: Buffer }): Promise<void> {
  return flood(run, () => prep.frame, 2);
}

export function prepareBigFrames(): { frame: Buffer } {
  return { frame: bigChainFrame() };
}

/** Broadcasts the graft flood's sybils send first (2 each, 256 KiB of data), signed in advance, and their ids. */
export interface GraftPrepared {
  frames: Buffer[];
  ids: string[];
}

export function prepareGraft(networkId: string, seed: number): GraftPrepared {
  const rng = new Prng(seed);
  const frames: Buffer[] = [];
  const ids: string[] = [];
  for (let i = 0; i < floodSybils * 2; i++) {
    const origin = fastSigner(Uint8Array.from({ length: 32 }, () => rng.int(0, 255)));
    const g = signedGossipFrame(networkId, origin, Date.now() * 1000 + i, new Uint8Array(256 * 1024).fill(i));
    frames.push(g.frame);
    ids.push(g.id);
  }
  return { frames, ids };
}

/**
 * Each sybil first broadcasts its 2 large messages (the victim verifies them, keeps them to answer GRAFTs
 * and relays them), then GRAFTs all 8 ids again and again, reading the replies as they come.
 */
export function graftFlood(run: AttackRun, prep: GraftPrepared): Promise<void> {
  const graft = graftFrame(prep.ids);
  let turn = 0;
  return flood(run, () => graft, 50, async (p) => {
    const mine = [prep.frames[(turn * 2) % prep.frames.length]!, prep.frames[(turn * 2 + 1) % prep.frames.length]!];
    turn++;
    if (p.sendFrames(Buffer.concat(mine))) run.sent(2, mine[0]!.byteLength + mine[1]!.byteLength);
    // Let the victim verify and keep them before asking for them.
    await run.sleep(300);
  });
}

/**
 * `parallel` connections at a time, each with a fresh key: after the handshake, `frames` (`framesPerSend`
 * frames) is sent and the victim is given `waitMs` to close the connection.
 */
async function onePerKey(run: AttackRun, parallel: number, frames: () => Uint8Array, waitMs: number, framesPerSend = 1): Promise<void> {
  await inParallel(parallel, async () => {
    while (run.live) {
      const p = await run.handshake();
      if (!p) {
        await run.sleep(50);
        continue;
      }
      const f = frames();
      if (p.sendFrames(f)) run.sent(framesPerSend, f.byteLength);
      await p.waitClosed(waitMs);
      p.close();
    }
  });
}

/** One 1 MiB frame of ~209k msgpack map entries per fresh key, 4 at a time. */
export function decodePost(run: AttackRun, prep: ManyKeysPrepared): Promise<void> {
  return onePerKey(run, 4, () => prep.frame, 3000);
}

/** One 1 MiB frame of nested arrays per fresh key, 4 at a time. */
export function deepNesting(run: AttackRun, prep: { frame: Buffer }): Promise<void> {
  return onePerKey(run, 4, () => prep.frame, 3000);
}

export function prepareDeepNesting(): { frame: Buffer } {
  return { frame: deepNestingFrame() };
}

/** Two broadcasts with bad signatures per fresh key (the second reaches the ban score), 8 at a time. */
export function badSigFreshKeys(run: AttackRun): Promise<void> {
  let seq = 0;
  return onePerKey(run, 8, () => Buffer.concat([forgedGossipFrame((n) => randomBytes(n), ++seq), forgedGossipFrame((n) => randomBytes(n), ++seq)]), 2000, 2);
}
