// Running and recent deployments of this Deployer, from Temporal's visibility store: what
// `deployer list` prints and GET /v1/deployments answers, read in one place.
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../core/search-attributes';
import { kindOfWorkflowType } from '../core/operation-kinds';
import { visibilityQuery, type Filters } from './filters';
import { terminatedEnd } from './describe';

/** One deployment in `list`. */
export interface DeploymentRow {
  deploymentId: string;
  kind: string;
  application?: string;
  version?: string;
  /** The Deployer's status (its last phase); `execution` is Temporal's. */
  status?: string;
  execution: string;
  startedAt: string;
  endedAt?: string;
}

/** Newest first, at most `limit`. */
export async function listDeployments(client: Client, taskQueue: string, filters: Filters, limit: number): Promise<DeploymentRow[]> {
  const rows: DeploymentRow[] = [];
  const query = visibilityQuery(filters, taskQueue);
  for await (const w of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
    const a = w.typedSearchAttributes;
    const [application, version] = [a.get(SEARCH_ATTRIBUTES.application), a.get(SEARCH_ATTRIBUTES.version)];
    // A terminated run's last phase is where the Terminate caught it; how it ended its compensation says.
    const status = w.status.name === 'TERMINATED' ? (await terminatedEnd(client, w.workflowId, w.runId)).status : a.get(SEARCH_ATTRIBUTES.status);
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
    if (rows.length >= limit) break;
  }
  return rows;
}
