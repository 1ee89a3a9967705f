// What goes into the workflow bundle is built anew in every workflow's sandbox, on every
// run: module initialisation is paid per workflow. The bundle holds the workflows, the pure
// core and the Temporal SDK's workflow side, and not zod (whose schemas are costly to build:
// a tenth of a deployment's CPU when they were in it) nor anything else from node_modules.
import { readFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';

jest.setTimeout(120_000);

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

it('holds the workflows, the core and the SDK only', async () => {
  // The run's own bundle when there is one (test/support/global-setup.js): it is what every worker of the run loads.
  const shared = process.env.DEPLOYER_WORKFLOW_BUNDLE;
  const code = shared !== undefined ? readFileSync(shared, 'utf8') : (await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: silent })).code;
  // Modules are named by their path from where the bundle was built, node_modules' wherever it is.
  const packages = new Set([...code.matchAll(/\/\*\*\*\/ "[^"]*?node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1]));
  expect([...packages].sort()).toEqual(['@temporalio/common', '@temporalio/workflow', 'long', 'ms', 'nexus-rpc']);
});
