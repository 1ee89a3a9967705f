// What goes into the workflow bundle is built anew in every workflow's sandbox, on every
// run: module initialisation is paid per workflow. The bundle holds the workflows, the pure
// core and the Temporal SDK's workflow side, and not zod (whose schemas are costly to build:
// a tenth of a deployment's CPU when they were in it) nor anything else from node_modules.
// A bundle built ahead of time carries its own failure converter: a worker refuses one that
// is not its data converter's.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ENCRYPTING_FAILURE_CONVERTER } from '../../src/codec/data-converter';
import { ConfigError } from '../../src/config';
import { TRACING_WORKFLOW_INTERCEPTORS } from '../../src/tracing/workflow-module';
import { checkWorkflowBundle } from '../../src/worker/workflow-bundle';

jest.setTimeout(120_000);

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const bundle = (failureConverterPath?: string, workflowInterceptorModules?: string[]) =>
  bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), failureConverterPath, workflowInterceptorModules, logger: silent }).then((b) => b.code);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'workflow-bundle-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('holds the workflows, the core and the SDK only', async () => {
  // The run's own bundle when there is one (test/support/global-setup.js): it is what every worker of the run loads.
  const shared = process.env.DEPLOYER_WORKFLOW_BUNDLE;
  const code = shared !== undefined ? readFileSync(shared, 'utf8') : await bundle(ENCRYPTING_FAILURE_CONVERTER);
  // Modules are named by their path from where the bundle was built, node_modules' wherever it is.
  const packages = new Set([...code.matchAll(/\/\*\*\*\/ "[^"]*?node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1]));
  expect([...packages].sort()).toEqual(['@temporalio/common', '@temporalio/workflow', 'long', 'ms', 'nexus-rpc']);
});

describe('a prebuilt workflow bundle', () => {
  let encrypting: string;
  let plain: string;
  beforeAll(async () => {
    encrypting = join(dir, 'encrypting.js');
    plain = join(dir, 'plain.js');
    writeFileSync(encrypting, await bundle(ENCRYPTING_FAILURE_CONVERTER));
    writeFileSync(plain, await bundle());
  });

  it('is taken when it loads the worker’s failure converter', () => {
    expect(() => checkWorkflowBundle(encrypting, ENCRYPTING_FAILURE_CONVERTER)).not.toThrow();
    expect(() => checkWorkflowBundle(plain, undefined)).not.toThrow();
  });

  it('is refused, with how to build one that fits, when built without the converter that encrypts failure messages and encryption is on', () => {
    expect(() => checkWorkflowBundle(plain, ENCRYPTING_FAILURE_CONVERTER)).toThrow(ConfigError);
    expect(() => checkWorkflowBundle(plain, ENCRYPTING_FAILURE_CONVERTER)).toThrow(
      `the workflow bundle ${plain} (DEPLOYER_WORKFLOW_BUNDLE) was built without the failure converter that encrypts failure messages, and payload encryption is on: its workflows would write failure messages in plain text. ` +
        `Build it with bundleWorkflowCode({ workflowsPath, failureConverterPath: '${ENCRYPTING_FAILURE_CONVERTER}' }), or unset DEPLOYER_WORKFLOW_BUNDLE to bundle the workflows at start`,
    );
  });

  it('is refused when built with a failure converter and encryption is off', () => {
    expect(() => checkWorkflowBundle(encrypting, undefined)).toThrow(/was built with a failure converter \(.*codec\/failure-converter\.ts\), and payload encryption is off: .*Build it without failureConverterPath/);
  });

  it('is taken with the tracing workflow interceptors exactly when the worker traces, and refused otherwise, saying how to build one that fits', async () => {
    const traced = join(dir, 'traced.js');
    writeFileSync(traced, await bundle(ENCRYPTING_FAILURE_CONVERTER, [TRACING_WORKFLOW_INTERCEPTORS]));
    expect(() => checkWorkflowBundle(traced, ENCRYPTING_FAILURE_CONVERTER, true)).not.toThrow();
    expect(() => checkWorkflowBundle(traced, ENCRYPTING_FAILURE_CONVERTER, false)).toThrow(/was built with the tracing workflow interceptors, and tracing is off: .*Build it without workflowInterceptorModules, set OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => checkWorkflowBundle(encrypting, ENCRYPTING_FAILURE_CONVERTER, true)).toThrow(
      `the workflow bundle ${encrypting} (DEPLOYER_WORKFLOW_BUNDLE) was built without the tracing workflow interceptors, and tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT): its workflows would make no spans. ` +
        `Build it with bundleWorkflowCode({ ..., workflowInterceptorModules: ['${TRACING_WORKFLOW_INTERCEPTORS}'] }), or unset DEPLOYER_WORKFLOW_BUNDLE to bundle the workflows at start`,
    );
  });

  it('is refused when it is missing or not the output of bundleWorkflowCode', () => {
    expect(() => checkWorkflowBundle(join(dir, 'missing.js'), undefined)).toThrow(/missing\.js \(DEPLOYER_WORKFLOW_BUNDLE\) cannot be read \(ENOENT/);
    const other = join(dir, 'other.js');
    writeFileSync(other, 'module.exports = {};');
    expect(() => checkWorkflowBundle(other, undefined)).toThrow(/other\.js \(DEPLOYER_WORKFLOW_BUNDLE\) is not the output of the SDK's bundleWorkflowCode/);
  });
});
