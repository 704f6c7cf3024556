/**
 * Starting the attacker process (attacker.ts) and driving one attack through it, as the attack suite and the
 * load test (`npm run load -- --attack-suite`) both do: `prepare`, `start` against a target, `stop` for the
 * report. The suite runs the compiled attacker (dist/, so its CPU is measured without the TypeScript loader);
 * the load test runs it from source like every other process of its run, in a network namespace with --hosts.
 */
import { fileURLToPath } from 'node:url';
import { ChildRpc, type OutputTarget } from '../child-rpc.ts';
import type { AttackerReport, AttackerRequest } from './attacker.ts';
import type { AttackName } from './catalog.ts';
import type { AttackTarget } from './attack-run.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** How to start the attacker. */
export interface AttackerProcessOptions {
  /** 'dist': dist/bench/attack/attacker.js (after `npm run build`); 'source': attacker.ts under tsx. */
  from: 'dist' | 'source';
  /** Runs node through another command (a network namespace's runner). @default node itself */
  launch?: { command: string; prefix: readonly string[]; env?: NodeJS.ProcessEnv };
  /** @default 'inherit' */
  stdout?: OutputTarget;
  /** @default 'inherit' */
  stderr?: OutputTarget;
  /** Called if the attacker exits before close(). */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** Spawns the attacker process; close it with `close()` (it exits when its channel closes). */
export function spawnAttacker(o: AttackerProcessOptions): ChildRpc<AttackerRequest> {
  const argv = o.from === 'dist' ? [`${repoRoot}dist/bench/attack/attacker.js`] : ['--import', 'tsx', fileURLToPath(new URL('./attacker.ts', import.meta.url))];
  return new ChildRpc<AttackerRequest>({
    name: 'attacker',
    argv,
    cwd: repoRoot,
    stdout: o.stdout ?? 'inherit',
    stderr: o.stderr ?? 'inherit',
    ...(o.launch ? { launch: o.launch } : {}),
    ...(o.onUnexpectedExit ? { onUnexpectedExit: (_e: unknown, code: number | null, signal: NodeJS.Signals | null) => o.onUnexpectedExit!(code, signal) } : {}),
  });
}

/** One attack as a caller asks for it. */
export interface AttackOrder {
  attack: AttackName;
  target: AttackTarget;
  /** Addresses the attacker sends from. */
  sources: string[];
  seed: number;
  /** Time the attack is expected to run, for what it prepares (signed broadcasts), in ms. */
  expectedMs: number;
  /** The attack's own hard deadline from its start, in ms. */
  hardMs: number;
  /** Ids (hex) of honest nodes, for attacks that aim at their trees. */
  honestIds: string[];
}

/** Asks the attacker to prepare an attack (signing in advance, crafted frames, sinks); resolves when it is ready. */
export function prepareAttack(attacker: ChildRpc<AttackerRequest>, o: AttackOrder, timeoutMs: number): Promise<{ prepCpuMs: number }> {
  return attacker.request<{ prepCpuMs: number }>({ cmd: 'prepare', attack: o.attack, networkId: o.target.networkId, expectedMs: o.expectedMs, seed: o.seed }, timeoutMs);
}

/** Starts the prepared attack against its target. */
export function startAttack(attacker: ChildRpc<AttackerRequest>, o: AttackOrder): Promise<unknown> {
  return attacker.request({ cmd: 'start', target: o.target, sources: o.sources, seed: o.seed, hardMs: o.hardMs, honestIds: o.honestIds });
}

/** Stops the running attack; resolves with what it did. */
export function stopAttack(attacker: ChildRpc<AttackerRequest>, timeoutMs: number): Promise<AttackerReport> {
  return attacker.request<AttackerReport>({ cmd: 'stop' }, timeoutMs);
}
