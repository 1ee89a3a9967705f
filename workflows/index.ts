// The workflow bundle's entry: every workflow type the worker registers.
export { deployWorkflow, rollbackWorkflow, scaleWorkflow, undeployWorkflow } from './operation';
export { nodeRolloutWorkflow } from './node';
export { applicationLockWorkflow } from './application-lock';
export { compensateTerminatedWorkflow } from './compensation';
// The first workflow shape's node child: runs it started still finish, their histories replay.
export { deployNodeWorkflow } from './v1/deploy-node';
export { nodesWorkflow } from './nodes';
