// Deployment tests and the configuration check on real fog-node engines. One application
// goes through four deployments: one whose check and http, exec and container tests pass;
// one whose http test fails on one node only (rolled back on every node); one whose new
// configuration file the check refuses while a client probing every node throughout sees the
// previous version serve without a gap; one whose test container prints its secret and
// fails. The secret's value is then searched for as the secrets test does: in the workflow
// histories (as stored and decrypted), the status events, the records and the logs.
import { randomBytes } from 'node:crypto';
import { LABELS } from '../../src/core/labels';
import type { Inventory } from '../../src/core/schemas/inventory';
import { captureOutput } from '../support/captured-output';
import { runCli } from '../support/cli';
import { containersOf, engineNodes, httpGet, putSecret, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';
import { historiesText } from '../support/history';

jest.setTimeout(240_000);

const stamp = Date.now().toString(36);
const app = `it-verify-${stamp}`;
const port = 18750;
const secret = `t0ken-${randomBytes(16).toString('hex')}`;
const ref = `it/${stamp}/verify-token`;
/** httpd's basic auth for /private (a secret file of the container) and the credentials an http test sends (a secret of the test). */
const password = randomBytes(12).toString('hex');
const credentials = Buffer.from(`tester:${password}`).toString('base64');
const httpdConfRef = `it/${stamp}/httpd-conf`;
const credentialsRef = `it/${stamp}/credentials`;
let logs: string[] = [];
let d: TestDeployer;
let nodes: Inventory['nodes'];
let busybox: string;

beforeAll(async () => {
  logs = captureOutput();
  d = await startDeployer('verify', { bridgeLogLevel: 'info' });
  nodes = engineNodes(d).slice(0, 3);
  busybox = `${d.inventory.registry.pull}/busybox:1`;
  const put = (r: string, value: string) => putSecret(d.config.secretsPath, app, r, value);
  put(ref, `${secret}\n`);
  put(httpdConfRef, `/private:tester:${password}\n`);
  put(credentialsRef, credentials);
});

afterAll(async () => {
  jest.restoreAllMocks();
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

/**
 * Version `version` of the application: busybox httpd serving /www, whose index.html is a
 * file of the request and whose /ip is the node's own address (so that a test can tell the
 * nodes apart); the config check accepts an index.html that starts with "hello".
 */
function request(version: string, fields: { index?: string; tests?: unknown[]; configCheck?: unknown } = {}) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${version}`,
    application: { name: app, version, image: busybox },
    nodes: nodes.map((n) => n.id),
    container: {
      command: ['sh', '-c', `ip -4 addr | grep -o '10\\.77\\.0\\.[0-9]*' | head -1 > /www/ip; trap 'exit 0' TERM; httpd -f -p ${port} -h /www -c /run/secrets/HTTPD_CONF & wait`],
      files: [
        { path: '/www/index.html', content: fields.index ?? `hello from ${version}\n` },
        { path: '/www/private/index.html', content: 'private page\n' },
      ],
      secrets: [{ name: 'TOKEN', ref }, { name: 'HTTPD_CONF', ref: httpdConfRef }],
      configCheck: fields.configCheck ?? { command: ['sh', '-c', 'cat /www/index.html; grep -q "^hello" /www/index.html'], timeoutMs: 10_000 },
    },
    healthCheck: { http: { port, path: '/' }, intervalMs: 200 },
    verify: { tests: fields.tests ?? [] },
    strategy: { maxParallel: 3 },
  };
}

/** A test of each kind, all of which version 1 passes. */
const passing = () => [
  { name: 'home', http: { port, path: '/', expect: { status: 200, body: 'hello', headers: { 'Content-Type': { matches: '^text/html' } } } }, timeoutMs: 5000 },
  // A secret in a header: /private answers 401 without the credentials and 200 with them.
  { name: 'locked', http: { port, path: '/private/', expect: { status: 401 } }, timeoutMs: 5000 },
  { name: 'private', http: { port, path: '/private/', headers: { Authorization: 'Basic ${secrets.CREDENTIALS}' }, expect: { body: 'private page' } }, secrets: [{ name: 'CREDENTIALS', ref: credentialsRef }], timeoutMs: 5000 },
  { name: 'files', exec: { command: ['sh', '-c', 'cat /www/index.html && test -r "$TOKEN_FILE"'], expect: { exitCode: 0, output: { matches: '^hello from' } } }, timeoutMs: 5000 },
  {
    name: 'e2e',
    container: { image: busybox, command: ['sh', '-c', `wget -q -O- "http://$DEPLOYER_TARGET_HOST:${port}/" | grep -q "from $DEPLOYER_VERSION" && test -s "$TOKEN_FILE"`] },
    secrets: [{ name: 'TOKEN', ref }],
    timeoutMs: 20_000,
  },
];

async function deploy(body: ReturnType<typeof request>) {
  await d.send(body);
  const events = await d.terminal(body.deploymentId, 180_000);
  const record = await waitForRecord(body.deploymentId);
  return { events, record, last: events.at(-1)! };
}

async function waitForRecord(deploymentId: string) {
  for (let i = 0; i < 100; i++) {
    const r = d.records.find((x) => x.deploymentId === deploymentId);
    if (r !== undefined) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no record of ${deploymentId}`);
}

const serving = async () => Promise.all(nodes.map((n) => httpGet(`http://${n.address}:${port}/`)));

/** The Deployer's one-shot containers (checks, test containers) of the application left on the nodes. */
async function oneShotsLeft(): Promise<number> {
  let n = 0;
  for (const node of nodes) n += (await d.engines.node(node.id).listContainers({ all: true, filters: JSON.stringify({ label: [LABELS.role, `${LABELS.application}=${app}`] }) })).length;
  return n;
}

/** When each node's running containers of the application last started, as their engines say. */
async function startTimes(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const n of nodes) {
    const running = (await containersOf(d, app))[n.id]!.filter((c) => c.state === 'running');
    out[n.id] = await Promise.all(running.map(async (c) => (await d.engines.node(n.id).getContainer(c.name).inspect()).State.StartedAt));
  }
  return out;
}

const cli = (args: string[]) => runCli(args, d.env);

describe('deployment tests and the configuration check (real engines)', () => {
  it('passes a deployment whose check and http, exec and container tests pass on every node, with each result in the events, the record and `deployer status`', async () => {
    const { last, events, record } = await deploy(request('1', { tests: passing() }));
    expect(last.phase).toBe('Succeeded');
    for (const n of nodes) {
      expect(record.nodes[n.id]!.checks!.map((c) => [c.name, c.kind, c.passed])).toEqual([
        ['config', 'config', true],
        ['home', 'http', true],
        ['locked', 'http', true],
        ['private', 'http', true],
        ['files', 'exec', true],
        ['e2e', 'container', true],
      ]);
      const messages = events.filter((e) => e.node === n.id).map((e) => e.message);
      expect(messages).toContain('test "e2e" passed: exit code 0: passed');
      expect(messages).toContain('configuration check passed: `sh -c cat /www/index.html; grep -q "^hello" /www/index.html` passed');
    }
    expect(await oneShotsLeft()).toBe(0);
    const status = await cli(['status', `${app}-1`]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${nodes[0]!.id}\\s+e2e \\(container\\)\\s+passed\\s+exit code 0: passed`));
    expect(status.stdout).toMatch(new RegExp(`${nodes[2]!.id}\\s+config check\\s+passed`));
  });

  it('rolls back every node when an http test fails on one of them, naming the test and its expectation', async () => {
    const [, odd] = nodes;
    const others = nodes.filter((n) => n !== odd).map((n) => n.address.replace(/\./g, '\\.'));
    // /ip is each node's own address: the expectation holds on every node but `odd`.
    const tests = [{ name: 'address', http: { port, path: '/ip', expect: { body: { matches: `^(${others.join('|')})\\s*$` } } }, timeoutMs: 5000 }];
    const { last, record } = await deploy(request('2', { tests }));
    expect(last.phase).toBe('RolledBack');
    expect(record.reason).toContain(`${odd!.id}: deployment test "address" (http) failed: expected status 200, body matches /^(${others.join('|')})\\s*$/, got body "${odd!.address}`);
    expect(record.nodes[odd!.id]!.checks!.find((c) => c.name === 'address')!.passed).toBe(false);
    for (const n of nodes.filter((x) => x !== odd)) expect(record.nodes[n.id]!.checks!.find((c) => c.name === 'address')!.passed).toBe(true);
    // Version 1 again everywhere, version 2 gone.
    expect((await serving()).map((r) => ('body' in r ? r.body : r.error))).toEqual(nodes.map(() => 'hello from 1\n'));
    const containers = await containersOf(d, app);
    for (const n of nodes) expect(containers[n.id]!.filter((c) => c.version === '2')).toEqual([]);
    expect(await oneShotsLeft()).toBe(0);
  });

  it('refuses a bad configuration file by its check while the previous version serves without a gap, the check\'s output (secrets redacted) the reason', async () => {
    const before = await startTimes();
    const answers: { node: string; ok: boolean; what: string }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const got = await serving();
        got.forEach((r, i) => answers.push({ node: nodes[i]!.id, ok: 'body' in r && r.status === 200 && r.body === 'hello from 1\n', what: JSON.stringify(r) }));
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const configCheck = { command: ['sh', '-c', 'echo "checking with $(cat "$TOKEN_FILE")"; cat /www/index.html; grep -q "^hello" /www/index.html'], timeoutMs: 10_000 };
    const { last, record } = await deploy(request('3', { index: 'goodbye: not a valid page\n', configCheck }));
    probing = false;
    await prober;
    expect(last.phase).toBe('RolledBack');
    for (const n of nodes) {
      expect(record.reason).toContain(`${n.id}: configuration check \`sh -c echo "checking with $(cat "$TOKEN_FILE")"; cat /www/index.html; grep -q "^hello" /www/index.html\` failed: it exited with 1; output: checking with [redacted]\ngoodbye: not a valid page`);
    }
    expect(answers.length).toBeGreaterThan(nodes.length * 5);
    expect(answers.filter((a) => !a.ok)).toEqual([]);
    // The previous containers were never stopped: the same ones still run, started at the same moment as before.
    const containers = await containersOf(d, app);
    for (const n of nodes) expect(containers[n.id]!.filter((c) => c.state === 'running').map((c) => c.version)).toEqual(['1']);
    expect(await startTimes()).toEqual(before);
    expect(await oneShotsLeft()).toBe(0);
  });

  it('fails a test container by its exit code, its output (secret redacted) in the reason', async () => {
    const tests = [{ name: 'leaky', container: { image: busybox, command: ['sh', '-c', 'echo "the token is $(cat "$TOKEN_FILE")"; exit 3'] }, secrets: [{ name: 'TOKEN', ref }], timeoutMs: 20_000 }];
    const { last, record } = await deploy(request('4', { tests }));
    expect(last.phase).toBe('RolledBack');
    expect(record.reason).toContain('deployment test "leaky" (container) failed: expected exit code 0, got exit code 3; output: the token is [redacted]');
    expect((await serving()).map((r) => ('body' in r ? r.body : r.error))).toEqual(nodes.map(() => 'hello from 1\n'));
  });

  it('never shows the secret: not in the histories, the events, the records or the logs', async () => {
    const ids = ['1', '2', '3', '4'].flatMap((v) => [`${app}-${v}`, ...nodes.map((n) => `${app}-${v}/${n.id}`)]);
    const histories = await historiesText(d, ids);
    // The searches below must be able to find something: the reference and the redaction marker are there.
    expect(histories).toContain(ref);
    expect(histories).toContain('[redacted]');
    expect(histories).toContain('${secrets.CREDENTIALS}');
    expect(JSON.stringify(d.events)).toContain('[redacted]');
    for (const value of [secret, password, credentials]) {
      expect(histories).not.toContain(value);
      expect(JSON.stringify(d.events)).not.toContain(value);
      expect(JSON.stringify(d.records)).not.toContain(value);
      expect(logs.join('\n')).not.toContain(value);
    }
  });
});
