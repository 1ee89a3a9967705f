// What the Deployer trusts of an application's past, on the real stack. Whoever reaches
// Temporal can run a workflow of a Deployer operation's type, tagged with any application,
// on a worker of their own: here one completes a "deployWorkflow" of version "forged" for
// an application the Deployer runs. A Scale, which starts from the newest state on record,
// must start from the Deployer's own deployment and never from the forged one.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';
import { containersOf, engineNodes, FOREIGN_TASK_QUEUE, IDLE, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
const app = `it-forged-${stamp}`;
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('forged');
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

it("scales from the Deployer's own deployment, not from a newer one a foreign worker completed under the application's name", async () => {
  const node = engineNodes(d)[0]!.id;
  const deploy = deployRequestSchema.parse({
    kind: 'Deploy',
    deploymentId: `${app}-1`,
    application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: [node],
    container: { command: IDLE, network: 'none' },
  });
  await d.send(deploy);
  expect((await d.terminal(deploy.deploymentId)).at(-1)!.phase).toBe('Succeeded');

  // The forgery: a worker of its own, a client without the Deployer's payload keys, the application's search attribute.
  const connection = await NativeConnection.connect({ address: d.config.temporal.address });
  const worker = await Worker.create({ connection, taskQueue: FOREIGN_TASK_QUEUE, workflowsPath: require.resolve('../support/rogue-workflows') });
  const clientConnection = await Connection.connect({ address: d.config.temporal.address });
  try {
    const foreign = new Client({ connection: clientConnection, namespace: d.config.temporal.namespace });
    const forged = { deploymentId: `${app}-forged`, request: { ...deploy, deploymentId: `${app}-forged`, application: { ...deploy.application, version: 'forged' } } };
    await worker.runUntil(
      foreign.workflow.execute('deployWorkflow', {
        taskQueue: FOREIGN_TASK_QUEUE,
        workflowId: `${app}-forged`,
        args: [forged],
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.application, value: app }],
      }),
    );
  } finally {
    await clientConnection.close();
    await connection.close();
  }

  await d.send({ kind: 'Scale', deploymentId: `${app}-2`, application: app, nodes: [node], replicasPerNode: 2 });
  expect((await d.terminal(`${app}-2`)).at(-1)!.phase).toBe('Succeeded');
  const running = (await containersOf(d, app))[node]!.filter((c) => c.state === 'running');
  expect(running.map((c) => c.version)).toEqual(['1', '1']);
});
