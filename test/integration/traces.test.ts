// Tracing on the real stack (docs/tracing.md): the compiled worker, bridge and HTTP API, each
// in its own process with tracing on, send their spans to the stack's Jaeger, and one
// deployment's trace is read back from Jaeger's query API: one trace, the request's arrival
// its root, the workflow, each node's workflow and its calls to the node in order, the
// deploymentId on every span, and neither the secret's value nor the workflow's memo in it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ENCRYPTING_FAILURE_CONVERTER } from '../../src/codec/data-converter';
import { newToken } from '../../src/http/auth';
import { TRACING_WORKFLOW_INTERCEPTORS } from '../../src/tracing/workflow-module';
import { engineNodes, freePort, IDLE, putSecret, removeApplication, startDeployer, waitFor, watchChild, type TestDeployer } from '../support/deployer';

jest.setTimeout(300_000);

// The stack's Jaeger (scripts/lib.sh has the same defaults).
const JAEGER = `http://127.0.0.1:${process.env.JAEGER_UI_PORT ?? '16686'}`;
const OTLP = `http://127.0.0.1:${process.env.JAEGER_OTLP_PORT ?? '4318'}`;
const HTTP_MAIN = resolve(__dirname, '../../dist/src/http/main.js');

const stamp = Date.now().toString(36);
const app = `it-traces-${stamp}`;
const service = `deployer-it-traces-${stamp}`;
const secret = `s3cret-${stamp}-never-in-a-span`;
let d: TestDeployer;
let dir: string;

/** A span as Jaeger's query API (api/traces) gives it. */
interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  startTime: number;
  tags: { key: string; value: unknown }[];
  logs: { fields: { key: string; value: unknown }[] }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

/** The traces of this test's service that hold a span of the deployment. */
async function tracesOf(deploymentId: string): Promise<JaegerTrace[]> {
  const query = new URLSearchParams({ service, tags: JSON.stringify({ deploymentId }), limit: '20', lookback: '1h' });
  const res = await fetch(`${JAEGER}/api/traces?${query}`);
  if (!res.ok) throw new Error(`Jaeger answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

/** The deployment's trace once its workflow's span has arrived (it ends with the workflow) and every node's verify. */
async function traceOf(deploymentId: string, nodes: readonly string[]): Promise<JaegerTrace> {
  const [trace] = await waitFor(
    `the trace of ${deploymentId} in Jaeger`,
    async () => {
      const found = await tracesOf(deploymentId);
      const spans = found.flatMap((t) => t.spans);
      const complete = spans.some((s) => s.operationName === 'RunWorkflow:deployWorkflow') && nodes.every((n) => spans.some((s) => s.operationName === 'docker-engine verify' && tag(s, 'deployer.node') === n));
      return complete ? found : undefined;
    },
    60_000,
    500,
  );
  // Read again a moment later: spans of one trace reach Jaeger in several batches; one that came late would be a second trace here.
  const again = await tracesOf(deploymentId);
  expect(again.map((t) => t.traceID)).toEqual([trace!.traceID]);
  return again[0]!;
}

/** What every trace of a deployment shows, whichever way its request arrived; returns its root. */
function expectOneDeploymentTrace(trace: JaegerTrace, deploymentId: string, nodes: readonly string[]): JaegerSpan {
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  // The deploymentId on every span.
  expect(trace.spans.filter((s) => tag(s, 'deploymentId') !== deploymentId).map((s) => s.operationName)).toEqual([]);
  // One tree: a single root, every other span's parent in the trace.
  const roots = trace.spans.filter((s) => parentOf(s) === undefined);
  expect(roots.map((s) => s.operationName)).toHaveLength(1);
  expect(trace.spans.filter((s) => parentOf(s) !== undefined && !byId.has(parentOf(s)!)).map((s) => s.operationName)).toEqual([]);
  const ancestors = (s: JaegerSpan): JaegerSpan[] => (parentOf(s) === undefined ? [] : [byId.get(parentOf(s)!)!, ...ancestors(byId.get(parentOf(s)!)!)]);

  const names = trace.spans.map((s) => s.operationName);
  expect(names).toEqual(expect.arrayContaining(['StartWorkflow:deployWorkflow', 'RunWorkflow:deployWorkflow', 'StartChildWorkflow:nodeRolloutWorkflow', 'RunWorkflow:nodeRolloutWorkflow', 'RunActivity:applyNode', 'RunActivity:verifyNode']));
  for (const node of nodes) {
    // The node's calls to its engine, in order: its rollout inside the node's workflow, the retiring of the older version by the deployment's once every node is healthy.
    const calls = trace.spans.filter((s) => tag(s, 'deployer.node') === node).sort((a, b) => a.startTime - b.startTime);
    expect(calls.map((s) => s.operationName)).toEqual(['docker-engine apply', 'docker-engine verify', 'docker-engine retire']);
    for (const call of calls) {
      const above = ancestors(call).map((s) => s.operationName);
      const rollout = call.operationName !== 'docker-engine retire' ? ['RunWorkflow:nodeRolloutWorkflow'] : [];
      expect(above).toEqual(expect.arrayContaining([expect.stringMatching(/^RunActivity:/), ...rollout, 'RunWorkflow:deployWorkflow', roots[0]!.operationName]));
      expect(tag(call, 'deployer.target')).toBe('docker-engine');
    }
    // The steps the verbs reported, as events of their spans.
    expect(calls[0]!.logs.length).toBeGreaterThan(0);
    expect(calls[0]!.logs.every((l) => l.fields.some((f) => f.key === 'message'))).toBe(true);
  }
  // Nothing of the workflow's input, memo or secrets leaves in a span.
  const text = JSON.stringify(trace);
  expect(text).not.toContain(secret);
  expect(trace.spans.flatMap((s) => s.tags.map((t) => t.key)).filter((k) => ['memo', 'searchAttributes', 'lastResult', 'lastFailure'].includes(k))).toEqual([]);
  return roots[0]!;
}

const processOf = (trace: JaegerTrace, s: JaegerSpan) => trace.processes[s.processID]!.tags.find((t) => t.key === 'deployer.process')?.value;

const deploy = (deploymentId: string, nodes: string[]) => ({
  kind: 'Deploy',
  deploymentId,
  application: { name: app, version: deploymentId, image: `${d.inventory.registry.pull}/busybox:1` },
  nodes,
  container: { command: IDLE, secrets: [{ name: 'APP_TOKEN', ref: 'token' }] },
  strategy: { maxParallel: nodes.length },
});

beforeAll(async () => {
  const up = await fetch(`${JAEGER}/api/services`).catch((err: unknown) => err as Error);
  if (up instanceof Error || !up.ok) throw new Error(`Jaeger does not answer at ${JAEGER} (${up instanceof Error ? up.message : up.status}): bring the stack up with scripts/stack.sh up`);
  dir = mkdtempSync(join(tmpdir(), 'deployer-traces-'));
  // A prebuilt bundle with the tracing workflow interceptors, as production builds one for tracing (docs/tracing.md).
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
  const encrypted = process.env.DEPLOYER_PAYLOAD_ENCRYPTION !== 'off';
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    ...(encrypted ? { failureConverterPath: ENCRYPTING_FAILURE_CONVERTER } : {}),
    workflowInterceptorModules: [TRACING_WORKFLOW_INTERCEPTORS],
    logger: silent,
  });
  writeFileSync(join(dir, 'traced-bundle.js'), code);
  d = await startDeployer('traces', {
    processes: true,
    settings: { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP, OTEL_SERVICE_NAME: service, DEPLOYER_WORKFLOW_BUNDLE: join(dir, 'traced-bundle.js') },
  });
  putSecret(d.config.secretsPath, app, 'token', secret);
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a deployment with tracing on', () => {
  it('is one trace in Jaeger, rooted at the request the bridge took from Kafka, with every node’s calls in order and the deploymentId on every span', async () => {
    const nodes = engineNodes(d).slice(0, 2).map((n) => n.id);
    const deploymentId = `${app}-kafka`;
    await d.send(deploy(deploymentId, nodes), app);
    expect((await d.terminal(deploymentId)).at(-1)!.phase).toBe('Succeeded');

    const trace = await traceOf(deploymentId, nodes);
    const root = expectOneDeploymentTrace(trace, deploymentId, nodes);
    expect(root.operationName).toBe('request Deploy');
    expect(processOf(trace, root)).toBe('bridge');
    expect(new Set(Object.values(trace.processes).map((p) => p.serviceName))).toEqual(new Set([service]));
  });

  it('is one trace rooted at the HTTP API’s submit when the request came over HTTP, continued by the bridge through the Kafka message', async () => {
    const made = newToken('it-traces', 'operator');
    writeFileSync(join(dir, 'tokens.jsonl'), `${JSON.stringify(made.entry)}\n`);
    const port = await freePort();
    const http: ChildProcess = watchChild(
      spawn(process.execPath, [HTTP_MAIN], { env: { ...d.env, DEPLOYER_HTTP_PORT: String(port), DEPLOYER_HTTP_TOKENS_FILE: join(dir, 'tokens.jsonl') }, stdio: ['ignore', 'ignore', 'pipe'] }),
      'http api',
    );
    try {
      await waitFor('the API answers /readyz', () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => (r.status === 200 ? r : undefined), () => undefined), 30_000);
      const nodes = engineNodes(d).slice(0, 1).map((n) => n.id);
      const deploymentId = `${app}-http`;
      const res = await fetch(`http://127.0.0.1:${port}/v1/deployments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${made.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(deploy(deploymentId, nodes)),
      });
      expect(res.status).toBe(202);
      expect((await d.terminal(deploymentId)).at(-1)!.phase).toBe('Succeeded');

      const trace = await traceOf(deploymentId, nodes);
      const root = expectOneDeploymentTrace(trace, deploymentId, nodes);
      expect([root.operationName, processOf(trace, root)]).toEqual(['submit Deploy', 'http']);
      const bridged = trace.spans.filter((s) => s.operationName === 'request Deploy');
      expect(bridged.map((s) => [parentOf(s), processOf(trace, s)])).toEqual([[root.spanID, 'bridge']]);
    } finally {
      http.kill('SIGTERM');
    }
  });
});
