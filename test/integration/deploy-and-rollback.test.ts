// (a) a Kafka request deploys v1 to 3 nodes; (b) a v2 whose health check fails on one node
// ends RolledBack with v1 serving again on all 3. Real stack: Kafka, Temporal, registry,
// three fog nodes' Docker Engines; the image is really built and pushed.
import { resolve } from 'node:path';
import { isTerminal } from '../../src/core/schemas/event';
import { containersOf, httpGet, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';

jest.setTimeout(240_000);

const app = `it-web-${Date.now().toString(36)}`;
const port = 18081;
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('rollout');
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

function deployRequest(deploymentId: string, version: string, command: string[]) {
  return {
    kind: 'Deploy',
    deploymentId,
    application: {
      name: app,
      version,
      source: { context: resolve(__dirname, '../../examples/hello'), buildArgs: { GREETING: `version ${version}` } },
    },
    nodes: d.inventory.nodes.slice(0, 3).map((n) => n.id),
    container: { command, restartPolicy: 'no', files: [{ path: '/www/version.txt', content: version }] },
    healthCheck: { http: { port, path: '/version.txt' }, intervalMs: 200, timeoutMs: 1000, healthyAfter: 2, deadlineMs: 6000 },
    strategy: { maxParallel: 1 },
  };
}

const serve = ['httpd', '-f', '-p', String(port), '-h', '/www'];

describe('a deployment through Kafka on the real stack', () => {
  it('deploys v1 to 3 nodes, where each node then answers with v1', async () => {
    await d.send(deployRequest(`${app}-v1`, 'v1', serve));
    const events = await d.terminal(`${app}-v1`);

    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    for (const node of d.inventory.nodes.slice(0, 3)) {
      expect(await httpGet(`http://${node.address}:${port}/version.txt`)).toEqual({ status: 200, body: 'v1' });
      expect(await httpGet(`http://${node.address}:${port}/`)).toMatchObject({ body: expect.stringContaining('version v1 from the Deployer') });
    }
    const containers = await containersOf(d, app);
    for (const node of d.inventory.nodes.slice(0, 3)) {
      expect(containers[node.id]!.map((c) => [c.version, c.state])).toEqual([['v1', 'running']]);
    }
    // The terminal event goes out just before the run closes.
    await d.client.workflow.getHandle(`${app}-v1`).result();
    const described = await d.client.workflow.getHandle(`${app}-v1`).describe();
    expect(described.status.name).toBe('COMPLETED');
  });

  it('reached a node whose engine accepts only TLS with a client certificate', async () => {
    const tlsNode = d.inventory.nodes.slice(0, 3).find((n) => n.target.kind === 'docker-engine' && 'tls' in n.target.docker && n.target.docker.tls !== undefined);
    expect(tlsNode).toBeDefined();
    const { host, port: enginePort } = (tlsNode!.target as { docker: { host: string; port: number } }).docker;
    // Without a client certificate the engine refuses: only the Deployer's TLS client got through.
    const plain = await httpGet(`http://${host}:${enginePort}/version`);
    expect(plain).toMatchObject({ status: 400, body: expect.stringContaining('HTTPS') });
    expect((await containersOf(d, app))[tlsNode!.id]!.map((c) => c.version)).toEqual(['v1']);
  });

  it('rolls a v2 that fails its health check on one node back, leaving v1 serving on all 3', async () => {
    const nodes = d.inventory.nodes.slice(0, 3);
    const badAddress = nodes[2]!.address;
    // v2 refuses to serve on the third node only (it sees the node's address on its host network).
    const flaky = ['sh', '-c', `if ip -o addr | grep -q " ${badAddress}/"; then exit 3; fi; exec ${serve.join(' ')}`];
    await d.send(deployRequest(`${app}-v2`, 'v2', flaky));
    const events = await d.terminal(`${app}-v2`);

    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['RolledBack']);
    const last = events.at(-1)!;
    expect(last.phase).toBe('RolledBack');
    expect(last.message).toContain(nodes[2]!.id);
    // Undo ran newest first: the failed node, then the ones before it.
    const restored = events.filter((e) => e.phase === 'RollingBack' && e.node && e.message.startsWith('removed')).map((e) => e.node);
    expect(restored).toEqual([nodes[2]!.id, nodes[1]!.id, nodes[0]!.id]);

    for (const node of nodes) {
      expect(await httpGet(`http://${node.address}:${port}/version.txt`)).toEqual({ status: 200, body: 'v1' });
    }
    const containers = await containersOf(d, app);
    for (const node of nodes) {
      expect(containers[node.id]!.map((c) => [c.version, c.state])).toEqual([['v1', 'running']]);
    }
    await d.client.workflow.getHandle(`${app}-v2`).result().catch(() => undefined);
    const described = await d.client.workflow.getHandle(`${app}-v2`).describe();
    expect(described.status.name).toBe('FAILED');
  });
});
