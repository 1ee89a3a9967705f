// The compensation of a deployment run that an operator terminated (the Temporal UI's
// Terminate, `temporal workflow terminate`): workflow code cannot run on terminate, so the
// application's lock, which notices its holder closed, starts this. It restores every node
// the terminated run had touched (its saga, read back from its history), newest first, and
// ends the deployment as the run would have: one terminal event, `Failed`, reason
// "terminated by an operator" with what was restored, numbered after the run's own events,
// and its record. A run that had already written its record had decided its outcome: only
// its terminal event is published, if it was not.
import { setHandler, workflowInfo } from '@temporalio/workflow';
import type { RecordActivities } from '../activities/control/records';
import type { RunActivities } from '../activities/control/runs';
import { deploymentRecord } from '../src/core/deployment-record';
import { applicationOf } from '../src/core/operation-kinds';
import { publishedSeqQuery } from './definitions';
import { EventLog } from './event-log';
import { NodeBoard } from './node-board';
import { lookup, publishing } from './options';
import { Saga } from './saga';
import { localActivities } from './local-lane';

const { terminatedRun } = localActivities<RunActivities>({ ...lookup, summary: 'read what the terminated run had done' });
const { recordDeployment } = localActivities<RecordActivities>({ ...publishing, summary: 'write the deployment record' });

export interface CompensationResult {
  status: 'Failed' | 'Nothing to do' | 'Already ended';
  restored: string[];
  notRestored: string[];
}

export async function compensateTerminatedWorkflow({ deploymentId }: { deploymentId: string }): Promise<CompensationResult> {
  const run = await terminatedRun({ workflowId: deploymentId });
  if (run === undefined) return { status: 'Nothing to do', restored: [], notRestored: [] };
  const application = applicationOf(run.request);
  const version = run.request.kind === 'Deploy' ? run.request.application.version : undefined;
  const events = new EventLog({ deploymentId, application, ...(version !== undefined ? { version } : {}) }, run.lastSeq);
  // A Retry of the deployment numbers on after these events too (activities/control/runs.ts).
  setHandler(publishedSeqQuery, () => events.published);
  if (run.record !== undefined) {
    if (!run.terminalPublished) {
      events.emit(run.record.status, run.record.reason ?? `${run.record.status.toLowerCase()} (announced after the run was terminated)`);
      await events.flushed();
    }
    return { status: 'Already ended', restored: [], notRestored: [] };
  }
  const board = new NodeBoard();
  const saga = new Saga(run.saga);
  if (run.saga.runs.length > 0) events.emit('RollingBack', 'terminated by an operator: restoring every node it had touched');
  const failed = await saga.compensate({ application, deploymentId }, board, events);
  const restored = Object.entries(board.nodes).filter(([, n]) => n.state === 'RolledBack').map(([id]) => id);
  const what = restored.length > 0 ? `restored ${restored.join(', ')}` : 'no node had been changed';
  const reason = `terminated by an operator; ${what}${failed.length > 0 ? `; could not restore ${failed.join(', ')}` : ''}`;
  await recordDeployment(
    deploymentRecord({
      deploymentId,
      kind: run.request.kind,
      application,
      ...(version !== undefined ? { version } : {}),
      status: 'Failed',
      reason,
      nodes: board.outcomes(),
      startedAt: workflowInfo().startTime.toISOString(),
      endedAt: new Date().toISOString(),
      runId: run.runId,
    }),
  );
  events.emit('Failed', reason);
  await events.flushed();
  return { status: 'Failed', restored, notRestored: failed };
}
