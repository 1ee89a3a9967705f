// Application history adapter: what Temporal remembers of an application's past operations.
// Every successful Deploy, Rollback, Scale or Undeploy returns the state it left behind;
// this reads those states back, newest first, from Temporal's visibility store (search
// attribute DeployerApplication) so that a Rollback, Scale or Undeploy knows what runs.
import { Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { ApplicationState } from '../../src/core/operation-plan';
import { OPERATION_WORKFLOWS } from '../../src/core/operation-kinds';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';

/** Thrown while an earlier operation of the application is still closing; the activity retries. */
export class EarlierOperationRunningError extends Error {
  override readonly name = 'EarlierOperationRunningError';
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

export function createHistoryActivities(client: Client) {
  return {
    /**
     * What an operation starts from: the state the newest operation that completed before
     * `self` started left behind, followed, for a Rollback, by the state it goes back to
     * (`toVersion`'s newest, or the newest of another version). Only these, so the answer
     * stays small in the workflow's history whatever the application's past.
     * An operation that started earlier has held the application's lock before `self` and
     * released it just before it closes; its close may not be visible yet, so this waits
     * (by failing, and being retried) until it is.
     */
    async applicationHistory({
      application,
      self,
      rollback,
    }: {
      application: string;
      self: { workflowId: string; runId: string };
      rollback?: { toVersion?: string };
    }): Promise<ApplicationState[]> {
      const me = await client.workflow.getHandle(self.workflowId, self.runId).describe();
      const ofApp = `${SEARCH_ATTRIBUTES.application.name} = ${quoted(application)}`;
      const isOperation = (type: string) => (OPERATION_WORKFLOWS as readonly string[]).includes(type);

      for await (const w of client.workflow.list({ query: `${ofApp} AND ExecutionStatus = "Running" AND StartTime < "${me.startTime.toISOString()}"` })) {
        if (isOperation(w.type) && !(w.workflowId === self.workflowId && w.runId === self.runId)) {
          throw new EarlierOperationRunningError(`waiting for ${w.workflowId} to close`);
        }
      }
      const completed: { workflowId: string; runId: string; closed: number }[] = [];
      for await (const w of client.workflow.list({ query: `${ofApp} AND ExecutionStatus = "Completed"` })) {
        if (isOperation(w.type)) completed.push({ workflowId: w.workflowId, runId: w.runId, closed: w.closeTime?.getTime() ?? 0 });
      }
      completed.sort((a, b) => b.closed - a.closed);
      const states: ApplicationState[] = [];
      for (const w of completed) {
        Context.current().heartbeat();
        let state: ApplicationState | undefined;
        try {
          state = ((await client.workflow.getHandle(w.workflowId, w.runId).result()) as { state?: ApplicationState } | undefined)?.state;
        } catch (err) {
          // Gone past the namespace's retention between the list and the read: not history any more.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        if (state === undefined) continue;
        if (states.length === 0) {
          states.push(state);
          if (rollback === undefined) break;
          continue;
        }
        const version = state.request.application.version;
        const wanted = rollback!.toVersion !== undefined ? version === rollback!.toVersion : version !== states[0]!.request.application.version;
        if (wanted) {
          states.push(state);
          break;
        }
      }
      return states;
    },
  };
}

export type HistoryActivities = ReturnType<typeof createHistoryActivities>;
