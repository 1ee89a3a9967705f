// The failure converter of a Deployer that encrypts its payloads. A failure's message and
// stack trace (a build's error, a test's output, an engine's answer) go into its encoded
// attributes, a payload that the codec encrypts like any other; Temporal stores and shows
// "Encoded failure" in their place. Any client whose codec decrypts reads them back: the
// SDK's failure converter decodes encoded attributes whatever its own options, and takes a
// failure without them (histories written before) as it is.
// Loaded by path (DataConverter.failureConverterPath) because the workflow bundle carries it
// into the sandbox as well: it is deterministic code, and imports only the SDK's common part.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
