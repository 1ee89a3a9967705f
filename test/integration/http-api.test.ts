// The HTTP API on the real stack: the app with its real dependencies (Temporal, Kafka, the
// tokens file) over a test Deployer (worker and bridge on their own queue and topics), asked
// in process; and the compiled entry point (dist/src/http/main.js) serving over HTTP. A
// Deploy sent over HTTP is started by the bridge and ends Succeeded; its events as SSE; list,
// records, nodes, scale and undeploy, decide, retry and cancel, validation, the tokens' 401
// and 403, and HTTPS with a certificate.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join, resolve } from 'node:path';
import { isTerminal } from '../../src/core/schemas/event';
import { createApp } from '../../src/http/app';
import { createPlatformDeps } from '../../src/http/platform';
import { createLogger } from '../../src/log';
import { freePort, IDLE, removeApplication, startDeployer, waitFor, watchChild, type TestDeployer } from '../support/deployer';
import { startHttpApi, type TestHttpApi } from '../support/http-api';

jest.setTimeout(240_000);

const HTTP_MAIN = resolve(__dirname, '../../dist/src/http/main.js');
const app = `it-http-${Date.now().toString(36)}`;
let d: TestDeployer;
let http: TestHttpApi;
let dir: string;
let node: string;
let other: string;
let api: TestHttpApi['app'];
let tokens: TestHttpApi['tokens'];
const started = Date.now();

const call = (method: string, path: string, body?: unknown, token = tokens.operator) =>
  api.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

/** A Deploy of the test application on one node; `onFailure` adds a health check that never passes. */
const deployRequest = (deploymentId: string, onFailure?: 'pause' | 'rollback') => ({
  kind: 'Deploy',
  deploymentId,
  application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
  nodes: [node],
  container: { command: IDLE },
  ...(onFailure ? { healthCheck: { tcp: { port: 9 }, intervalMs: 100, timeoutMs: 200, deadlineMs: 1000 }, strategy: { onFailure } } : {}),
});

const terminals = (id: string) => d.events.filter((e) => e.deploymentId === id && e.node === undefined && isTerminal(e.phase)).map((e) => e.phase);
const paused = (id: string) => () => d.events.some((e) => e.deploymentId === id && e.phase === 'Paused' && e.node === undefined);

/** Messages on the requests topic, summed over partitions: what was sent. */
async function produced(): Promise<number> {
  const offsets = await d.admin.fetchTopicOffsets(d.config.kafka.topics.requests);
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

/** The deployment's terminal phase, with its message when it did not succeed (so that a failure says why). */
async function terminalPhase(deploymentId: string): Promise<string | undefined> {
  const events = await d.terminal(deploymentId);
  const end = events.find((e) => isTerminal(e.phase) && e.node === undefined);
  return end?.phase === 'Succeeded' ? end.phase : `${end?.phase}: ${end?.message}`;
}

beforeAll(async () => {
  d = await startDeployer('http');
  node = d.inventory.nodes[0]!.id;
  other = d.inventory.nodes.find((n) => n.id !== node && n.target.kind === 'docker-engine')!.id;
  http = startHttpApi(d);
  ({ app: api, tokens, dir } = http);
});

afterAll(async () => {
  await http?.close();
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
  process.stdout.write(`http-api.test.ts: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

describe('the HTTP API on the real stack', () => {
  it('is ready: it reaches Temporal and Kafka', async () => {
    const res = await call('GET', '/readyz', undefined, '');
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('is not ready when it cannot reach Temporal and Kafka, and names both within seconds', async () => {
    const [temporalPort, kafkaPort] = [await freePort(), await freePort()];
    const config = { ...d.config, temporal: { ...d.config.temporal, address: `127.0.0.1:${temporalPort}` }, kafka: { ...d.config.kafka, brokers: [`127.0.0.1:${kafkaPort}`] } };
    const nowhere = createPlatformDeps(config, createLogger('http-test'));
    try {
      const at = Date.now();
      const res = await createApp(nowhere.deps).request('/readyz');
      expect(Date.now() - at).toBeLessThan(10_000);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { errors: { path: string }[] };
      expect(body.errors.map((e) => e.path)).toEqual(['Temporal', 'Kafka']);
    } finally {
      await nowhere.close();
    }
  });

  it('refuses a request without a token (401) and a viewer\'s write (403), sending nothing', async () => {
    const before = await produced();
    expect((await call('GET', '/v1/deployments', undefined, '')).status).toBe(401);
    const res = await call('POST', '/v1/deployments', deployRequest(`${app}-viewer`), tokens.viewer);
    expect(res.status).toBe(403);
    expect(await produced()).toBe(before);
  });

  it('deploys through Kafka: 202 with the Location, the bridge starts it, and it reads Succeeded', async () => {
    const id = `${app}-v1`;
    const res = await call('POST', '/v1/deployments', deployRequest(id));
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/deployments/${id}`);
    expect(await res.json()).toEqual({ kind: 'Deploy', deploymentId: id, application: app });
    expect(await terminalPhase(id)).toBe('Succeeded');
    const view = await waitFor('the deployment closed', async () => {
      const body = (await (await call('GET', `/v1/deployments/${id}`, undefined, tokens.viewer)).json()) as { status: string; nodes: Record<string, { state: string }> };
      return body.status === 'Succeeded' ? body : undefined;
    });
    expect(view).toMatchObject({ deploymentId: id, kind: 'Deploy', application: app, source: 'temporal', nodes: { [node]: { state: expect.any(String) } } });
    expect((await call('GET', `/v1/deployments/${app}-nobody`, undefined, tokens.viewer)).status).toBe(404);
  });

  it('streams its events as Server-Sent Events up to the terminal one, and a resume after that ends at once', async () => {
    const id = `${app}-v1`;
    const text = await (await call('GET', `/v1/deployments/${id}/events`, undefined, tokens.viewer)).text();
    const phases = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { phase: string; seq: number });
    expect(phases.at(-1)).toMatchObject({ phase: 'Succeeded' });
    expect(phases.map((p) => p.phase)).toContain('Accepted');
    const last = phases.at(-1)!.seq;
    const at = Date.now();
    const resumed = await (await api.request(`/v1/deployments/${id}/events`, { headers: { authorization: `Bearer ${tokens.viewer}`, 'last-event-id': String(last) } })).text();
    expect(resumed).not.toContain('data:');
    expect(Date.now() - at).toBeLessThan(20_000);
  });

  it('lists the deployment, reads its record, and shows the nodes', async () => {
    const id = `${app}-v1`;
    const rows = await waitFor('the list shows it', async () => {
      const list = (await (await call('GET', `/v1/deployments?app=${app}&limit=10`, undefined, tokens.viewer)).json()) as { deploymentId: string; status?: string }[];
      return list.some((r) => r.deploymentId === id && r.status === 'Succeeded') ? list : undefined;
    });
    expect(rows.every((r) => r.deploymentId.startsWith(app))).toBe(true);
    const records = await waitFor('its record', async () => {
      const list = (await (await call('GET', `/v1/records?app=${app}&since=1h`, undefined, tokens.viewer)).json()) as { deploymentId: string; status: string }[];
      return list.length > 0 ? list : undefined;
    });
    expect(records).toEqual([expect.objectContaining({ deploymentId: id, status: 'Succeeded' })]);
    const nodes = (await (await call('GET', '/v1/nodes', undefined, tokens.viewer)).json()) as { node: string }[];
    expect(nodes.map((n) => n.node)).toEqual(expect.arrayContaining([node, other]));
  });

  it('scales onto two nodes and undeploys, each through Kafka to Succeeded', async () => {
    const scale = await call('POST', `/v1/applications/${app}/scale`, { nodes: [node, other], replicasPerNode: 1 });
    expect(scale.status).toBe(202);
    const { deploymentId: scaled } = (await scale.json()) as { deploymentId: string };
    expect(await terminalPhase(scaled)).toBe('Succeeded');
    const undeploy = await call('POST', `/v1/applications/${app}/undeploy`, {});
    expect(undeploy.status).toBe(202);
    const { deploymentId: undeployed } = (await undeploy.json()) as { deploymentId: string };
    expect(await terminalPhase(undeployed)).toBe('Succeeded');
  });

  it('decides for a paused deployment, retries the rolled-back one, and cancels the retry when it pauses again', async () => {
    const id = `${app}-pause`;
    expect((await call('POST', '/v1/deployments', deployRequest(id, 'pause'))).status).toBe(202);
    await waitFor(`${id} to pause`, paused(id), 120_000);
    const decided = await call('POST', `/v1/deployments/${id}/decide`, { decision: 'rollback' });
    expect({ status: decided.status, body: await decided.json() }).toEqual({ status: 200, body: { deploymentId: id, accepted: 'rollback', failedNodes: [node] } });
    expect(await terminalPhase(id)).toMatch(/^RolledBack: /);
    expect((await call('POST', `/v1/deployments/${id}/decide`, { decision: 'retry' })).status).toBe(404);
    expect((await call('POST', `/v1/deployments/${id}/cancel`)).status).toBe(409);

    // Asked right after the terminal event, while the workflow may still be closing.
    const retry = await call('POST', `/v1/deployments/${id}/retry`);
    expect({ status: retry.status, body: await retry.json() }).toEqual({ status: 202, body: { kind: 'Retry', deploymentId: id, application: app } });
    await waitFor(`the retry of ${id} to pause`, () => d.events.filter((e) => e.deploymentId === id && e.phase === 'Paused' && e.node === undefined).length >= 2, 120_000);
    expect((await call('POST', `/v1/deployments/${id}/cancel`)).status).toBe(202);
    await waitFor('the retried run to end', () => terminals(id).length >= 2, 120_000);
    expect(terminals(id)).toEqual(['RolledBack', 'Cancelled']);
  });

  it('serves HTTPS with the configured certificate', async () => {
    if (!existsSync(HTTP_MAIN)) throw new Error(`${HTTP_MAIN} is missing: run npm run build first`);
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const port = await freePort();
    const env = { ...d.env, DEPLOYER_HTTP_PORT: String(port), DEPLOYER_HTTP_TOKENS_FILE: http.tokensPath, DEPLOYER_HTTP_TLS_CERT_FILE: cert, DEPLOYER_HTTP_TLS_KEY_FILE: key };
    const child = watchChild(spawn(process.execPath, [HTTP_MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] }), 'https api');
    const ca = readFileSync(cert);
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpsGet({ host: '127.0.0.1', port, path, ca }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', reject);
      });
    try {
      const health = await waitFor('the API answers over HTTPS', () => get('/healthz').then((r) => r, () => undefined), 30_000);
      expect(health).toEqual({ status: 200, body: '{"status":"ok"}' });
      expect((await get('/v1/nodes')).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('validates: a good request 200, a bad one 422 listing both problems, and neither is sent', async () => {
    const before = await produced();
    const good = await call('POST', '/v1/validate', deployRequest(`${app}-check`));
    expect(good.status).toBe(200);
    const bad = await call('POST', '/v1/validate', { ...deployRequest(`${app}-bad`), nodes: [], application: { name: app, version: '1' } });
    expect(bad.status).toBe(422);
    const problem = (await bad.json()) as { errors: { path: string; message: string }[] };
    expect(problem.errors.map((e) => e.path).sort()).toEqual(['application', 'nodes']);
    expect(await produced()).toBe(before);
  });

  it('serves the same API from its compiled entry point over HTTP', async () => {
    if (!existsSync(HTTP_MAIN)) throw new Error(`${HTTP_MAIN} is missing: run npm run build first`);
    const port = await freePort();
    const child: ChildProcess = watchChild(spawn(process.execPath, [HTTP_MAIN], { env: { ...d.env, DEPLOYER_HTTP_PORT: String(port), DEPLOYER_HTTP_TOKENS_FILE: http.tokensPath }, stdio: ['ignore', 'ignore', 'pipe'] }), 'http api');
    try {
      const ready = await waitFor('the API answers /readyz', () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => (r.status === 200 ? r : undefined), () => undefined), 30_000);
      expect(ready.status).toBe(200);
      const list = await fetch(`http://127.0.0.1:${port}/v1/deployments?app=${app}`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
      expect(list.status).toBe(200);
      const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as { openapi: string };
      expect(doc.openapi).toBe('3.1.0');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
