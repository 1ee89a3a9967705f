// The compensation of a deployment run that an operator terminated (the Temporal UI's
// Terminate, `temporal workflow terminate`): workflow code cannot run on terminate, so the
// application's lock, which notices its holder closed, starts this. It restores every node
// the terminated run had touched (its saga, read back from its history), newest first, and
// ends the deployment as a Cancel would have: one terminal event, numbered after the run's
// own events, and its record. `Cancelled` ("terminated by an operator" and what was
// restored) when every node it had touched is back as it was, or it had touched none;
// `Failed` when a node could not be restored, as the contract reserves that for. A run that
// had already written its record had decided its outcome: only its terminal event is
// published, if it was not. The result says how the deployment ended, which is how the CLI
// and the API show a terminated run (src/cli/deployment.ts).
import { setHandler, workflowInfo } from '@temporalio/workflow';
import type { RecordActivities } from '../activities/control/records';
import type { RunActivities } from '../activities/control/runs';
import { deploymentRecord } from '../src/core/deployment-record';
import { applicationOf } from '../src/core/operation-kinds';
import type { Phase } from '../src/core/schemas/event';
import { publishedSeqQuery } from './definitions';
import { EventLog } from './event-log';
import { NodeBoard } from './node-board';
import { lookup, publishing } from './options';
import { Saga } from './saga';
import { localActivities } from './local-lane';

const { terminatedRun } = localActivities<RunActivities>({ ...lookup, summary: 'read what the terminated run had done' });
const { recordDeployment } = localActivities<RecordActivities>({ ...publishing, summary: 'write the deployment record' });

export interface CompensationResult {
  status: 'Cancelled' | 'Failed' | 'Nothing to do' | 'Already ended';
  /** How the deployment ended: what its terminal event and its record say. */
  ended?: { status: Phase; reason?: string };
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
    return { status: 'Already ended', ended: { status: run.record.status, ...(run.record.reason !== undefined ? { reason: run.record.reason } : {}) }, restored: [], notRestored: [] };
  }
  const board = new NodeBoard();
  const saga = new Saga(run.saga);
  if (run.saga.runs.length > 0) events.emit('RollingBack', 'terminated by an operator: restoring every node it had touched');
  const failed = await saga.compensate({ application, deploymentId }, board, events);
  const restored = Object.entries(board.nodes).filter(([, n]) => n.state === 'RolledBack').map(([id]) => id);
  const what = restored.length > 0 ? `restored ${restored.join(', ')}` : 'no node had been changed';
  const reason = `terminated by an operator; ${what}${failed.length > 0 ? `; could not restore ${failed.join(', ')}` : ''}`;
  const status = failed.length > 0 ? 'Failed' : 'Cancelled';
  await recordDeployment(
    deploymentRecord({
      deploymentId,
      kind: run.request.kind,
      application,
      ...(version !== undefined ? { version } : {}),
      status,
      reason,
      nodes: board.outcomes(),
      startedAt: workflowInfo().startTime.toISOString(),
      endedAt: new Date().toISOString(),
      runId: run.runId,
    }),
  );
  events.emit(status, reason);
  await events.flushed();
  return { status, ended: { status, reason }, restored, notRestored: failed };
}
