/**
 * The attack suite's part of a load run (`--attack-suite`), as the driver runs it: the suite's attacker
 * (bench/attack/attacker.ts, through attacker-process.ts) in a process of its own, in its own network
 * namespace with --hosts, playing the schedule of suite-plan.ts against the target validator one attack at a
 * time: prepare ahead, start at the planned time, stop after its duration, keep the attacker's report. Every
 * request has a timeout, so the schedule ends even if the attacker hangs; `close` leaves no process behind.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildRpc } from '../child-rpc.ts';
import type { AttackerRequest } from '../attack/attacker.ts';
import { prepareAttack, spawnAttacker, startAttack, stopAttack, type AttackOrder } from '../attack/attacker-process.ts';
import type { AttackTarget } from '../attack/attack-run.ts';
import type { Launch } from './hosting.ts';
import type { SuiteRecord } from './suite-evidence.ts';
import type { SuitePlan } from './suite-plan.ts';

/** Longest preparation of one attack (signing in advance on a busy machine), in ms. */
const prepareTimeoutMs = 60_000;
/** Longest wait for the attacker's report after stop, in ms (its loops get 5 s to end). */
const stopTimeoutMs = 20_000;
/** An attack's own deadline, past its planned duration, in case stop never reaches it, in ms. */
const hardMarginMs = 10_000;
/** Time the attacker gets to exit once its channel closes, in ms. */
const exitTimeoutMs = 3000;

/** What the runner needs from the run. */
export interface SuiteRunnerOptions {
  plan: SuitePlan;
  target: AttackTarget;
  /** Addresses the attacker sends from: a set of its own for each attack of the plan, in order. */
  sources: string[][];
  /** Ids (hex) of the honest validators, for the attacks that aim at their trees. */
  honestIds: string[];
  seed: number;
  /** Where the attacker process starts (its namespace with --hosts). */
  launch: Launch;
  /** The run directory: the attacker's stderr goes to attacker.log in it. */
  dir: string;
  /** Asks the target for its counters (`stats`), at each attack's start and end. */
  askTargetStats: () => void;
  /** Prints and keeps a line of the run's log. */
  note: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Plays the suite's schedule against the target. */
export class SuiteRunner {
  /** Every attack of the schedule, in order, as carried out (or not). */
  readonly records: SuiteRecord[];
  /** How the attacker process ended if it exited before close(), else null. */
  exitedEarly: string | null = null;
  #attacker: ChildRpc<AttackerRequest> | null = null;

  constructor(private readonly o: SuiteRunnerOptions) {
    this.records = o.plan.attacks.map((attack) => ({ attack, startedMs: null, endedMs: null, report: null, error: null }));
  }

  /** Starts the attacker process (before the load phase: its start-up is not in any attack's window). */
  start(): void {
    const logFd = openSync(join(this.o.dir, 'attacker.log'), 'a');
    try {
      this.#attacker = spawnAttacker({
        from: 'source',
        launch: this.o.launch,
        stdout: logFd,
        stderr: logFd,
        onUnexpectedExit: (code, signal) => {
          this.exitedEarly = `code ${code}, signal ${signal}`;
        },
      });
    } finally {
      closeSync(logFd);
    }
  }

  /**
   * Runs every attack at its time after `loadStartMs` (ms since the epoch), each prepared as soon as the one
   * before has stopped (the first at once); none starts after `loadEndMs`.
   */
  async run(loadStartMs: number, loadEndMs: number): Promise<void> {
    for (const [i, rec] of this.records.entries()) {
      const a = rec.attack;
      if (Date.now() >= loadEndMs) {
        rec.error = 'not started: the load phase was over';
        continue;
      }
      await this.#one(rec, i, loadStartMs + a.atMs, loadEndMs);
    }
  }

  async #one(rec: SuiteRecord, i: number, atMs: number, loadEndMs: number): Promise<void> {
    const attacker = this.#attacker;
    if (!attacker) {
      rec.error = 'no attacker process';
      return;
    }
    const a = rec.attack;
    const order: AttackOrder = {
      attack: a.name,
      target: this.o.target,
      sources: this.o.sources[i] ?? [],
      seed: (this.o.seed + i * 0x9e3779b1) >>> 0,
      expectedMs: a.durMs + 2000,
      hardMs: a.durMs + hardMarginMs,
      honestIds: this.o.honestIds,
    };
    try {
      await prepareAttack(attacker, order, prepareTimeoutMs);
      await sleep(atMs - Date.now());
      if (Date.now() >= loadEndMs) throw new Error('not started: the load phase was over');
      this.o.askTargetStats();
      rec.startedMs = Date.now();
      await startAttack(attacker, order);
      await sleep(rec.startedMs + a.durMs - Date.now());
      rec.report = await stopAttack(attacker, stopTimeoutMs);
    } catch (e) {
      rec.error = (e as Error).message;
    } finally {
      if (rec.startedMs !== null) {
        rec.endedMs = Date.now();
        this.o.askTargetStats();
      }
    }
    const t = rec.report?.tally;
    const late = rec.startedMs === null ? '' : rec.startedMs - atMs > 500 ? ` (started ${((rec.startedMs - atMs) / 1000).toFixed(1)} s late)` : '';
    this.o.note(
      t
        ? `suite ${a.name} -> validator ${this.o.plan.target}${late}: ${t.connections} connections, ${t.handshakes} handshakes, ${t.framesSent} frames`
        : `suite ${a.name} -> validator ${this.o.plan.target}: ${rec.error ?? 'no report'}`,
    );
  }

  /** Closes the attacker (it exits), SIGKILL if it lingers. Safe to call twice. */
  async close(): Promise<void> {
    await this.#attacker?.close(exitTimeoutMs);
  }
}
