/**
 * Where the processes of a load run live. On loopback (the default) every process shares 127.0.0.1 and one
 * clock. With `--hosts` each validator, observer and Byzantine process gets a Linux network namespace of its
 * own with its own address on one bridge (10.64.0.0/10, each process in a /16 of its own, as separate
 * machines would be: nodes limit connections and handshakes per /16), created here and removed at the end, so
 * peers see each other's real addresses (IP scoring, peer exchange) and nothing leaves the namespaces; each process's
 * clock reads off by its own offset within the skew bound (bench/clock-offset.mjs); and every link has
 * latency, jitter and loss. The kernel has no netem qdisc, so the links are shaped in user space at each
 * process's socket writes (bench/link-shaping.mjs): each direction of a link is delayed by its sender.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchNodeFlags } from '../node-flags.ts';
import { Prng } from './prng.ts';

const clockOffsetModule = new URL('../clock-offset.mjs', import.meta.url).href;
const linkShapingModule = new URL('../link-shaping.mjs', import.meta.url).href;

/** How the links of a multi-host run are shaped, in ms (and a loss probability). */
export const linkShape = { delayMs: 12, jitterMs: 10, loss: 0.01, retransmitMs: 200 } as const;
/** Largest clock difference between two processes of a multi-host run, in ms (NTP over a LAN or WAN). */
export const hostsClockSkewMsMax = 40;
/**
 * The addresses of a multi-host run: one bridge on 10.64.0.0/10; process i has 10.(64 + i).0.1, a /16 of its
 * own (the network group nodes count connections and handshakes by), and the flooder's extra addresses share
 * 10.120.0.0/16, as an attacker renting many addresses in one block would.
 */
const subnetPrefix = '10.';
const subnetMaskBits = 10;
const processesMax = 56;
const aliasGroup = '10.120.';

/** How to start a process of index i: the command, the arguments before node's own, the environment. */
export interface Launch {
  command: string;
  prefix: string[];
  env: NodeJS.ProcessEnv;
}

/** Where a run's processes live. */
export interface Hosting {
  readonly kind: 'loopback' | 'hosts';
  /** The address process i listens on (validators 0..n-1, then observers, then the flooder). */
  address(i: number): string;
  /** The port process i listens on. */
  port(i: number): number;
  /** How to start process i (node is the command, or the namespace's runner). */
  launch(i: number): Launch;
  /** Each process's clock offset, in ms. */
  clockOffsetMs(i: number): number;
  /**
   * More addresses for process i to send from (an attacker holds many: with real addresses, nodes ban
   * misbehaving IPs, and one address would end the flood); none on loopback, which nodes never ban.
   */
  addAliases(i: number, count: number): string[];
  /**
   * Addresses for the attack suite's attacker (process i) to send from: `sets` sets of `count` each, two per
   * network group (/16), in groups no other process of the run has, so per-IP and per-group limits see them
   * apart. Every set has addresses of its own in the same groups: each attack sends from fresh addresses, as
   * an attacker that rotates them would, so IP bans earned by one attack do not stop the next.
   */
  attackerSources(i: number, count: number, sets: number): string[][];
  setUp(): void;
  /** Removes what setUp made; safe twice. */
  tearDown(): void;
  /** One line per fact worth printing at the start of a run. */
  describe(): string[];
}

/**
 * First /16 of loopback addresses of their own (`ownGroups`): process i listens and dials from
 * 127.(128 + i).0.1, apart from the attack suite's sources (127.16 to 127.79) and from 127.0.
 */
const loopbackOwnGroupFirst = 128;

/**
 * Every process on loopback, process i on basePort + i, one clock, no shaping: all on 127.0.0.1, or with
 * `ownGroups` each on an address in a /16 of its own, so that a node with per-IP limits on loopback
 * (`--ip-limits-on-loopback`) counts each process apart, as it would hosts on the internet.
 */
export function loopbackHosting(basePort: number, ownGroups = false): Hosting {
  const address = (i: number) => (ownGroups ? `127.${loopbackOwnGroupFirst + i}.0.1` : '127.0.0.1');
  return {
    kind: 'loopback',
    address,
    port: (i) => basePort + i,
    launch: () => ({ command: process.execPath, prefix: benchNodeFlags(), env: process.env }),
    clockOffsetMs: () => 0,
    addAliases: () => [],
    attackerSources: (_i, count, sets) => attackerAddresses((g, k, j) => `127.${16 + g}.${k * 128 + j}.1`, count, sets),
    setUp: () => undefined,
    tearDown: () => undefined,
    describe: () => [
      ownGroups
        ? `hosting: loopback, process i on 127.${loopbackOwnGroupFirst}+i.0.1 (a /16 each; ports ${basePort}..), one clock, links unshaped`
        : `hosting: loopback (127.0.0.1, ports ${basePort}..), one clock, links unshaped`,
    ],
  };
}

/** Most sets of attacker addresses (one per attack): the third byte of an address holds the set. */
const attackerSetsMax = 128;

/**
 * `sets` sets of `count` addresses, two per /16: address k of set j is `at(group k/2, k % 2, j)`; the two of
 * a group differ in the third byte's top bit, the sets in its low bits. On loopback the groups are 127.16
 * onwards, as the attack suite's own sources (bench/attack/args.ts); no setup: all of 127/8 is loopback.
 */
function attackerAddresses(at: (group: number, k: number, set: number) => string, count: number, sets: number): string[][] {
  if (sets > attackerSetsMax) throw new Error(`at most ${attackerSetsMax} sets of attacker addresses, not ${sets}`);
  return Array.from({ length: sets }, (_, j) => Array.from({ length: count }, (_, k) => at(k >> 1, k & 1, j)));
}

/** Whether this process can make network namespaces (root, and `ip netns` works). */
export function canMakeNamespaces(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * `count` namespaces on one bridge, named after this run's pid (so a concurrent run does not collide), each
 * process with a seeded clock offset in [-σ/2, σ/2] (the two first at the two ends) and shaped links.
 */
export function namespaceHosting(count: number, seed: number): Hosting {
  if (count > processesMax) throw new Error(`--hosts runs at most ${processesMax} processes (one /16 each in 10.64.0.0/10), not ${count}`);
  const tag = `sc${process.pid % 100000}`;
  const hub = `${tag}-hub`;
  const ns = (i: number) => `${tag}-${i}`;
  const rng = new Prng(seed ^ 0x6057);
  const half = Math.floor(hostsClockSkewMsMax / 2);
  const offsets = Array.from({ length: count }, (_, i) => (i === 0 ? -half : i === 1 ? half : rng.int(-half, half)));
  const made: string[] = [];
  const hosting: Hosting = {
    kind: 'hosts',
    address: (i) => `10.${64 + i}.0.1`,
    port: () => 7000,
    clockOffsetMs: (i) => offsets[i] ?? 0,
    addAliases: (i, n) => {
      const out = Array.from({ length: n }, (_, k) => `${aliasGroup}${k >> 8}.${(k & 255) + 1}`);
      for (const a of out) ip(['-n', ns(i), 'addr', 'add', `${a}/${subnetMaskBits}`, 'dev', 'eth0']);
      return out;
    },
    attackerSources: (i, n, sets) => {
      // The groups after every process's own, below the flooder's alias group.
      const first = 64 + count;
      const groups = Math.ceil(n / 2);
      if (first + groups > 120) throw new Error(`--hosts has room for ${120 - first} attacker groups, not ${groups}`);
      const out = attackerAddresses((g, k, j) => `10.${first + g}.${k * 128 + j}.1`, n, sets);
      // One `ip` for all of them (hundreds of addresses).
      execFileSync('ip', ['-n', ns(i), '-batch', '-'], { input: out.flat().map((a) => `addr add ${a}/${subnetMaskBits} dev eth0`).join('\n') + '\n', stdio: ['pipe', 'ignore', 'pipe'] });
      return out;
    },
    launch: (i) => ({
      command: 'ip',
      prefix: ['netns', 'exec', ns(i), process.execPath, ...benchNodeFlags(), '--import', clockOffsetModule, '--import', linkShapingModule],
      env: {
        ...process.env,
        STRONGCAST_CLOCK_OFFSET_MS: String(offsets[i] ?? 0),
        STRONGCAST_LINK_SUBNET: subnetPrefix,
        STRONGCAST_LINK_DELAY_MS: String(linkShape.delayMs),
        STRONGCAST_LINK_JITTER_MS: String(linkShape.jitterMs),
        STRONGCAST_LINK_LOSS: String(linkShape.loss),
        STRONGCAST_LINK_RETRANSMIT_MS: String(linkShape.retransmitMs),
        STRONGCAST_LINK_SEED: String((seed + 1000 * (i + 1)) >>> 0),
      },
    }),
    setUp: () => {
      ip(['netns', 'add', hub]);
      made.push(hub);
      ip(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
      ip(['-n', hub, 'link', 'set', 'br0', 'up']);
      for (let i = 0; i < count; i++) {
        ip(['netns', 'add', ns(i)]);
        made.push(ns(i));
        // The veth pair is made in the hub namespace (names are per namespace), one end moved into the node's.
        ip(['-n', hub, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(i)]);
        ip(['-n', hub, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
        ip(['-n', ns(i), 'addr', 'add', `${hosting.address(i)}/${subnetMaskBits}`, 'dev', 'eth0']);
        ip(['-n', ns(i), 'link', 'set', 'eth0', 'up']);
        ip(['-n', ns(i), 'link', 'set', 'lo', 'up']);
      }
    },
    tearDown: () => {
      // Deleting a namespace removes its end of each veth pair, and with it the other end.
      for (const name of made.splice(0).reverse()) {
        try {
          ip(['netns', 'del', name]);
        } catch {
          // already gone
        }
      }
    },
    describe: () => [
      `hosting: ${count} network namespaces on one bridge (10.64.0.0/${subnetMaskBits}), one address each in a /16 of its own, made and removed by this run`,
      `clocks: offsets within ±${half} ms (${offsets.map((o, i) => `${i}:${o}`).join(' ')})`,
      `links: shaped in user space at each process's socket writes (the kernel has no netem): ${linkShape.delayMs} ms + up to ${linkShape.jitterMs} ms jitter each way, ${linkShape.loss * 100}% of writes retransmitted after ${linkShape.retransmitMs} ms`,
    ],
  };
  return hosting;
}

/** The path of a module next to this one, for spawning. */
export function benchModule(rel: string): string {
  return fileURLToPath(new URL(rel, import.meta.url));
}
