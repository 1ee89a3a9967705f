// Secret providers: turn a secret reference from a request into its value, inside the
// activity that delivers it, so that the value never travels through workflow history,
// events, logs or labels. The default provider reads one file per secret from a directory.
import { readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { SecretNotFoundError } from '../../src/core/errors';

export interface SecretProvider {
  /** The value of the secret named by `ref`; throws SecretNotFoundError when there is none. */
  resolve(ref: string): Promise<Buffer>;
}

/** Secrets as files: `<dir>/<ref>`, e.g. `<dir>/mqtt/password`. */
export function directorySecretProvider(dir: string): SecretProvider {
  return {
    async resolve(ref: string): Promise<Buffer> {
      try {
        const root = await realpath(dir);
        const path = await realpath(join(root, ref));
        // The schema already forbids "..", but a symlink could still lead out of the directory.
        if (!path.startsWith(root + sep)) throw new Error('outside the secrets directory');
        return await readFile(path);
      } catch (err) {
        throw new SecretNotFoundError(ref, { cause: err });
      }
    },
  };
}
