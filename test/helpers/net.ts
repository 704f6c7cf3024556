/** Helpers for real-socket tests on loopback: start nodes, wait for conditions, always tear down. */
import { type StrongcastNode } from '../../src/core/node.ts';
import { createNode } from '../../src/create-node.ts';
import type { NodeOptions } from '../../src/core/node-options.ts';

/** Options that keep loopback tests fast: short timers, loopback only. */
export const fastOptions: NodeOptions = {
  host: '127.0.0.1',
  port: 0,
  maintainIntervalMs: 100,
  reconnectBaseMs: 50,
  reconnectMaxMs: 500,
  handshakeTimeoutMs: 2000,
  networkId: 'strongcast-test',
};

/** Starts `n` nodes; `peersOf(i, ports)` names whom node i dials. */
export async function startNodes(n: number, peersOf: (i: number, ports: number[]) => number[], extra: (i: number) => NodeOptions = () => ({})): Promise<StrongcastNode[]> {
  const nodes: StrongcastNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = createNode({ ...fastOptions, ...extra(i) });
    await node.start();
    nodes.push(node);
  }
  const ports = nodes.map((x) => x.listenPort);
  await Promise.all(nodes.flatMap((node, i) => peersOf(i, ports).map((p) => node.connect(`127.0.0.1:${p}`).catch(() => undefined))));
  return nodes;
}

/** Stops every node, whatever state it is in. */
export async function stopAll(nodes: StrongcastNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n.stop()));
}

/** Polls `cond` until true; fails with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Records every delivery of every node: deliveries[i] is the list of message ids node i delivered. */
export function recordDeliveries(nodes: StrongcastNode[]): { ids: string[][]; hops: Map<string, number>[] } {
  const ids = nodes.map(() => [] as string[]);
  const hops = nodes.map(() => new Map<string, number>());
  nodes.forEach((node, i) =>
    node.on('message', (m) => {
      ids[i]!.push(m.id);
      hops[i]!.set(m.id, m.hops);
    }),
  );
  return { ids, hops };
}

