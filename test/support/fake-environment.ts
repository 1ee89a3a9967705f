// The workflows in the Temporal test environment (the locally built server, with the
// Deployer's search attributes) and a worker serving them with the fake target and fake
// control adapters (test/support/fake-target.ts): the set-up of every test in
// test/workflows/. With `sites`, nodes whose id a site names are served by a worker of that
// site's own task queue, which runs only node activities, as at a remote site.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';
import { fakeActivities, fakeInventory, type FakeWorld } from './fake-target';
import { temporalBinary } from './temporal-binary';
import { workflowCode } from './workflow-code';

export interface FakeEnvironment {
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

/**
 * `world` is read on every activity call, so a test can start from a new one.
 * `lockIdleMs`: how long the applications' locks that the deployments start live idle.
 * `workflowInterceptorModules`: workflow interceptors of the test's own; the worker then
 * bundles the workflows with them itself, rather than take the run's bundle.
 */
export async function startFakeEnvironment(
  taskQueue: string,
  world: () => FakeWorld,
  options: { sites?: Record<string, string[]>; lockIdleMs?: number; workflowInterceptorModules?: string[] } = {},
): Promise<FakeEnvironment> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinary() }, searchAttributes: Object.values(SEARCH_ATTRIBUTES) },
  });
  const sites = options.sites ?? {};
  const queueOf = (id: string) => Object.entries(sites).find(([, ids]) => ids.includes(id))?.[0];
  const inventory = fakeInventory(() => Object.keys(world().nodes), taskQueue, queueOf);
  const activities = fakeActivities(world, taskQueue, env.client, inventory, options.lockIdleMs);
  const workers = [
    await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...(options.workflowInterceptorModules !== undefined ? { workflowsPath: require.resolve('../../workflows'), interceptors: { workflowModules: options.workflowInterceptorModules } } : workflowCode()),
      activities,
    }),
    // No workflows for a site's queue: only what runs next to its nodes.
    ...(await Promise.all(Object.keys(sites).map((site) => Worker.create({ connection: env.nativeConnection, taskQueue: site, activities })))),
  ];
  const running = workers.map((w) => w.run());
  return {
    env,
    async stop() {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
      await env.teardown();
    },
  };
}
