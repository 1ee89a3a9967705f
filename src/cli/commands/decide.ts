// `deployer decide ID retry|skip|rollback`: the `decide` update of a paused deployment.
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Config } from '../../config';
import { decideUpdate } from '../../../workflows/definitions';
import type { CommandOf } from '../args';
import { DeploymentError, EXIT, type ExitCode } from '../errors';
import type { Output } from '../output';
import { connectTemporal } from '../platform';

export async function decideCommand(cmd: CommandOf<'decide'>, config: Config, out: Output): Promise<ExitCode> {
  const temporal = await connectTemporal(config);
  try {
    const answer = await temporal.client.workflow.getHandle(cmd.id).executeUpdate(decideUpdate, { args: [cmd.decision] });
    out.answer({ deploymentId: cmd.id, ...answer }, `${cmd.id}: ${answer.accepted} accepted for ${answer.failedNodes.join(', ') || 'no node'}`);
    return EXIT.ok;
  } catch (err) {
    // The workflow refused (not paused, already decided), or it has ended or never existed (Temporal answers not found for both).
    if (err instanceof WorkflowUpdateFailedError) throw new DeploymentError(`${cmd.id}: ${(err.cause as Error | undefined)?.message ?? err.message}`, cmd.id, { cause: err });
    if (err instanceof WorkflowNotFoundError) throw new DeploymentError(`no running deployment '${cmd.id}'`, cmd.id, { cause: err });
    throw err;
  } finally {
    await temporal.close();
  }
}
