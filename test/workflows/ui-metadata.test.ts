// What the Temporal UI shows of a deployment, read back from the server as the UI reads it:
// the summary of every activity, local activity and child (user metadata in the history) and
// the current details (the built-in workflow metadata query). In the Temporal test
// environment, with a fake target and fake control adapters.
import type { Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { deployWorkflow } from '../../workflows/operation';
import { newWorld, type FakeWorld } from '../support/fake-target';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';
import { isLocalActivityMarker } from '../support/history';

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
    // Local activities are recorded as markers, with their summary as the marker's user metadata.
    activities: events!.filter((e) => e.activityTaskScheduledEventAttributes || isLocalActivityMarker(e)).map((e) => text(e.userMetadata?.summary)),
    children: events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map((e) => text(e.userMetadata?.summary)),
  };
}

const currentDetails = async (workflowId: string) => (await env.client.workflow.getHandle(workflowId).query(workflowMetadataQuery)).currentDetails;

describe('a deployment as the Temporal UI shows it (fake target)', () => {
  it('names each node child by its node and what it deploys', async () => {
    expect((await summaries('ui-1')).children.sort()).toEqual(['fog-1: deploy web:2', 'fog-2: deploy web:2']);
  });

  it('names the node and the step in the summary of every activity on the node', async () => {
    const { activities } = await summaries('ui-1/fog-2');
    expect(activities).toEqual(['fog-2: apply web:2 (10.0.0.1:5000/web:2)', 'fog-2: verify web:2 (http health check)']);
  });

  it("summarises the deployment's own activities", async () => {
    const { activities } = await summaries('ui-1');
    expect(activities).toEqual(expect.arrayContaining(['look the nodes up in the inventory', 'publish status events', 'write the deployment record', 'fog-1, fog-2: retire older versions of web']));
  });

  it("shows every node healthy in the deployment's current details", async () => {
    const details = await currentDetails('ui-1');
    expect(details).toMatch(/^\| fog-1 \| Healthy \| running web--ui-1--r0 \|$/m);
    expect(details).toMatch(/^\| fog-2 \| Healthy \| running web--ui-1--r0 \|$/m);
  });

  it("shows every step of a node done in the node's current details", async () => {
    const details = await currentDetails('ui-1/fog-1');
    expect(details).toContain('**fog-1**');
    expect(details).toMatch(/^\| apply web:2 \| done \|$/m);
    expect(details!.match(/\| done \|$/gm)).toHaveLength(2);
  });
});
