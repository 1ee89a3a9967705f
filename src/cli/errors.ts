// What can end a CLI command, each with its exit code (README "Command line").
import { ConfigError } from '../config';
import { PayloadKeysError } from '../codec/errors';
import { InvalidInventoryError } from '../core/errors';

export const EXIT = { ok: 0, notSucceeded: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Thrown when the command line, a request file or the configuration cannot be used: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Thrown when a deployment does not exist, did not succeed, or cannot do what was asked (not paused, already ended): exit 1. */
export class DeploymentError extends Error {
  override readonly name = 'DeploymentError';
  constructor(
    message: string,
    readonly deploymentId?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Thrown when Temporal, Kafka or the inventory's engines cannot be reached: exit 3. */
export class PlatformUnreachableError extends Error {
  override readonly name = 'PlatformUnreachableError';
  constructor(
    readonly what: string,
    readonly address: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach ${what} at ${address}: ${(options?.cause as Error | undefined)?.message ?? 'no answer'}`, options);
  }
}

/** Anything else went wrong talking to the platform, so it counts as unreachable. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError || err instanceof ConfigError || err instanceof PayloadKeysError || err instanceof InvalidInventoryError) return EXIT.usage;
  if (err instanceof DeploymentError) return EXIT.notSucceeded;
  return EXIT.unreachable;
}
