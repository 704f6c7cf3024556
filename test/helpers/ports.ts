/**
 * Ports a test must know before anything listens on them. Everything else listens on port 0 and reads the
 * port it got (node.listenPort, the CLI's `listening` event). Some ports cannot be left to the system:
 *
 * - `strongcast init --base-port P` writes validator i's port P+i into the genesis, and the validator
 *   processes then listen on exactly those, so a CLI network needs a run of consecutive ports up front;
 * - a node restarted on the port its peers were configured with must bind the same port again.
 *
 * Such ports come from below the kernel's ephemeral range. The system hands out ports from that range only
 * (to port-0 listeners and to the local end of every outgoing connection), so a port below it stays free
 * between our check and its use unless some test names it explicitly: a random block out of about 20 000
 * ports, held open until just before use. That last chance is what `withPortBlock` retries on.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Lowest port tried: clear of the well-known and most registered service ports. */
const portsLow = 10_000;

/** The first port of the kernel's ephemeral range (Linux reads it from /proc; 32768 is its default and below the IANA range other systems use). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > portsLow + 1000) return low;
  } catch {
    // not Linux
  }
  return 32_768;
}

function listenOn(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(s));
  });
}

function closeAll(servers: Server[]): Promise<void> {
  return Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
}

/** `count` consecutive loopback ports, bound by us until `release()`. */
export interface PortBlock {
  base: number;
  /** Frees the ports for their real owner; call it right before that starts. Harmless twice. */
  release(): Promise<void>;
}

/**
 * Reserves `count` consecutive free loopback ports below the ephemeral range, from a random start (so test
 * files running side by side rarely pick the same block), by listening on each until `release()`.
 */
export async function reservePorts(count: number): Promise<PortBlock> {
  const high = ephemeralLow() - count;
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = portsLow + Math.floor(Math.random() * (high - portsLow));
    const held: Server[] = [];
    for (let p = base; p < base + count; p++) {
      const s = await listenOn(p);
      if (!s) break;
      held.push(s);
    }
    if (held.length === count) {
      let released: Promise<void> | null = null;
      return { base, release: () => (released ??= closeAll(held)) };
    }
    await closeAll(held);
  }
  throw new Error(`no ${count} consecutive free ports below ${high + count}`);
}

/** A port of the block was taken after all between our release and its owner's bind (ERR_PORT_IN_USE). */
export class PortTaken extends Error {}

/**
 * Runs `use` on a fresh block of `count` ports, again on a new block when it throws PortTaken (at most
 * `attempts` times in all). `use` must release the block right before its processes bind, and clean up
 * what it started before it throws.
 */
export async function withPortBlock<T>(count: number, use: (block: PortBlock) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const block = await reservePorts(count);
    try {
      return await use(block);
    } catch (e) {
      if (!(e instanceof PortTaken) || attempt >= attempts) throw e;
      console.log(`  ports ${block.base}..${block.base + count - 1} were taken before use (${e.message}); again on other ports`);
    } finally {
      await block.release();
    }
  }
}
