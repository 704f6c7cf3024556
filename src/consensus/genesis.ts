/**
 * The genesis: everything all validators must agree on before the first round. The network id, the ordered
 * validators (validator i owns bit i of every signer bitmask), the number of faults f tolerated (k = f + 1
 * rounds per instance; Dolev-Strong with signatures tolerates any f < n), the round length and the start time
 * from which rounds are counted. Read from JSON with every field checked, hashed over a canonical encoding.
 */
import { createHash } from 'node:crypto';
import { bytesEqual, fromHex, lengthPrefixed, toHex, u32be, u64be, utf8 } from '../bytes.ts';
import { StrongcastError } from '../errors.ts';
import { PUBLIC_KEY_BYTES, schemaLimits } from '../wire/schema.ts';

/** Domain tag of the genesis hash. */
export const GENESIS_DOMAIN = 'strongcast/genesis/v1';

/** Limits of a genesis beyond those of the wire schema. */
export const genesisLimits = {
  /** Longest round, in ms (one hour): longer rounds are almost surely a unit mistake (seconds for ms). */
  roundMsMax: 3_600_000,
} as const;

/** One validator: its index (its bit), its key, and where it listens. */
export interface GenesisValidator {
  index: number;
  publicKey: Uint8Array;
  host: string;
  port: number;
}

/** A parsed, checked genesis. */
export interface Genesis {
  networkId: string;
  /** Ordered by index; validators[i].index === i. */
  validators: readonly GenesisValidator[];
  /** f, the number of Byzantine validators tolerated, 0 <= f < n; instances last f + 1 rounds. */
  faults: number;
  /** Δ: the length of one round, in ms. */
  roundMs: number;
  /** Wall-clock ms (Unix epoch) at which round 0 starts. */
  startMs: number;
}

/** The JSON form of a genesis: keys in lower-case hex. */
export interface GenesisJson {
  networkId: string;
  faults: number;
  roundMs: number;
  startMs: number;
  validators: Array<{ index: number; publicKey: string; host: string; port: number }>;
}

type Obj = Record<string, unknown>;

function bad(field: string, what: string): never {
  throw new StrongcastError('ERR_GENESIS', `${field === '' ? 'genesis' : `genesis.${field}`} ${what}`);
}

function isObject(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function onlyKeys(o: Obj, keys: readonly string[], field: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(field === '' ? k : `${field}.${k}`, 'is not a known field');
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(field, `must be an integer in ${min}..${max}`);
  return v;
}

function text(v: unknown, field: string, maxBytes: number): string {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v, 'utf8') > maxBytes) {
    bad(field, `must be a non-empty string of at most ${maxBytes} bytes`);
  }
  return v;
}

function parseValidator(x: unknown, i: number): GenesisValidator {
  const field = `validators[${i}]`;
  if (!isObject(x)) bad(field, 'must be an object');
  onlyKeys(x, ['index', 'publicKey', 'host', 'port'], field);
  if (x['index'] !== i) bad(`${field}.index`, `must be ${i} (validators are listed in index order)`);
  const key = x['publicKey'];
  if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) bad(`${field}.publicKey`, `must be ${PUBLIC_KEY_BYTES * 2} lower-case hex digits`);
  return {
    index: i,
    publicKey: fromHex(key),
    host: text(x['host'], `${field}.host`, schemaLimits.hostCharsMax),
    port: int(x['port'], `${field}.port`, 1, 65535),
  };
}

/**
 * Checks an untyped value (parsed JSON) and returns it as a Genesis.
 * @throws StrongcastError ERR_GENESIS naming the first field that is wrong.
 */
export function parseGenesis(json: unknown): Genesis {
  if (!isObject(json)) bad('', 'must be a JSON object');
  onlyKeys(json, ['networkId', 'faults', 'roundMs', 'startMs', 'validators'], '');
  const networkId = text(json['networkId'], 'networkId', schemaLimits.networkIdBytesMax);
  const list = json['validators'];
  if (!Array.isArray(list) || list.length === 0 || list.length > schemaLimits.validatorsMax) {
    bad('validators', `must be an array of 1..${schemaLimits.validatorsMax} validators`);
  }
  const validators = list.map(parseValidator);
  const seen = new Set<string>();
  for (const v of validators) {
    const hex = toHex(v.publicKey);
    if (seen.has(hex)) bad(`validators[${v.index}].publicKey`, 'is the key of an earlier validator');
    seen.add(hex);
  }
  return {
    networkId,
    validators,
    faults: int(json['faults'], 'faults', 0, validators.length - 1),
    roundMs: int(json['roundMs'], 'roundMs', 1, genesisLimits.roundMsMax),
    startMs: int(json['startMs'], 'startMs', 0, Number.MAX_SAFE_INTEGER),
  };
}

/** The JSON form of a genesis (keys in hex), which parseGenesis reads back to an equal genesis. */
export function genesisToJson(g: Genesis): GenesisJson {
  return {
    networkId: g.networkId,
    faults: g.faults,
    roundMs: g.roundMs,
    startMs: g.startMs,
    validators: g.validators.map((v) => ({ index: v.index, publicKey: toHex(v.publicKey), host: v.host, port: v.port })),
  };
}

/**
 * SHA-256 of len-prefixed domain || len-prefixed network id || n (u32 BE) || the n keys in index order ||
 * faults (u32 BE) || roundMs (u64 BE) || startMs (u64 BE). Validator addresses are left out on purpose: they
 * only help nodes find each other, so a validator can move host without changing the hash every consensus
 * signature is bound to (signing.ts).
 */
export function genesisHash(g: Genesis): Uint8Array {
  const h = createHash('sha256');
  h.update(lengthPrefixed(utf8(GENESIS_DOMAIN)));
  h.update(lengthPrefixed(utf8(g.networkId)));
  h.update(u32be(g.validators.length));
  for (const v of g.validators) h.update(v.publicKey);
  h.update(u32be(g.faults));
  h.update(u64be(g.roundMs));
  h.update(u64be(g.startMs));
  return new Uint8Array(h.digest());
}

/** Rounds per instance, k = f + 1: the fewest that let a chain carry one honest signature (Dolev-Strong). */
export function roundsPerInstance(g: Genesis): number {
  return g.faults + 1;
}

/** The index of the validator holding `publicKey`, or null when the key is not a validator's. */
export function validatorIndex(g: Genesis, publicKey: Uint8Array): number | null {
  const v = g.validators.find((x) => bytesEqual(x.publicKey, publicKey));
  return v === undefined ? null : v.index;
}

/** What createGenesis needs; everything but the keys has a default. */
export interface CreateGenesisOptions {
  /** Validator keys in index order. */
  publicKeys: readonly Uint8Array[];
  /** @default 'strongcast-dev' */
  networkId?: string;
  /**
   * Byzantine validators tolerated; any value below n is valid. The default is the classic one-third bound:
   * it keeps instances short (k = f + 1 rounds) while matching what operators usually plan for.
   * @default Math.floor((n - 1) / 3)
   */
  faults?: number;
  /** Round length in ms. @default 1000 */
  roundMs?: number;
  /** Start of round 0, in ms since the Unix epoch; 0 aligns rounds to the epoch. @default 0 */
  startMs?: number;
  /** Host every validator listens on (a local test network). @default '127.0.0.1' */
  host?: string;
  /** Port of validator 0; validator i listens on basePort + i. @default 7001 */
  basePort?: number;
}

/** Defaults of createGenesis. */
export const createGenesisDefaults = { networkId: 'strongcast-dev', roundMs: 1000, startMs: 0, host: '127.0.0.1', basePort: 7001 } as const;

/**
 * Builds a genesis for the given keys, checked exactly as a parsed one is.
 * @throws StrongcastError ERR_GENESIS naming the field that is wrong.
 */
export function createGenesis(opts: CreateGenesisOptions): Genesis {
  const n = opts.publicKeys.length;
  const base = opts.basePort ?? createGenesisDefaults.basePort;
  const host = opts.host ?? createGenesisDefaults.host;
  for (const [i, k] of opts.publicKeys.entries()) {
    if (!(k instanceof Uint8Array) || k.byteLength !== PUBLIC_KEY_BYTES) bad(`validators[${i}].publicKey`, `must be ${PUBLIC_KEY_BYTES} bytes`);
  }
  return parseGenesis(
    genesisToJson({
      networkId: opts.networkId ?? createGenesisDefaults.networkId,
      faults: opts.faults ?? Math.floor(Math.max(0, n - 1) / 3),
      roundMs: opts.roundMs ?? createGenesisDefaults.roundMs,
      startMs: opts.startMs ?? createGenesisDefaults.startMs,
      validators: opts.publicKeys.map((publicKey, index) => ({ index, publicKey, host, port: base + index })),
    }),
  );
}
