/**
 * The testnet's live view, as pure functions: the table drawn from what each node reported, and what a key
 * does. testnet.ts owns the processes and the terminal and calls these.
 */

/** What the view knows about one node. */
export interface NodeRow {
  index: number;
  port: number | null;
  peers: number;
  /** The node's last `stats` answer. */
  stats: Record<string, unknown>;
  lastDecided: string;
  exited: number | null;
}

/** One column: its header, its width (the wider of header and cells), and how a cell is read. */
interface Column {
  header: string;
  width: number;
  right: boolean;
  cell(r: NodeRow): string;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** Frames of consensus traffic (chains and outcomes) in one direction, from a `stats` answer. */
function consensusFrames(stats: Record<string, unknown>, dir: 'in' | 'out'): number {
  const byType = stats['framesByType'] as { in: Record<string, number>; out: Record<string, number> } | undefined;
  return byType ? num(byType[dir]['ds']) + num(byType[dir]['outcome']) : 0;
}

function instanceCell(s: Record<string, unknown>): string {
  const inst = s['instance'] as { miner: number; t0: number; round: number } | null | undefined;
  return inst ? `${inst.miner}@${inst.t0} r${inst.round}` : '-';
}

const columns: Column[] = [
  { header: '#', width: 3, right: true, cell: (r) => String(r.index) },
  { header: 'port', width: 5, right: true, cell: (r) => String(r.port ?? '-') },
  { header: 'peers', width: 10, right: true, cell: (r) => (r.exited !== null ? `exited(${r.exited})` : String(r.peers)) },
  { header: 'msgs in', width: 7, right: true, cell: (r) => String(num(r.stats['delivered'])) },
  { header: 'msgs out', width: 8, right: true, cell: (r) => String(num(r.stats['published'])) },
  { header: 'chains in', width: 9, right: true, cell: (r) => String(consensusFrames(r.stats, 'in')) },
  { header: 'chains out', width: 10, right: true, cell: (r) => String(consensusFrames(r.stats, 'out')) },
  { header: 'height', width: 6, right: true, cell: (r) => String(num(r.stats['height'])) },
  { header: 'last decided', width: 18, right: false, cell: (r) => r.lastDecided || '-' },
  { header: 'round', width: 5, right: true, cell: (r) => String(r.stats['round'] ?? '-') },
  { header: 'instance', width: 8, right: false, cell: (r) => instanceCell(r.stats) },
];

/** What the instance column means, in one line under the table. */
export const instanceLegend = 'instance: MINER@T0 rROUND, the newest open consensus instance: its miner, the round it started in (counted from the genesis start), its round now';

/** What the chain columns count. */
export const chainsLegend = 'chains: consensus frames (signature chains and outcomes) handled and sent';

function fit(text: string, c: Column): string {
  return c.right ? text.padStart(c.width) : text.padEnd(c.width);
}

/** The table: a header row and one row per node, every cell under its header; `>` marks the selected node. */
export function tableLines(rows: NodeRow[], selected: number): string[] {
  const widths = columns.map((c) => Math.max(c.width, c.header.length, ...rows.map((r) => c.cell(r).length)));
  const line = (marker: string, cells: string[]) => marker + cells.map((t, i) => fit(t, { ...columns[i]!, width: widths[i]! })).join('  ').trimEnd();
  return [line(' ', columns.map((c) => c.header)), ...rows.map((r) => line(r.index === selected ? '>' : ' ', columns.map((c) => c.cell(r))))];
}

/** What a key asks the testnet to do. */
export type ViewAction = { kind: 'none' } | { kind: 'quit' } | { kind: 'send'; node: number; line: string };

/** A key as readline's keypress event gives it. */
export interface Key {
  name?: string;
  ctrl?: boolean;
}

/** Longest message typed after `b`, in characters (a broadcast of up to this much is one console line). */
export const broadcastTextCharsMax = 200;

/**
 * The view's keys: select a node (0-9, up, down), `b` types a message and Enter broadcasts it from that node
 * (Esc cancels), `m` mines, `q` or Ctrl-C quits. While a message is typed every key is part of it.
 */
export class ViewKeys {
  selected = 0;
  /** The message being typed after `b`, or null. */
  typing: string | null = null;
  #mined = 0;

  constructor(private readonly nodes: number) {}

  /** What the key does. */
  onKey(str: string | undefined, key: Key): ViewAction {
    if (key.ctrl && key.name === 'c') return { kind: 'quit' };
    if (this.typing !== null) return this.#onTypingKey(str, key);
    if (key.name === 'q') return { kind: 'quit' };
    if (key.name === 'up') this.selected = (this.selected + this.nodes - 1) % this.nodes;
    else if (key.name === 'down') this.selected = (this.selected + 1) % this.nodes;
    else if (str && /^[0-9]$/.test(str) && Number(str) < this.nodes) this.selected = Number(str);
    else if (key.name === 'b') this.typing = '';
    else if (key.name === 'm') return { kind: 'send', node: this.selected, line: `mine block #${++this.#mined} from the testnet view` };
    return { kind: 'none' };
  }

  #onTypingKey(str: string | undefined, key: Key): ViewAction {
    const text = this.typing ?? '';
    if (key.name === 'escape') this.typing = null;
    else if (key.name === 'return' || key.name === 'enter') {
      this.typing = null;
      if (text.trim()) return { kind: 'send', node: this.selected, line: `broadcast ${text.trim()}` };
    } else if (key.name === 'backspace') this.typing = text.slice(0, -1);
    else if (str && !key.ctrl && str >= ' ' && text.length < broadcastTextCharsMax) this.typing = text + str;
    return { kind: 'none' };
  }

  /** The line at the bottom of the view: the keys, or the message being typed. */
  footer(): string {
    if (this.typing !== null) return `broadcast from node ${this.selected}: ${this.typing}_   (Enter sends, Esc cancels)`;
    return 'keys: 0-9 / up,down select node   b broadcast (type the text)   m mine   q or Ctrl-C quit';
  }
}
