// Every span the Deployer exports belongs to one deployment's trace and names it: the
// `deploymentId` attribute, stamped here rather than at each place a span is made, because
// most spans are made by the Temporal interceptors. Two sources, one per kind of span:
// - Spans made in a process (the request's arrival, client calls, activities, calls to the
//   nodes) take it from the W3C baggage entry the arrival span puts in the trace's context;
//   the Temporal interceptors carry baggage with the trace through workflow and activity
//   headers.
// - Spans made in a workflow's sandbox reach the worker only once ended, through a sink, with
//   the workflow's info merged into their attributes: they take it from the workflow id of a
//   workflow that belongs to a deployment (src/core/workflow-ids.ts).
// The sandbox's spans carry the whole WorkflowInfo (memo, search attributes, last failure…);
// only values OpenTelemetry allows as attributes (strings, numbers, booleans and arrays of
// them) are kept, so that nothing of a workflow's input or memo leaves in a span. A span that
// belongs to no deployment (an application's lock, which serves many; the listing of nodes) is
// not exported.
import { propagation, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OPERATION_WORKFLOWS } from '../core/operation-kinds';
import { deploymentIdOf } from '../core/workflow-ids';

/** The attribute and the baggage entry that name a span's deployment. */
export const DEPLOYMENT_ID = 'deploymentId';

/** Workflow types whose workflow id begins with the deploymentId they work for. */
const DEPLOYMENT_WORKFLOWS: ReadonlySet<string> = new Set([
  ...OPERATION_WORKFLOWS,
  'nodeRolloutWorkflow',
  'deployNodeWorkflow',
  'compensateTerminatedWorkflow',
]);

const isAttributeValue = (v: unknown): boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || (Array.isArray(v) && v.every((x) => x === null || x === undefined || ['string', 'number', 'boolean'].includes(typeof x)));

/** The deployment a sandbox span's workflow works for, from the WorkflowInfo merged into its attributes. */
function deploymentOfWorkflowSpan(attributes: ReadableSpan['attributes']): string | undefined {
  const { workflowType, workflowId } = attributes;
  if (typeof workflowType !== 'string' || typeof workflowId !== 'string' || !DEPLOYMENT_WORKFLOWS.has(workflowType)) return undefined;
  return deploymentIdOf(workflowId);
}

export class DeploymentSpanProcessor implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    const id = propagation.getBaggage(parentContext)?.getEntry(DEPLOYMENT_ID)?.value;
    if (id !== undefined) span.setAttribute(DEPLOYMENT_ID, id);
    this.next.onStart(span, parentContext);
  }

  /** Also called, without onStart, for each span of a workflow's sandbox. */
  onEnd(span: ReadableSpan): void {
    // Ended spans are read-only to the API; their attributes are still this object.
    const attributes = span.attributes as Record<string, unknown>;
    for (const [key, value] of Object.entries(attributes)) if (!isAttributeValue(value)) delete attributes[key];
    if (attributes[DEPLOYMENT_ID] === undefined) {
      const id = deploymentOfWorkflowSpan(span.attributes);
      if (id === undefined) return;
      attributes[DEPLOYMENT_ID] = id;
    }
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}
