// Named errors. Their class name travels as the Temporal failure type, and the type alone
// decides whether a failed activity is retried (see NON_RETRYABLE below): never the message.
// Pure: imported by workflow code.

/** The base of every named Deployer error. */
export abstract class DeployerError extends Error {
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

/**
 * Thrown when a node the Node Manager decommissioned (a tombstone on its topic) is to be
 * acted on: it is no longer part of the fleet, and no retry can bring it back.
 */
export class NodeDecommissionedError extends DeployerError {
  constructor(readonly nodeId: string) {
    super(`node '${nodeId}' was decommissioned by the Node Manager (a tombstone on its topic): it is no longer part of the fleet`);
  }
}

/**
 * Thrown before a step would start on a node the Node Manager reports `Offline` or
 * `Draining`: no new step starts there. Not retried: the deployment's strategy decides
 * (rollback or pause), as for any failed node.
 */
export class NodeUnavailableError extends DeployerError {
  constructor(readonly nodeId: string, readonly status: string) {
    super(`node '${nodeId}' is ${status} (Node Manager): no new step starts on it`);
  }
}

/** Thrown when the inventory file is missing or invalid. */
export class InvalidInventoryError extends DeployerError {}

/** Thrown when `docker build` fails: the Dockerfile or context is wrong; retrying will not help. */
export class BuildFailedError extends DeployerError {}

/** Thrown when the build context is not a readable directory on the build host, or its Dockerfile not a file in it. */
export class InvalidBuildContextError extends DeployerError {}

/**
 * Thrown when a build source is one the build host does not allow: a directory outside its
 * build roots once symbolic links are resolved, a Dockerfile or .dockerignore leading out of
 * its context, a git URL outside its prefixes or with credentials; only its configuration can change that.
 */
export class BuildSourceNotAllowedError extends DeployerError {}

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

/**
 * The failure type of an operation whose input is not a request the bridge would have
 * started: a workflow started in Temporal past the bridge (by anyone who can reach its
 * frontend) is refused by the same rules, before anything else (workflows/operation.ts).
 */
export class InvalidRequestError extends DeployerError {}
/**
 * Thrown when a request asks a node for an option its inventory entry does not allow
 * (privileged mode, capabilities, devices, host namespaces or paths), or one the node's own
 * policy refuses (a Kubernetes namespace's pod security); only the inventory, or the node's
 * administrator, can change that.
 */
export class NodePolicyViolationError extends DeployerError {
  constructor(readonly violations: readonly { path: (string | number)[]; message: string }[]) {
    super(violations.map((v) => v.message).join('; '));
  }
}

/**
 * Thrown when a node cannot be reached or cannot run anything now: its Docker Engine, its
 * swarm's managers, its kubelet or its cluster's API server (the detail says which); transient,
 * retried with backoff.
 */
export class EngineUnreachableError extends DeployerError {
  constructor(readonly nodeId: string, options?: { cause?: unknown; detail?: string }) {
    super(`node '${nodeId}' is unreachable${options?.detail !== undefined ? `: ${options.detail}` : ''}`, options);
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

/** Thrown when a node's platform is not one the image (or any image the request names) is built for; before the node is touched. */
export class NodePlatformError extends DeployerError {
  constructor(readonly nodeId: string, readonly nodePlatform: string, readonly detail: string) {
    super(`node ${nodeId} runs ${nodePlatform}: ${detail}`);
  }
}

/** Thrown when a host port the deployment needs is held on the node by another application; before the node is touched. */
export class PortInUseError extends DeployerError {}

/**
 * Thrown when a named volume, or on a swarm a config or secret, that a deployment would use
 * on a node exists and is not its own (another application's, or made outside the
 * Deployer); before anything mounts or references it.
 */
export class NotOwnedError extends DeployerError {
  constructor(readonly nodeId: string, readonly object: string, reason: string) {
    super(reason);
  }
}

/** Thrown when a Rollback, Scale or Undeploy finds no deployment of the application to act on. */
export class NotDeployedError extends DeployerError {
  constructor(readonly application: string, message: string) {
    super(message);
  }
}

/** Thrown when a Rollback names (or defaults to) a version that no successful deployment ran. */
export class UnknownVersionError extends DeployerError {
  constructor(readonly application: string, message: string) {
    super(message);
  }
}

/** Thrown when an application a deployment depends on does not run healthy on its nodes before the deadline. */
export class DependencyNotReadyError extends DeployerError {
  constructor(readonly missing: string[], readonly waitedMs: number) {
    super(`dependencies did not run healthy within ${waitedMs} ms: ${missing.join('; ')}`);
  }
}

/**
 * The failure of a node's step, or of a call for a group of nodes, sent to a site's task queue
 * that no worker took up within the bound (workflows/options.ts SITE_START_TIMEOUT_MS): the
 * site's worker is gone or cut off from Temporal. Named by the workflow from the activity's
 * schedule-to-start timeout (its type, never its message); not retried, the deployment's
 * strategy decides as for any failed node.
 */
export class SiteUnreachableError extends DeployerError {
  constructor(readonly site: string, readonly taskQueue: string, readonly waitedMs: number) {
    super(`site ${site} unreachable: no worker polled its queue ${taskQueue} for ${Math.round(waitedMs / 1000)} s`);
  }
}

/** SiteUnreachableError's failure type, as workflow code raises it (a literal: see NON_RETRYABLE). */
export const SITE_UNREACHABLE = 'SiteUnreachableError';

/**
 * Failure types that no retry can fix: activities raising them fail at once. Literal names,
 * not `X.name`, so that a bundler renaming classes cannot change them (a unit test checks
 * that they match the classes).
 */
export const NON_RETRYABLE = [
  'UnknownNodeError',
  'NodeDecommissionedError',
  'NodeUnavailableError',
  'InvalidRequestError',
  'InvalidInventoryError',
  'BuildFailedError',
  'InvalidBuildContextError',
  'BuildSourceNotAllowedError',
  'ImageNotFoundError',
  'InvalidContainerError',
  'HealthCheckFailedError',
  'SecretNotFoundError',
  'NodePolicyViolationError',
  'NotDeployedError',
  'UnknownVersionError',
  'DependencyNotReadyError',
  'NodePlatformError',
  'PortInUseError',
  'NotOwnedError',
  SITE_UNREACHABLE,
] as const;
