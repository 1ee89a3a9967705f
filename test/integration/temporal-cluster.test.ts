// Cluster mode (docs/cluster-mode.md): a worker and a bridge in processes of their own, as
// production runs them, on the real Temporal server backed by PostgreSQL, deploy to a fog
// node; the deployment's workflow is on that server and not on the dev server. Runs only in
// the `cluster` project, whose setup points TEMPORAL_ADDRESS at cluster-mode Temporal.
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { dataConverter } from '../../src/codec/data-converter';
import { containersOf, engineNodes, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const clusterAddress = `127.0.0.1:${process.env.TEMPORAL_CLUSTER_PORT || '7243'}`;
const devAddress = `127.0.0.1:${process.env.TEMPORAL_PORT || '7233'}`;
const app = `it-cluster-${Date.now().toString(36)}`;
let d: TestDeployer;
const connections: Connection[] = [];

async function clientOf(address: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  connections.push(connection);
  // The Deployer's converter: its payloads and memos are encrypted.
  return new Client({ connection, namespace: d.config.temporal.namespace, dataConverter: dataConverter(d.config) });
}

beforeAll(async () => {
  d = await startDeployer('cluster', { processes: true });
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
  await Promise.all(connections.map((c) => c.close()));
});

describe('cluster-mode Temporal (the server on PostgreSQL)', () => {
  it('runs a deployment to a fog node to Succeeded, its workflow kept there and not on the dev server', async () => {
    expect(d.config.temporal.address).toBe(clusterAddress);
    const cluster = await clientOf(clusterAddress);
    // The server itself says what keeps its histories and its visibility.
    const info = await cluster.workflowService.getClusterInfo({});
    expect([info.persistenceStore, info.visibilityStore]).toEqual(['postgres12', 'postgres12']);

    const node = engineNodes(d)[0]!;
    const id = `${app}-1`;
    await d.send({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [node.id],
      container: { command: ['httpd', '-f', '-p', '18743', '-h', '/'] },
      healthCheck: { tcp: { port: 18743 }, intervalMs: 200 },
    });
    const events = await d.terminal(id);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    expect((await containersOf(d, app))[node.id]!.map((c) => [c.deploymentId, c.state])).toEqual([[id, 'running']]);

    // Read back from the cluster's frontend: the workflow, its history, and its search attributes
    // in the cluster's visibility store (PostgreSQL).
    const described = await cluster.workflow.getHandle(id).describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(described.taskQueue).toBe(d.config.temporal.taskQueue);
    const history = await cluster.workflow.getHandle(id).fetchHistory();
    expect(history.events!.length).toBeGreaterThan(2);
    // Visibility is written after the history, a moment later.
    await waitFor(`${id} listed by its application`, async () => {
      const listed: string[] = [];
      for await (const w of cluster.workflow.list({ query: `WorkflowId = '${id}' AND DeployerApplication = '${app}' AND ExecutionStatus = 'Completed'` })) listed.push(w.workflowId);
      return listed.length === 1 && listed[0] === id;
    }, 30_000);

    const dev = await clientOf(devAddress);
    await expect(dev.workflow.getHandle(id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });
});
