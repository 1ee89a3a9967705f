// Deployment runs, read from their own histories: how far a run numbered its events (where
// a run that follows it, a Retry or a Reset, goes on), and what a run that was terminated
// had touched (what its compensation restores). Histories are read with the workers' data
// converter; local activities appear in them as markers holding their type and result.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { decodePayload } from '../../src/codec/data-converter';
import type { Instance } from '../../src/core/node-facts';
import type { PlannedNode } from '../../src/core/plan';
import type { RecordedOutcome } from './records';
import type { OperationRequest } from '../../src/core/schemas/request';
import type { DeployOptions } from '../../workflows/definitions';
import type { CarriedSaga } from '../../workflows/saga';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

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

/** An activity the run completed: a local one (a marker) or one on a task queue. */
interface Call {
  type: string;
  result: unknown;
  /** The workflow task that scheduled it: undos registered together were in one. */
  task: number;
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

export function createRunActivities(client: Client) {
  const converter = client.options.loadedDataConverter;

  /** Every activity the run completed, in order. Node steps on remote sites' queues are activities, not markers. */
  async function callsOf(events: HistoryEvent[]): Promise<Call[]> {
    const out: Call[] = [];
    const scheduled = new Map<string, { type: string; task: number }>();
    for (const e of events) {
      const a = e.activityTaskScheduledEventAttributes;
      if (a) scheduled.set(String(e.eventId), { type: a.activityType?.name ?? '', task: Number(a.workflowTaskCompletedEventId ?? 0) });
      const done = e.activityTaskCompletedEventAttributes;
      if (done) {
        const at = scheduled.get(String(done.scheduledEventId));
        const result = done.result?.payloads?.[0];
        if (at) out.push({ ...at, result: result ? await decodePayload(converter, result) : undefined });
      }
      const details = e.markerRecordedEventAttributes?.details;
      const meta = details?.data?.payloads?.[0];
      if (meta === undefined || meta === null) continue;
      const type = (converter.payloadConverter.fromPayload(meta) as { activity_type?: string }).activity_type;
      const result = details?.result?.payloads?.[0];
      if (type === undefined) continue;
      out.push({ type, result: result ? await decodePayload(converter, result) : undefined, task: Number(e.markerRecordedEventAttributes?.workflowTaskCompletedEventId ?? 0) });
    }
    return out;
  }

  const lastSeqIn = (markers: Call[]) => Math.max(0, ...markers.filter((m) => m.type === 'publishEvents').map((m) => (m.result as { lastSeq?: number } | undefined)?.lastSeq ?? 0));

  return {
    /**
     * The last event seq any other run of a deployment published: where a run reset from
     * another, or a Retry of one that was terminated, continues the numbering. From each
     * run's history (what each publish returned), so it holds for runs that never reached
     * their end; runs of the first workflow shape said it in their memo.
     */
    async lastPublishedSeq({ workflowId, runId }: { workflowId: string; runId: string }): Promise<number> {
      let last = 0;
      for await (const w of client.workflow.list({ query: `WorkflowId = ${quoted(workflowId)}` })) {
        if (w.runId === runId) continue;
        if (typeof w.memo?.lastSeq === 'number') last = Math.max(last, w.memo.lastSeq);
        Context.current().heartbeat();
        const { events } = await client.workflow.getHandle(workflowId, w.runId).fetchHistory();
        last = Math.max(last, lastSeqIn(await callsOf(events ?? [])));
      }
      return last;
    },

    /**
     * The latest run of a deployment, if it was terminated: what it had touched (node
     * workflows it started, nodes it took the application off, undos it carried from the
     * run it continued), how far it numbered its events, and whether it had written its record.
     */
    async terminatedRun({ workflowId }: { workflowId: string }): Promise<TerminatedRun | undefined> {
      const handle = client.workflow.getHandle(workflowId);
      const { status, runId } = await handle.describe();
      if (status.name !== 'TERMINATED') return undefined;
      const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
      const started = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const request = (await decodePayload(converter, started[0]!)) as OperationRequest;
      const options = (started[1] ? await decodePayload(converter, started[1]) : {}) as DeployOptions & { carried?: { saga?: CarriedSaga } };
      const saga: CarriedSaga = { queues: [...(options.carried?.saga?.queues ?? [])], runs: [...(options.carried?.saga?.runs ?? [])] };
      const queue = (node: PlannedNode) => {
        const local = node.local ?? false;
        let q = saga.queues.findIndex(([t, l]) => t === node.taskQueue && l === local);
        if (q < 0) q = saga.queues.push([node.taskQueue, local]) - 1;
        return q;
      };
      // The batches this run registered come after those it carried.
      const base = Math.max(-1, ...saga.runs.map(([batch]) => batch)) + 1;
      const undo = (task: number, node: PlannedNode, restart: string[]) =>
        saga.runs.push(restart.length > 0 ? [base + task, queue(node), [node.id], { [node.id]: restart }] : [base + task, queue(node), [node.id]]);
      for (const e of events) {
        const child = e.startChildWorkflowExecutionInitiatedEventAttributes;
        if (child?.workflowType?.name !== 'nodeRolloutWorkflow') continue;
        const input = (await decodePayload(converter, child.input!.payloads![0]!)) as { node: PlannedNode };
        undo(Number(child.workflowTaskCompletedEventId ?? 0), input.node, []);
      }
      const markers = await callsOf(events);
      // Taking the application off a node: what ran there was read (locateNodes) before it stopped.
      const resolved = new Map<string, PlannedNode>();
      for (const m of markers) if (m.type === 'resolveNodes') for (const n of m.result as PlannedNode[]) resolved.set(n.id, n);
      for (const m of markers.filter((x) => x.type === 'locateNodes')) {
        for (const [nodeId, found] of Object.entries(m.result as Record<string, Instance[]>)) {
          const node = resolved.get(nodeId);
          if (node !== undefined) undo(m.task, node, found.filter((i) => i.running).map((i) => i.name));
        }
      }
      const recorded = markers.findIndex((m) => m.type === 'recordDeployment');
      return {
        runId,
        request,
        saga,
        lastSeq: lastSeqIn(markers),
        ...(recorded >= 0 ? { record: markers[recorded]!.result as RecordedOutcome } : {}),
        terminalPublished: recorded >= 0 && markers.slice(recorded + 1).some((m) => m.type === 'publishEvents'),
      };
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
