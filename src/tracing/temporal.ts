// The Temporal SDK's OpenTelemetry interceptors, as the Deployer uses them. Loaded only when
// tracing is on (./index.ts), like the SDK itself.
// - Clients: a workflow start (and every other call) is a span whose context travels in the
//   workflow's headers, so the workflow's spans join the request's trace. Calls to a workflow
//   that belongs to no deployment (an application's lock, which serves one deployment after
//   the other) are not traced and carry no context: the lock's own spans would otherwise join
//   the trace of whichever deployment started it, and stay open there until it ends.
// - Workers: the workflow interceptors run in each workflow's sandbox (their module is put in
//   the workflow bundle, so they stay deterministic) and hand their ended spans out through
//   the `exporter` sink; the activity interceptors make a span of each activity, in the trace
//   the workflow's headers carry.
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { deploymentIdOf } from '../core/workflow-ids';
import { TRACING_WORKFLOW_INTERCEPTORS } from './workflow-module';

/** Every call a workflow client interceptor may intercept. */
const CLIENT_CALLS = ['start', 'startWithDetails', 'signal', 'signalWithStart', 'startUpdate', 'startUpdateWithStart', 'query', 'terminate', 'cancel', 'describe'] as const;

/** What the inputs of CLIENT_CALLS say about the workflow they address, one way or another. */
interface Addressed {
  options?: { workflowId?: string };
  workflowStartOptions?: { workflowId?: string };
  workflowExecution?: { workflowId?: string };
}

const addressedId = (input: Addressed) => input.options?.workflowId ?? input.workflowStartOptions?.workflowId ?? input.workflowExecution?.workflowId;

type Call = (input: Addressed, next: (input: Addressed) => unknown) => unknown;

/** The SDK's client interceptor, for the calls that address a deployment's workflows only. */
export function deploymentClientInterceptor(): WorkflowClientInterceptor {
  const traced = new OpenTelemetryWorkflowClientInterceptor() as unknown as Record<(typeof CLIENT_CALLS)[number], Call>;
  const calls: Partial<Record<(typeof CLIENT_CALLS)[number], Call>> = {};
  for (const name of CLIENT_CALLS) {
    calls[name] = (input, next) => {
      const id = addressedId(input);
      return id !== undefined && deploymentIdOf(id) === undefined ? next(input) : traced[name].call(traced, input, next);
    };
  }
  return calls as WorkflowClientInterceptor;
}

/** A worker's interceptors and the sink its workflows' spans leave the sandbox by. */
export function workerTracingOptions(spanProcessor: SpanProcessor, resource: Resource): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: {
      workflowModules: [TRACING_WORKFLOW_INTERCEPTORS],
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(spanProcessor, resource) },
  };
}
