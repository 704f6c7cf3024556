/**
 * Console commands, shared by the interactive console and headless stdin. Command names are a public
 * interface: add, never rename.
 */
import { isStrongcastError } from '../errors.ts';
import type { StrongcastNode } from '../core/node.ts';
import type { Output } from './output.ts';

/** What a validator adds to the console (mine, chain, status); absent on a plain node. */
export interface ConsoleValidator {
  mine(text: string): Promise<void>;
  chain(): void;
  status(): void;
  /** Consensus figures added to the `stats` event. */
  stats(): Record<string, unknown>;
}

/** Everything a command can touch. */
export interface ConsoleContext {
  node: StrongcastNode;
  out: Output;
  validator: ConsoleValidator | null;
  quit: () => Promise<void>;
}

/** Help text of the console. */
export const consoleHelp = `commands:
  help                 this list
  id                   this node's id and listening address
  peers                open connections
  connect HOST:PORT    dial a peer
  broadcast TEXT       flood TEXT to the whole network (topic "chat")
  mine [TEXT]          propose a block at the next round start (validators)
  chain                decided blocks (validators)
  status               current round, instances and pools (validators)
  stats                counters: peers, messages in and out, frames, chain height (validators)
  isolate MS           cut this node off for MS ms, then let it reconnect (fault testing)
  quit                 stop the node and exit`;

type Handler = (ctx: ConsoleContext, arg: string) => Promise<void> | void;

const handlers: Record<string, Handler> = {
  help: ({ out }) => out.event('help', { commands: ['help', 'id', 'peers', 'connect', 'broadcast', 'mine', 'chain', 'status', 'stats', 'isolate', 'quit'] }, consoleHelp),
  id: ({ node, out }) =>
    out.event('id', { id: node.id, port: node.listenPort, network: node.networkId }, `id ${node.id}\nlistening on port ${node.listenPort}, network ${node.networkId}`),
  peers: ({ node, out }) => {
    const peers = node.peers();
    const human = peers.length === 0 ? 'no peers' : peers.map((p) => `${p.id.slice(0, 16)}  ${p.addr}  ${p.outbound ? 'out' : 'in '}  listen=${p.listen ?? '-'}`).join('\n');
    out.event('peers', { peers }, human);
  },
  connect: async ({ node, out }, arg) => {
    const p = await node.connect(arg);
    out.event('connected', { id: p.id, addr: p.addr }, `connected to ${p.id.slice(0, 16)} at ${p.addr}`);
  },
  broadcast: async ({ node, out }, arg) => {
    if (arg.length === 0) return out.error('ERR_INVALID_OPTION', 'usage: broadcast TEXT');
    const r = await node.broadcast('chat', arg);
    out.event('broadcast', { id: r.id, peers: r.peers }, `broadcast ${r.id.slice(0, 16)} to ${r.peers} peers`);
  },
  stats: ({ node, out, validator }) => {
    const s = { pid: process.pid, ...node.stats(), ...(validator ? validator.stats() : {}) };
    out.event('stats', s, Object.entries(s).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' '));
  },
  isolate: ({ node, out }, arg) => {
    const ms = Number(arg);
    if (!/^\d+$/.test(arg) || ms < 1 || ms > 3_600_000) return out.error('ERR_INVALID_OPTION', 'usage: isolate MS (1..3600000)');
    node.isolate(ms);
    out.event('isolated', { ms }, `isolated for ${ms} ms`);
  },
  mine: async (ctx, arg) => (ctx.validator ? ctx.validator.mine(arg) : notValidator(ctx)),
  chain: (ctx) => (ctx.validator ? ctx.validator.chain() : notValidator(ctx)),
  status: (ctx) => (ctx.validator ? ctx.validator.status() : notValidator(ctx)),
  quit: ({ quit }) => quit(),
  exit: ({ quit }) => quit(),
};

function notValidator({ out }: ConsoleContext): void {
  out.error('ERR_NOT_VALIDATOR', 'this node runs without --genesis, so it takes no part in consensus');
}

/** Runs one console line; errors are printed as one line, never thrown. */
export async function runConsoleLine(ctx: ConsoleContext, line: string): Promise<void> {
  const trimmed = line.trim();
  if (trimmed.length === 0) return;
  const space = trimmed.indexOf(' ');
  const name = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const arg = space < 0 ? '' : trimmed.slice(space + 1).trim();
  const handler = handlers[name];
  if (!handler) return ctx.out.error('ERR_INVALID_OPTION', `unknown command '${name}' (try help)`);
  try {
    await handler(ctx, arg);
  } catch (e) {
    if (isStrongcastError(e)) ctx.out.error(e.code, e.message);
    else ctx.out.error('ERR_INVALID_OPTION', (e as Error).message);
  }
}
