// A workflow bundle built ahead of time (DEPLOYER_WORKFLOW_BUNDLE) carries its own failure
// converter into the workflow sandbox, the one bundleWorkflowCode was given as
// failureConverterPath, whatever the worker's data converter says. A bundle built without the
// converter that encrypts failure messages would write the workflows' failures in plain text
// beside encrypted payloads: a worker checks the bundle against its own converter first.
// Likewise the tracing workflow interceptors (src/tracing): a bundle has them only if it was
// built with them, and they must be there exactly when the worker traces.
import { readFileSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { ConfigError } from '../config';
import { TRACING_WORKFLOW_INTERCEPTORS } from '../tracing/workflow-module';

// The SDK's bundle resolves this module name to failureConverterPath (to an empty module
// without one), and webpack writes the module it resolved to beside the require.
const FAILURE_CONVERTER_REQUIRE = /__webpack_require__\(\/\*! __temporal_custom_failure_converter \*\/ "([^"]*)"\)/;

/** A module path as it ends in a bundle's module names, which are relative to where it was built and end in .ts or .js. */
const moduleTail = (path: string) => `${basename(dirname(path))}/${basename(path, extname(path))}`;

/** How the tracing interceptors' module is named in a bundle: by its path inside its package. */
const TRACING_MODULE_NAME = '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors.js';

/**
 * Throws ConfigError, saying how to build a bundle that fits, when the bundle at
 * `bundlePath` does not load the failure converter at `failureConverterPath` (the worker's
 * data converter's; undefined: the SDK's own), holds the tracing workflow interceptors when
 * `tracing` is off or lacks them when it is on, or is not the output of bundleWorkflowCode.
 */
export function checkWorkflowBundle(bundlePath: string, failureConverterPath: string | undefined, tracing = false): void {
  const setting = `the workflow bundle ${bundlePath} (DEPLOYER_WORKFLOW_BUNDLE)`;
  let code: string;
  try {
    code = readFileSync(bundlePath, 'utf8');
  } catch (err) {
    throw new ConfigError(`${setting} cannot be read (${(err as Error).message}): build it with the SDK's bundleWorkflowCode, or unset DEPLOYER_WORKFLOW_BUNDLE to bundle the workflows at start`);
  }
  const loaded = FAILURE_CONVERTER_REQUIRE.exec(code)?.[1];
  if (loaded === undefined) throw new ConfigError(`${setting} is not the output of the SDK's bundleWorkflowCode (it loads no failure converter): build it with bundleWorkflowCode, or unset DEPLOYER_WORKFLOW_BUNDLE`);
  const loadsOne = (path: string) => loaded.replace(/\.[jt]s$/, '').endsWith(moduleTail(path));
  if (failureConverterPath !== undefined && !loadsOne(failureConverterPath)) {
    throw new ConfigError(
      `${setting} was built without the failure converter that encrypts failure messages, and payload encryption is on: its workflows would write failure messages in plain text. ` +
        `Build it with bundleWorkflowCode({ workflowsPath, failureConverterPath: '${failureConverterPath}' }), or unset DEPLOYER_WORKFLOW_BUNDLE to bundle the workflows at start`,
    );
  }
  if (failureConverterPath === undefined && !loaded.startsWith('?')) {
    throw new ConfigError(
      `${setting} was built with a failure converter (${loaded}), and payload encryption is off: its workflows' failures would read "Encoded failure". ` +
        `Build it without failureConverterPath, or unset DEPLOYER_WORKFLOW_BUNDLE to bundle the workflows at start`,
    );
  }
  const traces = code.includes(TRACING_MODULE_NAME);
  if (tracing && !traces) {
    throw new ConfigError(
      `${setting} was built without the tracing workflow interceptors, and tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT): its workflows would make no spans. ` +
        `Build it with bundleWorkflowCode({ ..., workflowInterceptorModules: ['${TRACING_WORKFLOW_INTERCEPTORS}'] }), or unset DEPLOYER_WORKFLOW_BUNDLE to bundle the workflows at start`,
    );
  }
  if (!tracing && traces) {
    throw new ConfigError(
      `${setting} was built with the tracing workflow interceptors, and tracing is off: its workflows would hand their spans to a sink this worker does not have. ` +
        `Build it without workflowInterceptorModules, set OTEL_EXPORTER_OTLP_ENDPOINT, or unset DEPLOYER_WORKFLOW_BUNDLE to bundle the workflows at start`,
    );
  }
}
