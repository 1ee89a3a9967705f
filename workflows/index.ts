// The workflow bundle's entry: every workflow type the worker registers.
export { deployWorkflow, rollbackWorkflow, scaleWorkflow, undeployWorkflow } from './deploy';
export { deployNodeWorkflow } from './deploy-node';
export { applicationLockWorkflow } from './application-lock';
