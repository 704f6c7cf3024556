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

/** Every console command with its line of help; `validator` ones are for validators and observers only. */
const commandHelp: { name: string; usage: string; validator?: boolean }[] = [
  { name: 'help', usage: 'help                 this list' },
  { name: 'id', usage: "id                   this node's id and listening address" },
  { name: 'peers', usage: 'peers                open connections' },
  { name: 'connect', usage: 'connect HOST:PORT    dial a peer' },
  { name: 'broadcast', usage: 'broadcast TEXT       flood TEXT to the whole network (topic "chat")' },
  { name: 'mine', usage: 'mine [TEXT]          propose a block at the next round start', validator: true },
  { name: 'chain', usage: 'chain                decided blocks', validator: true },
  { name: 'status', usage: 'status               current round, instances and pools', validator: true },
  { name: 'stats', usage: 'stats                counters: peers, messages in and out, frames, bytes, offences' },
  { name: 'isolate', usage: 'isolate MS           cut this node off for MS ms, then let it reconnect (fault testing)' },
  { name: 'quit', usage: 'quit                 stop the node and exit' },
];

/** The commands a node has: a plain node has no consensus commands to offer. */
export function consoleCommands(validator: boolean): string[] {
  return commandHelp.filter((c) => validator || !c.validator).map((c) => c.name);
}

/** Help text of the console of a validator or observer (`validator`), or of a plain node. */
export function consoleHelpFor(validator: boolean): string {
  return ['commands:', ...commandHelp.filter((c) => validator || !c.validator).map((c) => `  ${c.usage}`)].join('\n');
}

/** Help text of a validator's console (every command). */
export const consoleHelp = consoleHelpFor(true);

/** `stats` at a terminal: one aligned `name  value` row per figure, nested figures as `group.name`. */
export function statsTable(stats: Record<string, unknown>): string {
  const rows: [string, string][] = [];
  const add = (prefix: string, o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) {
      if (v !== null && typeof v === 'object') add(`${prefix}${k}.`, v as Record<string, unknown>);
      else rows.push([`${prefix}${k}`, v === null ? '-' : String(v)]);
    }
  };
  add('', stats);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

/** Frames by type, the shape `stats` shows: only the types that were seen, in and out side by side. */
function framesTable(byType: { in: Record<string, number>; out: Record<string, number> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of Object.keys(byType.in)) if (byType.in[t] || byType.out[t]) out[t] = `${byType.in[t]} in, ${byType.out[t]} out`;
  return out;
}

type Handler = (ctx: ConsoleContext, arg: string) => Promise<void> | void;

const handlers: Record<string, Handler> = {
  help: ({ out, validator }) => out.event('help', { commands: consoleCommands(validator !== null) }, consoleHelpFor(validator !== null)),
  id: ({ node, out }) =>
    out.event('id', { id: node.id, port: node.listenPort, network: node.networkId }, `id ${node.id}\nlistening on port ${node.listenPort}, network ${node.networkId}`),
  peers: ({ node, out }) => {
    const peers = node.peers();
    // A peer is shown where it listens (what another node would dial); an inbound one's socket has an ephemeral port.
    const human = peers.length === 0 ? 'no peers' : peers.map((p) => `${p.id.slice(0, 16)}  ${p.listen ?? p.addr}  ${p.outbound ? 'out' : `in   from ${p.addr}`}`).join('\n');
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
    out.event('stats', s, statsTable({ ...s, framesByType: framesTable(s.framesByType) }));
  },
  isolate: ({ node, out }, arg) => {
    const ms = Number(arg);
    if (!/^\d+$/.test(arg) || ms < 1 || ms > 3_600_000) return out.error('ERR_INVALID_OPTION', 'usage: isolate MS (1..3600000)');
    node.isolate(ms);
    out.event('isolated', { ms }, `isolated for ${ms} ms`);
  },
  // A plain node does not list these (help), but still says what they need when typed.
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
  if (!handler || !Object.hasOwn(handlers, name)) return ctx.out.error('ERR_UNKNOWN_COMMAND', `unknown command '${name}' (try help)`);
  try {
    await handler(ctx, arg);
  } catch (e) {
    if (isStrongcastError(e)) ctx.out.error(e.code, e.message);
    else ctx.out.error('ERR_INVALID_OPTION', (e as Error).message);
  }
}
