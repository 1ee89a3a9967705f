// Planning: pure functions that turn a validated request and the resolved nodes into the
// order of work. No I/O, so they are tested by equality and used inside workflow code.
import type { DeployRequest } from './schemas/request';

/** A node as the workflow needs it: resolved from the inventory by an activity. */
export interface PlannedNode {
  id: string;
  /** Where health checks reach the node's containers. */
  address: string;
  /** Task queue of the worker that acts on this node (a worker at the node's own site). */
  taskQueue: string;
  /** Registry address as this node sees it. */
  registry: string;
  /**
   * Served by the workflows' own (control) queue, so its steps run as local activities.
   * Said by the activity that resolved the node, not worked out in workflow code: a replay
   * runs on a task queue of its own.
   */
  local?: boolean;
  /** The site the node sits at (src/core/fleet.ts siteOf), when it has one: what a failure names when its queue has no worker. */
  site?: string;
}

/** A task queue that serves nodes, and whether it is the workflows' own (see PlannedNode.local). */
export interface NodeQueue {
  taskQueue: string;
  local: boolean;
}

/** Cuts items into consecutive batches of at most `size`, keeping their order. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** What a deployment's record and result say its nodes pulled: the image, or each platform's. */
export function imageOf(request: DeployRequest, node: PlannedNode, digest: string | undefined): string {
  const { images } = request.application;
  return images !== undefined ? Object.entries(images).map(([platform, image]) => `${platform}=${image}`).join(' ') : nodeImage(request, node, digest);
}

/** The tag the build host pushes: `<registry>/<app>:<version>`. */
export function pushTag(registry: string, application: string, version: string): string {
  return `${registry}/${application}:${version}`;
}

/**
 * What a node pulls. A built image is pulled by digest from the registry address the node
 * sees, so every node runs exactly the bytes that were pushed; a prebuilt image as named.
 */
export function nodeImage(request: DeployRequest, node: PlannedNode, digest: string | undefined): string {
  if (request.application.image !== undefined) return request.application.image;
  // One per platform: the target picks the node's; this is the first, as the intent says.
  if (request.application.images !== undefined) return Object.values(request.application.images)[0]!;
  if (digest === undefined) throw new Error(`no digest for the built image of ${request.application.name}`);
  return `${node.registry}/${request.application.name}@${digest}`;
}
