// Dependency adapter: does an application run healthy on some nodes? "Healthy" means what
// the Deployer itself verified: a running container of the application on the node that
// belongs to an operation that completed successfully (so its health check passed), and
// that Docker does not report as unhealthy since.
import { Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { LABELS } from '../src/container-spec';
import { DependencyNotReadyError } from '../src/errors';
import { engineError, type Engines } from './engines';

export interface DependencyWait {
  dependencies: string[];
  nodeIds: string[];
  /** When to give up, as epoch milliseconds: fixed by the workflow, so a retried attempt does not start the clock again. */
  deadline: number;
  /** For the reason given when the deadline passes. */
  timeoutMs: number;
}

const POLL_MS = 1000;

export function createDependencyActivities(engines: Engines, client: Client) {
  const verified = new Map<string, boolean>();

  /**
   * Whether the operation that made a running container ended successfully; a success is
   * final, so it is remembered. An operation Temporal no longer knows (past its retention)
   * counts as a success: a failed one's saga would have removed its containers.
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
    let list;
    try {
      list = await engines.node(nodeId).listContainers({
        filters: JSON.stringify({ label: [`${LABELS.managed}=true`, `${LABELS.application}=${application}`], status: ['running'] }),
      });
    } catch (err) {
      // Not a reason to stop waiting: the engine may come back before the deadline.
      return `${application} on ${nodeId} cannot be checked: ${engineError(nodeId, err, 'listing containers').message}`;
    }
    if (list.length === 0) return `${application} has no running container on ${nodeId}`;
    for (const c of list) {
      // `Status` reads e.g. "Up 5 seconds (unhealthy)" when the image's HEALTHCHECK fails.
      if (/\(unhealthy\)|\(health: starting\)/.test(c.Status)) continue;
      if (await succeeded(c.Labels[LABELS.deployment] ?? '')) return undefined;
    }
    return `${application} on ${nodeId} is not verified healthy yet (its deployment has not succeeded)`;
  }

  return {
    /** Waits until every dependency runs healthy on every node, or fails at the deadline naming what is missing. */
    async waitForDependencies({ dependencies, nodeIds, deadline, timeoutMs }: DependencyWait): Promise<void> {
      const ctx = Context.current();
      for (;;) {
        const missing: string[] = [];
        for (const application of dependencies) {
          for (const nodeId of nodeIds) {
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
