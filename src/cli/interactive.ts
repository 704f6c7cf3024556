/**
 * The interactive start, as the original program had it: show the machine's IP (found automatically),
 * ask for the port (suggesting a free one), ask which validator to be or which peers to dial, then open
 * the console. Answers are read line by line, so the same start can be scripted through a pipe.
 */
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { StrongcastError } from '../errors.ts';
import { parsePeerAddress } from '../core/node-options.ts';
import type { RunFlags } from './args.ts';
import type { LineReader } from './lines.ts';

/** The first non-internal IPv4 address of this machine, or 127.0.0.1 when it has none. */
export function lanAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** True when `port` can be bound on all interfaces right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

/** The first free port from `from` upward (within 100 ports), else 0 (let the system choose). */
export async function suggestPort(from = 7001): Promise<number> {
  for (let p = from; p < from + 100 && p <= 65535; p++) if (await portIsFree(p)) return p;
  return 0;
}

/** Where the node will listen, said before it starts: the bound address, and the one other machines dial. */
export function listenLine(host: string, port: number, lan: string): string {
  const where = port === 0 ? `${host}, on a free port the system picks` : `${host}:${port}`;
  const reach = host === '0.0.0.0' || host === '::' ? lan : host;
  return `strongcast: the node will listen on ${where}` + (port === 0 ? '\n' : ` (other machines reach it at ${reach}:${port})\n`);
}

/** Asks what the node needs and returns the flags to run it with. @throws ERR_INPUT_ENDED when stdin ends before an answer */
export async function askForFlags(base: RunFlags, asker: LineReader): Promise<RunFlags> {
  const lan = lanAddress();
  process.stdout.write(`strongcast: your IP address is ${lan}\n`);
  const suggested = await suggestPort();
  const portAnswer = await asker.ask(`Port to listen on [${suggested}]: `);
  const port = portAnswer === '' ? suggested : Number(portAnswer);
  if (!/^\d*$/.test(portAnswer) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StrongcastError('ERR_INVALID_OPTION', `port must be an integer in 0..65535, got '${portAnswer}'`);
  }
  process.stdout.write(listenLine(base.host ?? '0.0.0.0', port, lan));
  const genesis = await asker.ask('Genesis file to join as a validator (empty for a plain node): ');
  if (genesis !== '') {
    const index = await asker.ask('Which validator are you (index from 0)? ');
    if (!/^\d+$/.test(index)) throw new StrongcastError('ERR_INVALID_OPTION', `validator index must be a number, got '${index}'`);
    const key = genesis.replace(/genesis\.json$/, '') + `node-${index}.key`;
    return { ...base, port, genesis, key };
  }
  const peersAnswer = await asker.ask('Peers to connect to (HOST:PORT or ID@HOST:PORT, comma-separated, empty for none): ');
  const peers = peersAnswer.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of peers) parsePeerAddress(p, 'peer');
  return { ...base, port, peers };
}
