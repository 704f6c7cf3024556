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
import { createGenesis, createGenesisDefaults, genesisHash, genesisToJson, roundsPerInstance } from '../consensus/genesis.ts';
import { checkRoundLength, timingDefaults } from '../consensus/timing.ts';
import { toHex } from '../bytes.ts';
import type { InitFlags } from './args.ts';
import { cliCommand } from '../module-path.ts';

/** Paths and facts of a freshly written network. */
export interface InitResult {
  genesisPath: string;
  keyPaths: string[];
  networkId: string;
  genesisHash: string;
}

/**
 * Writes DIR/genesis.json and DIR/node-<i>.key.
 * @throws ERR_INVALID_OPTION when the genesis already exists, or the round length breaks the timing rule
 */
export async function initNetwork(flags: InitFlags): Promise<InitResult> {
  checkRoundLength(flags.roundMs ?? createGenesisDefaults.roundMs, flags.clockSkewMsMax ?? timingDefaults.clockSkewMsMax, flags.deliveryMsMax ?? timingDefaults.deliveryMsMax);
  const genesisPath = join(flags.out, 'genesis.json');
  if (existsSync(genesisPath)) {
    throw new StrongcastError('ERR_INVALID_OPTION', `${genesisPath} already exists; choose another --out or remove it`);
  }
  const identities = Array.from({ length: flags.nodes }, () => generateIdentity());
  const genesis = createGenesis({
    publicKeys: identities.map((i) => i.publicKey),
    networkId: flags.network ?? `strongcast-${randomBytes(4).toString('hex')}`,
    faults: flags.faults,
    roundMs: flags.roundMs,
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
    return { genesisPath, keyPaths, networkId: genesis.networkId, genesisHash: toHex(genesisHash(genesis)) };
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
      r.keyPaths.map((p) => `wrote ${p}`).join('\n') +
      `\nrun validator 0 with: ${cliCommand(import.meta.url)} --genesis ${r.genesisPath} --key ${r.keyPaths[0]}\n`,
  );
  void roundsPerInstance;
}
