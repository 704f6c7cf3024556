/**
 * Who pays for an offence (offences.ts says how much): the peer's key once it has proven it in the handshake,
 * also after the connection closed, since a verification still in flight when the connection was cut is the
 * key's, and charging its IP instead let one key's last forgeries ban its address (test/key-bans-per-ip.test.ts);
 * before that, the address itself, unless IP bans are off or the address is loopback and the per-IP caps do
 * not apply there. An address whose keys keep being banned is banned too (key-ban-tally.ts), so a sender that
 * comes back under fresh keys is cut off all the same. Pure: the time comes in with every call.
 */
import type { ErrorCode } from '../errors.ts';
import { PeerScores, peerScoreDefaults } from './peer-score.ts';
import { KeyBanTally } from './key-ban-tally.ts';
import { isLoopback, penaltyFor } from './offences.ts';

/** The limits and switches of a ledger (the node's). */
export interface OffenceLedgerOptions {
  /** Score at which a key or an address is banned (NodeLimits.banScore). */
  banScore: number;
  /** How long a ban lasts, and the window of key bans per address, in ms (NodeLimits.banMs). */
  banMs: number;
  /** Key bans within banMs that ban their address; 0: never (NodeLimits.keyBansPerIpMax). */
  keyBansPerIpMax: number;
  /** Whether offences of peers not yet proven score their address (NodeOptions.banIps). */
  banIps: boolean;
  /** Whether loopback addresses are scored too (NodeOptions.ipLimitsOnLoopback). */
  ipLimitsOnLoopback: boolean;
}

/** The offender, as the connection knows it. */
export interface Offender {
  /** The peer's id (public key hex); empty before its identity arrived. */
  peerId: string;
  /** Whether the peer completed the handshake once (it proved its key). */
  proven: boolean;
  /** The peer's address, normalized. */
  ip: string;
}

/** What an offence cost: the score it left, whether that banned the offender, and whether its address too. */
export interface OffenceCharge {
  score: number;
  banned: boolean;
  /** The address was banned by this offence: its keys were banned keyBansPerIpMax times within banMs. */
  ipBanned: boolean;
}

/** The scores of keys and addresses, and the tally of key bans per address. */
export class OffenceLedger {
  /** Scores by peer id. */
  readonly keys: PeerScores;
  /** Scores by address. */
  readonly ips: PeerScores;
  /** Keys banned per address, so bans follow the address of a sender that comes back under fresh keys. */
  readonly #keyBans: KeyBanTally;

  constructor(private readonly o: OffenceLedgerOptions) {
    const scoreOpts = { banScore: o.banScore, banMs: o.banMs };
    this.keys = new PeerScores(scoreOpts);
    this.ips = new PeerScores(scoreOpts);
    this.#keyBans = new KeyBanTally({ keyBansPerIpMax: o.keyBansPerIpMax, windowMs: o.banMs, ipsMax: peerScoreDefaults.scoredPeersMax });
  }

  /** Charges an offence with this code to its key or its address (module comment) at `now`. */
  charge(offender: Offender, code: ErrorCode, now: number): OffenceCharge {
    const points = penaltyFor(code);
    const { peerId, ip } = offender;
    if (peerId && offender.proven) {
      const wasBanned = this.keys.isBanned(peerId, now);
      const result = this.keys.penalize(peerId, points, now);
      // Counted once per ban: offences of a key already banned (frames still in flight) are not new bans.
      const ipBanned = result.banned && !wasBanned && this.#ipScored(ip) && this.#keyBans.keyBanned(ip, now) && this.#banIp(ip, now);
      return { ...result, ipBanned };
    }
    if (this.#ipScored(ip)) return { ...this.ips.penalize(ip, points, now), ipBanned: false };
    return { score: 0, banned: false, ipBanned: false };
  }

  /** Misbehaviour score of a peer id or address. */
  score(key: string, now: number): number {
    return Math.max(this.keys.score(key, now), this.ips.score(key, now));
  }

  /** Whether a peer id or address is banned at `now`. */
  isBanned(key: string, now: number): boolean {
    return this.keys.isBanned(key, now) || this.ips.isBanned(key, now);
  }

  /** Whether offences from `ip` score the address itself (banIps; loopback only with ipLimitsOnLoopback). */
  #ipScored(ip: string): boolean {
    return this.o.banIps && (this.o.ipLimitsOnLoopback || !isLoopback(ip));
  }

  /** Bans an address whose keys were banned keyBansPerIpMax times within banMs; false when it already was. */
  #banIp(ip: string, now: number): boolean {
    if (this.ips.isBanned(ip, now)) return false;
    this.ips.penalize(ip, this.o.banScore, now);
    return true;
  }
}
