// The workflows in the Temporal test environment (the locally built server, with the
// Deployer's search attributes) and one worker serving them with the in-memory fake node,
// build and event adapters: the set-up of every test in test/workflows/.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/search-attributes';
import { fakeActivities, type FakeWorld } from './fake-node-activities';
import { temporalBinary } from './temporal-binary';

export interface FakeEnvironment {
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

/** `world` is read on every activity call, so a test can start from a new one. */
export async function startFakeEnvironment(taskQueue: string, world: () => FakeWorld): Promise<FakeEnvironment> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinary() }, searchAttributes: Object.values(SEARCH_ATTRIBUTES) },
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: fakeActivities(world, taskQueue, env.client),
  });
  const running = worker.run();
  return {
    env,
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
