// Named errors. Their class name travels as the Temporal failure type, and the type alone
// decides whether a failed activity is retried (see NON_RETRYABLE below): never the message.
// Pure: imported by workflow code.

abstract class DeployerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Thrown when a request names a node the inventory does not know. */
export class UnknownNodeError extends DeployerError {
  constructor(readonly nodeId: string) {
    super(`unknown node '${nodeId}'`);
  }
}

/** Thrown when the inventory file is missing or invalid. */
export class InvalidInventoryError extends DeployerError {}

/** Thrown when `docker build` fails: the Dockerfile or context is wrong; retrying will not help. */
export class BuildFailedError extends DeployerError {}

/** Thrown when the build context is not a readable directory on the build host. */
export class InvalidBuildContextError extends DeployerError {}

/** Thrown when a registry or engine reports that an image does not exist. */
export class ImageNotFoundError extends DeployerError {
  constructor(readonly image: string, options?: { cause?: unknown }) {
    super(`image not found: ${image}`, options);
  }
}

/** Thrown when the engine rejects a container definition (bad option, name clash with a foreign container). */
export class InvalidContainerError extends DeployerError {}

/** Thrown when the secret provider has no secret for a reference. Carries the reference, never a value. */
export class SecretNotFoundError extends DeployerError {
  constructor(readonly ref: string, options?: { cause?: unknown }) {
    super(`secret '${ref}' not found`, options);
  }
}

/** Thrown when a Docker Engine cannot be reached; transient, retried with backoff. */
export class EngineUnreachableError extends DeployerError {
  constructor(readonly nodeId: string, options?: { cause?: unknown }) {
    super(`Docker Engine of '${nodeId}' is unreachable`, options);
  }
}

/** Thrown when a push or pull fails for a reason other than a missing image; transient. */
export class RegistryError extends DeployerError {}

/** Thrown when a container does not pass its health check before the deadline. */
export class HealthCheckFailedError extends DeployerError {
  constructor(readonly nodeId: string, readonly container: string, readonly lastProblem: string) {
    super(`container ${container} on ${nodeId} did not become healthy: ${lastProblem}`);
  }
}

/**
 * Failure types that no retry can fix: activities raising them fail at once. Literal names,
 * not `X.name`, so that a bundler renaming classes cannot change them (a unit test checks
 * that they match the classes).
 */
export const NON_RETRYABLE = [
  'UnknownNodeError',
  'InvalidInventoryError',
  'BuildFailedError',
  'InvalidBuildContextError',
  'ImageNotFoundError',
  'InvalidContainerError',
  'HealthCheckFailedError',
  'SecretNotFoundError',
] as const;
