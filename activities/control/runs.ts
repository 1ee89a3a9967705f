// Deployment runs, read from what they wrote where a Terminate leaves it: how far a run
// numbered its events (where a run that follows it, a Retry or a Reset, goes on), and what a
// run that was terminated had touched (what its compensation restores). A run writes its
// saga and its recorded outcome in its memo (workflows/saga-memo.ts) and answers how far it
// published to `publishedSeqQuery`, also once closed (Temporal replays a closed run's history
// on a worker to answer). Nothing here reads a history's activities or children by their
// type names: renaming one changes nothing here. What a run published in a workflow task
// that never completed is on the events topic only (src/kafka/published-seq.ts): for a run
// that was terminated, that is read too.
import { Context } from '@temporalio/activity';
import { isGrpcServiceError, QueryNotRegisteredError, ServiceError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { PublishedSeqReader } from '../../src/kafka/published-seq';
import { compensationWorkflowId } from '../../src/core/workflow-ids';
import { decodePayload } from '../../src/codec/data-converter';
import type { RecordedOutcome } from './records';
import type { OperationRequest } from '../../src/core/schemas/request';
import { publishedSeqQuery } from '../../workflows/definitions';
import type { CarriedSaga } from '../../workflows/saga';
import { LAST_SEQ_MEMO, OUTCOME_MEMO, sagaFromMemo } from '../../workflows/saga-memo';

/** What a terminated run had done: enough for its compensation to restore the nodes and end the deployment. */
export interface TerminatedRun {
  runId: string;
  request: OperationRequest;
  /** Every undo it had registered, in order, as its saga holds them (a continued run's earlier ones included). */
  saga: CarriedSaga;
  /** The last seq it published. */
  lastSeq: number;
  /** It had written its record: its outcome was decided (and, when `terminalPublished`, announced). */
  record?: RecordedOutcome;
  terminalPublished: boolean;
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

/** How far the clocks of the workers that publish and of Temporal may be apart: a topic is read from this long before a run's start. */
const CLOCK_SKEW_MS = 60_000;

/** Temporal answers no query of a run that closed before any of its workflow tasks completed: its history holds nothing it did. */
const FAILED_PRECONDITION = 9;
const closedBeforeAnyTask = (err: unknown) => err instanceof ServiceError && isGrpcServiceError(err.cause) && err.cause.code === FAILED_PRECONDITION;

/** How far a run published: its own answer, or, for a run of the first workflow shape (which has no such query), what its memo said at its end. */
async function publishedBy(handle: WorkflowHandle, memo: Record<string, unknown> | undefined): Promise<number> {
  const ended = typeof memo?.[LAST_SEQ_MEMO] === 'number' ? (memo[LAST_SEQ_MEMO] as number) : 0;
  try {
    return Math.max(ended, await handle.query(publishedSeqQuery));
  } catch (err) {
    if (err instanceof QueryNotRegisteredError || closedBeforeAnyTask(err)) return ended;
    throw err;
  }
}

/** How long a compensation waits for a publish its terminated run had out to land. */
const IN_FLIGHT_WAIT_MS = 15_000;

/** `publishedSince`: the last seq of a deployment's events on the events topic since a time. */
export function createRunActivities(client: Client, publishedSince: PublishedSeqReader) {
  const converter = client.options.loadedDataConverter;

  async function compensationPublished(workflowId: string, runId: string): Promise<number> {
    try {
      return await client.workflow.getHandle(compensationWorkflowId(workflowId, runId)).query(publishedSeqQuery);
    } catch (err) {
      // None ran (the lock had not noticed yet), or one from before it answered the query.
      if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError) return 0;
      throw err;
    }
  }

  return {
    /**
     * The last event seq any other run of a deployment published: where a run reset from
     * another, or a Retry of one that was terminated, continues the numbering.
     */
    async lastPublishedSeq({ workflowId, runId }: { workflowId: string; runId: string }): Promise<number> {
      let last = 0;
      for await (const w of client.workflow.list({ query: `WorkflowId = ${quoted(workflowId)}` })) {
        if (w.runId === runId) continue;
        Context.current().heartbeat();
        last = Math.max(last, await publishedBy(client.workflow.getHandle(workflowId, w.runId), w.memo));
        if (w.status.name !== 'TERMINATED') continue;
        // A terminated run's end was published by its compensation, numbered after everything
        // the run published; a run a Reset ended has none, and may have published more than its history shows.
        const compensated = await compensationPublished(workflowId, w.runId);
        last = Math.max(last, compensated > 0 ? compensated : await publishedSince(workflowId, w.startTime.getTime() - CLOCK_SKEW_MS));
      }
      return last;
    },

    /**
     * The latest run of a deployment, if it was terminated: the undos its memo holds (a
     * continued run's memo starts with those it carried), how far it numbered its events,
     * and whether it had written its record and announced it.
     */
    async terminatedRun({ workflowId }: { workflowId: string }): Promise<TerminatedRun | undefined> {
      const { status, runId, memo, startTime } = await client.workflow.getHandle(workflowId).describe();
      if (status.name !== 'TERMINATED') return undefined;
      const handle = client.workflow.getHandle(workflowId, runId);
      // The request is the run's input, the first event of its history.
      const { events } = await handle.fetchHistory();
      const started = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const request = (await decodePayload(converter, started[0]!)) as OperationRequest;
      const record = memo?.[OUTCOME_MEMO] as RecordedOutcome | undefined;
      const claimed = await publishedBy(handle, memo);
      const since = startTime.getTime() - CLOCK_SKEW_MS;
      // The run may have been terminated with a publish of its events out (numbered, not yet
      // answered): its worker may still deliver it. This compensation's events must come after
      // it on the topic, so they wait for it, a while: a publish the worker dropped never comes.
      let published = await publishedSince(workflowId, since);
      for (const giveUpAt = Date.now() + IN_FLIGHT_WAIT_MS; published < claimed && Date.now() < giveUpAt; ) {
        Context.current().heartbeat();
        await new Promise((r) => setTimeout(r, 500));
        published = await publishedSince(workflowId, since);
      }
      return {
        runId,
        request,
        saga: sagaFromMemo(memo),
        lastSeq: Math.max(claimed, published),
        ...(record !== undefined ? { record } : {}),
        // The run sets lastSeq in its memo once its terminal event is published, and only then.
        terminalPublished: record !== undefined && typeof memo?.[LAST_SEQ_MEMO] === 'number',
      };
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
