/**
 * `strongcast testnet`: a whole validator network on this machine in one command. Creates keys and genesis
 * (as `init`) unless the directory has them, starts one validator process per key on loopback, and shows a
 * live view (or, with --json, event lines). Ctrl-C stops every process it started and leaves nothing running;
 * children also exit on their own if this process dies, because they watch their IPC channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitKeypressEvents } from 'node:readline';
import { StrongcastError } from '../errors.ts';
import { loaderFlags, siblingModuleUrl } from '../module-path.ts';
import { initNetwork } from './init.ts';
import { readGenesisFile } from './validator.ts';
import { LineReader } from './lines.ts';
import type { TestnetFlags } from './args.ts';
import { chainsLegend, instanceLegend, tableLines, ViewKeys, type Key } from './testnet-view.ts';
import { EventWriter } from './event-writer.ts';
import { stdoutSink } from './stdout-sink.ts';
import { dropReportLine } from './output.ts';
import { exitAfterOutput } from './run.ts';

/** The entry point each validator runs: main.ts under tsx, main.js from the build (without the loader). */
const mainPath = fileURLToPath(siblingModuleUrl('../main', import.meta.url));
const mainFlags = loaderFlags(import.meta.url);

/** How often the view asks every node for its counters, in ms. */
export const testnetStatsIntervalMs = 1000;
/** How long children get to exit after SIGTERM before SIGKILL, in ms. */
export const testnetStopGraceMs = 5000;
/** Recent events kept for the live view. */
const recentEventsMax = 10;

/** What the view knows about one node. */
interface NodeView {
  index: number;
  child: ChildProcess;
  port: number | null;
  peers: Set<string>;
  stats: Record<string, unknown>;
  lastDecided: string;
  exited: number | null;
}

type Event = Record<string, unknown>;

/**
 * A child can die between the view's writes and the 'exit' event that tells the view so; a write in that gap
 * fails with EPIPE, emitted as an 'error' on the pipe, which would otherwise take the whole testnet down.
 * The death itself is reported by 'exit', so the pipe's error is dropped here.
 */
export function guardCommandPipe(child: ChildProcess): void {
  child.stdin?.on('error', () => {});
}

function startChild(i: number, dir: string, json: boolean, onEvent: (i: number, e: Event) => void): ChildProcess {
  const logFd = openSync(join(dir, `node-${i}.log`), 'a');
  const args = [
    ...mainFlags, mainPath,
    '--genesis', join(dir, 'genesis.json'),
    '--key', join(dir, `node-${i}.key`),
    '--data', join(dir, `data-${i}`),
    '--host', '127.0.0.1',
    '--json', '--threads', '1', '--log-level', json ? 'info' : 'warn', '--log-format', 'text',
  ];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', logFd, 'ipc'] });
  closeSync(logFd);
  guardCommandPipe(child);
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      try {
        onEvent(i, JSON.parse(l) as Event);
      } catch {
        // a line that is not an event (never expected with --json) is ignored
      }
    }
  });
  return child;
}

/**
 * Round 0 of a new testnet starts this long after its genesis is made, in ms: its validators, started right
 * after, are all up before it, so none begins by catching up from the others (a network that starts with
 * nobody live finishes catching up only once all n are up; README, Durable state and catch-up).
 */
export const testnetStartDelayMs = 3000;

/** The network a testnet runs: its size, round length, and where the round length came from. */
interface TestnetNetwork {
  nodes: number;
  roundMs: number;
  /** "--round-ms", the default rule's terms for a new network, or "the genesis in DIR" for a reused one. */
  roundMsBasis: string;
}

async function ensureNetwork(flags: TestnetFlags): Promise<TestnetNetwork> {
  const genesisPath = join(flags.dir, 'genesis.json');
  if (!existsSync(genesisPath)) {
    mkdirSync(flags.dir, { recursive: true });
    // Every validator runs on this machine: the default round length allows for their work on its cores.
    const r = await initNetwork(
      { nodes: flags.nodes, out: flags.dir, faults: flags.faults, roundMs: flags.roundMs, basePort: flags.basePort, host: '127.0.0.1', startMs: Date.now() + testnetStartDelayMs },
      { sameMachine: true },
    );
    return { nodes: flags.nodes, roundMs: r.roundMs, roundMsBasis: r.roundMsBasis };
  }
  const g = await readGenesisFile(genesisPath);
  for (let i = 0; i < g.validators.length; i++) {
    if (!existsSync(join(flags.dir, `node-${i}.key`))) throw new StrongcastError('ERR_KEY_FILE', `${flags.dir} has a genesis but no node-${i}.key`);
  }
  if (flags.nodesGiven && flags.nodes !== g.validators.length) {
    throw new StrongcastError('ERR_INVALID_OPTION', `${flags.dir} holds a ${g.validators.length}-validator network; --nodes ${flags.nodes} does not match (use another --dir)`);
  }
  return { nodes: g.validators.length, roundMs: g.roundMs, roundMsBasis: `the genesis in ${flags.dir}` };
}

function render(views: NodeView[], keys: ViewKeys, recent: string[], dir: string, roundMs: number): void {
  const rows = views.map((v) => ({ index: v.index, port: v.port, peers: v.peers.size, stats: v.stats, lastDecided: v.lastDecided, exited: v.exited }));
  const lines = [
    `strongcast testnet: ${views.length} validators, round ${roundMs} ms, state in ${dir}   (${new Date().toLocaleTimeString()})`,
    '',
    ...tableLines(rows, keys.selected),
    '',
    instanceLegend,
    chainsLegend,
    '',
    'recent events:',
    ...recent.slice(-recentEventsMax).map((l) => '  ' + l),
    '',
    keys.footer(),
  ];
  process.stdout.write('\x1b[H\x1b[2J' + lines.join('\n') + '\n');
}

function describe(i: number, e: Event): string | null {
  switch (e.event) {
    case 'decided': {
      const b = e.block as { hash: string; height: number } | null;
      const inst = e.instance as { miner: number; t0: number };
      return `node ${i}: decided ${b ? `${b.hash.slice(0, 12)} height ${b.height}` : 'no block'} (miner ${inst.miner}, t0 ${inst.t0})`;
    }
    case 'proposed':
      return `node ${i}: proposed ${String(e.hash).slice(0, 12)}`;
    case 'message':
      return `node ${i}: message "${String(e.data).slice(0, 40)}" from ${String(e.origin).slice(0, 8)}`;
    case 'error':
    case 'warning':
      return `node ${i}: ${String(e.event)} ${String(e.code)} ${String(e.message)}`;
    default:
      return null;
  }
}

/** Runs the testnet until Ctrl-C, SIGTERM, `q`, or (with --json) stdin's `quit`. */
export async function runTestnet(flags: TestnetFlags): Promise<void> {
  const network = await ensureNetwork(flags);
  const n = network.nodes;
  // Event lines never wait for the reader (event-writer.ts); the live view is drawn for a person at a terminal.
  const out = flags.json ? new EventWriter({ sink: stdoutSink(), dropReport: dropReportLine(true) }) : null;
  const print = (line: string) => (out ? out.write(line) : process.stdout.write(line));
  // The testnet's `stopped` ends its output: it reaches even a reader that made lines drop.
  const printLast = (line: string) => (out ? out.writeLast(line) : process.stdout.write(line));
  if (flags.json) print(JSON.stringify({ event: 'testnet', ts: Date.now(), nodes: n, roundMs: network.roundMs, roundMsBasis: network.roundMsBasis }) + '\n');
  const tui = !flags.json && process.stdout.isTTY === true && process.stdin.isTTY === true;
  const recent: string[] = [];
  const views: NodeView[] = [];
  const keys = new ViewKeys(n);
  const onEvent = (i: number, e: Event) => {
    const v = views[i];
    if (!v) return;
    if (e.event === 'listening') v.port = Number(e.port);
    if (e.event === 'peer') e.state === 'connected' ? v.peers.add(String(e.id)) : v.peers.delete(String(e.id));
    if (e.event === 'stats') v.stats = e;
    if (e.event === 'decided') {
      const b = e.block as { hash: string; height: number } | null;
      v.lastDecided = b ? `${b.hash.slice(0, 10)} #${b.height}` : 'no block';
    }
    // A node's own `stopped` is not passed on: `exited` says it, and `stopped` here is the testnet's.
    if (flags.json && e.event !== 'stopped') print(JSON.stringify({ node: i, ...e }) + '\n');
    const line = describe(i, e);
    if (line) recent.push(line);
    if (recent.length > recentEventsMax * 4) recent.splice(0, recent.length - recentEventsMax);
  };
  for (let i = 0; i < n; i++) {
    const child = startChild(i, flags.dir, flags.json, onEvent);
    const v: NodeView = { index: i, child, port: null, peers: new Set(), stats: {}, lastDecided: '', exited: null };
    child.on('exit', (code, signal) => {
      v.exited = code ?? (signal ? 128 : -1);
      recent.push(`node ${i}: exited (${signal ?? code})`);
      if (flags.json) print(JSON.stringify({ node: i, event: 'exited', ts: Date.now(), code, signal }) + '\n');
    });
    views.push(v);
  }
  const send = (i: number, line: string) => views[i]?.child.stdin?.write(line + '\n');
  const poll = setInterval(() => views.forEach((v) => v.exited === null && send(v.index, 'stats')), testnetStatsIntervalMs);
  const draw = tui ? setInterval(() => render(views, keys, recent, flags.dir, network.roundMs), 500) : null;

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(poll);
      if (draw) clearInterval(draw);
      await stopChildren(views.map((v) => v.child));
      if (tui) process.stdin.setRawMode?.(false);
      printLast(flags.json ? JSON.stringify({ event: 'stopped', ts: Date.now(), nodes: n }) + '\n' : `stopped ${n} validators\n`);
      await exitAfterOutput({ stdout: out }, 0);
    })());
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('exit', () => views.forEach((v) => v.exited === null && v.child.kill('SIGKILL')));

  if (tui) return controlByKeys(keys, send, stop, () => render(views, keys, recent, flags.dir, network.roundMs));
  return controlByLines(n, send, stop, print);
}

/** The live view's keys (testnet-view.ts): select a node, broadcast a typed message or mine from it, quit. */
function controlByKeys(keys: ViewKeys, send: (i: number, line: string) => void, stop: () => Promise<void>, redraw: () => void): void {
  emitKeypressEvents(process.stdin);
  process.stdin.setRawMode(true);
  process.stdin.on('keypress', (str: string | undefined, key: Key) => {
    const action = keys.onKey(str, key);
    if (action.kind === 'quit') return void stop();
    if (action.kind === 'send') send(action.node, action.line);
    redraw();
  });
}

/** Scripted control: "I COMMAND" sends a console command to node I; "quit" stops everything. */
async function controlByLines(n: number, send: (i: number, line: string) => void, stop: () => Promise<void>, print: (line: string) => void): Promise<void> {
  const lines = new LineReader();
  for (let l = await lines.next(); l !== null; l = await lines.next()) {
    const m = /^\s*(\d+)\s+(.+)$/.exec(l);
    if (l.trim() === 'quit') return stop();
    if (m && Number(m[1]) < n) send(Number(m[1]), m[2]!);
    else if (l.trim()) print(JSON.stringify({ event: 'error', ts: Date.now(), code: 'ERR_INVALID_OPTION', message: `expected "NODE COMMAND" or "quit", got '${l.trim()}'` }) + '\n');
  }
}

/** SIGTERM every child, then SIGKILL whatever is still running after testnetStopGraceMs. */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), testnetStopGraceMs);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}
