// The configuration check and deployment tests on the real local cluster (kube-1, kube-2):
// the check is a pod of the new image beside the running version, a test container is a pod,
// an exec test runs in one of the new pods over the API server's exec WebSocket. A deployment
// whose check and tests pass carries their results in its record and events; an http test
// that fails on one node only rolls back every node; a configuration the check refuses never
// stops the previous version (probed every 100 ms throughout); and a check that prints its
// secret shows it redacted, nowhere in events, records, histories or logs. What runs is asked
// of the cluster itself, with kubectl.
import { createHash, randomBytes } from 'node:crypto';
import { testPodName } from '../../src/core/renderers/kubernetes';
import type { DeploymentRecord } from '../../src/core/schemas/record';
import { onTarget } from '../support/conformance';
import { kubernetes } from '../support/platforms';
import { httpGet, putSecret, waitFor, type TestDeployer } from '../support/deployer';
import { historiesText } from '../support/history';
import { kubectl, kubeJson, kubeNodes, namespaceOf, nodeNameOf, objectsOf, readyPodNodes, workloadsOf } from '../support/kube';

jest.setTimeout(600_000);

const t = onTarget(kubernetes, { name: 'kube-verify', tag: 'k8v' });
const { stamp, used, newApp } = t;
let d: TestDeployer;
let logs: string[] = [];

beforeAll(() => {
  ({ d, logs } = t);
  expect(kubeNodes(d).map(nodeNameOf)).toEqual(['kube-1', 'kube-2']);
});

const nodes = () => kubeNodes(d);
const busybox = () => `${d.inventory.registry.pull}/busybox:1`;

/** A secret at the stack's file provider: its reference, and the value only the pods may see. */
function secret(application: string, name: string): { ref: string; value: string } {
  const value = `s3cret-${name}-${randomBytes(16).toString('hex')}`;
  const ref = `it/${stamp}/${name}`;
  putSecret(d.config.secretsPath, application, ref, value);
  return { ref, value };
}

/**
 * A web server on the node's own network, serving its version and, in `where.txt`, whether
 * it runs on the first node: what a node-specific expectation can tell apart.
 */
function web(app: string, port: number, n: number, extra: { container?: object; verify?: object; nodes?: string[] } = {}) {
  const first = nodes()[0]!.address;
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `v${n}`, image: busybox() },
    nodes: extra.nodes ?? nodes().map((x) => x.id),
    container: {
      command: ['sh', '-c', `if ip -o addr | grep -q " ${first}/"; then echo first > /www/where.txt; else echo other > /www/where.txt; fi; trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
      files: [{ path: '/www/version.txt', content: `v${n}` }],
      stopGracePeriodMs: 2000,
      ...extra.container,
    },
    healthCheck: { http: { port, path: '/version.txt' }, intervalMs: 200, healthyAfter: 2, deadlineMs: 30_000 },
    ...(extra.verify !== undefined ? { verify: extra.verify } : {}),
    strategy: { maxParallel: 2 },
  };
}

const served = (port: number) => Promise.all(nodes().map(async (n) => {
  const r = await httpGet(`http://${n.address}:${port}/version.txt`);
  return 'body' in r ? r.body : 'unreachable';
}));

const recordOf = (id: string) => waitFor(`the record of ${id}`, () => d.records.filter((r) => r.deploymentId === id).at(-1), 30_000);
const checksOf = (r: DeploymentRecord) => Object.fromEntries(Object.entries(r.nodes).map(([id, n]) => [id, (n.checks ?? []).map((c) => [c.name, c.kind, c.passed])]));
const messages = (id: string, node: string) => d.events.filter((e) => e.deploymentId === id && e.node === node).map((e) => e.message);

/** One-shot pods and test Secrets of the application left in the namespace: none, once a step ended. */
const oneShots = (app: string) => kubeJson(d, 'get', 'pods,secrets', '-l', `io.deployer.role,io.deployer.application=${app}`).items.map((x) => `${x.kind}/${x.metadata.name}`);

describe('the configuration check and deployment tests on a real Kubernetes cluster', () => {
  const port = 18611;
  const app = () => used[0]!;

  it('a check and http, exec and container tests that pass: Succeeded, each result in the record and in the events, no one-shot pod left', async () => {
    const a = newApp('web');
    const token = secret(a, 'app-token');
    const key = secret(a, 'test-key');
    const keyHash = createHash('sha256').update(key.value).digest('hex');
    await d.send(web(a, port, 1, {
      container: {
        files: [{ path: '/www/version.txt', content: 'v1' }, { path: '/etc/app.conf', content: 'valid: yes\n' }],
        secrets: [{ name: 'TOKEN', ref: token.ref }],
        // The new files and secrets are there before the Deployment is applied.
        configCheck: { command: ['sh', '-c', 'grep -q "^valid" /etc/app.conf && test -s "$TOKEN_FILE" && echo config ok'], timeoutMs: 20_000 },
      },
      verify: {
        tests: [
          { name: 'version', http: { port, path: '/version.txt', expect: { status: 200, body: 'v1' } } },
          // stdout and stderr both, in whichever order their channels delivered them.
          { name: 'conf', exec: { command: ['sh', '-c', 'cat /etc/app.conf; echo to stderr >&2'], expect: { exitCode: 0, output: { matches: '(?s)valid: yes.*to stderr|to stderr.*valid: yes' } } }, timeoutMs: 10_000 },
          {
            name: 'e2e',
            container: {
              image: busybox(),
              command: ['sh', '-c', `wget -q -O - "http://$DEPLOYER_TARGET_HOST:${port}/version.txt" | grep -qx "$DEPLOYER_VERSION" && [ "$(sha256sum < "$KEY_FILE" | cut -d' ' -f1)" = ${keyHash} ] && [ "$DEPLOYER_APPLICATION" = ${a} ]`],
            },
            secrets: [{ name: 'KEY', ref: key.ref }],
            timeoutMs: 60_000,
          },
        ],
      },
    }));
    const events = await d.terminal(`${a}-1`, 240_000);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    expect(await served(port)).toEqual(['v1', 'v1']);
    const record = await recordOf(`${a}-1`);
    const all = [['config', 'config', true], ['version', 'http', true], ['conf', 'exec', true], ['e2e', 'container', true]];
    expect(checksOf(record)).toEqual(Object.fromEntries(nodes().map((n) => [n.id, all])));
    for (const n of nodes()) {
      const said = messages(`${a}-1`, n.id);
      expect(said).toContainEqual(expect.stringMatching(/^configuration check passed: `sh -c .*` passed$/));
      for (const t of ['version', 'conf', 'e2e']) expect(said).toContainEqual(expect.stringMatching(new RegExp(`^test "${t}" passed: `)));
    }
    // Only the application's own pods run (the check and test pods were never theirs), and nothing one-shot is left.
    expect(readyPodNodes(d, a)).toEqual(['kube-1', 'kube-2']);
    expect(workloadsOf(d, a).map((w) => [w.node, w.replicas, w.version])).toEqual([['kube-1', 1, 'v1'], ['kube-2', 1, 'v1']]);
    expect(oneShots(a)).toEqual([]);
  });

  it('an http test that fails on one node only rolls every node back; the reason names the test and its expectation', async () => {
    const [first, second] = nodes();
    const expectFirst = { tests: [{ name: 'where', http: { port, path: '/where.txt', expect: { status: 200, body: 'first' } } }] };
    await d.send(web(app(), port, 2, { verify: expectFirst }));
    const events = await d.terminal(`${app()}-2`);
    const end = events.at(-1)!;
    expect(end.phase).toBe('RolledBack');
    expect(end.message).toContain(`${second!.id}: deployment test "where" (http) failed: expected status 200, body contains "first", got body "other"`);
    expect(end.message).not.toContain(`${first!.id}: deployment test`);
    // The node that passed went back too.
    await waitFor('v1 serving on both', async () => (await served(port)).every((v) => v === 'v1'), 30_000);
    expect(workloadsOf(d, app()).map((w) => [w.node, w.version])).toEqual([['kube-1', 'v1'], ['kube-2', 'v1']]);
    const record = await recordOf(`${app()}-2`);
    expect(checksOf(record)).toEqual({ [first!.id]: [['where', 'http', true]], [second!.id]: [['where', 'http', false]] });
    expect(oneShots(app())).toEqual([]);
  });

  it('a configuration the check refuses fails every node while the previous version never stops serving; the reason holds the check\'s output', async () => {
    const failures: string[] = [];
    let probes = 0;
    let probing = true;
    const prober = (async () => {
      while (probing) {
        for (const r of await served(port)) {
          probes++;
          if (r !== 'v1') failures.push(r);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await d.send(web(app(), port, 3, {
        container: {
          files: [{ path: '/www/version.txt', content: 'v3' }, { path: '/etc/app.conf', content: 'bad: yes\n' }],
          // A while, so that it is seen running beside the previous version.
          configCheck: { command: ['sh', '-c', 'sleep 3; grep -q "^valid" /etc/app.conf || { echo "/etc/app.conf: line 1: expected valid, got $(head -c 3 /etc/app.conf)" >&2; exit 2; }'], timeoutMs: 20_000 },
        },
      }));
      // While the check runs: its pod is nobody's, and the Deployments still count their one pod each.
      const checking = await waitFor('the check\'s pods running', () => {
        const pods = kubeJson(d, 'get', 'pods', '-l', `io.deployer.role=config-check,io.deployer.application=${app()}`).items;
        return pods.length === 2 && pods.every((p) => p.status.phase === 'Running') ? pods : undefined;
      }, 30_000, 100);
      expect(checking.map((p) => [p.spec.nodeName, p.metadata.ownerReferences, p.metadata.labels['io.deployer.managed']]).sort()).toEqual([['kube-1', undefined, undefined], ['kube-2', undefined, undefined]]);
      const sets = kubeJson(d, 'get', 'replicasets', '-l', `io.deployer.application=${app()}`).items.filter((x) => (x.spec.replicas ?? 0) > 0);
      expect(sets.map((x) => [x.status.replicas, x.spec.template.metadata.annotations['io.deployer.version']])).toEqual([[1, 'v1'], [1, 'v1']]);
      const end = (await d.terminal(`${app()}-3`)).at(-1)!;
      expect(end.phase).toBe('RolledBack');
      for (const n of nodes()) expect(end.message).toContain(`${n.id}: configuration check \`sh -c`);
      expect(end.message).toContain('failed: it exited with 2; output: /etc/app.conf: line 1: expected valid, got bad');
    } finally {
      probing = false;
      await prober;
    }
    expect(probes).toBeGreaterThan(20);
    expect(failures).toEqual([]);
    expect(workloadsOf(d, app()).map((w) => [w.node, w.version])).toEqual([['kube-1', 'v1'], ['kube-2', 'v1']]);
    // The ConfigMap the check was given (the deployment's own, for apply to find) went with the rollback.
    const maps = kubeJson(d, 'get', 'configmaps', '-l', `io.deployer.application=${app()}`).items.map((m) => m.metadata.annotations['io.deployer.deployment']);
    expect(maps).not.toContain(`${app()}-3`);
    expect(oneShots(app())).toEqual([]);
  });
});

describe('deployment tests that cannot run on a real Kubernetes cluster', () => {
  it('fail as tests with the reason: an exec that outlives its timeout, a test image that does not exist', async () => {
    const a = newApp('cannot');
    const port = 18612;
    const node = nodes()[1]!;
    await d.send(web(a, port, 1, {
      nodes: [node.id],
      verify: {
        tests: [
          { name: 'slow', exec: { command: ['sleep', '30'] }, timeoutMs: 1000 },
          { name: 'missing', container: { image: `${d.inventory.registry.pull}/no-such-image-${stamp}:1` } },
        ],
      },
    }));
    const end = (await d.terminal(`${a}-1`, 240_000)).at(-1)!;
    expect(end.phase).toBe('RolledBack');
    expect(end.message).toContain(`${node.id}: deployment test "slow" (exec) failed: expected exit code 0, it did not finish within 1000 ms (and 1 more failed: missing)`);
    const checks = (await recordOf(`${a}-1`)).nodes[node.id]!.checks!;
    expect(checks.map((c) => [c.name, c.passed])).toEqual([['slow', false], ['missing', false]]);
    expect(checks[1]!.detail).toMatch(/^expected exit code 0, could not start: (ErrImagePull|ImagePullBackOff)/);
    await waitFor(`nothing of ${a} left`, () => objectsOf(d, a).length === 0, 60_000);
  });
});

describe('a configuration check that prints its secret on a real Kubernetes cluster', () => {
  it('shows it redacted; the value is in no event, record, history or log', async () => {
    const a = newApp('leak');
    const token = secret(a, 'leak-token');
    const node = nodes()[0]!;
    const id = `${a}-1`;
    // A test pod of this deployment, as a worker that crashed during a test would have left it: the rollback removes it.
    const leftover = testPodName(a, nodeNameOf(node), id, 'e2e');
    kubectl('-n', namespaceOf(d), 'run', leftover, `--image=${busybox()}`, '--restart=Never', `--labels=io.deployer.role=test,io.deployer.application=${a},io.deployer.node=${nodeNameOf(node)}`,
      `--annotations=io.deployer.deployment=${id}`, `--overrides=${JSON.stringify({ spec: { nodeName: nodeNameOf(node) } })}`, '--', 'sleep', '3600');
    await d.send({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: a, version: '1', image: busybox() },
      nodes: [node.id],
      container: {
        command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
        secrets: [{ name: 'TOKEN', ref: token.ref }],
        configCheck: { command: ['sh', '-c', 'echo "token is $(cat "$TOKEN_FILE")"; exit 1'] },
      },
    });
    const end = (await d.terminal(id)).at(-1)!;
    expect(end.phase).toBe('RolledBack');
    // The check did read it: its output shows where the value was.
    expect(end.message).toContain('it exited with 1; output: token is [redacted]');
    const record = await recordOf(id);
    expect(record.nodes[node.id]!.checks![0]!.detail).toContain('token is [redacted]');
    const history = [await historiesText(d, [id, `${id}/${node.id}`])];
    // The decrypted history holds the redacted output: the search below is of the right text.
    expect(history.join('\n')).toContain('token is [redacted]');
    expect(logs.join('')).toContain(id);
    // What the namespace shows of pods and their events (the check's pod ended with its output on the node).
    const objects = kubectl('-n', namespaceOf(d), 'get', 'pods,events', '-o', 'yaml');
    const hits = {
      history: history.join('\n').includes(token.value),
      logs: logs.join('').includes(token.value),
      events: JSON.stringify(d.events).includes(token.value),
      records: JSON.stringify(d.records).includes(token.value),
      objects: objects.includes(token.value),
    };
    expect(hits).toEqual({ history: false, logs: false, events: false, records: false, objects: false });
    // The check's pod, the leftover test pod and the deployment's Secret the check mounted are gone with the rollback.
    await waitFor(`nothing of ${a} left`, () => objectsOf(d, a).length === 0, 30_000);
  });
});
