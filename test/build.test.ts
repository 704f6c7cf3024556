/**
 * The compiled build (`npm run build`): module paths pick `.js` or `.ts` to match the running code, and the
 * compiled tree runs under plain Node, without tsx: the CLI starts and the verification pool finds its
 * compiled worker. (Under tsx the pool's own tests exercise workers/verify.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cliCommand, isCompiled, loaderFlags, siblingModuleUrl } from '../src/module-path.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const tscPath = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('siblingModuleUrl gives .ts next to TypeScript and .js next to compiled JavaScript', () => {
  const ts = siblingModuleUrl('../../workers/verify', 'file:///repo/src/crypto/verify-pool.ts');
  const js = siblingModuleUrl('../../workers/verify', 'file:///repo/dist/src/crypto/verify-pool.js');
  assert.is(ts.href, 'file:///repo/workers/verify.ts');
  assert.is(js.href, 'file:///repo/dist/workers/verify.js');
  assert.throws(() => siblingModuleUrl('../main.ts', 'file:///repo/src/cli/testnet.ts'), /without extension/);
});

test('loaderFlags: the tsx loader for TypeScript, nothing for compiled JavaScript', () => {
  assert.ok(isCompiled('file:///repo/dist/src/main.js'));
  assert.not.ok(isCompiled('file:///repo/src/main.ts'));
  const [flag, loader] = loaderFlags('file:///repo/src/cli/testnet.ts');
  assert.is(flag, '--import');
  assert.is(loader, import.meta.resolve('tsx'), 'the loader by its resolved file, whatever the working directory');
  assert.match(String(loader), /^file:\/\/.*\/node_modules\/tsx\//);
  assert.equal(loaderFlags('file:///repo/dist/src/cli/testnet.js'), []);
});

test('cliCommand: the command that runs the CLI the way it runs now, for the hints it prints', () => {
  assert.is(cliCommand('file:///repo/src/cli/init.ts'), 'npx tsx src/main.ts');
  assert.is(cliCommand('file:///repo/dist/src/cli/init.js'), 'node dist/src/main.js');
  assert.is(cliCommand('file:///app/node_modules/strongcast/dist/src/cli/init.js'), 'npx strongcast');
});

test('the compiled tree runs without tsx: main.js --help, and the pool verifies with workers/verify.js', () => {
  // Inside the repository (ignored tmp/), so the compiled modules resolve the repository's node_modules.
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const out = mkdtempSync(join(root, 'tmp', 'build-test-'));
  try {
    execFileSync(process.execPath, [tscPath, '-p', 'tsconfig.build.json', '--outDir', out], { cwd: root, timeout: 120_000, stdio: 'pipe' });
    const help = execFileSync(process.execPath, [join(out, 'src', 'main.js'), '--help'], { cwd: root, timeout: 20_000, encoding: 'utf8' });
    assert.match(help, /Usage:/);
    const poolUrl = pathToFileURL(join(out, 'src', 'crypto', 'verify-pool.js')).href;
    const keysUrl = pathToFileURL(join(out, 'src', 'crypto', 'keys.js')).href;
    const script = `
      const { createVerifyPool } = await import(${JSON.stringify(poolUrl)});
      const { generateIdentity } = await import(${JSON.stringify(keysUrl)});
      const id = generateIdentity();
      const message = new Uint8Array([1, 2, 3]);
      const signature = id.sign(message);
      const pool = createVerifyPool({ threads: 1 });
      const ok = await pool.verify([{ publicKey: id.publicKey, message, signature }, { publicKey: id.publicKey, message: new Uint8Array([4]), signature }]);
      await pool.close();
      process.stdout.write(JSON.stringify(ok));`;
    const verdicts = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 20_000, encoding: 'utf8' });
    assert.equal(JSON.parse(verdicts), [true, false]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
