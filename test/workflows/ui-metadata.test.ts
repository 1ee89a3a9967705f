// What the Temporal UI shows of a deployment, read back from the server as the UI reads it:
// the summary of every activity and child (user metadata in the history) and the current
// details (the built-in workflow metadata query). In the Temporal test environment, with the
// node, build and event adapters replaced by in-memory fakes.
import type { Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { deployRequestSchema } from '../../src/schemas/request';
import { deployWorkflow } from '../../workflows/deploy';
import { newWorld, type FakeWorld } from '../support/fake-node-activities';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';

jest.setTimeout(90_000);

let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'ui-metadata-test';
const NODES = ['fog-1', 'fog-2'];

beforeAll(async () => {
  fake = await startFakeEnvironment(taskQueue, () => world);
  env = fake.env;
  world = newWorld(NODES);
  const request = deployRequestSchema.parse({
    kind: 'Deploy',
    deploymentId: 'ui-1',
    application: { name: 'web', version: '2', image: '10.0.0.1:5000/web:2' },
    nodes: NODES,
    healthCheck: { http: { port: 80 } },
    strategy: { maxParallel: 2 },
  });
  await env.client.workflow.execute(deployWorkflow, { workflowId: request.deploymentId, taskQueue, args: [request] });
});

afterAll(async () => {
  await fake?.stop();
});

const text = (payload: Payload | null | undefined) => (payload ? env.client.options.loadedDataConverter.payloadConverter.fromPayload<string>(payload) : undefined);

async function summaries(workflowId: string) {
  const { events } = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return {
    activities: events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => text(e.userMetadata?.summary)),
    children: events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map((e) => text(e.userMetadata?.summary)),
  };
}

const currentDetails = async (workflowId: string) => (await env.client.workflow.getHandle(workflowId).query(workflowMetadataQuery)).currentDetails;

describe('a deployment as the Temporal UI shows it (fake node activities)', () => {
  it('names each node child by its node and what it deploys', async () => {
    expect((await summaries('ui-1')).children.sort()).toEqual(['fog-1: deploy web:2', 'fog-2: deploy web:2']);
  });

  it('names the node and the step in the summary of every activity on the node', async () => {
    const { activities } = await summaries('ui-1/fog-2');
    expect(activities).toHaveLength(5);
    expect(activities[0]).toBe('fog-2: list web containers');
    expect(activities[1]).toBe('fog-2: pull 10.0.0.1:5000/web:2');
    expect(activities[2]).toMatch(/^fog-2: create web--ui-1--\w+--r0$/);
    expect(activities[3]).toMatch(/^fog-2: start web--ui-1--\w+--r0$/);
    expect(activities[4]).toMatch(/^fog-2: verify http:\/\/\S+:80\/$/);
  });

  it('summarises the deployment\'s own activities, the node ones naming their node', async () => {
    const { activities } = await summaries('ui-1');
    expect(activities).toEqual(expect.arrayContaining(['resolve the nodes in the inventory', 'fog-1: retire older versions of web', 'fog-2: retire older versions of web']));
  });

  it('shows every node healthy in the deployment\'s current details', async () => {
    const details = await currentDetails('ui-1');
    expect(details).toMatch(/^\| fog-1 \| Healthy \| running web--ui-1--\w+--r0 \|$/m);
    expect(details).toMatch(/^\| fog-2 \| Healthy \| running web--ui-1--\w+--r0 \|$/m);
  });

  it('shows every step of a node done in the node\'s current details', async () => {
    const details = await currentDetails('ui-1/fog-1');
    expect(details).toContain('**fog-1**');
    expect(details).toMatch(/^\| pull 10\.0\.0\.1:5000\/web:2 \| done \|$/m);
    expect(details!.match(/\| done \|$/gm)).toHaveLength(5);
  });
});
