/**
 * How much each kind of misbehaviour costs a peer (scores in peer-score.ts; at banScore it is banned).
 */
import type { ErrorCode } from '../errors.ts';
import { penalties } from './peer-score.ts';

/**
 * Offences that the node scores lightly: they happen to honest peers under load or clock skew (a reply that
 * arrives just after our timeout is unsolicited too; a flood of them still adds up to a ban).
 */
const mildOffences: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ERR_TOO_FEW_SIGNATURES', 'ERR_INSTANCE_OVER', 'ERR_TOO_EARLY', 'ERR_UNSOLICITED']);

/** Penalty points for an offence with this code. */
export function penaltyFor(code: ErrorCode): number {
  switch (code) {
    case 'ERR_RATE_LIMITED':
      return penalties.rateLimited;
    case 'ERR_BAD_SIGNATURE':
    case 'ERR_BAD_CHAIN':
      return penalties.badSignature;
    case 'ERR_BAD_HANDSHAKE':
    case 'ERR_BAD_PROOF':
      return penalties.badHandshake;
    case 'ERR_SLOW_PEER':
      return penalties.slowPeer;
    case 'ERR_BAD_MESSAGE':
      return penalties.badMessage;
    default:
      return mildOffences.has(code) ? 1 : penalties.badFrame;
  }
}

/** Loopback peers are never IP-banned: banning 127.0.0.1 would only cut this machine off from itself. */
export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}
