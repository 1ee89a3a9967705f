// The one way every Temporal client and worker of the Deployer gets its data converter, so
// that all of them encrypt and decrypt alike: a client without the codec would write
// payloads no worker can read, and read ciphertext where it expects JSON. With encryption on,
// failure messages go through the codec too.
import type { DataConverter, LoadedDataConverter, Payload } from '@temporalio/common';
import type { Config } from '../config';
import { EncryptionCodec } from './encryption-codec';
import { loadPayloadKeys } from './payload-keys';

/**
 * The failure converter that puts failure messages through the codec (./failure-converter),
 * as the SDK takes it: a module path, because the workflow bundle loads it too. A bundle
 * built ahead of time must be given it as well (src/worker/workflow-bundle.ts).
 */
export const ENCRYPTING_FAILURE_CONVERTER = require.resolve('./failure-converter');

/** Throws PayloadKeysError when encryption is on and the keys file is missing or invalid. */
export function dataConverter(config: Config): DataConverter {
  if (!config.payloadEncryption.enabled) return {};
  return { payloadCodecs: [new EncryptionCodec(loadPayloadKeys(config.payloadEncryption.keysPath))], failureConverterPath: ENCRYPTING_FAILURE_CONVERTER };
}

/** Payloads read straight from history, through the codecs: the last-applied first, as the SDK runs them. */
export async function decodePayloads(converter: LoadedDataConverter, payloads: Payload[]): Promise<Payload[]> {
  let decoded = payloads;
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return decoded;
}

/** The value in a payload read straight from history; `payloadConverter.fromPayload` alone would skip the codecs. */
export async function decodePayload(converter: LoadedDataConverter, payload: Payload): Promise<unknown> {
  const [decoded] = await decodePayloads(converter, [payload]);
  return converter.payloadConverter.fromPayload(decoded!);
}
