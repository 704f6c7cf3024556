/**
 * Prometheus metrics of a node, through prom-client. Almost every value is read when scraped, from figures the
 * node, its verification pool and its validator already keep (`stats()`, `peers()`, `status()`); only what
 * exists as events alone is counted here (offences and bans by code, decisions, refused chains), at the rate
 * those events come. Nothing is added to the path of a frame for the sake of the metrics.
 *
 * Names follow the Prometheus conventions: a `strongcast_` prefix, base units (bytes, seconds), `_total` on
 * counters; rates and ratios are left to PromQL (`rate(strongcast_verify_signatures_total[1m])`). Process
 * memory, CPU and event-loop delay are prom-client's standard `process_*` and `nodejs_*` metrics.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { OffenceEvent, StrongcastNode } from '../core/node.ts';
import type { Validator } from '../core/validator.ts';
import type { VerifyPool } from '../crypto/verifier-core.ts';
import { NODE_MESSAGE_TYPES } from '../core/traffic.ts';

/** What the metrics read. */
export interface MetricsSources {
  node: StrongcastNode;
  /** The node's verification pool, when it has one of its own to report. */
  pool?: VerifyPool;
  /** The validator or observer the node carries, if any. */
  validator?: Validator;
}

/** A counter whose value is read from a running total when scraped, per label set. */
function totalCounter(registry: Registry, name: string, help: string, labelNames: string[], read: () => [Record<string, string>, number][]): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** A gauge read when scraped. */
function readGauge(registry: Registry, name: string, help: string, read: () => number, labelNames: string[] = [], labels: () => [Record<string, string>, number][] = () => []): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      if (labelNames.length === 0) return void this.set(read());
      this.reset();
      for (const [l, v] of labels()) this.set(l, v);
    },
  });
}

/** A counter by error code, counted as the node's events come. */
function codeCounter(registry: Registry, name: string, help: string): Counter<'code'> {
  return new Counter({ name, help, labelNames: ['code'], registers: [registry] });
}

function registerTraffic(registry: Registry, node: StrongcastNode): void {
  // Frames and bytes by type as the node counts them; `other` is the rest of what the connections counted.
  const byType = (what: 'framesByType' | 'bytesByType', dir: 'in' | 'out'): [Record<string, string>, number][] => {
    const s = node.stats();
    const typed = s[what][dir];
    const sum = NODE_MESSAGE_TYPES.reduce((a, t) => a + typed[t], 0);
    const total = what === 'framesByType' ? (dir === 'in' ? s.framesIn : s.framesOut) : dir === 'in' ? s.bytesIn : s.bytesOut;
    return [...NODE_MESSAGE_TYPES.map((t): [Record<string, string>, number] => [{ type: t }, typed[t]]), [{ type: 'other' }, Math.max(0, total - sum)]];
  };
  totalCounter(registry, 'strongcast_received_frames_total', 'Frames received, by message type (other: handshake, keepalive, refusals)', ['type'], () => byType('framesByType', 'in'));
  totalCounter(registry, 'strongcast_sent_frames_total', 'Frames sent, by message type (other: handshake, keepalive, refusals)', ['type'], () => byType('framesByType', 'out'));
  totalCounter(registry, 'strongcast_received_bytes_total', 'Bytes received from peers, framing included, by message type (other: as for frames, and a frame not yet whole)', ['type'], () => byType('bytesByType', 'in'));
  totalCounter(registry, 'strongcast_sent_bytes_total', 'Bytes sent to peers, framing included, by message type (other: handshake, keepalive, refusals)', ['type'], () => byType('bytesByType', 'out'));
}

function registerNode(registry: Registry, node: StrongcastNode): () => void {
  readGauge(registry, 'strongcast_peers', 'Open peer connections, by who dialed', () => 0, ['direction'], () => {
    const peers = node.peers();
    const outbound = peers.filter((p) => p.outbound).length;
    return [[{ direction: 'outbound' }, outbound], [{ direction: 'inbound' }, peers.length - outbound]];
  });
  registerTraffic(registry, node);
  const total = (name: string, help: string, read: () => number) => totalCounter(registry, name, help, [], () => [[{}, read()]]);
  total('strongcast_broadcasts_delivered_total', 'Broadcasts delivered to the application', () => node.counters.delivered);
  total('strongcast_broadcasts_published_total', 'Broadcasts this node originated', () => node.counters.published);
  total('strongcast_duplicates_dropped_total', 'Copies of broadcasts, chains and outcomes already seen, dropped before any check', () => node.gossip.counters.duplicates);
  total('strongcast_evictions_total', 'Inbound peers disconnected to make room for another when the inbound slots were full', () => node.evictions);
  total('strongcast_overloaded_dropped_total', 'New broadcasts, chains and outcomes dropped unscored because inflightMax were already being verified', () => node.gossip.counters.overloaded);
  total('strongcast_turns_cut_total', 'Event-loop turns that reached the work budget with received frames still waiting', () => node.stats().turnsCut);
  const offences = codeCounter(registry, 'strongcast_offences_total', 'Misbehaviour scored, by error code');
  const bans = codeCounter(registry, 'strongcast_bans_total', 'Offences that banned the peer, by the code of that offence');
  const onOffence = (o: OffenceEvent) => {
    offences.inc({ code: o.code });
    if (o.banned) bans.inc({ code: o.code });
  };
  node.on('offence', onOffence);
  return () => void node.off('offence', onOffence);
}

function registerPool(registry: Registry, pool: VerifyPool): void {
  const total = (name: string, help: string, read: () => number) => totalCounter(registry, name, help, [], () => [[{}, read()]]);
  readGauge(registry, 'strongcast_verify_pending_signatures', 'Signatures queued or being verified (the verification queue)', () => pool.stats().pendingSignatures);
  total('strongcast_verify_requested_signatures_total', 'Signatures the node asked the verifier about', () => pool.stats().signaturesRequested);
  total('strongcast_verify_signatures_total', 'Signatures actually verified (rate() gives checks per second)', () => pool.stats().signaturesVerified);
  total('strongcast_verify_cache_hits_total', 'Chain signatures answered from the valid-signature cache', () => pool.stats().cacheHits);
  readGauge(registry, 'strongcast_verify_cache_hit_ratio', 'Cache hits over signatures requested, since start', () => {
    const s = pool.stats();
    return s.signaturesRequested === 0 ? 0 : s.cacheHits / s.signaturesRequested;
  });
  total('strongcast_verify_refused_total', 'Verification calls refused because the queue was full (ERR_POOL_FULL)', () => pool.stats().refusedFull);
  total('strongcast_verify_consensus_signatures_total', 'Signatures of consensus checks (chains, outcomes, catch-up statements), verified ahead of broadcasts', () => pool.stats().consensusSignatures);
  total('strongcast_verify_consensus_held_signatures_total', 'Broadcast signatures verified while consensus checks waited, having used their share (consensusSharePercentMax)', () => pool.stats().consensusHeldSignatures);
  if (pool.threads !== undefined && pool.workerBusyMs) {
    const busyMs = pool.workerBusyMs.bind(pool);
    readGauge(registry, 'strongcast_verify_pool_threads', 'Verification worker threads', () => pool.threads ?? 0);
    total('strongcast_verify_pool_busy_seconds_total', 'Time the worker threads spent running, summed over them (utilisation: rate() over threads)', () => busyMs() / 1000);
  }
}

function registerConsensus(registry: Registry, v: Validator): () => void {
  readGauge(registry, 'strongcast_consensus_round', 'Current round of the newest open instance (0 before the genesis start)', () => v.status().round);
  readGauge(registry, 'strongcast_consensus_open_instances', 'Consensus instances open now', () => v.status().instances.length);
  readGauge(registry, 'strongcast_chain_height', 'Height of the decided chain', () => v.status().height);
  readGauge(registry, 'strongcast_catching_up', '1 while the node learns missed blocks from its peers, else 0', () => (v.catchingUp() ? 1 : 0));
  readGauge(registry, 'strongcast_store_failed', '1 once the chain store failed an append (decisions are then in memory only, not reported, until a restart; alert on it), else 0', () => (v.status().storeFailure ? 1 : 0));
  const decided = new Counter({ name: 'strongcast_blocks_decided_total', help: 'Instances decided with a block', registers: [registry] });
  const noBlock = new Counter({ name: 'strongcast_no_block_decisions_total', help: 'Instances decided "no block" (no proposal, or an equivocating miner)', registers: [registry] });
  const synced = new Counter({ name: 'strongcast_blocks_synced_total', help: 'Missed blocks learned from peers during catch-up', registers: [registry] });
  const refused = codeCounter(registry, 'strongcast_chains_refused_total', 'Consensus chains refused, by code (ERR_INSTANCE_OVER: late; ERR_TOO_EARLY: early)');
  const stalls = new Counter({ name: 'strongcast_stalls_total', help: 'Times this process ran later than stallMsMax (out of synchrony: it catches up)', registers: [registry] });
  const diverged = new Counter({ name: 'strongcast_divergences_total', help: 'Times f+1 other validators were seen holding another chain at heights this one holds, by their outcomes or catch-up statements (alert on any)', registers: [registry] });
  const total = (name: string, help: string, read: () => number) => totalCounter(registry, name, help, [], () => [[{}, read()]]);
  total('strongcast_chains_checked_late_total', 'Consensus chains whose check ended after the round they arrived in (any reason, a chain sent late among them)', () => v.status().synchrony.chainsCheckedLate);
  total('strongcast_chains_out_of_sync_total', 'Consensus chains whose own check ran past their round and longer than stallMsMax (out of synchrony: it catches up; late-chain events)', () => v.status().synchrony.chainsOutOfSync);
  const onDecided = (e: { block: unknown }) => (e.block ? decided.inc() : noBlock.inc());
  const onSynced = () => synced.inc();
  const onRejected = (e: { code: string }) => refused.inc({ code: e.code });
  const onStalled = () => stalls.inc();
  const onDiverged = () => diverged.inc();
  v.on('decided', onDecided);
  v.on('synced', onSynced);
  v.on('rejected', onRejected);
  v.on('stalled', onStalled);
  v.on('diverged', onDiverged);
  return () => {
    v.off('decided', onDecided);
    v.off('synced', onSynced);
    v.off('rejected', onRejected);
    v.off('stalled', onStalled);
    v.off('diverged', onDiverged);
  };
}

/** The metrics of one node: its registry, and `detach` to stop following the node's events. */
export interface NodeMetrics {
  registry: Registry;
  detach(): void;
}

/** A registry holding every metric of the node (and of its pool and validator, when given). */
export function createNodeMetrics(sources: MetricsSources): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'strongcast_info', help: 'Always 1: the node id and network id as labels', labelNames: ['id', 'network'], registers: [registry] }).set({ id: sources.node.id, network: sources.node.networkId }, 1);
  const detachNode = registerNode(registry, sources.node);
  if (sources.pool) registerPool(registry, sources.pool);
  const detachConsensus = sources.validator ? registerConsensus(registry, sources.validator) : () => {};
  return {
    registry,
    detach: () => {
      detachNode();
      detachConsensus();
    },
  };
}
