// The workflow interceptors a worker with tracing on puts in its workflow bundle: the SDK's
// OpenTelemetry interceptors for a deployment's workflows, and none for the two kinds that
// belong to no deployment (an application's lock, the nodes listing), whose spans are not
// exported anyway (./temporal.ts).
// Why not all: the SDK's interceptors await around update and signal handlers, so a history
// recorded under them need not replay without them. The lock lives across deployments and
// handles updates; kept free of interceptors, its histories are the same whether tracing is
// on or off, and turning tracing on or off never breaks a lock that is running. A
// deployment's workflows, recorded traced, are replayed untraced by the replay test.
// Runs in the workflow sandbox: deterministic imports only.
import { interceptors as traced } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';
import { workflowInfo, type WorkflowInterceptors } from '@temporalio/workflow';

const UNTRACED = new Set(['applicationLockWorkflow', 'nodesWorkflow']);

export const interceptors = (): WorkflowInterceptors => (UNTRACED.has(workflowInfo().workflowType) ? {} : traced());
