// The workflows in the Temporal test environment (the locally built server, with the
// Deployer's search attributes) and a worker serving them with the fake target and fake
// control adapters (test/support/fake-target.ts): the set-up of every test in
// test/workflows/. With `sites`, nodes whose id a site names are served by a worker of that
// site's own task queue, which runs only node activities, as at a remote site; a test may
// stop a site's worker (a site whose worker is gone) and start it again.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';
import { fakeActivities, fakeInventory, type FakeWorld } from './fake-target';
import { temporalBinary } from './temporal-binary';
import { workflowCode } from './workflow-code';

export interface FakeEnvironment {
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
  /** Shuts the worker of a site's queue down: nothing polls that queue until startSite. */
  stopSite(site: string): Promise<void>;
  /** Starts a worker of the site's queue again. */
  startSite(site: string): Promise<void>;
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
  const main = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...(options.workflowInterceptorModules !== undefined ? { workflowsPath: require.resolve('../../workflows'), interceptors: { workflowModules: options.workflowInterceptorModules } } : workflowCode()),
    activities,
  });
  const mainRun = main.run();
  // No workflows for a site's queue: only what runs next to its nodes.
  const siteWorkers = new Map<string, { worker: Worker; run: Promise<void> }>();
  const startSite = async (site: string) => {
    if (siteWorkers.has(site)) return;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: site, activities });
    siteWorkers.set(site, { worker, run: worker.run() });
  };
  const stopSite = async (site: string) => {
    const running = siteWorkers.get(site);
    if (running === undefined) return;
    siteWorkers.delete(site);
    running.worker.shutdown();
    await running.run;
  };
  for (const site of Object.keys(sites)) await startSite(site);
  return {
    env,
    stopSite,
    startSite,
    async stop() {
      await Promise.all([...siteWorkers.keys()].map(stopSite));
      main.shutdown();
      await mainRun;
      await env.teardown();
    },
  };
}
