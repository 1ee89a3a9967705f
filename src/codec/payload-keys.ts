// The payload keys file: the AES-256 keys that may decrypt workflow history, and the one
// that encrypts from now on. Rotation adds a key and makes it current; older keys stay so
// that histories written with them can still be read and replayed.
//   { "current": "k2", "keys": { "k1": "<base64 of 32 bytes>", "k2": "..." } }
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { PayloadKeysError } from './errors';

const KEY_BYTES = 32;

const keyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id is 1 to 64 letters, digits, ".", "_" or "-"');
const key = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64')
  .refine((s) => Buffer.from(s, 'base64').length === KEY_BYTES, `must be ${KEY_BYTES} random bytes in base64 (openssl rand -base64 32)`);

export const payloadKeysFileSchema = z
  .strictObject({ current: keyId, keys: z.record(keyId, key) })
  .refine((f) => Object.hasOwn(f.keys, f.current), { message: 'must name one of "keys"', path: ['current'] });

export interface PayloadKeys {
  /** Id of the key that encrypts new payloads. */
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** The keys in `text`, a keys file read from `source`; throws PayloadKeysError naming what is wrong. */
export function parsePayloadKeys(text: string, source: string): PayloadKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // JSON.parse quotes the text around the fault, which may be key material: never pass it on.
    throw new PayloadKeysError(source, `payload keys file ${source} is not valid JSON`);
  }
  const parsed = payloadKeysFileSchema.safeParse(raw);
  if (!parsed.success) throw new PayloadKeysError(source, `payload keys file ${source} is not valid:\n${z.prettifyError(parsed.error)}`);
  const keys = new Map(Object.entries(parsed.data.keys).map(([id, k]) => [id, Buffer.from(k, 'base64')] as const));
  return { current: parsed.data.current, keys };
}

export function loadPayloadKeys(path: string): PayloadKeys {
  let text: string;
  try {
    // The keys are as secret as the histories they protect; like ssh with its keys, refuse a file others may read.
    const { mode } = statSync(path);
    if ((mode & 0o077) !== 0) {
      throw new PayloadKeysError(path, `payload keys file ${path} may be read by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof PayloadKeysError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PayloadKeysError(
        path,
        `payload keys file ${path} does not exist: scripts/stack.sh up makes one, or write it as README "Encrypted history" shows; DEPLOYER_PAYLOAD_ENCRYPTION=off runs without encryption`,
        { cause: err },
      );
    }
    throw new PayloadKeysError(path, `cannot read payload keys file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parsePayloadKeys(text, path);
}
