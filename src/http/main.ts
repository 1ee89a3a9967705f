// Entry point of the HTTP API process (docs/http-api.md): the config, the platform's clients,
// the app, and a server, HTTPS when a certificate is configured.
import { createServer as createHttpsServer } from 'node:https';
import { serve } from '@hono/node-server';
import { loadConfig } from '../config';
import { loadInventory } from '../inventory';
import { createLogger } from '../log';
import { startTracing } from '../tracing';
import { createApp } from './app';
import { createPlatformDeps } from './platform';

async function main(): Promise<void> {
  const log = createLogger('http');
  const config = loadConfig();
  loadInventory(config.inventoryPath); // fail at start, not at the first request
  const tracing = await startTracing(config.tracing, 'http');
  const platform = createPlatformDeps(config, log);
  const app = createApp(platform.deps, log);
  const { host, port, tls } = config.http;
  const server = serve(
    {
      fetch: app.fetch,
      hostname: host,
      port,
      ...(tls !== undefined ? { createServer: createHttpsServer, serverOptions: { cert: tls.cert, key: tls.key.reveal() } } : {}),
    },
    (info) => log.info('http started', { url: `${tls !== undefined ? 'https' : 'http'}://${host}:${info.port}`, tokens: config.http.tokensPath }),
  );

  const stop = (signal: string) => {
    log.info('http stopping', { signal });
    server.close(() => void Promise.allSettled([platform.close(), tracing?.shutdown()]).finally(() => process.exit(0)));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  createLogger('http').error('http stopped', { error: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
