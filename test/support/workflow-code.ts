// The workflow code for a worker or a replayer in a test: the bundle made once for the run
// (test/support/global-setup.js), or the sources when a test runs without it.
export function workflowCode(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const codePath = process.env.DEPLOYER_WORKFLOW_BUNDLE;
  return codePath !== undefined ? { workflowBundle: { codePath } } : { workflowsPath: require.resolve('../../workflows') };
}
