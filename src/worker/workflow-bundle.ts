// A workflow bundle built ahead of time (DEPLOYER_WORKFLOW_BUNDLE) carries its own failure
// converter into the workflow sandbox, the one bundleWorkflowCode was given as
// failureConverterPath, whatever the worker's data converter says. A bundle built without the
// converter that encrypts failure messages would write the workflows' failures in plain text
// beside encrypted payloads: a worker checks the bundle against its own converter first.
import { readFileSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { ConfigError } from '../config';

// The SDK's bundle resolves this module name to failureConverterPath (to an empty module
// without one), and webpack writes the module it resolved to beside the require.
const FAILURE_CONVERTER_REQUIRE = /__webpack_require__\(\/\*! __temporal_custom_failure_converter \*\/ "([^"]*)"\)/;

/** A module path as it ends in a bundle's module names, which are relative to where it was built and end in .ts or .js. */
const moduleTail = (path: string) => `${basename(dirname(path))}/${basename(path, extname(path))}`;

/**
 * Throws ConfigError, saying how to build a bundle that fits, when the bundle at
 * `bundlePath` does not load the failure converter at `failureConverterPath` (the worker's
 * data converter's; undefined: the SDK's own), or is not the output of bundleWorkflowCode.
 */
export function checkWorkflowBundle(bundlePath: string, failureConverterPath: string | undefined): void {
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
}
