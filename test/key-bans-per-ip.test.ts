/**
 * Bans that follow the IP (issue 16): keys are free, so once keyBansPerIpMax keys connected from one address
 * have been banned within banMs, the address is banned too. A sender banned for bad signatures under two
 * fresh keys from one address gets no handshake for a third; another address is not touched. On loopback
 * this needs ipLimitsOnLoopback (every 127.x address is loopback on Linux; each models another host).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import { isStrongcastError } from '../src/errors.ts';
import { resolveLimits } from '../src/core/node-options.ts';
import { KeyBanTally } from '../src/peers/key-ban-tally.ts';
import type { Verifier } from '../src/crypto/verifier.ts';
import { fastOptions, stopAll } from './helpers/net.ts';
import { RawPeer } from './helpers/raw-peer.ts';

/** Connects from `from` with a fresh key and sends bad signatures until the node closes the connection (a ban). */
async function banKeyFrom(port: number, from: string): Promise<void> {
  const raw = await RawPeer.handshake(port, 'strongcast-test', undefined, {}, from);
  for (let i = 0; i < 3 && !raw.closed; i++) raw.send(raw.gossip(i + 1, `forged ${i}`, { badSig: true }));
  await raw.waitClosed(3000);
  raw.close();
}

test('two keys banned from one IP ban the IP: a third key from it gets no handshake, another IP is served', async () => {
  const v = createNode({ ...fastOptions, ipLimitsOnLoopback: true });
  await v.start();
  try {
    await banKeyFrom(v.listenPort, '127.0.0.9');
    assert.not.ok(v.isBanned('127.0.0.9'), 'one banned key does not ban its address');
    await banKeyFrom(v.listenPort, '127.0.0.9');
    assert.ok(v.isBanned('127.0.0.9'), 'the second banned key from the same address bans the address');
    const third = await RawPeer.handshake(v.listenPort, 'strongcast-test', undefined, {}, '127.0.0.9').then(() => null, (e: unknown) => e);
    assert.ok(third instanceof Error, 'a fresh key from a banned address gets no handshake');
    const other = await RawPeer.handshake(v.listenPort, 'strongcast-test', undefined, {}, '127.0.0.10');
    assert.not.ok(other.closed, 'a fresh key from another address is served');
    other.close();
  } finally {
    await stopAll([v]);
  }
});

test('an offence that comes in after its connection closed (a verification still in flight) is the key\'s, not the IP\'s', async () => {
  // Every signature is bad, and each answer comes 150 ms later.
  // The first check is the peer's identity proof in the handshake, which passes.
  let calls = 0;
  const slow: Verifier = {
    verify: (checks) => (calls++ === 0 ? Promise.resolve(checks.map(() => true)) : new Promise((resolve) => setTimeout(() => resolve(checks.map(() => false)), 150))),
    close: async () => {},
  };
  const v = createNode({ ...fastOptions, ipLimitsOnLoopback: true, verifier: slow });
  await v.start();
  try {
    const raw = await RawPeer.handshake(v.listenPort, 'strongcast-test', undefined, {}, '127.0.0.12');
    // Five in flight together: about three charges ban the key (its score decays between them), the rest
    // are answered after the connection closed.
    for (let i = 0; i < 5; i++) raw.send(raw.gossip(i + 1, `forged ${i}`, { badSig: true }));
    await raw.waitClosed(3000);
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(v.isBanned(Buffer.from(raw.identity.publicKey).toString('hex')), 'the key is banned');
    assert.not.ok(v.isBanned('127.0.0.12'), 'one key\'s offences do not ban its address');
    assert.is(v.scoreOf('127.0.0.12'), 0, 'its address was charged nothing: it passed a handshake, its offences are its key\'s');
    raw.close();
  } finally {
    await stopAll([v]);
  }
});

test('keyBansPerIpMax 0 never bans an address for its keys; without ipLimitsOnLoopback loopback is exempt', async () => {
  for (const extra of [{ ipLimitsOnLoopback: true, keyBansPerIpMax: 0 }, {}]) {
    const v = createNode({ ...fastOptions, ...extra });
    await v.start();
    try {
      await banKeyFrom(v.listenPort, '127.0.0.11');
      await banKeyFrom(v.listenPort, '127.0.0.11');
      assert.not.ok(v.isBanned('127.0.0.11'), JSON.stringify(extra));
    } finally {
      await stopAll([v]);
    }
  }
  assert.is(resolveLimits({}).keyBansPerIpMax, 2, 'the default');
  assert.throws(() => resolveLimits({ keyBansPerIpMax: -1 }), (e: unknown) => isStrongcastError(e, 'ERR_INVALID_OPTION') && (e as Error).message.includes('keyBansPerIpMax'));
});

test('the tally counts key bans within the window, at its edge, and remembers at most ipsMax addresses', () => {
  const t = new KeyBanTally({ keyBansPerIpMax: 2, windowMs: 1000, ipsMax: 2 });
  assert.not.ok(t.keyBanned('a', 0));
  assert.not.ok(t.keyBanned('a', 1000), 'a ban exactly windowMs old no longer counts');
  assert.ok(t.keyBanned('a', 1999), 'two within the window');
  t.keyBanned('b', 2000);
  t.keyBanned('c', 2001);
  assert.is(t.size, 2, 'the stalest address is forgotten');
  assert.not.ok(t.keyBanned('a', 2002), 'a was forgotten: its bans start again');
});

test.run();
