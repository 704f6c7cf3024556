/**
 * `strongcast init`: writes a genesis and one key file per validator, so a local network is one command
 * away. Refuses to overwrite an existing genesis: keys are identities, and losing them silently is worse
 * than an error.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StrongcastError } from '../errors.ts';
import { generateIdentity, writeKeyFile } from '../crypto/keys.ts';
import { createGenesis, genesisHash, genesisToJson } from '../consensus/genesis.ts';
import { checkRoundLength, timingDefaults } from '../consensus/timing.ts';
import { toHex } from '../bytes.ts';
import type { InitFlags } from './args.ts';
import { defaultRoundMs } from './round-default.ts';
import { cliCommand } from '../module-path.ts';

/** Paths and facts of a freshly written network. */
export interface InitResult {
  genesisPath: string;
  keyPaths: string[];
  networkId: string;
  genesisHash: string;
  /** The genesis round length, in ms. */
  roundMs: number;
  /** Where it came from: "--round-ms", or the default rule's terms (round-default.ts). */
  roundMsBasis: string;
}

/** How init is called beyond its flags. */
export interface InitContext {
  /**
   * Every validator will run on this machine (testnet), so the default round length allows for their work
   * adding up on its cores. @default false
   */
  sameMachine?: boolean;
}

/**
 * Writes DIR/genesis.json and DIR/node-<i>.key.
 * @throws ERR_INVALID_OPTION when the genesis already exists, or the round length breaks the timing rule
 */
export async function initNetwork(flags: InitFlags, context: InitContext = {}): Promise<InitResult> {
  const skew = flags.clockSkewMsMax ?? timingDefaults.clockSkewMsMax;
  const delivery = flags.deliveryMsMax ?? timingDefaults.deliveryMsMax;
  const chosen = flags.roundMs === undefined ? defaultRoundMs(flags.nodes, skew, delivery, context.sameMachine ?? false) : { roundMs: flags.roundMs, basis: '--round-ms' };
  checkRoundLength(chosen.roundMs, skew, delivery);
  const genesisPath = join(flags.out, 'genesis.json');
  if (existsSync(genesisPath)) {
    throw new StrongcastError('ERR_INVALID_OPTION', `${genesisPath} already exists; choose another --out or remove it`);
  }
  const identities = Array.from({ length: flags.nodes }, () => generateIdentity());
  const genesis = createGenesis({
    publicKeys: identities.map((i) => i.publicKey),
    networkId: flags.network ?? `strongcast-${randomBytes(4).toString('hex')}`,
    faults: flags.faults,
    roundMs: chosen.roundMs,
    startMs: flags.startMs ?? Date.now(),
    host: flags.host,
    basePort: flags.basePort,
  });
  try {
    await mkdir(flags.out, { recursive: true });
    const keyPaths: string[] = [];
    for (const [i, id] of identities.entries()) {
      const p = join(flags.out, `node-${i}.key`);
      await writeKeyFile(p, id);
      keyPaths.push(p);
    }
    await writeFile(genesisPath, JSON.stringify(genesisToJson(genesis), null, 2) + '\n');
    return { genesisPath, keyPaths, networkId: genesis.networkId, genesisHash: toHex(genesisHash(genesis)), roundMs: genesis.roundMs, roundMsBasis: chosen.basis };
  } catch (e) {
    if (e instanceof StrongcastError) throw e;
    throw new StrongcastError('ERR_STORE', `cannot write to ${flags.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** The `init` command: writes the files and says what it wrote. */
export async function runInit(flags: InitFlags): Promise<void> {
  const r = await initNetwork(flags);
  const k = (flags.faults ?? Math.floor((flags.nodes - 1) / 3)) + 1;
  process.stdout.write(
    `wrote ${r.genesisPath} (network ${r.networkId}, ${flags.nodes} validators, k=${k} rounds)\n` +
      `round length ${r.roundMs} ms (${r.roundMsBasis})\n` +
      r.keyPaths.map((p) => `wrote ${p}`).join('\n') +
      `\nrun validator 0 with: ${cliCommand(import.meta.url)} --genesis ${r.genesisPath} --key ${r.keyPaths[0]}\n`,
  );
}
