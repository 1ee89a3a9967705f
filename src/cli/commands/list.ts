// `deployer list`: running and recent deployments, from Temporal's visibility store.
import type { Config } from '../../config';
import { SEARCH_ATTRIBUTES } from '../../core/search-attributes';
import { kindOfWorkflowType } from '../../core/operation-kinds';
import type { CommandOf } from '../args';
import { EXIT, type ExitCode } from '../errors';
import { visibilityQuery } from '../filters';
import { renderDeployments, type DeploymentRow } from '../format';
import type { Output } from '../output';
import { connectTemporal } from '../platform';
import { terminatedEnd } from '../deployment';

export async function listCommand(cmd: CommandOf<'list'>, config: Config, out: Output): Promise<ExitCode> {
  const temporal = await connectTemporal(config);
  try {
    const rows: DeploymentRow[] = [];
    const query = visibilityQuery(cmd, config.temporal.taskQueue);
    for await (const w of temporal.client.workflow.list({ query, pageSize: Math.min(cmd.limit, 1000) })) {
      const a = w.typedSearchAttributes;
      const [application, version] = [a.get(SEARCH_ATTRIBUTES.application), a.get(SEARCH_ATTRIBUTES.version)];
      // A terminated run's last phase is where the Terminate caught it; how it ended its compensation says.
      const status = w.status.name === 'TERMINATED' ? (await terminatedEnd(temporal.client, w.workflowId, w.runId)).status : a.get(SEARCH_ATTRIBUTES.status);
      rows.push({
        deploymentId: w.workflowId,
        kind: kindOfWorkflowType(w.type) ?? w.type,
        ...(application !== undefined ? { application } : {}),
        ...(version !== undefined ? { version } : {}),
        ...(status !== undefined ? { status } : {}),
        execution: w.status.name,
        startedAt: w.startTime.toISOString(),
        ...(w.closeTime !== undefined ? { endedAt: w.closeTime.toISOString() } : {}),
      });
      if (rows.length >= cmd.limit) break;
    }
    out.answer(rows, renderDeployments(rows));
    return EXIT.ok;
  } finally {
    await temporal.close();
  }
}
