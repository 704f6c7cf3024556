/**
 * A Byzantine validator of a load run, in its own OS process: the flooder, the equivocating miner or the
 * withholder (flooder.ts, consensus-attacks.ts). The parent drives it over the IPC channel, each request
 * answered once: `start`, then the plan's actions (`flood`, `equivocate`, `withhold`), `report`, `stop`.
 * The process exits when the parent goes away or after lifetimeMaxMs.
 */
import { readFile } from 'node:fs/promises';
import { parseGenesis, type Genesis } from '../../src/consensus/genesis.ts';
import { readKeyFile } from '../../src/crypto/keys.ts';
import { type StrongcastNode } from '../../src/core/node.ts';
import { createNode } from '../../src/create-node.ts';
import { Flooder } from './flooder.ts';
import { Equivocator, Withholder } from './consensus-attacks.ts';
import { serveRequests } from '../child-serve.ts';

/** The process exits by itself if the parent has not stopped it within this, in ms. */
const lifetimeMaxMs = 15 * 60_000;

/** Which attack this process plays. */
export type ByzantineRole = 'flooder' | 'equivocator' | 'withholder';

/** Requests from the parent; `rid` pairs a request with its reply. */
export type ByzantineRequest =
  | { rid: number; cmd: 'start'; role: ByzantineRole; genesisPath: string; keyPath: string; seed: number; honest: number[]; withholder: number; sources?: string[] }
  | { rid: number; cmd: 'flood'; step: string; targets: number[]; durMs: number; captureFrom: number[] }
  | { rid: number; cmd: 'equivocate' }
  | { rid: number; cmd: 'withhold' }
  | { rid: number; cmd: 'report' }
  | { rid: number; cmd: 'stop' };

interface Running {
  role: ByzantineRole;
  node: StrongcastNode | null;
  flooder: Flooder | null;
  equivocator: Equivocator | null;
  withholder: Withholder | null;
}

let running: Running | null = null;

async function startNode(genesis: Genesis, index: number, identity: Awaited<ReturnType<typeof readKeyFile>>): Promise<StrongcastNode> {
  const self = genesis.validators[index]!;
  const peers = genesis.validators.filter((v) => v.index !== index).map((v) => `${v.host}:${v.port}`);
  // The genesis names every validator's address: 127.0.0.1 on loopback, its own namespace's with --hosts.
  const node = createNode({ host: self.host, port: self.port, networkId: genesis.networkId, identity, peers });
  await node.start();
  return node;
}

async function start(req: Extract<ByzantineRequest, { cmd: 'start' }>): Promise<{ index: number }> {
  const genesis = parseGenesis(JSON.parse(await readFile(req.genesisPath, 'utf8')));
  const identity = await readKeyFile(req.keyPath);
  const index = genesis.validators.findIndex((v) => Buffer.from(v.publicKey).equals(Buffer.from(identity.publicKey)));
  if (index < 0) throw new Error('the key is not a validator of this genesis');
  const r: Running = { role: req.role, node: null, flooder: null, equivocator: null, withholder: null };
  if (req.role === 'flooder') {
    r.flooder = new Flooder(genesis, identity, req.seed, req.sources ?? []);
  } else {
    const node = await startNode(genesis, index, identity);
    r.node = node;
    if (req.role === 'equivocator') {
      r.equivocator = new Equivocator(node, genesis, identity, req.honest, req.seed, req.withholder);
      // It judges nothing and relays nothing: chains it receives are dropped.
      node.attachConsensus({ onChain: async () => ({ valid: true, forward: false }), onOutcome: async () => ({ valid: true, forward: false }), validatorKey: () => undefined });
    } else {
      const w = new Withholder(node, genesis, identity, req.honest, req.seed);
      r.withholder = w;
      node.attachConsensus({ onChain: async (msg, hash) => w.onChain(msg, hash), onOutcome: async () => ({ valid: true, forward: false }), validatorKey: () => undefined });
    }
  }
  running = r;
  return { index };
}

function need(): Running {
  if (!running) throw new Error('not started');
  return running;
}

function report(): unknown {
  const r = need();
  const base = { role: r.role, peers: r.node?.peers().length ?? 0, stats: r.node?.stats() ?? null };
  if (r.flooder) return { ...base, flood: r.flooder.report };
  if (r.equivocator) return { ...base, equivocations: r.equivocator.records };
  if (r.withholder) return { ...base, chainsReceived: r.withholder.chainsReceived, releases: r.withholder.releases };
  return base;
}

async function stop(): Promise<null> {
  const r = running;
  running = null;
  if (!r) return null;
  r.flooder?.stop();
  r.withholder?.stop();
  await r.node?.stop();
  return null;
}

async function handle(req: ByzantineRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start':
      return start(req);
    case 'flood': {
      const f = need().flooder;
      if (!f) throw new Error('not the flooder');
      return f.step(req.step, req.targets, req.durMs, req.captureFrom);
    }
    case 'equivocate': {
      const e = need().equivocator;
      if (!e) throw new Error('not the equivocator');
      return e.equivocate();
    }
    case 'withhold': {
      const e = need().equivocator;
      if (!e) throw new Error('not the equivocator');
      return e.withhold();
    }
    case 'report':
      return report();
    case 'stop':
      return stop();
  }
}

serveRequests<ByzantineRequest>(handle);
process.on('disconnect', () => {
  void stop().finally(() => process.exit(0));
});
setTimeout(() => process.exit(1), lifetimeMaxMs).unref();
// An attacker that trips over its own bug keeps attacking; the run reports what it managed to do.
process.on('uncaughtException', (e) => process.stderr.write(`byzantine ${running?.role ?? '?'}: ${e.stack ?? e.message}\n`));
