// The Deployer's Prometheus metrics, every one defined here, and the HTTP endpoint that
// serves them. The worker and the bridge each have a registry of their own, so that each
// endpoint shows only what its process measures.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const workerRegistry = new Registry();
export const bridgeRegistry = new Registry();

export const workerMetrics = {
  deployments: new Counter({
    name: 'deployer_deployments_total',
    help: 'Operations that ended, by request kind and terminal phase',
    labelNames: ['kind', 'outcome'] as const,
    registers: [workerRegistry],
  }),
  phaseDuration: new Histogram({
    name: 'deployer_phase_duration_seconds',
    help: 'Time from the first event of a phase to the first event of the next phase a deployment reaches',
    labelNames: ['phase'] as const,
    // From a quick Accepted to a slow image build or a long pause.
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
    registers: [workerRegistry],
  }),
  rollbacks: new Counter({
    name: 'deployer_rollbacks_total',
    help: 'Operations that ended rolled back, by terminal phase (RolledBack, Failed: rollback incomplete, Cancelled)',
    labelNames: ['outcome'] as const,
    registers: [workerRegistry],
  }),
};

export type WorkerMetrics = typeof workerMetrics;

/**
 * The Node Manager's records as each process that follows its topic took them (src/fleet.ts):
 * applied, tombstone, or left out as invalid or stale. In the worker's and the bridge's registries both.
 */
export const fleetRecords = new Counter({
  name: 'deployer_fleet_records_total',
  help: 'Node records read from the Node Manager\'s topic, by outcome (applied, tombstone, invalid, stale)',
  labelNames: ['outcome'] as const,
  registers: [workerRegistry, bridgeRegistry],
});

export const bridgeMetrics = {
  lag: new Histogram({
    name: 'deployer_bridge_lag_seconds',
    help: 'Time from a request message\'s Kafka timestamp until the bridge has acted on it',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [bridgeRegistry],
  }),
  requests: new Counter({
    name: 'deployer_bridge_requests_total',
    help: 'Requests acted on, by outcome (started, duplicate, dead-lettered, cancelled, ignored); each application of a TOSCA template counts, a rejected template once',
    labelNames: ['outcome'] as const,
    registers: [bridgeRegistry],
  }),
};

export interface MetricsEndpoint {
  url: string;
  close(): Promise<void>;
}

export interface MetricsEndpointOptions {
  host: string;
  /** 0: any free port (the URL tells which). */
  port: number;
  /** More exposition text to append, such as the Temporal SDK's own metrics. */
  extra?: () => Promise<string>;
  /**
   * Called when `port` is taken (another worker or bridge on the same machine): the endpoint
   * then listens on any free port, which its URL names, instead of the process failing.
   */
  onPortTaken?: (port: number) => void;
}

const withProcessMetrics = new WeakSet<Registry>();

/** Serves `GET /metrics` in the Prometheus text format: the registry, then `extra`'s text. */
export async function serveMetrics(registry: Registry, { host, port, extra, onPortTaken }: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  if (!withProcessMetrics.has(registry)) {
    collectDefaultMetrics({ register: registry });
    withProcessMetrics.add(registry);
  }
  const server = createServer(function metricsHandler(req, res) {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      try {
        const own = await registry.metrics();
        const more = extra ? await extra() : '';
        res.writeHead(200, { 'content-type': registry.contentType }).end(more ? `${own}\n${more}` : own);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      }
    })();
  });
  const listen = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0 || onPortTaken === undefined) throw err;
    onPortTaken(port);
    await listen(0);
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would otherwise hold the process open.
        server.closeAllConnections();
      }),
  };
}

/**
 * Reads another exporter's text (the Temporal SDK's, on loopback). When it cannot be read
 * the scrape still succeeds with the Deployer's own metrics and a comment saying why,
 * which Prometheus ignores.
 */
export function scrapeText(url: string, timeoutMs = 2000): () => Promise<string> {
  return async function scrapeOther() {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return `# ${url} answered ${res.status}\n`;
      return await res.text();
    } catch (err) {
      return `# ${url} could not be read: ${String((err as { cause?: unknown }).cause ?? err).replace(/\n/g, ' ')}\n`;
    }
  };
}
