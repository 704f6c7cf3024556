/**
 * Where a node meets the machine: `createNode` gives the node core (core/node.ts) TCP, the system clock and
 * the system's randomness, unless the options bring their own (the simulator brings an in-memory network,
 * virtual clocks and a seeded generator).
 */
import { StrongcastNode } from './core/node.ts';
import type { NodeOptions } from './core/node-options.ts';
import { systemClock } from './io/system-clock.ts';
import { systemRandom } from './io/system-random.ts';
import { tcpTransport } from './io/tcp-transport.ts';

/** Creates a node (not yet started). */
export function createNode(options: NodeOptions = {}): StrongcastNode {
  return new StrongcastNode(options, {
    transport: options.transport ?? tcpTransport({ listenHost: options.host }),
    clock: options.clock ?? systemClock(options.now),
    random: options.random ?? systemRandom,
  });
}
