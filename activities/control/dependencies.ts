// Dependency adapter: does an application run healthy on some nodes? "Healthy" means what
// the Deployer itself verified: a running instance of the application on the node that
// belongs to an operation that completed successfully (so its health check passed), and
// that the node's target does not report as unhealthy since. Nodes are asked through their
// targets, each by a worker of its own task queue.
import { activityInfo, Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { DependencyNotReadyError } from '../../src/core/errors';
import type { Instance } from '../targets/target';

export interface DependencyWait {
  dependencies: string[];
  nodeIds: string[];
  /** When to give up, as epoch milliseconds: fixed by the workflow, so a retried attempt does not start the clock again. */
  deadline: number;
  /** For the reason given when the deadline passes. */
  timeoutMs: number;
}

const POLL_MS = 1000;

/** The instances of an application on a node, and which task queue serves the node. */
export interface DependencyNodes {
  locate(nodeId: string, application: string): Promise<Instance[]>;
  queueOf(nodeId: string): string;
}

export function createDependencyActivities(nodes: DependencyNodes, client: Client) {
  const verified = new Map<string, boolean>();

  /**
   * Whether the operation that made a running instance ended successfully; a success is
   * final, so it is remembered. An operation Temporal no longer knows (past its retention)
   * counts as a success: a failed one's saga would have removed its instances.
   */
  async function succeeded(deploymentId: string): Promise<boolean> {
    if (verified.get(deploymentId)) return true;
    try {
      const ok = (await client.workflow.getHandle(deploymentId).describe()).status.name === 'COMPLETED';
      if (ok) verified.set(deploymentId, true);
      return ok;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return true;
      throw err;
    }
  }

  /** What keeps `application` from counting as healthy on `nodeId`, or undefined when nothing does. */
  async function problemOn(application: string, nodeId: string): Promise<string | undefined> {
    let running: Instance[];
    try {
      running = (await nodes.locate(nodeId, application)).filter((i) => i.running);
    } catch (err) {
      // Not a reason to stop waiting: the node may come back before the deadline.
      return `${application} on ${nodeId} cannot be checked: ${(err as Error).message}`;
    }
    if (running.length === 0) return `${application} has no running container on ${nodeId}`;
    for (const i of running) {
      if (i.health === 'unhealthy' || i.health === 'starting') continue;
      if (await succeeded(i.deploymentId)) return undefined;
    }
    return `${application} on ${nodeId} is not verified healthy yet (its deployment has not succeeded)`;
  }

  return {
    /**
     * Waits until every dependency runs healthy on every node of `nodeIds` that this
     * activity's task queue serves, or fails at the deadline naming what is missing.
     */
    async waitForDependencies({ dependencies, nodeIds, deadline, timeoutMs }: DependencyWait): Promise<void> {
      const ctx = Context.current();
      const queue = activityInfo().taskQueue;
      const mine = nodeIds.filter((id) => nodes.queueOf(id) === queue);
      for (;;) {
        const missing: string[] = [];
        for (const application of dependencies) {
          for (const nodeId of mine) {
            ctx.heartbeat();
            const problem = await problemOn(application, nodeId);
            if (problem !== undefined) missing.push(problem);
          }
        }
        ctx.heartbeat({ missing });
        if (missing.length === 0) return;
        if (Date.now() + POLL_MS > deadline) throw new DependencyNotReadyError(missing, timeoutMs);
        await ctx.sleep(POLL_MS);
      }
    },
  };
}

export type DependencyActivities = ReturnType<typeof createDependencyActivities>;
