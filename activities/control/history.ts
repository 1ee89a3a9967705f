// Application history adapter: what Temporal remembers of an application's past operations.
// Every successful Deploy, Rollback, Scale or Undeploy returns the state it left behind;
// this reads those states back, newest first, from Temporal's visibility store (search
// attribute DeployerApplication) so that a Rollback, Scale or Undeploy knows what runs.
// A search attribute is no proof: whoever reaches Temporal can start a workflow of that
// type, tagged with any application, on a worker of their own. A state is trusted only
// when it is the Deployer's own: run on the Deployer's task queue and, with payload
// encryption on, a result sealed with one of the Deployer's keys (AES-GCM: no one without
// the key can write one), itself a valid request of the application.
import { Context, log } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { decodePayload } from '../../src/codec/data-converter';
import { ENCRYPTED_ENCODING } from '../../src/codec/encryption-codec';
import type { ApplicationState } from '../../src/core/operation-plan';
import { OPERATION_WORKFLOWS } from '../../src/core/operation-kinds';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';

/** Thrown while an earlier operation of the application is still closing; the activity retries. */
export class EarlierOperationRunningError extends Error {
  override readonly name = 'EarlierOperationRunningError';
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

const CLOSE_EVENT = temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;

/**
 * The state a completed operation returned, read from its close event; undefined when it is
 * not the Deployer's own (`sealed`: with encryption on, only an encrypted result is) or gone.
 */
async function stateOf(client: Client, application: string, w: { workflowId: string; runId: string }, sealed: boolean): Promise<ApplicationState | undefined> {
  let result: temporal.api.common.v1.IPayload | undefined;
  try {
    const { history } = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: w, historyEventFilterType: CLOSE_EVENT });
    result = history?.events?.[0]?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0] ?? undefined;
  } catch (err) {
    // Gone past the namespace's retention between the list and the read: not history any more.
    if ((err as { code?: number }).code === 5 || err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (result == null) return undefined;
  const encoding = Buffer.from(result.metadata?.encoding ?? []).toString();
  if (sealed && encoding !== ENCRYPTED_ENCODING) return untrusted(w, 'its result is not sealed with a payload key of the Deployer');
  const state = ((await decodePayload(client.options.loadedDataConverter, result)) as { state?: ApplicationState } | undefined)?.state;
  if (state === undefined) return undefined;
  const request = deployRequestSchema.safeParse(state.request);
  if (!request.success || request.data.application.name !== application) return untrusted(w, `its state is not a valid request of ${application}`);
  return state;
}

function untrusted(w: { workflowId: string }, why: string): undefined {
  log.warn('an operation of the application is not the Deployer\'s own: ignored', { workflowId: w.workflowId, why });
  return undefined;
}

/** `taskQueue`: the Deployer's own, where its operations run. */
export function createHistoryActivities(client: Client, taskQueue: string) {
  // With payload encryption on, every result the Deployer writes is encrypted.
  const sealed = client.options.loadedDataConverter.payloadCodecs.length > 0;
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
        if (isOperation(w.type) && w.taskQueue === taskQueue) completed.push({ workflowId: w.workflowId, runId: w.runId, closed: w.closeTime?.getTime() ?? 0 });
      }
      completed.sort((a, b) => b.closed - a.closed);
      const states: ApplicationState[] = [];
      for (const w of completed) {
        Context.current().heartbeat();
        const state = await stateOf(client, application, w, sealed);
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
