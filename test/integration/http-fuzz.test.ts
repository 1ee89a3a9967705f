// The HTTP API fuzzed from its own OpenAPI document: schemathesis (scripts/schemathesis.sh,
// a pinned 4.x in a cached virtual environment) runs against the real API (in process, with
// its real dependencies, over HTTP on 127.0.0.1) of a test Deployer whose worker and bridge
// run on their own task queue and topics. Bounded in examples per operation and in time, it
// checks that no answer is a 5xx and that every status, content type, header and body is
// the one the document declares; then that nothing was started by a request the bridge's
// parser refuses.
//
// Nothing is deployed in bulk. The four writes that produce requests (POST /v1/deployments
// and /v1/applications/{app}/rollback|scale|undeploy) get only requests the document says
// are invalid (negative mode): in positive mode the fuzz sends dozens of valid Undeploys and
// Rollbacks of invented applications, and their workflows queue for minutes behind each
// application's lock. The 202s of these routes are checked by http-api.test.ts and the
// unit tests. And should a valid request slip through, this Deployer's inventory (the
// API's, the bridge's and the worker's) has nodes and a build host whose engines are
// sockets that do not exist: its workflow fails at its first step on a node and touches no
// engine of the stack.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseRequest } from '../../src/bridge/parse';
import { loadConfig } from '../../src/config';
import { OPERATION_WORKFLOWS } from '../../src/core/operation-kinds';
import { loadInventory } from '../../src/inventory';
import { scanTopic } from '../../src/kafka/topic-scan';
import { startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { listen, startHttpApi, type TestHttpApi } from '../support/http-api';

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, '../..');
/** The fuzz's own budget; the test's other steps take about a minute more. */
const FUZZ_SECONDS = 45;
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance', 'response_headers_conformance'];

let d: TestDeployer;
let http: TestHttpApi;
let server: Awaited<ReturnType<typeof listen>>;
let dir: string;
let schemathesis: string;
const started = Date.now();

beforeAll(async () => {
  // Made (or found in the cache) first: its first install takes seconds, from PyPI.
  schemathesis = execFileSync('bash', [join(ROOT, 'scripts/schemathesis.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  dir = mkdtempSync(join(tmpdir(), 'deployer-http-fuzz-'));
  const stack = loadInventory(loadConfig(process.env).inventoryPath);
  const nowhere = { socketPath: join(dir, 'no-engine.sock') };
  const inventoryPath = join(dir, 'inventory.json');
  writeFileSync(inventoryPath, JSON.stringify({
    registry: stack.registry,
    buildHost: { docker: nowhere },
    nodes: ['fuzz-1', 'fuzz-2'].map((id) => ({ id, target: { kind: 'docker-engine', docker: nowhere }, address: '127.0.0.1' })),
  }));
  writeFileSync(join(dir, 'schemathesis.toml'), [
    '[[operations]]',
    'include-method = "POST"',
    'include-path-regex = "^/v1/(deployments|applications/.+|deployments/.+/(cancel|retry|decide))$"',
    'generation = { mode = "negative" }',
    '',
  ].join('\n'));
  d = await startDeployer('http-fuzz', { inventoryPath });
  http = startHttpApi(d);
  server = await listen(http.app);
});

afterAll(async () => {
  await server?.close();
  await http?.close();
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`http-fuzz.test.ts: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

/** schemathesis's exit code and everything it printed. */
function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    // In the temp dir: whatever it writes beside itself stays out of the work tree.
    const child = spawn(schemathesis, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1', COLUMNS: '160' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

describe('the HTTP API fuzzed from its OpenAPI document', () => {
  it('answers every generated request as its document says, never with a 5xx', async () => {
    const { code, output } = await run([
      '--config-file', join(dir, 'schemathesis.toml'),
      'run',
      `${server.url}/openapi.json`,
      '--checks', CHECKS.join(','),
      '--header', `Authorization: Bearer ${http.tokens.operator}`,
      '--phases', 'examples,coverage,fuzzing',
      '--max-examples', '10',
      '--max-time', String(FUZZ_SECONDS),
      '--request-timeout', '20',
      '--seed', process.env.DEPLOYER_FUZZ_SEED ?? '1',
      // One worker: with two, hypothesis's ast.parse in two threads at once can fail inside CPython 3.11 ("AST constructor recursion depth mismatch").
      '--workers', '1',
      '--generation-database', 'none',
      // A live stream: it answers until the deployment's terminal event, which an invented deploymentId never has.
      '--exclude-path', '/v1/deployments/{id}/events',
      '--no-color',
    ]);
    if (code !== 0) throw new Error(`schemathesis exited with ${code}:\n${output}`);
    process.stdout.write(output.split('\n').filter((l) => /passed|failed|Test cases|API Operations|Seed/.test(l)).join('\n') + '\n');
  });

  it('started nothing from a request the bridge refuses', async () => {
    // Exact, and from the sources themselves: every message on this Deployer's requests
    // topic (the API's only way to the bridge) is one the bridge's parser accepts under the
    // API's own inventory, and every deployment workflow on this Deployer's task queue
    // (the bridge is the only one starting workflows there) has the deploymentId of one of
    // those requests. Read once the bridge has committed every message, so that all it
    // started from them has been started.
    const topic = d.config.kafka.topics.requests;
    const produced = async () => (await d.admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0);
    const total = await produced();
    await waitFor('the bridge to commit every request', async () => (await d.committed()) === total, 120_000);
    const refused: string[] = [];
    const accepted = new Set<string>();
    await scanTopic(d.kafka, topic, { groupPrefix: `${d.config.kafka.groupId}-fuzz-check` }, (message) => {
      const parsed = parseRequest(message.value, http.platform.deps.parseContext());
      if (parsed.ok) for (const r of parsed.requests) accepted.add(r.deploymentId);
      else refused.push(`${message.value?.toString()}: ${parsed.reason}`);
    });
    expect(refused).toEqual([]);
    const started: string[] = [];
    const deployments = `TaskQueue = '${d.config.temporal.taskQueue}' AND WorkflowType IN (${OPERATION_WORKFLOWS.map((t) => `'${t}'`).join(', ')})`;
    for await (const w of d.client.workflow.list({ query: deployments })) started.push(w.workflowId);
    expect(started.filter((id) => !accepted.has(id))).toEqual([]);
    process.stdout.write(`http-fuzz: ${total} requests produced, ${accepted.size} deploymentIds accepted, ${started.length} deployments started\n`);
  });
});
