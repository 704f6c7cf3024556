/**
 * The package as a user gets it: `npm pack` (which runs `prepack`, the build), the tarball installed into a
 * fresh project outside this repository, and from there `npx strongcast --help`, two nodes broadcasting
 * through `import { createNode } from 'strongcast'` under plain Node, and `tsc --strict` on a consumer file.
 *
 * How the install stays offline and deterministic: the temporary project gets a package-lock.json written
 * here, not resolved by npm. Its `strongcast` entry is the tarball (with the tarball's own sha512); every
 * other entry is this repository's lockfile entry for a runtime dependency (plus @types/node for the
 * consumer's tsc), each given the registry tarball URL npm itself would use and keeping its lockfile
 * integrity. `npm ci --offline` then reads no package metadata and fetches no tarball: npm finds each
 * tarball in its cache by that integrity, where this repository's own `npm ci` (the README's set-up, and
 * the first step of CI) put it. Nothing here depends on the network or on cached metadata going stale, and
 * a missing cache entry fails at once with ENOTCACHED (run `npm ci` first) instead of waiting on a timeout.
 * The project lives in the system's temporary directory, so no module can be found by walking up into this
 * repository's node_modules: a dependency missing from the package fails here as it would for a user.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tscPath = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  bin: Record<string, string>;
};
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [k: string]: unknown;
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

/** Time for npm pack (with its build) and for npm ci, in ms: generous, as both read and write many files. */
const npmStepMsMax = 120_000;
/** Time for one short command in the installed project, in ms. */
const commandMsMax = 30_000;

/** npm never goes to the network in this file: every call reads only the cache. */
const offlineEnv = { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

function npm(args: string[], cwd: string, timeoutMs = npmStepMsMax): string {
  return execFileSync('npm', args, { cwd, env: offlineEnv, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The tarball URL npm gives a registry package: REGISTRY/NAME/-/BASENAME-VERSION.tgz. */
function registryTarball(registry: string, path: string, version: string): string {
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  return `${registry.replace(/\/?$/, '/')}${name}/-/${name.split('/').pop()}-${version}.tgz`;
}

/** The consumer's lockfile: the tarball, this repository's runtime dependencies, and @types/node. */
function consumerLock(tarball: string, integrity: string, registry: string): object {
  const packages: Record<string, LockEntry | object> = {
    '': { name: 'consumer', dependencies: { strongcast: `file:${tarball}` }, devDependencies: { '@types/node': pkg.devDependencies['@types/node'] } },
    'node_modules/strongcast': { version: pkg.version, resolved: `file:${tarball}`, integrity, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  const wanted = (path: string, e: LockEntry) => !e.dev || path === 'node_modules/@types/node' || path === 'node_modules/undici-types';
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || !wanted(path, entry)) continue;
    const { dev: _dev, devOptional, ...rest } = entry;
    packages[path] = { ...rest, ...(devOptional ? { optional: true } : {}), resolved: entry.resolved ?? registryTarball(registry, path, entry.version!) };
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

const work = mkdtempSync(join(tmpdir(), 'strongcast-pack-'));
const project = join(work, 'consumer');
let packedFiles: string[] = [];

test.before(() => {
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work], root)) as { filename: string; files: { path: string }[] }[];
  const tarball = packed[0]!.filename;
  packedFiles = packed[0]!.files.map((f) => f.path);
  mkdirSync(project);
  copyFileSync(join(work, tarball), join(project, tarball));
  const integrity = `sha512-${createHash('sha512').update(readFileSync(join(project, tarball))).digest('base64')}`;
  const registry = npm(['config', 'get', 'registry'], root, commandMsMax).trim();
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { strongcast: `file:${tarball}` }, devDependencies: { '@types/node': pkg.devDependencies['@types/node'] } }, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(consumerLock(tarball, integrity, registry), null, 2));
  npm(['ci', '--offline', '--no-audit', '--no-fund'], project);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball holds the compiled code, declarations, worker and bin; no sources, tests or benchmarks', () => {
  for (const f of ['package.json', 'README.md', 'bin/strongcast.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/main.js', 'dist/workers/verify.js']) {
    assert.ok(packedFiles.includes(f), `${f} is packed`);
  }
  const stray = packedFiles.filter((f) => /^(src|test|bench|workers|dist\/bench|dist\/src\/sim)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'));
  assert.equal(stray, [], 'nothing but the compiled package');
  assert.not.ok('tsx' in pkg.dependencies, 'tsx is for the clone only');
});

test('npx strongcast --help runs the compiled CLI', () => {
  const help = execFileSync('npx', ['--offline', 'strongcast', '--help'], { cwd: project, env: offlineEnv, encoding: 'utf8', timeout: commandMsMax });
  assert.match(help, /^strongcast: a peer-to-peer node/);
});

test("two nodes broadcast through import { createNode } from 'strongcast' under plain Node, and its metrics count it", () => {
  const script = `
    import { createNode, startMetricsServer } from 'strongcast';
    const a = createNode({ host: '127.0.0.1', port: 0 });
    await a.start();
    const b = createNode({ host: '127.0.0.1', port: 0, peers: ['127.0.0.1:' + a.listenPort] });
    const got = new Promise((resolve) => a.on('message', (m) => resolve(new TextDecoder().decode(m.data))));
    await b.start();
    for (let i = 0; i < 250 && b.peers().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await b.broadcast('chat', 'hello from the package');
    const text = await Promise.race([got, new Promise((r) => setTimeout(() => r('no message within 5 s'), 5000))]);
    const metrics = await startMetricsServer({ node: a, port: 0 });
    const scraped = await (await fetch(metrics.url + '/metrics')).text();
    await metrics.stop();
    const delivered = /^strongcast_broadcasts_delivered_total (\\d+)$/m.exec(scraped)?.[1];
    await b.stop();
    await a.stop();
    process.stdout.write(String(text) + ' / delivered ' + delivered);`;
  writeFileSync(join(project, 'two-nodes.mjs'), script);
  const out = execFileSync(process.execPath, ['two-nodes.mjs'], { cwd: project, encoding: 'utf8', timeout: commandMsMax });
  assert.is(out, 'hello from the package / delivered 1', 'the message, and the metrics (prom-client loaded from the package) counted it');
});

/** tsc on one file of the consumer project, strict, with the project's own node_modules: exit status and output. */
function typecheck(file: string, source: string): { ok: boolean; output: string } {
  writeFileSync(join(project, file), source);
  const args = [tscPath, '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', file];
  try {
    return { ok: true, output: execFileSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: npmStepMsMax }) };
  } catch (e) {
    return { ok: false, output: String((e as { stdout?: string }).stdout ?? e) };
  }
}

test('tsc --strict type-checks a consumer file against the shipped declarations, and catches a misuse', () => {
  const good = typecheck(
    'consumer.ts',
    `import { createNode, StrongcastError, type GossipDelivery, type NodeOptions } from 'strongcast';
     const options: NodeOptions = { host: '127.0.0.1', port: 0, maxPeers: 4 };
     const node = createNode(options);
     node.on('message', (m: GossipDelivery) => console.log(m.topic, m.data.byteLength, m.hops));
     node.on('peer', (p) => console.log(p.state, p.addr));
     const started: Promise<{ host: string; port: number; id: string }> = node.start();
     const e: StrongcastError = new StrongcastError('ERR_INVALID_OPTION');
     void started, e;`,
  );
  assert.ok(good.ok, good.output);
  // The negative control: the declarations are really read (an untyped module would accept this).
  const bad = typecheck('misuse.ts', `import { createNode } from 'strongcast';\nconst n = createNode({ port: 'seven' });\nvoid n.broadcast(42);\n`);
  assert.not.ok(bad.ok, 'a wrong option type must not type-check');
  assert.match(bad.output, /misuse\.ts\(2,/);
});

/** Whether the `engines` range admits `version`; the range is `^X.Y.Z` and `>=X.Y.Z` terms joined by `||`. */
function admits(range: string, version: string): boolean {
  const v = version.split('.').map(Number) as [number, number, number];
  const atLeast = (min: number[]) => v[0]! * 1e6 + v[1]! * 1e3 + v[2]! >= min[0]! * 1e6 + min[1]! * 1e3 + min[2]!;
  return range.split('||').some((term) => {
    const m = /^\s*(\^|>=)(\d+)\.(\d+)\.(\d+)\s*$/.exec(term);
    assert.ok(m, `engines term '${term}' is ^X.Y.Z or >=X.Y.Z`);
    const min = [Number(m![2]), Number(m![3]), Number(m![4])];
    return atLeast(min) && (m![1] === '>=' || v[0] === min[0]);
  });
}

test('engines admits exactly the Node versions that have every newer API the code calls', () => {
  // zlib.crc32 (the chain log's record checksum) came in 20.15.0 and 22.2.0, never in 21. Every other API the
  // shipped code calls was in Node 20.0.0 (util.parseArgs with tokens, os.availableParallelism, Object.hasOwn).
  const source = readFileSync(join(root, 'src/store/append-log.ts'), 'utf8');
  assert.match(source, /import \{[^}]*\bcrc32\b[^}]*\} from 'node:zlib'/, 'the table below is about this import');
  const range = pkg.engines.node;
  for (const [version, expected] of [['20.14.0', false], ['20.15.0', true], ['21.7.3', false], ['22.1.0', false], ['22.2.0', true], ['24.0.0', true]] as const) {
    assert.is(admits(range, version), expected, `engines ${range} and Node ${version}`);
  }
  assert.ok(admits(range, process.versions.node), 'the Node running the tests is admitted');
});

test.run();
