/**
 * Attacks on the victim before any peer is authenticated: slots held by connections that never finish a
 * handshake, and input the victim must read and reject before it knows who sent it.
 */
import { randomBytes } from 'node:crypto';
import { AttackPeer } from './attack-peer.ts';
import { inParallel, type AttackRun } from './attack-run.ts';
import { junkHandshakeFrame, manyKeysFrame, mapHandshakeFrame } from './crafted-frames.ts';

/** Connections held at once by the slot attacks: more than the default handshakesPendingMax (64). */
export const slotConnections = 80;

/** A connection closed this soon after it opened was refused, not timed out, in ms. */
const cutAtOnceMs = 250;

/**
 * Keeps `slotConnections` connections open; each sends `first` (or nothing) and then stalls. One the victim
 * closes is replaced after a short pause. Counts the victim's answers: cut at once (no slot) or later (its
 * handshake timeout).
 */
async function holdSlots(run: AttackRun, first: Buffer | null): Promise<void> {
  await inParallel(slotConnections, async () => {
    while (run.live) {
      const p = await run.open();
      if (!p) {
        await run.sleep(100);
        continue;
      }
      if (first && p.write(first)) run.sent(1, first.byteLength);
      await p.waitClosed(Math.max(0, run.deadlineMs - Date.now()));
      if (!p.closed) break;
      run.note(p.closedAtMs - p.openedAtMs < cutAtOnceMs ? 'cut at once' : 'closed later');
      await run.sleep(20);
    }
  });
}

/** Connections that never send a byte. */
export function silentSockets(run: AttackRun): Promise<void> {
  return holdSlots(run, null);
}

/** Connections that send a valid first handshake message (one made once, replayed) and then stall. */
export function stalledHandshakes(run: AttackRun): Promise<void> {
  return holdSlots(run, AttackPeer.firstMessage(run.target.networkId));
}

/** What decode-pre sends, prepared once. */
export interface DecodePrePrepared {
  firstMessage: Buffer;
  mapFrame: Buffer;
}

export function prepareDecodePre(networkId: string): DecodePrePrepared {
  return { firstMessage: AttackPeer.firstMessage(networkId), mapFrame: mapHandshakeFrame().frame };
}

/**
 * 16 connections at a time, each sending one largest legal handshake frame before any key exists: random
 * junk as a Noise message, a msgpack map of ~200 entries, or a valid first message (the victim answers with
 * its own, which costs it key agreement), then closing once the victim answered or closed (or after 1 s):
 * the attacker wants the victim's work, not its slots.
 */
export async function decodePre(run: AttackRun, prep: DecodePrePrepared): Promise<void> {
  const kinds = [
    { name: 'junk noise frames', make: () => junkHandshakeFrame((n) => randomBytes(n)) },
    { name: 'msgpack map frames', make: () => prep.mapFrame },
    { name: 'replayed first messages', make: () => prep.firstMessage },
  ];
  let turn = 0;
  await inParallel(16, async () => {
    while (run.live) {
      const p = await run.open();
      if (!p) {
        await run.sleep(50);
        continue;
      }
      const kind = kinds[turn++ % kinds.length]!;
      const f = kind.make();
      if (p.write(f)) {
        run.sent(1, f.byteLength);
        run.note(kind.name);
      }
      await p.waitAnswer(1000);
      p.close();
    }
  });
}

/** What decode-preauth and decode-post send, prepared once. */
export interface ManyKeysPrepared {
  frame: Buffer;
  entries: number;
}

export function prepareManyKeys(): ManyKeysPrepared {
  return manyKeysFrame();
}

/**
 * 4 at a time: a handshake whose identity proof is forged, with a 1 MiB frame of ~209k map entries sealed
 * right behind the last handshake message, in the same write: it arrives while the victim checks the proof.
 * Waits for the victim to close (at most 2 s).
 */
export async function decodePreauth(run: AttackRun, prep: ManyKeysPrepared): Promise<void> {
  await inParallel(4, async () => {
    while (run.live) {
      const p = await run.handshake({ forgeProof: true, waitAccepted: false, behindLast: [prep.frame] });
      if (!p) {
        await run.sleep(50);
        continue;
      }
      run.sent(1, prep.frame.byteLength);
      await p.waitClosed(2000);
      p.close();
    }
  });
}
