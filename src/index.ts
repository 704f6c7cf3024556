/**
 * strongcast library API. The CLI (main.ts) is a thin user of exactly these exports.
 *
 *   import { createNode } from 'strongcast';          // in a clone: from './src/index.ts'
 *   const node = createNode({ port: 7001, peers: ['127.0.0.1:7002'] });
 *   node.on('message', (m) => console.log(m.topic, new TextDecoder().decode(m.data)));
 *   await node.start();
 *   await node.broadcast('chat', 'hello');
 */
export { StrongcastNode } from './core/node.ts';
export { createNode } from './create-node.ts';
export type { GossipDelivery, PeerEvent, PeerInfo, OffenceEvent, NodeEvents, ConsensusPort, ChainVerdict, NodeEnvironment } from './core/node.ts';
export type { Clock, Timer } from './io/clock.ts';
export type { Random } from './io/random.ts';
export type { Transport, Link, LinkHandlers, Listener, DialCallback } from './io/transport.ts';
export { nodeDefaults, DEFAULT_NETWORK_ID, parseHostPort, parsePeerAddress, type PinnedAddress } from './core/node-options.ts';
export type { NodeOptions, NodeLimits } from './core/node-options.ts';
export type { AddressBookSnapshot, AddressBookEntry } from './peers/address-book-snapshot.ts';
export { StrongcastError, ErrorCodes, isStrongcastError } from './errors.ts';
export type { ErrorCode } from './errors.ts';
export { generateIdentity, identityFromSeed, readKeyFile, writeKeyFile } from './crypto/keys.ts';
export type { Identity } from './crypto/keys.ts';
export type { Verifier, ChainVerifier, SignatureCheck } from './crypto/verifier.ts';
export { createVerifyPool } from './crypto/verify-pool.ts';
export type { VerifyPool, VerifyPoolOptions, VerifyPoolStats } from './crypto/verify-pool.ts';
export { createMainThreadVerifier } from './crypto/main-thread-verifier.ts';
export { stderrLogger, silentLogger, lineLogger } from './log.ts';
export type { Logger, LogFields, LogFormat, LogLevel, LineLoggerOptions } from './log.ts';
export { startMetricsServer, metricsServerDefaults } from './observe/metrics-server.ts';
export type { MetricsServer, MetricsServerOptions } from './observe/metrics-server.ts';
export { healthDefaults } from './observe/health.ts';
export type { FramesByType } from './core/traffic.ts';
export { PROTOCOL_VERSION } from './wire/schema.ts';
