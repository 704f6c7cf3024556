/**
 * CLI glue for validators: reads the genesis and key, fills port and peers from the genesis, creates the
 * verification pool with the validator set, and prints consensus events.
 */
import { readFile } from 'node:fs/promises';
import { StrongcastError } from '../errors.ts';
import { parseGenesis, genesisHash, roundsPerInstance, validatorIndex, type Genesis } from '../consensus/genesis.ts';
import { consensusWriteQueueBytesMin } from '../consensus/frame-bound.ts';
import { readKeyFile } from '../crypto/keys.ts';
import { createVerifyPool, type VerifyPool } from '../crypto/verify-pool.ts';
import { Validator } from '../core/validator.ts';
import { nodeDefaults, type NodeOptions } from '../core/node-options.ts';
import type { StrongcastNode } from '../core/node.ts';
import { toHex } from '../bytes.ts';
import type { RunFlags } from './args.ts';
import type { ConsoleValidator } from './console.ts';
import type { Output } from './output.ts';
import type { ValidatorFactory } from './run.ts';
import { keepPeersSaved, withDataDir } from './data.ts';
import type { DataDir } from '../store/data-dir.ts';

/** Reads and checks a genesis file. @throws ERR_GENESIS with the path and the problem */
export async function readGenesisFile(path: string): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new StrongcastError('ERR_GENESIS', `cannot read genesis file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StrongcastError('ERR_GENESIS', `genesis file ${path} is not valid JSON`);
  }
  return parseGenesis(json);
}

/**
 * The write queue per peer the CLI gives a node of `genesis`: the node's default (8 MiB), or more when a link
 * must queue more in a round in which every validator mines (consensus/frame-bound.ts; with the default f,
 * from 430 validators on, where the signatures of k = f + 1 per chain outweigh the capped payloads).
 * The validator refuses a smaller one; the CLI has no flag for it, so it never gives one.
 */
export function cliWriteQueueBytesMax(genesis: Genesis): number {
  return Math.max(nodeDefaults.writeQueueBytesMax, consensusWriteQueueBytesMin(genesis.validators.length, roundsPerInstance(genesis)));
}

/** A validator's node options plus the factory that joins it to consensus. */
export interface PreparedValidator {
  options: NodeOptions;
  pool: VerifyPool;
  factory: ValidatorFactory;
  store: DataDir | null;
}

/**
 * Builds a validator from --genesis and --key (port and peers default to the genesis entries), or, with
 * --genesis and no --key, an observer: it follows and carries consensus without a key of the genesis
 * (port from --port, any free one by default; peers default to every validator).
 */
export async function prepareValidator(flags: RunFlags, base: NodeOptions): Promise<PreparedValidator> {
  const genesis = await readGenesisFile(flags.genesis as string);
  const identity = flags.key ? await readKeyFile(flags.key) : null;
  const index = identity === null ? null : validatorIndex(genesis, identity.publicKey);
  if (identity !== null && index === null) throw new StrongcastError('ERR_NOT_VALIDATOR', `the key in ${flags.key} is not a validator of ${flags.genesis}`);
  if (flags.clockSkewMsMax !== undefined && flags.clockSkewMsMax >= genesis.roundMs) {
    throw new StrongcastError('ERR_INVALID_OPTION', `--clock-skew-ms-max must be below the genesis round length (${genesis.roundMs} ms), got ${flags.clockSkewMsMax}`);
  }
  const self = index === null ? null : genesis.validators[index]!;
  // The genesis names each validator's key with its address: dial it pinned, so only that validator is kept there.
  const peers = flags.peers.length > 0 ? flags.peers : genesis.validators.filter((v) => v.index !== index).map((v) => `${toHex(v.publicKey)}@${v.host}:${v.port}`);
  const pool = createVerifyPool({
    threads: flags.threads,
    backend: flags.backend,
    consensus: { networkId: genesis.networkId, genesisHash: genesisHash(genesis), validatorKeys: genesis.validators.map((v) => v.publicKey) },
  });
  let options: NodeOptions = {
    ...base,
    ...(identity ? { identity } : {}),
    networkId: genesis.networkId,
    port: flags.port ?? self?.port ?? 0,
    peers,
    verifier: pool,
    writeQueueBytesMax: cliWriteQueueBytesMax(genesis),
  };
  let store: DataDir | null = null;
  if (flags.data) {
    try {
      ({ store, options } = await withDataDir(flags.data, options, genesisHash(genesis)));
    } catch (e) {
      await pool.close();
      throw e;
    }
  }
  const factory: ValidatorFactory = async (node, _flags, out) => {
    const v = new Validator({
      node,
      genesis,
      identity,
      verifier: pool,
      log: base.log,
      ...(store ? { store } : {}),
      ...(flags.clockSkewMsMax === undefined ? {} : { clockSkewMsMax: flags.clockSkewMsMax }),
      ...(flags.stallMsMax === undefined ? {} : { stallMsMax: flags.stallMsMax }),
    });
    wireValidatorEvents(v, out);
    v.start();
    const savePeers = store ? keepPeersSaved(node, store) : null;
    const stop = async () => {
      v.stop();
      await v.flushed();
      await savePeers?.();
    };
    return { validator: consoleValidator(v, node, out), consensus: v, stop };
  };
  return { options, pool, factory, store };
}

function wireValidatorEvents(v: Validator, out: Output): void {
  v.on('proposed', (e) => out.event('proposed', { instance: e.instance, hash: e.hash }, `proposed ${e.hash.slice(0, 16)} (miner ${e.instance.miner}, t0 ${e.instance.t0})`));
  v.on('relayed', (e) => out.event('relayed', { instance: e.instance, hash: e.hash, round: e.round, signatures: e.signatures }, `relayed ${e.hash.slice(0, 16)} in round ${e.round} with ${e.signatures} signatures`));
  v.on('decided', (e) =>
    out.event('decided', { instance: e.instance, block: e.block }, e.block ? `decided block ${e.block.hash.slice(0, 16)} at height ${e.block.height} (miner ${e.instance.miner}, t0 ${e.instance.t0}): ${e.block.payload}` : `decided no block (miner ${e.instance.miner}, t0 ${e.instance.t0})`),
  );
  v.on('synced', (e) => out.event('synced', { block: e.block, vouchers: e.vouchers }, `synced block ${e.block.hash.slice(0, 16)} at height ${e.block.height} from peers`));
  v.on('resync', (e) => out.event('resync', { reason: e.reason }, `catching up again: ${e.reason}`));
  v.on('stalled', (e) =>
    out.event('stalled', { lateMs: e.lateMs, stallMsMax: e.stallMsMax, catchingUp: e.catchingUp }, `process stalled ${e.lateMs} ms (limit ${e.stallMsMax}): ${e.catchingUp ? 'catching up from f+1 validators' : 'fewer than f+1 validator peers to catch up from, deciding on its own view'}`),
  );
  v.on('late-chain', (e) =>
    out.event(
      'late-chain',
      { instance: e.instance, round: e.round, lateMs: e.lateMs, checkMs: e.checkMs, ended: e.ended, stallMsMax: e.stallMsMax, catchingUp: e.catchingUp },
      `chain of miner ${e.instance.miner} (t0 ${e.instance.t0}) checked ${e.lateMs} ms after its round ${e.round} ended, its check ${e.checkMs} ms long (limit ${e.stallMsMax}): ${e.catchingUp ? 'out of synchrony, catching up from f+1 validators' : 'out of synchrony; fewer than f+1 validator peers to catch up from, deciding on its own view'}`,
    ),
  );
  v.on('diverged', (e) =>
    out.event(
      'diverged',
      { source: e.source, reason: e.reason, t0: e.t0, height: e.height, signers: e.signers, theirs: e.theirs, ours: e.ours },
      `ALARM: this chain diverged from the one f+1 validators hold at height ${e.height}: ${e.reason}; see the README, "Stalls and forks"`,
    ),
  );
  v.on('store-failed', (e) =>
    out.event(
      'store-failed',
      { code: e.code, reason: e.reason, height: e.height, t0: e.t0 },
      `ALARM: the chain store failed at height ${e.height} (${e.code}: ${e.reason}); from here on blocks are decided in memory only and not reported: restart the node; see the README, "Durable state and catch-up"`,
    ),
  );
  v.on('caught-up', (e) => out.event('caught-up', { height: e.height, tip: e.tip }, `caught up at height ${e.height}`));
  v.on('rejected', (e) => out.event('rejected', { instance: e.instance, code: e.code, reason: e.reason, from: e.from }, null));
}

function consoleValidator(v: Validator, node: StrongcastNode, out: Output): ConsoleValidator {
  return {
    mine: async (text) => {
      const payload = new TextEncoder().encode(text || `block from validator ${v.index} at ${new Date().toISOString()}`);
      await v.mine(payload);
    },
    chain: () => {
      const blocks = v.chain().map((b) => ({ hash: toHex(b.hash), height: b.height, parent: toHex(b.parent), miner: b.miner, t0: b.t0, payload: new TextDecoder().decode(b.payload) }));
      out.event('chain', { blocks }, blocks.length === 0 ? 'no blocks decided yet' : blocks.map((b) => `#${b.height} ${b.hash.slice(0, 16)} miner ${b.miner} t0 ${b.t0}: ${b.payload}`).join('\n'));
    },
    stats: () => {
      const st = v.status();
      const blocks = v.chain();
      const last = blocks[blocks.length - 1];
      const open = st.instances[st.instances.length - 1];
      return {
        validator: v.index,
        round: st.round,
        height: st.height,
        lastBlock: last ? toHex(last.hash) : null,
        instance: open ? { miner: open.miner, t0: open.t0, round: open.round, poolSize: open.poolSize } : null,
      };
    },
    status: () => {
      const s = v.status();
      out.event('status', { validator: v.index, peers: node.peers().length, ...s }, `validator ${v.index}, ${node.peers().length} peers\n${JSON.stringify(s, null, 2)}`);
    },
  };
}
