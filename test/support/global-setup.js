// Bundles the workflow code once per Jest run, for every worker the tests start (in the
// test process or as a child process): bundling costs seconds of CPU, and each suite used
// to pay it again for every worker it started. The path goes to the workers through
// DEPLOYER_WORKFLOW_BUNDLE, the setting production workers use for a prebuilt bundle. Its
// failure converter is the one the run's workers have (src/codec/data-converter.ts): the
// one that encrypts failure messages, unless the run turns payload encryption off.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

module.exports = async function bundleWorkflowsOnce() {
  if (process.env.DEPLOYER_WORKFLOW_BUNDLE) return;
  const { bundleWorkflowCode } = require('@temporalio/worker');
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
  const started = Date.now();
  // As src/config.ts reads the setting: on unless it says off.
  const encrypted = process.env.DEPLOYER_PAYLOAD_ENCRYPTION !== 'off';
  const failureConverterPath = encrypted ? resolve(__dirname, '../../src/codec/failure-converter.ts') : undefined;
  const { code } = await bundleWorkflowCode({ workflowsPath: resolve(__dirname, '../../workflows/index.ts'), failureConverterPath, logger: silent });
  const dir = resolve(__dirname, '../../test-results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `workflow-bundle-${process.pid}.js`);
  writeFileSync(path, code);
  process.env.DEPLOYER_WORKFLOW_BUNDLE = path;
  process.stderr.write(`workflow code bundled once for this run in ${Date.now() - started} ms\n`);
};
