// Configuration checks and deployment tests on the real local swarm (swarm-1..3, manager on
// swarm-1): the check and test containers run as one-shot services on each node, exec tests
// in a task's container through the node's own engine. A deployment whose check and http,
// exec and container tests pass records them per node; one whose http test fails on one node
// is rolled back on all three; a bad configuration is refused while the previous version
// keeps serving without a single failed probe; and what a check or test prints reaches no
// event, record, history or log with a secret's value in it.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { LABELS } from '../../src/core/labels';
import { ONE_SHOT_ROLES } from '../../src/core/renderers/docker-engine';
import { oneShotServiceName, SWARM_LABELS } from '../../src/core/renderers/swarm';
import { isTerminal } from '../../src/core/schemas/event';
import { onTarget } from '../support/conformance';
import { swarm } from '../support/platforms';
import { httpGet, IDLE, putSecret, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { historiesText } from '../support/history';
import { hostnameOf, manager, oneShotServicesOf, servicesOf, swarmNodes } from '../support/swarm';

jest.setTimeout(600_000);

const t = onTarget(swarm, { name: 'swarm-verify', tag: 'swv' });
const { stamp, used, newApp } = t;
let d: TestDeployer;
let logs: string[] = [];

beforeAll(() => {
  ({ d, logs } = t);
  expect(swarmNodes(d).map(hostnameOf)).toEqual(['swarm-1', 'swarm-2', 'swarm-3']);
  // Exec tests need each node's own engine; scripts/stack.sh up writes them into the inventory.
  expect(swarmNodes(d).map((n) => n.target.kind === 'swarm' && n.target.engine !== undefined)).toEqual([true, true, true]);
});

const nodes = () => swarmNodes(d);
const busybox = () => `${d.inventory.registry.pull}/busybox:1`;
const terminalPhases = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => e.phase);
const recordOf = (id: string) => waitFor(`the record of ${id}`, () => [...d.records].reverse().find((r) => r.deploymentId === id), 30_000);
const CHECK = ['sh', '-c', 'grep -q "^valid" /etc/web/app.conf || { echo "bad config: $(cat /etc/web/app.conf)"; exit 1; }'];

/**
 * A web server on the node's own network, serving its version (a file delivered as a Swarm
 * config) and the node's hostname (host networking: the node's own); its configuration file
 * is checked before it may replace what runs.
 */
function web(app: string, port: number, n: number, options: { config?: string; tests?: object[] } = {}) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `v${n}`, image: busybox() },
    nodes: nodes().map((x) => x.id),
    container: {
      command: ['sh', '-c', `hostname > /www/host.txt; trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
      files: [{ path: '/www/version.txt', content: `v${n}` }, { path: '/etc/web/app.conf', content: options.config ?? 'valid' }],
      configCheck: { command: CHECK, timeoutMs: 20_000 },
      restartPolicy: 'no',
      stopGracePeriodMs: 2000,
    },
    healthCheck: { http: { port, path: '/version.txt' }, intervalMs: 200, healthyAfter: 2, deadlineMs: 30_000 },
    ...(options.tests !== undefined ? { verify: { tests: options.tests } } : {}),
    strategy: { maxParallel: 3 },
  };
}

const served = (port: number) => Promise.all(nodes().map(async (n) => {
  const r = await httpGet(`http://${n.address}:${port}/version.txt`);
  return 'body' in r ? r.body : 'unreachable';
}));

/** Each service's task template, as the manager holds it. */
const templates = async (app: string) => (await servicesOf(d, app)).map((s) => [s.name, s.deploymentId, (s.spec as { TaskTemplate: unknown }).TaskTemplate]);

describe('configuration checks and deployment tests on a real swarm', () => {
  const app = () => used[0]!;
  const port = 18611;
  let v1Templates: unknown[];

  it('runs the check before, and the http, exec and container tests after, the health check on every node; their results reach the record and the events', async () => {
    const a = newApp('web');
    await d.send(web(a, port, 1, {
      tests: [
        { name: 'version', http: { port, path: '/version.txt', expect: { status: 200, body: 'v1' } } },
        { name: 'files', exec: { command: ['cat', '/www/version.txt', '/etc/web/app.conf'], expect: { exitCode: 0, output: { matches: '^v1valid' } } } },
        { name: 'e2e', timeoutMs: 20_000, container: { image: busybox(), command: ['sh', '-c', `wget -q -O - "http://$DEPLOYER_TARGET_HOST:${port}/version.txt" | grep -qx "$DEPLOYER_VERSION"`] } },
      ],
    }));
    const events = await d.terminal(`${a}-1`);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    expect(await served(port)).toEqual(['v1', 'v1', 'v1']);

    const record = await recordOf(`${a}-1`);
    expect(record.status).toBe('Succeeded');
    for (const n of nodes()) {
      expect(record.nodes[n.id]!.checks!.map((c) => [c.name, c.kind, c.passed])).toEqual([['config', 'config', true], ['version', 'http', true], ['files', 'exec', true], ['e2e', 'container', true]]);
      expect(record.nodes[n.id]!.checks![3]!.detail).toBe('exit code 0: passed');
      const said = events.filter((e) => e.node === n.id).map((e) => e.message);
      expect(said).toEqual(expect.arrayContaining([
        `configuration check passed: \`${CHECK.join(' ')}\` passed`,
        'test "version" passed: status 200, body contains "v1": passed',
        'test "files" passed: exit code 0, output matches /^v1valid/: passed',
        'test "e2e" passed: exit code 0: passed',
      ]));
      // The check ran before anything was applied, the tests after the node was healthy.
      const at = (text: string) => said.findIndex((m) => m.includes(text));
      expect(at('configuration check passed')).toBeLessThan(at('created'));
      expect(at('healthy')).toBeLessThan(at('test "version" passed'));
    }
    // The one-shot services went with their runs.
    expect(await oneShotServicesOf(d, a)).toEqual([]);
    v1Templates = await templates(a);
  });

  it('rolls every node back when an http test fails on one node only, naming the test and its expectation', async () => {
    const third = nodes()[2]!;
    // The node's hostname is in the body: only swarm-3's answer misses the expectation.
    await d.send(web(app(), port, 2, { tests: [{ name: 'where', http: { port, path: '/host.txt', expect: { body: { matches: '^swarm-[12]' } } } }] }));
    const events = await d.terminal(`${app()}-2`);
    expect(terminalPhases(`${app()}-2`)).toEqual(['RolledBack']);
    const reason = 'deployment test "where" (http) failed: expected status 200, body matches /^swarm-[12]/, got body "swarm-3"';
    expect(events.at(-1)!.message).toContain(`${third.id}: ${reason}`);
    const record = await recordOf(`${app()}-2`);
    expect(record.status).toBe('RolledBack');
    expect(record.reason).toContain(`${third.id}: ${reason}`);
    expect(record.nodes[third.id]!.checks!.map((c) => [c.name, c.passed])).toEqual([['config', true], ['where', false]]);
    for (const n of nodes().slice(0, 2)) expect(record.nodes[n.id]!.checks!.map((c) => [c.name, c.passed])).toEqual([['config', true], ['where', true]]);
    await waitFor('v1 serving on all three', async () => (await served(port)).every((v) => v === 'v1'), 30_000);
    expect(await templates(app())).toEqual(v1Templates);
    expect(await oneShotServicesOf(d, app())).toEqual([]);
  });

  it('refuses a bad configuration by its check, with the check\'s output, while the previous version never stops serving; the restore removes a crashed attempt\'s leftover', async () => {
    // What a test container of this deployment would leave on swarm-2 if its worker crashed mid-test.
    const leftover = oneShotServiceName(app(), 'swarm-2', `${app()}-3`, 'test-version');
    const labels = { [LABELS.role]: ONE_SHOT_ROLES.test, [LABELS.application]: app(), [LABELS.deployment]: `${app()}-3`, [SWARM_LABELS.node]: 'swarm-2' };
    await manager(d).createService({
      Name: leftover,
      Labels: labels,
      TaskTemplate: { ContainerSpec: { Image: busybox(), Args: IDLE }, RestartPolicy: { Condition: 'none' }, Placement: { Constraints: ['node.hostname==swarm-2'] } },
      Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
    } as never);
    expect(await oneShotServicesOf(d, app())).toEqual([leftover]);
    const failures: string[] = [];
    let probes = 0;
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const answers = await served(port);
        probes++;
        answers.forEach((v, i) => {
          if (v !== 'v1') failures.push(`${nodes()[i]!.id}: ${v}`);
        });
        // Densely: a check refused within a second must still be watched by many probes.
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await d.send(web(app(), port, 3, { config: 'broken', tests: [{ name: 'version', http: { port, path: '/version.txt' } }] }));
      const events = await d.terminal(`${app()}-3`);
      expect(terminalPhases(`${app()}-3`)).toEqual(['RolledBack']);
      expect(events.at(-1)!.message).toContain(`configuration check \`${CHECK.join(' ')}\` failed: it exited with 1; output: bad config: broken`);
      const record = await recordOf(`${app()}-3`);
      for (const n of nodes()) expect(record.nodes[n.id]!.checks!.map((c) => [c.name, c.passed])).toEqual([['config', false]]);
    } finally {
      probing = false;
      await prober;
    }
    expect(probes).toBeGreaterThan(10);
    expect(failures).toEqual([]);
    // Nothing was applied: every service still at v1, untouched.
    expect(await templates(app())).toEqual(v1Templates);
    expect(await oneShotServicesOf(d, app())).toEqual([]);
  });
});

describe('secrets in what checks and tests print on a real swarm', () => {
  function secret(application: string, name: string): { ref: string; value: string } {
    const ref = `it/${stamp}/${name}`;
    const value = `s3cret-${randomBytes(16).toString('hex')}`;
    putSecret(d.config.secretsPath, application, ref, value);
    return { ref, value };
  }

  it('a test container and a config check that print their secret files: the values are redacted everywhere, and their Swarm secrets are gone', async () => {
    const a = newApp('secret');
    const appToken = secret(a, 'swarm-app-token');
    const testToken = secret(a, 'swarm-test-token');
    const node = nodes()[0]!;
    const port = 18612;
    const request = (n: number, check: string, tests: object[]) => ({
      kind: 'Deploy',
      deploymentId: `${a}-${n}`,
      application: { name: a, version: `v${n}`, image: busybox() },
      nodes: [node.id],
      container: {
        command: ['sh', '-c', `mkdir -p /www && echo ok > /www/index.html && trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
        secrets: [{ name: 'APP_TOKEN', ref: appToken.ref }],
        configCheck: { command: ['sh', '-c', check] },
        restartPolicy: 'no',
        stopGracePeriodMs: 2000,
      },
      healthCheck: { http: { port, path: '/' }, intervalMs: 200 },
      verify: { tests },
    });

    // The check prints the application's secret and passes; the test container prints its own and fails.
    await d.send(request(1, 'echo "token: $(cat "$APP_TOKEN_FILE")"', [
      { name: 'leak', timeoutMs: 20_000, container: { image: busybox(), command: ['sh', '-c', 'echo "token: $(cat "$TEST_TOKEN_FILE")"; exit 1'] }, secrets: [{ name: 'TEST_TOKEN', ref: testToken.ref }] },
    ]));
    const first = await d.terminal(`${a}-1`);
    expect(terminalPhases(`${a}-1`)).toEqual(['RolledBack']);
    expect(first.at(-1)!.message).toContain('deployment test "leak" (container) failed: expected exit code 0, got exit code 1; output: token: [redacted]');

    // The check prints the application's secret and fails.
    await d.send(request(2, 'echo "token: $(cat "$APP_TOKEN_FILE")"; exit 1', []));
    const second = await d.terminal(`${a}-2`);
    expect(terminalPhases(`${a}-2`)).toEqual(['RolledBack']);
    expect(second.at(-1)!.message).toContain('failed: it exited with 1; output: token: [redacted]');

    const records = JSON.stringify([await recordOf(`${a}-1`), await recordOf(`${a}-2`)]);
    const history = await historiesText(d, [`${a}-1`, `${a}-1/${node.id}`, `${a}-2`, `${a}-2/${node.id}`]);
    // The output was there, redacted: finding no value below means something.
    for (const text of [records, history, JSON.stringify(d.events)]) expect(text).toContain('token: [redacted]');
    expect(logs.join('')).toContain(`${a}-1`);
    const everywhere = { history, logs: logs.join(''), events: JSON.stringify(d.events), records };
    const hits = Object.fromEntries(Object.entries(everywhere).map(([where, text]) => [where, [appToken.value, testToken.value].filter((v) => text.includes(v)).length]));
    expect(hits).toEqual({ history: 0, logs: 0, events: 0, records: 0 });

    // Both rolled back: no service, no one-shot service, and no secret of the application (its own and the test's) left on the swarm.
    expect(await servicesOf(d, a)).toEqual([]);
    expect(await oneShotServicesOf(d, a)).toEqual([]);
    expect(await manager(d).listSecrets({ filters: JSON.stringify({ label: [`${LABELS.application}=${a}`] }) })).toEqual([]);
  });
});

describe('an exec test on a swarm node whose inventory names no engine', () => {
  it('fails, saying what to add, and the node is rolled back', async () => {
    const file = join(tmpdir(), `it-swv-inventory-${stamp}.json`);
    const withoutEngines = {
      ...d.inventory,
      nodes: d.inventory.nodes.map((n) => (n.target.kind === 'swarm' ? { ...n, target: { kind: 'swarm', swarm: n.target.swarm, hostname: n.target.hostname } } : n)),
    };
    writeFileSync(file, JSON.stringify(withoutEngines));
    const other = await startDeployer('swarm-no-engine', { inventoryPath: file });
    try {
      const a = newApp('no-engine');
      const node = nodes()[0]!;
      await other.send({
        kind: 'Deploy',
        deploymentId: `${a}-1`,
        application: { name: a, version: 'v1', image: busybox() },
        nodes: [node.id],
        container: { command: IDLE, network: 'bridge', restartPolicy: 'no', stopGracePeriodMs: 2000 },
        verify: { tests: [{ name: 'inside', exec: { command: ['true'] } }] },
      });
      const events = await other.terminal(`${a}-1`);
      expect(events.at(-1)!.phase).toBe('RolledBack');
      expect(events.at(-1)!.message).toContain(`deployment test "inside" (exec) failed: expected exit code 0, could not run: the inventory names no engine for ${node.id}, and an exec test runs in a task's container through the node's own Docker Engine: add "engine"`);
      expect(await servicesOf(d, a)).toEqual([]);
    } finally {
      await other.stop();
      rmSync(file);
    }
  });
});
