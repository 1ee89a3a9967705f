// The compiled worker and bridge, each in its own process as in production, serve their
// Prometheus metrics on the ports they are given (0 here: any free port, read back from
// their start lines), and their log lines about a deployment name it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { removeApplication, startDeployer, waitFor, watchChild, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const app = `it-metrics-${Date.now().toString(36)}`;
let d: TestDeployer;
const children: ChildProcess[] = [];

interface LogLine {
  message: string;
  deploymentId?: string;
  metrics?: string;
  [field: string]: unknown;
}

/** A compiled entry point in its own process, its JSON log lines collected in `log`. */
function spawnEntry(path: string, log: LogLine[], ports: Record<string, string> = { DEPLOYER_METRICS_PORT: '0', DEPLOYER_BRIDGE_METRICS_PORT: '0' }): ChildProcess {
  const entry = resolve(__dirname, '../../dist', path);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first (npm test does)`);
  const env = { ...d.env, DEPLOYER_LOG_LEVEL: 'info', ...ports };
  const child = watchChild(spawn(process.execPath, [entry], { env, stdio: ['ignore', 'ignore', 'pipe'] }), path, (line) => {
    try {
      log.push(JSON.parse(line) as LogLine);
    } catch {
      log.push({ message: line });
    }
  });
  children.push(child);
  return child;
}

const startedAt = (log: LogLine[], message: string) => waitFor(`"${message}" with its metrics address`, () => log.find((l) => l.message === message)?.metrics, 60_000, 100);

/** The value of one sample of a scrape, or undefined when it is not there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

beforeAll(async () => {
  d = await startDeployer('metrics', { worker: false, bridge: false });
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

describe('the metrics endpoints of the worker and the bridge', () => {
  it('show the deployment, its phases, the bridge lag and the Temporal SDK metrics, and the logs name the deployment', async () => {
    const workerLog: LogLine[] = [];
    const bridgeLog: LogLine[] = [];
    spawnEntry('src/worker/main.js', workerLog);
    spawnEntry('src/bridge/main.js', bridgeLog);
    const [workerUrl, bridgeUrl] = await Promise.all([startedAt(workerLog, 'worker started'), startedAt(bridgeLog, 'bridge started')]);
    expect(workerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(bridgeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const deploymentId = `${app}-1`;
    await d.send({
      kind: 'Deploy',
      deploymentId,
      application: { name: app, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [d.inventory.nodes[0]!.id],
      container: { command: ['sleep', '3600'] },
    });
    const events = await d.terminal(deploymentId);
    expect(events.at(-1)!.phase).toBe('Succeeded');

    // The terminal event is counted once its publish returns, a moment after consumers see it.
    const worker = await waitFor(
      'the worker to count the deployment',
      async () => {
        const text = await (await fetch(workerUrl)).text();
        return (sample(text, 'deployer_deployments_total', { kind: 'Deploy', outcome: 'Succeeded' }) ?? 0) >= 1 ? text : undefined;
      },
      15_000,
    );
    for (const phase of ['Accepted', 'Deploying', 'Verifying']) expect([phase, sample(worker, 'deployer_phase_duration_seconds_count', { phase })]).toEqual([phase, expect.any(Number)]);
    expect(sample(worker, 'deployer_phase_duration_seconds_count', { phase: 'Accepted' })).toBeGreaterThanOrEqual(1);
    expect(worker).toMatch(/^# TYPE deployer_rollbacks_total counter$/m);
    // The Temporal SDK's own metrics, from its exporter, on the same endpoint.
    expect(worker).toMatch(/^temporal_\w+[{ ]/m);
    expect(worker).toMatch(/^process_cpu_user_seconds_total /m);

    const bridge = await (await fetch(bridgeUrl)).text();
    expect(sample(bridge, 'deployer_bridge_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(bridge, 'deployer_bridge_requests_total', { outcome: 'started' })).toBeGreaterThanOrEqual(1);
    expect(bridge).not.toMatch(/^deployer_deployments_total/m);

    expect(bridgeLog.filter((l) => l.message === 'Deploy request: started').map((l) => l.deploymentId)).toEqual([deploymentId]);
    expect(workerLog.filter((l) => l.message === 'deployment ended').map((l) => [l.deploymentId, l.kind, l.outcome])).toEqual([[deploymentId, 'Deploy', 'Succeeded']]);
    // Every line of the worker is JSON, the SDK's included.
    expect(workerLog.filter((l) => l.at === undefined)).toEqual([]);
  });

  it('lets a second worker and bridge on one machine start when their metrics ports are taken, on free ports, saying so', async () => {
    // Ports held by this test, as a demo's worker and bridge hold the defaults.
    const held = await Promise.all([0, 0].map(() => new Promise<Server>((done) => { const srv = createServer(); srv.listen(0, '127.0.0.1', () => done(srv)); })));
    const [workerPort, bridgePort] = held.map((srv) => String((srv.address() as AddressInfo).port));
    try {
      const ports = { DEPLOYER_METRICS_PORT: workerPort!, DEPLOYER_BRIDGE_METRICS_PORT: bridgePort! };
      const workerLog: LogLine[] = [];
      const bridgeLog: LogLine[] = [];
      spawnEntry('src/worker/main.js', workerLog, ports);
      spawnEntry('src/bridge/main.js', bridgeLog, ports);
      const [workerUrl, bridgeUrl] = await Promise.all([startedAt(workerLog, 'worker started'), startedAt(bridgeLog, 'bridge started')]);
      expect(workerLog.find((l) => l.message === 'metrics port taken; serving metrics on a free port instead')).toMatchObject({ port: Number(workerPort) });
      expect(bridgeLog.find((l) => l.message === 'metrics port taken; serving metrics on a free port instead')).toMatchObject({ port: Number(bridgePort) });
      expect(workerUrl).not.toContain(`:${workerPort}/`);
      expect((await fetch(workerUrl)).status).toBe(200);
      expect((await fetch(bridgeUrl)).status).toBe(200);
    } finally {
      for (const srv of held) srv.close();
    }
  });
});
