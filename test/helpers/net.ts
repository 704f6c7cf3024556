/** Helpers for real-socket tests on loopback: start nodes, wait for conditions, always tear down. */
import { type StrongcastNode } from '../../src/core/node.ts';
import { createNode } from '../../src/create-node.ts';
import type { NodeOptions } from '../../src/core/node-options.ts';
import { plumtreeDefaults } from '../../src/gossip/plumtree.ts';

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

/**
 * Resolves after `ms`. Not for synchronisation: wait for the event with `waitFor`, and watch that nothing more
 * happens with `holdsFor`. What is left is pacing (spacing broadcasts apart) and observation windows that are
 * themselves the quantity under test (frames per second of an idle link).
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * How long a test watches, after the event it waited for, for a late frame one hop away: a reply, a second
 * relay of a duplicate, a copy a peer should not have sent. On loopback a frame crosses a link in well under a
 * millisecond, and a sender holds it at most writeCoalesceMs (2 ms by default) in its write batch, so such a
 * frame shows within a few ms of the node handling what caused it. 200 ms leaves room for a loaded machine
 * (two shared cores, other test files running beside this one).
 */
export const hopSettleMs = 200;

/**
 * How long a test watches for a late copy of a broadcast in tree mode, after every node delivered it. Besides
 * the eager links (one hop each, hopSettleMs), a copy can come from the tree's repair: an announcement (IHAVE)
 * waits up to lazyFlushMs (100 ms) in its queue, its receiver asks (GRAFT) graftTimeoutMs (150 ms) later if the
 * broadcast has not come, and asks the next announcer graftRetryMs (100 ms) after that, whose answer is one
 * more hop. 350 ms of protocol timers plus hopSettleMs for the hops and the machine: 550 ms.
 */
export const treeSettleMs = plumtreeDefaults.lazyFlushMs + plumtreeDefaults.graftTimeoutMs + plumtreeDefaults.graftRetryMs + hopSettleMs;

/** Whether `cond` stays true for `ms`, checked every 5 ms; false at the first check where it does not. */
export async function staysTrue(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (!cond()) return false;
    if (Date.now() >= end) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Checks that `cond` holds now and keeps holding for `ms` (checked every 5 ms): for "exactly once" and "never"
 * after the event a test waited for. Fails with `what` at the first check where it does not.
 */
export async function holdsFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  if (!(await staysTrue(cond, ms))) throw new Error(`${what}: no longer true within ${ms} ms`);
}

/**
 * Waits until `snapshot()` has kept one value for `quietMs` (checked every 10 ms): the traffic it sums has
 * settled, late copies included. Fails with `what` after `timeoutMs`.
 */
export async function waitQuiet(snapshot: () => string | number, quietMs: number, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let value = snapshot();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    const now = Date.now();
    const v = snapshot();
    if (v !== value) {
      value = v;
      since = now;
    } else if (now - since >= quietMs) {
      return;
    }
    if (now > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} to settle (last value ${String(value)})`);
  }
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

