// The HTTP API with its real dependencies for an integration test's Deployer: the app made
// from the test Deployer's config (its task queue and topics) and a tokens file of its own
// in a temp dir, with one operator and one viewer token made as src/http/token.ts makes
// them; and, for a client outside the process, the app served on 127.0.0.1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createApp } from '../../src/http/app';
import { newToken, ROLES, type Role } from '../../src/http/auth';
import { createPlatformDeps } from '../../src/http/platform';
import { createLogger } from '../../src/log';
import type { TestDeployer } from './deployer';

export interface TestHttpApi {
  app: ReturnType<typeof createApp>;
  platform: ReturnType<typeof createPlatformDeps>;
  tokens: Record<Role, string>;
  /** A temp dir of the API's own, with its tokens file; removed by close(). */
  dir: string;
  tokensPath: string;
  close(): Promise<void>;
}

export function startHttpApi(d: TestDeployer): TestHttpApi {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-http-'));
  const tokensPath = join(dir, 'tokens.jsonl');
  const made = ROLES.map((role) => ({ role, ...newToken(`it-${role}`, role) }));
  writeFileSync(tokensPath, made.map((m) => `${JSON.stringify(m.entry)}\n`).join(''), { mode: 0o600 });
  const tokens = Object.fromEntries(made.map((m) => [m.role, m.token])) as Record<Role, string>;
  const platform = createPlatformDeps({ ...d.config, http: { ...d.config.http, tokensPath } }, createLogger('http-test'));
  const app = createApp(platform.deps, createLogger('http-test', 'warn'));
  return {
    app,
    platform,
    tokens,
    dir,
    tokensPath,
    async close() {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The app served over HTTP on 127.0.0.1 at a port the system picks. */
export async function listen(app: TestHttpApi['app']): Promise<{ url: string; close(): Promise<void> }> {
  let server: ReturnType<typeof serve> | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => resolve(info.port));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // An open keep-alive connection would hold close() until it times out.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server!.close(() => resolve());
      }),
  };
}
