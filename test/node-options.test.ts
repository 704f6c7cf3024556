/** Node options: defaults, validation messages naming the field, address parsing; address book bounds and restore. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNode } from '../src/create-node.ts';
import { nodeDefaults, parseHostPort, resolveLimits } from '../src/core/node-options.ts';
import { AddressBook, addressRetryMs, normalizeHost } from '../src/peers/address-book.ts';
import { isStrongcastError } from '../src/errors.ts';
import { identityFromSeed } from '../src/crypto/keys.ts';
import type { AddressBookEntry } from '../src/peers/address-book-snapshot.ts';

function invalid(fn: () => unknown, fragment: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), String(e));
    assert.ok((e as Error).message.includes(fragment), `'${(e as Error).message}' lacks '${fragment}'`);
    return;
  }
  assert.unreachable(`accepted, expected error with '${fragment}'`);
}

test('every numeric limit has a default and is validated by name', () => {
  assert.equal(resolveLimits({}), nodeDefaults);
  for (const key of Object.keys(nodeDefaults)) {
    // writeCoalesceMs (flush every event-loop iteration), outboundSlotsMin (no reserve) and keyBansPerIpMax
    // (never ban an IP for its keys) may be 0; every limit refuses -1 and NaN
    if (!['writeCoalesceMs', 'outboundSlotsMin', 'keyBansPerIpMax'].includes(key)) invalid(() => resolveLimits({ [key]: 0 }), `options.${key} must be`);
    invalid(() => resolveLimits({ [key]: -1 }), `options.${key} must be`);
    invalid(() => resolveLimits({ [key]: Number.NaN }), `options.${key} must be`);
  }
  assert.is(resolveLimits({ writeCoalesceMs: 0 }).writeCoalesceMs, 0);
  assert.is(resolveLimits({ keyBansPerIpMax: 0 }).keyBansPerIpMax, 0);
  invalid(() => resolveLimits({ writeCoalesceMs: 1.5 }), 'options.writeCoalesceMs must be a non-negative integer');
  invalid(() => resolveLimits({ maxPeers: 4, targetPeers: 5 }), 'options.targetPeers must not exceed options.maxPeers');
  // outboundSlotsMin may be 0 (no reserve) and must leave inbound peers at least one slot
  assert.is(resolveLimits({ outboundSlotsMin: 0 }).outboundSlotsMin, 0);
  assert.is(resolveLimits({ maxPeers: 9, targetPeers: 1, outboundSlotsMin: 8 }).outboundSlotsMin, 8);
  invalid(() => resolveLimits({ maxPeers: 8, targetPeers: 1, outboundSlotsMin: 8 }), 'options.outboundSlotsMin must be below options.maxPeers');
  assert.is(resolveLimits({ maxPeers: 8, targetPeers: 1 }).outboundSlotsMin, 2, 'the default reserve of a small table is a quarter of it');
  // the wait for a first handshake message is at most the whole handshake's, shortened with it by default
  assert.is(resolveLimits({ handshakeTimeoutMs: 300 }).handshakeFirstMessageTimeoutMs, 300);
  assert.is(resolveLimits({ handshakeTimeoutMs: 300, handshakeFirstMessageTimeoutMs: 300 }).handshakeFirstMessageTimeoutMs, 300);
  invalid(() => resolveLimits({ handshakeTimeoutMs: 300, handshakeFirstMessageTimeoutMs: 301 }), 'options.handshakeFirstMessageTimeoutMs must not exceed options.handshakeTimeoutMs');
  // the bytes a link may hold before frames wait for room are counted in the write queue, so at most all of it;
  // a write queue smaller than the default target lowers the target with it by default
  assert.is(nodeDefaults.socketQueuedBytesTarget, 64 * 1024);
  assert.is(resolveLimits({ writeQueueBytesMax: 4096, socketQueuedBytesTarget: 4096 }).socketQueuedBytesTarget, 4096);
  invalid(() => resolveLimits({ writeQueueBytesMax: 4096, socketQueuedBytesTarget: 4097 }), 'options.socketQueuedBytesTarget must not exceed options.writeQueueBytesMax');
  invalid(() => resolveLimits({ socketQueuedBytesTarget: 1.5 }), 'options.socketQueuedBytesTarget must be a positive integer');
  assert.is(resolveLimits({ writeQueueBytesMax: 4096 }).socketQueuedBytesTarget, 4096);
  // the total of every connection's write queue, past which broadcasts go as ids (broadcast-relay.test.ts has its edge)
  assert.is(nodeDefaults.writeQueuedBytesTotalMax, 4 * 1024 * 1024);
});

test('createNode rejects bad ports and network ids with clear messages', () => {
  invalid(() => createNode({ port: 70000 }), 'options.port');
  invalid(() => createNode({ port: -1 }), 'options.port');
  invalid(() => createNode({ networkId: '' }), 'options.networkId');
  invalid(() => createNode({ networkId: 'x'.repeat(65) }), 'options.networkId');
  invalid(() => createNode({ peers: ['nope'] }), "'nope' must be HOST:PORT");
});

test('HOST:PORT parsing accepts IPv4, names and bracketed IPv6, and refuses the rest', () => {
  assert.equal(parseHostPort('127.0.0.1:7001'), { host: '127.0.0.1', port: 7001 });
  assert.equal(parseHostPort('localhost:1'), { host: 'localhost', port: 1 });
  assert.equal(parseHostPort('[::1]:65535'), { host: '::1', port: 65535 });
  for (const bad of ['127.0.0.1', ':7001', '127.0.0.1:0', '127.0.0.1:65536', 'a:b', '::1:7001']) invalid(() => parseHostPort(bad), bad);
});

test('the address book is bounded and rests an address after a dial attempt', () => {
  const book = new AddressBook(3);
  const addr = (i: number) => ({ id: new Uint8Array(32).fill(i), host: '127.0.0.1', port: 7000 + i });
  for (let i = 1; i <= 4; i++) book.add(addr(i), '127.0.0.1', 0);
  assert.is(book.size, 3, 'a full bucket keeps what it holds');
  assert.equal(book.candidates(addressRetryMs).map((a) => a.port).sort(), [7001, 7002, 7003]);
  book.attempted(addr(2), addressRetryMs);
  assert.not.ok(book.candidates(addressRetryMs + 1).some((a) => a.port === 7002), 'resting after an attempt');
  assert.ok(book.candidates(2 * addressRetryMs).some((a) => a.port === 7002), 'available again later');
  assert.is(book.sample(2, 0).length, 2);
  assert.is(normalizeHost('::ffff:10.0.0.1'), '10.0.0.1');
  assert.is(normalizeHost('::1'), '::1');
});

test('options.addressBook is checked by field, restored under its own key without the node itself, knownPeers added as new beside it', () => {
  const me = identityFromSeed(new Uint8Array(32).fill(5));
  const entry = (i: number, table: 'new' | 'tried'): AddressBookEntry => ({ id: new Uint8Array(32).fill(i), host: `10.${i}.0.1`, port: 7000 + i, table, source: '45.1', attempts: 1, lastSuccessMs: 9 });
  const key = new Uint8Array(16).fill(3);
  invalid(() => createNode({ addressBook: { key: new Uint8Array(4), entries: [] } }), 'options.addressBook.key must be 16 bytes');
  invalid(() => createNode({ addressBook: { key, entries: [{ ...entry(1, 'tried'), table: 'x' as 'new' }] } }), 'options.addressBook.entries[0].table must be "new" or "tried"');
  invalid(() => createNode({ addressBook: null as never }), 'options.addressBook must be an object');
  const self = { ...entry(2, 'tried'), id: me.publicKey };
  const node = createNode({ identity: me, addressBook: { key, entries: [entry(1, 'tried'), self, entry(3, 'new')] }, knownPeers: [entry(4, 'new'), entry(1, 'new')] });
  const snap = node.addressBookSnapshot();
  assert.equal(snap.key, key);
  assert.equal(snap.entries.map((e) => `${e.port} ${e.table}`).sort(), ['7001 tried', '7003 new', '7004 new']);
  assert.equal(node.knownAddresses()[0]!.port, 7001, 'tried first');
  assert.not.equal(createNode({}).addressBookSnapshot().key, createNode({}).addressBookSnapshot().key, 'without a saved book each node draws its key');
});

test.run();
