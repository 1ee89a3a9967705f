// Starting an operation (Deploy, Rollback, Scale, Undeploy) in Temporal: what the bridge does
// for a request from Kafka and what `deployer deploy --direct` does without Kafka, in one
// place so that both start the same workflow the same way. The workflow id is the
// deploymentId, so a request started twice starts one deployment.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DeployOptions } from '../../workflows/definitions';
import { decodePayload } from '../codec/data-converter';
import type { Issue } from '../core/issues';
import { requestSchema, type OperationRequest } from '../core/schemas/request';
import { applicationOf, WORKFLOW_TYPES } from '../core/operation-kinds';
import { indexedNodes, SEARCH_ATTRIBUTES } from '../core/search-attributes';
import { someNodes } from '../core/details';
import { lockTokens } from '../core/lock-protocol';
import { acquireLock, settleUnstarted, type LockSettings } from './lock';
import { startDetails, startMemo } from '../core/details';

/** `started`, or `duplicate` when the deploymentId already names this very request (a redelivery). */
export type Started = 'started' | 'duplicate';

/** A Retry's new run: where its events continue, and the request that asked for it. */
export interface RetryRun {
  options: DeployOptions;
  retriedBy: string;
}

/** What an operator filters on in the Temporal UI, as far as the request says it; the workflow adds the rest once planned. */
function searchAttributes(request: OperationRequest) {
  const version = request.kind === 'Deploy' ? request.application.version : request.kind === 'Rollback' ? request.toVersion : undefined;
  const nodes = request.kind === 'Deploy' || request.kind === 'Scale' ? request.nodes : request.kind === 'Undeploy' ? request.nodes : undefined;
  return [
    { key: SEARCH_ATTRIBUTES.application, value: applicationOf(request) },
    ...(version !== undefined ? [{ key: SEARCH_ATTRIBUTES.version, value: version }] : []),
    { key: SEARCH_ATTRIBUTES.status, value: 'Accepted' },
    ...(nodes !== undefined ? [{ key: SEARCH_ATTRIBUTES.nodes, value: indexedNodes(nodes) }] : []),
  ];
}

function summary(request: OperationRequest, retry: boolean): string {
  const prefix = retry ? 'Retry of ' : '';
  switch (request.kind) {
    case 'Deploy':
      return `${prefix}Deploy ${request.application.name}:${request.application.version} to ${someNodes(request.nodes, 10)}`;
    case 'Rollback':
      return `${prefix}Rollback ${request.application} to ${request.toVersion ?? 'the previous healthy version'}`;
    case 'Scale':
      return `${prefix}Scale ${request.application} to ${someNodes(request.nodes, 10)} x${request.replicasPerNode}`;
    case 'Undeploy':
      return `${prefix}Undeploy ${request.application} from ${request.nodes !== undefined ? someNodes(request.nodes, 10) : 'every node'}`;
  }
}

/** `lockIdleMs`: how long an application's lock lives idle (DEPLOYER_LOCK_IDLE_MS). */
export function createOperations(client: Client, taskQueue: string, { lockIdleMs }: { lockIdleMs?: number } = {}) {
  const lock: LockSettings = { taskQueue, ...(lockIdleMs !== undefined ? { idleMs: lockIdleMs } : {}) };

  /** The request a deployment's latest run was started with (its first history event). */
  async function requestOf(deploymentId: string): Promise<OperationRequest> {
    const history = await client.workflow.getHandle(deploymentId).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    return requestSchema.parse(await decodePayload(client.options.loadedDataConverter, input!)) as OperationRequest;
  }

  /** A different request reusing a deploymentId: a mistake to report. */
  const reused = (request: OperationRequest): Issue[] => [{ path: ['deploymentId'], message: `'${request.deploymentId}' already names a different deployment; every request needs a new deploymentId` }];

  /** Whether the request's deploymentId already names a deployment: then it is a redelivery (the same request), or a different one reusing the id. */
  async function taken(request: OperationRequest): Promise<Started | Issue[] | undefined> {
    try {
      await client.workflow.getHandle(request.deploymentId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
    return JSON.stringify(await requestOf(request.deploymentId)) === JSON.stringify(request) ? 'duplicate' : reused(request);
  }

  /**
   * Asks the application's lock for the deployment, then starts the operation's workflow
   * knowing the answer (the protocol: workflows/application-lock.ts). Issues: the id already
   * names a different deployment. A deploymentId already taken is recognised before the lock
   * is asked, which costs a round trip through a worker: a bridge handed many requests again
   * (after a restart) or reusing ids otherwise fell behind by that much per request.
   */
  async function startOperation(request: OperationRequest, retry?: RetryRun): Promise<Started | Issue[]> {
    if (!retry) {
      const known = await taken(request);
      if (known !== undefined) return known;
    }
    const application = applicationOf(request);
    const requester = { workflowId: request.deploymentId, token: retry ? lockTokens.retry(retry.retriedBy) : lockTokens.start };
    const answer = await acquireLock(client, lock, application, requester);
    try {
      await client.workflow.start(WORKFLOW_TYPES[request.kind], {
        workflowId: request.deploymentId,
        taskQueue,
        args: [request, { ...(retry?.options ?? {}), lock: { token: requester.token, granted: answer === 'granted' } }],
        // A deploymentId names one deployment forever: a redelivery, even after it ended,
        // starts nothing. Only a Retry starts a new run, and only of one that did not succeed.
        workflowIdReusePolicy: retry ? 'ALLOW_DUPLICATE_FAILED_ONLY' : 'REJECT_DUPLICATE',
        memo: { ...startMemo(request), ...(retry ? { retriedBy: retry.retriedBy } : {}) },
        typedSearchAttributes: searchAttributes(request),
        staticSummary: summary(request, retry !== undefined),
        staticDetails: startDetails(request),
      });
      return 'started';
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      await settleUnstarted(client, application, requester, answer);
      // Started since it was looked for. The same request again is a redelivery; a different one reusing the id is a mistake to report.
      if (retry || JSON.stringify(await requestOf(request.deploymentId)) === JSON.stringify(request)) return 'duplicate';
      return reused(request);
    }
  }

  return { startOperation, requestOf };
}
