/**
 * The attack suite's catalogue: every attack by name, in the order a run takes them, with what it does and
 * whether its input reaches the victim before the handshake completes (the goal on work per attacker CPU is
 * judged only for those). Also the run's timing, full and quick. Pure: no sockets, no processes.
 */

/** Every attack, in run order. `baseline` is the control: the same measurements with no attack. */
export const attackNames = [
  'baseline',
  'silent-sockets',
  'stalled-handshakes',
  'eclipse',
  'relay-rate',
  'reflection',
  'decode-pre',
  'decode-preauth',
  'decode-post',
  'ihave-flood',
  'graft-flood',
  'getpeers-flood',
  'getchain-flood',
  'prune-flood',
  'big-frames',
  'deep-nesting',
  'badsig-fresh-keys',
] as const;

/** The name of one attack. */
export type AttackName = (typeof attackNames)[number];

/** What the suite knows of one attack. */
export interface AttackSpec {
  name: AttackName;
  /** One line: what the attacker does. */
  what: string;
  /** Its input reaches the victim before any handshake is complete (judged on work per attacker CPU). */
  preHandshake: boolean;
  /** Time from the start of the attack to the new honest node and the probes, in ms: the attack is in full force by then. */
  rampMs: number;
  /** The attack restarts the honest neighbour H2 once it is in force (a restarted node rejoining). */
  restartsNeighbour: boolean;
}

const spec = (name: AttackName, what: string, preHandshake = false, rampMs = 1000, restartsNeighbour = false): AttackSpec => ({ name, what, preHandshake, rampMs, restartsNeighbour });

/** Every attack's description, by name. */
export const attackSpecs: Readonly<Record<AttackName, AttackSpec>> = {
  baseline: spec('baseline', 'no attack: the measurements themselves, for comparison'),
  'silent-sockets': spec('silent-sockets', '80 TCP connections that never send a byte, reopened as soon as the victim closes one', true),
  'stalled-handshakes': spec('stalled-handshakes', '80 connections that send a valid first handshake message (replayed, no crypto on our side) and then stall', true),
  eclipse: spec('eclipse', '30 sybils (fresh keys) that complete the handshake and only answer pings, replaced as they are cut; then H2 restarts and must rejoin', false, 1500, true),
  'relay-rate': spec('relay-rate', '6 sybils x 1,500 signed broadcasts/s (each under the per-peer rate of 5,000), from 5,000 origins, signed in advance'),
  reflection: spec('reflection', '2 sybils x 1,000 unsolicited peers replies/s of 64 attacker-chosen addresses (16 of them listening sinks), fresh key when banned'),
  'decode-pre': spec('decode-pre', 'before any key: 1 KiB handshake frames of junk, 1 KiB msgpack maps of ~200 entries, and replayed valid first messages, 16 connections at a time', true),
  'decode-preauth': spec('decode-preauth', 'a 1 MiB sealed frame of ~209k msgpack map entries right behind a last handshake message whose identity proof is forged, 4 at a time', true),
  'decode-post': spec('decode-post', 'after a complete handshake (fresh key): one 1 MiB frame of ~209k msgpack map entries per connection, 4 at a time'),
  'ihave-flood': spec('ihave-flood', '4 sybils sending IHAVE frames of 1,024 random ids as fast as the victim reads'),
  'graft-flood': spec('graft-flood', '4 sybils broadcast 2 messages of 256 KiB each, then GRAFT all 8 ids again and again, reading the replies'),
  'getpeers-flood': spec('getpeers-flood', '4 sybils sending getpeers as fast as the victim reads'),
  'getchain-flood': spec('getchain-flood', '4 sybils sending getchain as fast as the victim reads (a plain node answers none)'),
  'prune-flood': spec('prune-flood', '4 sybils sending PRUNE for the probe origin and random origins as fast as the victim reads'),
  'big-frames': spec('big-frames', '4 sybils sending legal 1 MiB frames (a chain reply of 4 blocks) as fast as the victim reads'),
  'deep-nesting': spec('deep-nesting', 'a 1 MiB frame of nested arrays per connection (fresh key), 4 at a time'),
  'badsig-fresh-keys': spec('badsig-fresh-keys', 'broadcasts with bad signatures, 2 per fresh key (the ban comes at the second), 8 connections at a time'),
};

/** The attacks a quick run takes: one of each kind of harm (slots, peers, rate, addresses, decoding, keys). */
export const quickAttacks: readonly AttackName[] = ['baseline', 'silent-sockets', 'eclipse', 'relay-rate', 'reflection', 'decode-post', 'badsig-fresh-keys'];

/** How long each part of one attack's measurement takes. */
export interface RunTiming {
  /** The victim's CPU with no attack (probes only) is measured over this long, in ms. */
  baselineMs: number;
  /** The shortest attack window, in ms (it also lasts until the probes are done). */
  attackMsMin: number;
  /** Probes sent from H1 during the attack, one every probeIntervalMs. */
  probeCount: number;
  probeIntervalMs: number;
  /** How long after the last probe a probe may still arrive, in ms. */
  probeGraceMs: number;
  /** How long a new honest node is given to join before it counts as not joined, in ms. */
  joinWaitMs: number;
  /** Hard bound of one attack, set-up and teardown included, in ms. */
  attackHardMs: number;
}

/** The timing of a full run and of a quick one. */
export function runTiming(quick: boolean): RunTiming {
  return quick
    ? { baselineMs: 600, attackMsMin: 3000, probeCount: 15, probeIntervalMs: 100, probeGraceMs: 1000, joinWaitMs: 3000, attackHardMs: 30_000 }
    : { baselineMs: 1500, attackMsMin: 7000, probeCount: 40, probeIntervalMs: 100, probeGraceMs: 2000, joinWaitMs: 8000, attackHardMs: 60_000 };
}

/** The attacks a run takes, in order: `only` when given (in catalogue order), else all, or the quick set. */
export function attacksToRun(quick: boolean, only: readonly AttackName[] | null): AttackSpec[] {
  const chosen = only ?? (quick ? quickAttacks : attackNames);
  return attackNames.filter((n) => chosen.includes(n)).map((n) => attackSpecs[n]);
}

/** True when `s` names an attack. */
export function isAttackName(s: string): s is AttackName {
  return (attackNames as readonly string[]).includes(s);
}
