/** Identities and the key file: round trip, permissions, and one clear ERR_KEY_FILE line per failure. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../src/bytes.ts';
import { isStrongcastError } from '../src/errors.ts';
import { verifySignature } from '../src/crypto/ed25519.ts';
import { generateIdentity, identityFromSeed, keyFileBytesMax, readKeyFile, writeKeyFile } from '../src/crypto/keys.ts';

let dir = '';

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongcast-keys-'));
});

test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rfcSeed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const rfcPublicKey = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

test('identityFromSeed derives the RFC 8032 public key and signs verifiably', () => {
  const id = identityFromSeed(rfcSeed);
  assert.is(toHex(id.publicKey), rfcPublicKey);
  const msg = new Uint8Array([1, 2, 3]);
  assert.ok(verifySignature('native', id.publicKey, msg, id.sign(msg)));
  assert.not.ok(verifySignature('native', id.publicKey, new Uint8Array([1, 2, 4]), id.sign(msg)));
});

test('generateIdentity gives distinct working identities', () => {
  const a = generateIdentity();
  const b = generateIdentity();
  assert.is.not(toHex(a.publicKey), toHex(b.publicKey));
  assert.is(toHex(identityFromSeed(a.seed).publicKey), toHex(a.publicKey));
});

test('writeKeyFile then readKeyFile round-trips, with mode 0600 even over an existing file', async () => {
  const path = join(dir, 'round-trip.json');
  await writeFile(path, 'old', { mode: 0o644 });
  const id = generateIdentity();
  await writeKeyFile(path, id);
  assert.is((await stat(path)).mode & 0o777, 0o600);
  const back = await readKeyFile(path);
  assert.is(toHex(back.publicKey), toHex(id.publicKey));
  assert.is(toHex(back.seed), toHex(id.seed));
});

async function expectKeyFileError(path: string, fragment: string): Promise<void> {
  try {
    await readKeyFile(path);
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_KEY_FILE'), `expected ERR_KEY_FILE, got ${String(e)}`);
    const message = (e as Error).message;
    assert.ok(message.includes(path), `message names the path: ${message}`);
    assert.ok(message.includes(fragment), `message says "${fragment}": ${message}`);
    assert.not.ok(message.includes('\n'), 'one line');
    return;
  }
  assert.unreachable(`readKeyFile(${path}) should have failed`);
}

const good = { type: 'strongcast-ed25519', publicKey: rfcPublicKey, seed: toHex(rfcSeed) };

const failures: Array<[name: string, content: string | null, fragment: string]> = [
  ['missing', null, 'does not exist'],
  ['bad-json', '{ "type": ', 'is not valid JSON'],
  ['array', '[]', 'must hold a JSON object'],
  ['wrong-type', JSON.stringify({ ...good, type: 'ssh-ed25519' }), '"type" must be "strongcast-ed25519"'],
  ['no-seed', JSON.stringify({ type: good.type, publicKey: good.publicKey }), '"seed" must be 64 hex characters'],
  ['short-key', JSON.stringify({ ...good, publicKey: 'abcd' }), '"publicKey" must be 64 hex characters'],
  ['mismatch', JSON.stringify({ ...good, publicKey: toHex(generateIdentity().publicKey) }), '"publicKey" does not match "seed"'],
  ['too-large', JSON.stringify({ ...good, pad: 'x'.repeat(keyFileBytesMax) }), `a key file is at most ${keyFileBytesMax}`],
];

for (const [name, content, fragment] of failures) {
  test(`readKeyFile fails with ERR_KEY_FILE: ${name}`, async () => {
    const path = join(dir, `${name}.json`);
    if (content !== null) await writeFile(path, content);
    await expectKeyFileError(path, fragment);
  });
}

test('readKeyFile fails with ERR_KEY_FILE on a directory', async () => {
  const path = join(dir, 'a-directory');
  await mkdir(path);
  await expectKeyFileError(path, 'is not a regular file');
});

test('readKeyFile fails with ERR_KEY_FILE on a path it cannot read', async () => {
  // A parent that is a file gives ENOTDIR for every user, root included (root ignores mode 000).
  const parent = join(dir, 'plain-file');
  await writeFile(parent, 'x');
  await expectKeyFileError(join(parent, 'key.json'), 'cannot be read (ENOTDIR)');
});

test('writeKeyFile fails with ERR_KEY_FILE into a missing directory', async () => {
  const path = join(dir, 'no-such-dir', 'key.json');
  try {
    await writeKeyFile(path, generateIdentity());
    assert.unreachable('should fail');
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_KEY_FILE'));
    assert.ok((e as Error).message.includes(path));
  }
});

test.run();
