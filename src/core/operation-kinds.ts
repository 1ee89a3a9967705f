// Request kinds and the workflow types that carry them out: the one place that maps one to
// the other, for the bridge, the CLI, the history reader and the metrics.
// Pure: imported by workflow code.
import type { OperationRequest } from './schemas/request';

/** The requests that change what runs on nodes; each is carried out by a workflow of its own type. */
export const OPERATION_KINDS = ['Deploy', 'Rollback', 'Scale', 'Undeploy'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

export const WORKFLOW_TYPES = {
  Deploy: 'deployWorkflow',
  Rollback: 'rollbackWorkflow',
  Scale: 'scaleWorkflow',
  Undeploy: 'undeployWorkflow',
} as const satisfies Record<OperationKind, string>;

export type OperationWorkflowType = (typeof WORKFLOW_TYPES)[OperationKind];

/** Every operation workflow type, for visibility queries. */
export const OPERATION_WORKFLOWS: readonly OperationWorkflowType[] = Object.values(WORKFLOW_TYPES);

const KIND_OF = Object.fromEntries(Object.entries(WORKFLOW_TYPES).map(([kind, type]) => [type, kind])) as Record<string, OperationKind>;

/** The kind of request a workflow type carries out (`deployWorkflow` → `Deploy`); undefined for other workflows. */
export function kindOfWorkflowType(workflowType: string): OperationKind | undefined {
  return KIND_OF[workflowType];
}

/** The application an operation acts on. */
export function applicationOf(request: OperationRequest): string {
  return request.kind === 'Deploy' ? request.application.name : request.application;
}
