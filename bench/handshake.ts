/**
 * Handshake benchmark: how many encrypted handshakes (Noise XX, the identity signature verified) one node
 * accepts per second.
 *
 * 1. The handshake state machine alone, both sides in this process, no sockets: CPU time per handshake of the
 *    listener's side (the first message read and answered, the last read, the identity signature verified)
 *    and of the dialer's, and the listener's handshakes per second of one core.
 * 2. A node on loopback, accepting: a child process dials it `dialersConcurrent` at a time, each dialer
 *    closing as soon as the node accepted it (its first sealed frame), and dials again. Counted at the node:
 *    connections opened per second, and the node process's CPU time per handshake (which the dialers' CPU,
 *    in the child, does not touch).
 *
 *   npm run bench -- handshake [--quick]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { identityFromSeed } from '../src/crypto/keys.ts';
import { verifySignature } from '../src/crypto/ed25519.ts';
import { createNode } from '../src/create-node.ts';
import { Handshake, makeNoiseIdentity, type LocalHello } from '../src/peers/handshake.ts';
import { systemRandom } from '../src/io/system-random.ts';
import { runBenchmark, type BenchOptions, type BenchReport, type ResultRow } from './lib.ts';

/** Dialers the child keeps in flight at once: well under handshakesPendingMax (64). */
const dialersConcurrent = 16;
const networkId = 'bench-handshake';

function local(seed: number): LocalHello {
  const id = identityFromSeed(new Uint8Array(32).fill(seed));
  return { networkId, publicKey: id.publicKey, host: '127.0.0.1', port: 7000, ...makeNoiseIdentity(id.sign, systemRandom) };
}

/** Runs handshakes in memory for about `durationMs`; CPU microseconds per handshake for each side. */
function stateMachine(durationMs: number): ResultRow {
  const dialer = local(1);
  const listener = local(2);
  let listenerMs = 0;
  let dialerMs = 0;
  let count = 0;
  const until = performance.now() + durationMs;
  while (performance.now() < until) {
    let t = performance.now();
    const d = new Handshake(true, dialer, systemRandom);
    const m1 = d.start();
    dialerMs += performance.now() - t;
    t = performance.now();
    const l = new Handshake(false, listener, systemRandom);
    const s1 = l.receive(m1);
    listenerMs += performance.now() - t;
    if (s1.t !== 'reply') throw new Error('no reply');
    t = performance.now();
    const s2 = d.receive(s1.message);
    if (s2.t !== 'identify' || !verifySignature('sodium', s2.proof.publicKey, s2.proof.message, s2.proof.signature)) throw new Error('dialer: no identity');
    const { message } = d.complete();
    dialerMs += performance.now() - t;
    t = performance.now();
    const s3 = l.receive(message!);
    if (s3.t !== 'identify' || !verifySignature('sodium', s3.proof.publicKey, s3.proof.message, s3.proof.signature)) throw new Error('listener: no identity');
    l.complete();
    listenerMs += performance.now() - t;
    count++;
  }
  const listenerUs = (listenerMs * 1000) / count;
  return {
    what: 'state machine, in memory',
    handshakes: count,
    listenerUsPerHandshake: Math.round(listenerUs),
    dialerUsPerHandshake: Math.round((dialerMs * 1000) / count),
    acceptedPerSec: Math.round(1e6 / listenerUs),
    nodeCpuUsPerHandshake: null,
  };
}

/** A node accepting dialers from a child process for about `durationMs`. */
async function overTcp(durationMs: number): Promise<ResultRow> {
  const node = createNode({ host: '127.0.0.1', port: 0, networkId, maxPeers: 1000, targetPeers: 1, peerExchange: false });
  await node.start();
  let opened = 0;
  node.on('peer', (ev) => void (ev.state === 'connected' && opened++));
  const child = fork(fileURLToPath(new URL('./handshake/dialer.ts', import.meta.url)), [String(node.listenPort), networkId, String(dialersConcurrent)], { execArgv: ['--import', 'tsx'] });
  try {
    // Warm-up, then the measured window.
    await new Promise((r) => setTimeout(r, 500));
    const startOpened = opened;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, durationMs));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const count = opened - startOpened;
    return {
      what: `node on loopback, ${dialersConcurrent} dialers in a child process`,
      handshakes: count,
      listenerUsPerHandshake: null,
      dialerUsPerHandshake: null,
      acceptedPerSec: Math.round(count / seconds),
      nodeCpuUsPerHandshake: count > 0 ? Math.round((cpu.user + cpu.system) / count) : null,
    };
  } finally {
    child.kill();
    await node.stop();
  }
}

async function measure(opts: BenchOptions): Promise<BenchReport> {
  const rows = [stateMachine(opts.quick ? 500 : 3000), await overTcp(opts.quick ? 1500 : 5000)];
  const [sm, tcp] = rows as [ResultRow, ResultRow];
  return {
    rows,
    ratios: [
      `handshakes one node accepts per second over loopback: ${tcp['acceptedPerSec']} (the dialers, in another process, share the machine's cores with it)`,
      `node CPU per accepted handshake over TCP: ${tcp['nodeCpuUsPerHandshake']} us, of which the handshake itself (state machine, listener side, signature verified) is ${sm['listenerUsPerHandshake']} us; the rest is the connection (socket, timers, peer table, open and close)`,
    ],
    notes: ['The listener verifies the dialer\'s identity signature on the main thread here (a node uses its verifier, the same Ed25519 check). acceptedPerSec of the state machine = 1 / listener CPU time: one core doing nothing but handshakes.'],
  };
}

await runBenchmark('handshake', measure);
