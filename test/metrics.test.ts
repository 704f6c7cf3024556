/**
 * /metrics and /health over HTTP against running nodes on loopback: the values move when broadcasts happen,
 * health answers 200 when serving and 503 when not (no peers past the limit, shutting down), the server keeps
 * to its connection limit, and the frames-by-type counters add up to what the connections counted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import type { StrongcastNode } from '../src/core/node.ts';
import { createMainThreadVerifier } from '../src/crypto/main-thread-verifier.ts';
import { NODE_MESSAGE_TYPES } from '../src/core/traffic.ts';
import { healthDefaults, healthVerdict, type HealthFacts } from '../src/observe/health.ts';
import { metricsServerDefaults, startMetricsServer, type MetricsServer } from '../src/observe/metrics-server.ts';
import { startNodes, stopAll, waitFor } from './helpers/net.ts';

/** One sample of a scrape: `name{labels} value`, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(server: MetricsServer): Promise<string> {
  const r = await fetch(`${server.url}/metrics`);
  assert.is(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  return r.text();
}

async function health(server: MetricsServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${server.url}/health`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

test('metrics move with a broadcast: delivered, frames by type, bytes, peers by direction', async () => {
  const pool = createMainThreadVerifier({});
  const nodes = await startNodes(2, (i, ports) => (i === 1 ? [ports[0]!] : []), (i) => (i === 0 ? { verifier: pool } : {}));
  let server: MetricsServer | null = null;
  try {
    const [a, b] = nodes as [StrongcastNode, StrongcastNode];
    server = await startMetricsServer({ node: a, pool, port: 0 });
    await waitFor(() => a.peers().length === 1, 'a has its peer');
    const before = await scrape(server);
    assert.is(sample(before, 'strongcast_broadcasts_delivered_total'), 0);
    assert.is(sample(before, 'strongcast_peers{direction="inbound"}'), 1);
    assert.is(sample(before, 'strongcast_peers{direction="outbound"}'), 0);
    assert.ok(sample(before, 'process_resident_memory_bytes')! > 0, 'process memory');
    assert.ok(sample(before, 'nodejs_eventloop_lag_p99_seconds') !== undefined, 'event-loop delay');
    const gossipBefore = sample(before, 'strongcast_received_frames_total{type="gossip"}')!;
    const gossipBytesBefore = sample(before, 'strongcast_received_bytes_total{type="gossip"}')!;
    const sentGossipBytesBefore = b.stats().bytesByType.out.gossip;
    await b.broadcast('chat', 'counted');
    await waitFor(() => a.counters.delivered === 1, 'a delivers');
    const after = await scrape(server);
    assert.is(sample(after, 'strongcast_broadcasts_delivered_total'), 1);
    assert.is(sample(after, 'strongcast_received_frames_total{type="gossip"}'), gossipBefore + 1);
    // The one gossip frame, counted at its size on the wire by both ends: what b sent is what a read.
    const frameBytes = b.stats().bytesByType.out.gossip - sentGossipBytesBefore;
    assert.ok(frameBytes > 4 + 64 + 32, `a broadcast's frame holds at least its header, signature and origin: ${frameBytes}`);
    assert.is(sample(after, 'strongcast_received_bytes_total{type="gossip"}'), gossipBytesBefore + frameBytes);
    assert.ok(sample(after, 'strongcast_verify_requested_signatures_total')! >= 1, 'the verifier was asked');
    assert.match(after, /# TYPE strongcast_received_frames_total counter/);
    assert.match(after, new RegExp(`strongcast_info\\{id="${a.id}",network="strongcast-test"\\} 1`));
  } finally {
    await server?.stop();
    await stopAll(nodes);
    await pool.close();
  }
});

test('an eviction is counted (strongcast_evictions_total); verification overload starts at 0', async () => {
  const nodes = await startNodes(4, (i, ports) => (i === 0 ? [] : [ports[0]!]), (i) => (i === 0 ? { maxPeers: 2, targetPeers: 1, peerExchange: false } : { peerExchange: false }));
  let server: MetricsServer | null = null;
  try {
    const a = nodes[0]!;
    server = await startMetricsServer({ node: a, port: 0 });
    await waitFor(() => a.evictions >= 1 && a.peers().length === 2, 'the third inbound peer evicted one');
    const text = await scrape(server);
    assert.is(sample(text, 'strongcast_evictions_total'), a.evictions);
    assert.is(sample(text, 'strongcast_overloaded_dropped_total'), 0);
  } finally {
    await server?.stop();
    await stopAll(nodes);
  }
});

test('frames and bytes by type plus "other" add up to what the connections counted', async () => {
  const nodes = await startNodes(3, (i, ports) => (i > 0 ? [ports[0]!] : []));
  try {
    await waitFor(() => nodes[0]!.peers().length === 2, 'star formed');
    for (const n of nodes) await n.broadcast('chat', `from ${n.id.slice(0, 4)}`);
    await waitFor(() => nodes.every((n) => n.counters.delivered === 2), 'everyone delivers the other two');
    for (const n of nodes) {
      const s = n.stats();
      const sumIn = NODE_MESSAGE_TYPES.reduce((x, t) => x + s.framesByType.in[t], 0);
      const sumOut = NODE_MESSAGE_TYPES.reduce((x, t) => x + s.framesByType.out[t], 0);
      assert.ok(s.framesByType.in.gossip >= 2, 'two broadcasts came in');
      assert.ok(s.framesByType.out.getpeers >= 1, 'each node asked for peers');
      assert.ok(sumIn <= s.framesIn && sumOut <= s.framesOut, `typed counts within the totals: ${sumIn}/${s.framesIn} ${sumOut}/${s.framesOut}`);
      // Each connection's own frames are what is left: its handshake messages (two from the dialer, one and the confirming ping from the listener).
      assert.ok(s.framesOut - sumOut >= 2 * n.peers().length, 'handshake frames are the rest');
      const bytesIn = NODE_MESSAGE_TYPES.reduce((x, t) => x + s.bytesByType.in[t], 0);
      const bytesOut = NODE_MESSAGE_TYPES.reduce((x, t) => x + s.bytesByType.out[t], 0);
      assert.ok(s.bytesByType.in.gossip > 2 * (4 + 64), 'two broadcasts came in, each a frame with a signature');
      assert.ok(s.bytesByType.out.getpeers >= 4 * s.framesByType.out.getpeers, 'every getpeers frame counted with its length header at least');
      assert.ok(bytesIn < s.bytesIn && bytesOut < s.bytesOut, `typed bytes within the totals, the handshake's bytes the rest: ${bytesIn}/${s.bytesIn} ${bytesOut}/${s.bytesOut}`);
    }
  } finally {
    await stopAll(nodes);
  }
});

test('/health: 200 with a peer, 503 once alone for longer than noPeersMsMax, 503 while shutting down', async () => {
  const nodes = await startNodes(2, (i, ports) => (i === 1 ? [ports[0]!] : []));
  let server: MetricsServer | null = null;
  try {
    const [a, b] = nodes as [StrongcastNode, StrongcastNode];
    const noPeersMsMax = 200;
    server = await startMetricsServer({ node: a, port: 0, noPeersMsMax });
    await waitFor(() => a.peers().length === 1, 'a has its peer');
    const ok = await health(server);
    assert.is(ok.status, 200);
    assert.equal(ok.body, { ok: true, reasons: [], listening: true, peers: 1, height: null, syncing: false, lastDecidedAt: null, divergences: 0, storeFailed: false });
    const aloneAt = Date.now();
    await b.stop();
    await waitFor(() => a.peers().length === 0, 'a alone');
    // Within the limit the node still serves (a restart of its only peer is not an outage).
    if (Date.now() - aloneAt < noPeersMsMax / 2) assert.is((await health(server)).status, 200);
    await waitFor(() => Date.now() - aloneAt > noPeersMsMax + 50, 'past the limit', 2000);
    const alone = await health(server);
    assert.is(alone.status, 503);
    assert.is(alone.body.ok, false);
    assert.match(String((alone.body.reasons as string[])[0]), /^no peers for \d+ ms \(more than 200\)$/);
    server.markStopping();
    const stopping = await health(server);
    assert.is(stopping.status, 503);
    assert.ok((stopping.body.reasons as string[]).includes('shutting down'));
    assert.is(stopping.body.listening, false);
  } finally {
    await server?.stop();
    await stopAll(nodes);
  }
});

test('healthVerdict at its edges: exactly noPeersMsMax alone still serves, one ms more does not; catching up is 503', () => {
  const facts: HealthFacts = { listening: true, stopping: false, peers: 0, noPeersSinceMs: 1000, height: 3, syncing: false, lastDecidedAtMs: 0, divergences: 0, storeFailed: false };
  const max = healthDefaults.noPeersMsMax;
  assert.is(healthVerdict(facts, 1000 + max).status, 200);
  assert.is(healthVerdict(facts, 1000 + max + 1).status, 503);
  assert.equal(healthVerdict({ ...facts, noPeersSinceMs: null, syncing: true }, 5000).body.reasons, ['catching up on missed blocks']);
  assert.equal(healthVerdict({ ...facts, noPeersSinceMs: null, listening: false }, 5000).body.reasons, ['not listening']);
  assert.is(healthVerdict({ ...facts, noPeersSinceMs: null }, 5000).body.lastDecidedAt, '1970-01-01T00:00:00.000Z');
});

test('healthVerdict: a chain that diverged is 503 from the first alarm on, live or catching up, and says why', () => {
  const facts: HealthFacts = { listening: true, stopping: false, peers: 3, noPeersSinceMs: null, height: 7, syncing: false, lastDecidedAtMs: 0, divergences: 0, storeFailed: false };
  assert.is(healthVerdict(facts, 5000).status, 200);
  const one = healthVerdict({ ...facts, divergences: 1 }, 5000);
  assert.is(one.status, 503);
  assert.is(one.body.divergences, 1);
  assert.equal(one.body.reasons, ['this chain diverged from the one f+1 validators hold (1 alarm; see the README, "Stalls and forks")']);
  assert.is(healthVerdict({ ...facts, divergences: 2, syncing: true }, 5000).body.reasons.length, 2, 'catching up on a forked chain: both reasons');
});

test('healthVerdict: a chain store that failed is 503 from then on, and says what to do', () => {
  const facts: HealthFacts = { listening: true, stopping: false, peers: 3, noPeersSinceMs: null, height: 7, syncing: false, lastDecidedAtMs: 0, divergences: 0, storeFailed: false };
  assert.is(healthVerdict(facts, 5000).status, 200);
  const failed = healthVerdict({ ...facts, storeFailed: true }, 5000);
  assert.is(failed.status, 503);
  assert.is(failed.body.storeFailed, true);
  assert.equal(failed.body.reasons, ['the chain store failed: decisions are kept in memory only and not reported (restart the node; see the README, "Durable state and catch-up")']);
});

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Whether the server closes `s` (it was over the limit) rather than answering a request on it. */
function answers(s: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    let data = '';
    s.on('data', (d: Buffer) => {
      data += d.toString();
      if (data.includes('\r\n\r\n')) resolve(data.startsWith('HTTP/1.1 200'));
    });
    s.on('close', () => resolve(data.startsWith('HTTP/1.1 200')));
    s.on('error', () => resolve(false));
    s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

test('the server holds at most connectionsMax connections: the last one allowed answers, one more is closed', async () => {
  const nodes = await startNodes(1, () => []);
  const connectionsMax = 4;
  const sockets: Socket[] = [];
  let server: MetricsServer | null = null;
  try {
    server = await startMetricsServer({ node: nodes[0]!, port: 0, connectionsMax, noPeersMsMax: 60_000 });
    for (let i = 0; i < connectionsMax - 1; i++) sockets.push(await openSocket(server.port));
    const last = await openSocket(server.port);
    sockets.push(last);
    assert.ok(await answers(last), `connection ${connectionsMax} is served`);
    const over = await openSocket(server.port);
    sockets.push(over);
    assert.not.ok(await answers(over), `connection ${connectionsMax + 1} is closed`);
    assert.is(metricsServerDefaults.connectionsMax, 16);
  } finally {
    for (const s of sockets) s.destroy();
    await server?.stop();
    await stopAll(nodes);
  }
});

test('a request not finished within requestTimeoutMs is answered 408 and closed; one still within it is not', async () => {
  const nodes = await startNodes(1, () => []);
  const requestTimeoutMs = 400;
  let server: MetricsServer | null = null;
  let s: Socket | null = null;
  try {
    server = await startMetricsServer({ node: nodes[0]!, port: 0, requestTimeoutMs });
    s = await openSocket(server.port);
    const started = Date.now();
    let reply = '';
    let closedAfterMs = -1;
    s.on('data', (d: Buffer) => (reply += d.toString()));
    s.on('close', () => (closedAfterMs = Date.now() - started));
    s.write('GET /health HTTP/1.1\r\nHost: x\r\n'); // the headers never end
    await new Promise((r) => setTimeout(r, requestTimeoutMs / 2));
    assert.is(closedAfterMs, -1, 'open halfway to the limit');
    // Node's own check runs every 30 s unless told otherwise: 5 s is far inside that, far outside a quarter of 400 ms.
    await waitFor(() => closedAfterMs >= 0, 'closed soon after the limit', 5000);
    assert.ok(closedAfterMs >= requestTimeoutMs, `closed at ${closedAfterMs} ms, not before the limit`);
    assert.match(reply, /^HTTP\/1\.1 408/);
    assert.is(metricsServerDefaults.requestTimeoutMs, 10_000);
  } finally {
    s?.destroy();
    await server?.stop();
    await stopAll(nodes);
  }
});

test('only GET /metrics and /health: other paths 404, other methods 405; stop() twice is safe and frees the port', async () => {
  const nodes = await startNodes(1, () => []);
  try {
    const server = await startMetricsServer({ node: nodes[0]!, port: 0 });
    assert.is((await fetch(`${server.url}/`)).status, 404);
    assert.is((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
    await server.stop();
    await server.stop();
    const again = await startMetricsServer({ node: nodes[0]!, port: server.port });
    await again.stop();
  } finally {
    await stopAll(nodes);
  }
});

test('bad options are refused, naming the option; a port in use is ERR_PORT_IN_USE', async () => {
  const nodes = await startNodes(1, () => []);
  try {
    const node = nodes[0]!;
    for (const [options, message] of [
      [{ port: -1 }, 'options.port must be an integer in 0..65535'],
      [{ connectionsMax: 0 }, 'options.connectionsMax must be a positive integer'],
      [{ requestTimeoutMs: 1.5 }, 'options.requestTimeoutMs must be a positive integer'],
      [{ noPeersMsMax: 0 }, 'options.noPeersMsMax must be a positive integer'],
    ] as const) {
      const e = await startMetricsServer({ node, ...options }).then(() => null, (x: unknown) => x as { code: string; message: string });
      assert.is(e?.code, 'ERR_INVALID_OPTION');
      assert.is(e?.message, message);
    }
    const first = await startMetricsServer({ node, port: 0 });
    const taken = await startMetricsServer({ node, port: first.port }).then(() => null, (x: unknown) => x as { code: string });
    await first.stop();
    assert.is(taken?.code, 'ERR_PORT_IN_USE');
  } finally {
    await stopAll(nodes);
  }
});

test.run();
