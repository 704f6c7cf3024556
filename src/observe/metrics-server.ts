/**
 * The HTTP side of observability: `GET /metrics` (Prometheus text, metrics.ts) and `GET /health` (JSON,
 * health.ts) on one small server. It is meant for a scraper and a supervisor on the same machine or network,
 * so it is bounded like one: few connections, short timeouts, nothing but two read-only paths.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StrongcastError } from '../errors.ts';
import { logError, silentLogger, type Logger } from '../log.ts';
import { positiveInt } from '../options.ts';
import type { MetricsSources } from './metrics.ts';
import { HealthTracker, healthDefaults, healthVerdict, type HealthReport } from './health.ts';
import type { Registry } from 'prom-client';

/** Defaults of {@link MetricsServerOptions}. */
export const metricsServerDefaults = {
  host: '127.0.0.1',
  /** Open connections at once; more are closed as they arrive (a scraper and a health check need two). */
  connectionsMax: 16,
  /** Time for a whole request, headers included, in ms. */
  requestTimeoutMs: 10_000,
} as const;

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions extends MetricsSources {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 takes any free port. @default 0 */
  port?: number;
  /** @default 16 */
  connectionsMax?: number;
  /** @default 10000 */
  requestTimeoutMs?: number;
  /** A node without peers for longer than this answers 503 on /health. @default 30000 */
  noPeersMsMax?: number;
  log?: Logger;
}

/** A running metrics and health server. */
export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** `http://HOST:PORT` */
  readonly url: string;
  /** Makes /health answer 503 from now on (call when the node starts shutting down). */
  markStopping(): void;
  /** Closes the server and every connection to it; safe to call twice. */
  stop(): Promise<void>;
}

function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StrongcastError('ERR_INVALID_OPTION', 'options.port must be an integer in 0..65535');
  }
  return port;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new StrongcastError(e.code === 'EADDRINUSE' ? 'ERR_PORT_IN_USE' : 'ERR_INVALID_OPTION', `metrics server cannot listen on ${host}:${port}: ${e.code ?? e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
}

function answer(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** GET /health and GET /metrics; anything else is 404 or 405. */
function requestHandler(registry: Registry, health: () => HealthReport, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'text/plain', 'only GET\n');
    if (path === '/health') {
      const report = health();
      return answer(res, report.status, 'application/json', JSON.stringify(report.body) + '\n');
    }
    if (path !== '/metrics') return answer(res, 404, 'text/plain', 'not found: try /metrics or /health\n');
    registry.metrics().then(
      (text) => answer(res, 200, registry.contentType, text),
      (e: unknown) => {
        logError(log, 'metrics collection failed', { error: (e as Error).message });
        answer(res, 500, 'text/plain', 'metrics collection failed\n');
      },
    );
  };
}

/**
 * Serves /metrics and /health for a node.
 * @throws StrongcastError ERR_PORT_IN_USE when the port is taken, ERR_INVALID_OPTION for a bad option
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const d = metricsServerDefaults;
  const host = options.host ?? d.host;
  const log = options.log ?? silentLogger;
  const noPeersMsMax = options.noPeersMsMax ?? healthDefaults.noPeersMsMax;
  const port = checkPort(options.port ?? 0);
  const connectionsMax = positiveInt(options.connectionsMax ?? d.connectionsMax, 'connectionsMax');
  const requestTimeoutMs = positiveInt(options.requestTimeoutMs ?? d.requestTimeoutMs, 'requestTimeoutMs');
  positiveInt(noPeersMsMax, 'noPeersMsMax');
  // prom-client is loaded here, not when the library is imported: importing the built library took 110 to 140 ms
  // with it and 70 to 95 ms without, a cost a node without metrics need not pay.
  const { createNodeMetrics } = await import('./metrics.ts');
  const metrics = createNodeMetrics(options);
  const registry = metrics.registry;
  const health = new HealthTracker(options.node, options.validator ?? null);
  if (options.node.listenPort !== 0) health.markListening();
  const onRequest = requestHandler(registry, () => healthVerdict(health.facts(), options.node.clock.now(), noPeersMsMax), log);
  // Node checks request timeouts every connectionsCheckingInterval (30 s by default): checked four times per
  // timeout, a slow request is cut within a quarter of requestTimeoutMs of its limit.
  const checkEveryMs = Math.max(1, Math.floor(requestTimeoutMs / 4));
  const server = createServer({ requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: checkEveryMs }, onRequest);
  server.maxConnections = connectionsMax;
  try {
    await listen(server, host, port);
  } catch (e) {
    metrics.detach();
    health.detach();
    throw e;
  }
  server.on('error', (e) => logError(log, 'metrics server error', { error: e.message }));
  const bound = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | null = null;
  return {
    host,
    port: bound,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    markStopping: () => health.markStopping(),
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        health.markStopping();
        metrics.detach();
        health.detach();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
