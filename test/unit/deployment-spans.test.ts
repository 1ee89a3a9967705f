// The span processor that names each exported span's deployment (src/tracing/deployment-spans.ts),
// over the OpenTelemetry SDK's in-memory exporter: from the trace's baggage for spans made in
// a process, from the workflow for spans that leave a workflow's sandbox, and no span of a
// lock; a sandbox span's WorkflowInfo keeps only what an attribute may be, never the memo.
import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DEPLOYMENT_ID, DeploymentSpanProcessor } from '../../src/tracing/deployment-spans';

let exporter: InMemorySpanExporter;
let processor: DeploymentSpanProcessor;
let provider: BasicTracerProvider;

beforeEach(() => {
  exporter = new InMemorySpanExporter();
  processor = new DeploymentSpanProcessor(new SimpleSpanProcessor(exporter));
  provider = new BasicTracerProvider({ spanProcessors: [processor] });
});

afterEach(() => provider.shutdown());

/** A span as the Temporal worker's sink hands it over from a workflow's sandbox: ended, its WorkflowInfo merged into its attributes. */
function sandboxSpan(name: string, info: Record<string, unknown>): ReadableSpan {
  const span = provider.getTracer('test').startSpan(name) as unknown as ReadableSpan;
  const copy = { ...span, name, ended: true, attributes: { ...info } as ReadableSpan['attributes'], spanContext: () => span.spanContext() };
  return copy as ReadableSpan;
}

describe('the deployment span processor', () => {
  it('stamps a span made in a process with the deploymentId of its trace’s baggage', () => {
    const ctx = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ [DEPLOYMENT_ID]: { value: 'dep-1' } }));
    const parent = provider.getTracer('test').startSpan('request Deploy', {}, ctx);
    provider.getTracer('test').startSpan('docker-engine apply', {}, trace.setSpan(ctx, parent)).end();
    parent.end();
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.attributes[DEPLOYMENT_ID]])).toEqual([
      ['docker-engine apply', 'dep-1'],
      ['request Deploy', 'dep-1'],
    ]);
  });

  it('names a workflow span’s deployment by its workflow, and keeps only attribute values of its WorkflowInfo', () => {
    processor.onEnd(sandboxSpan('RunWorkflow:nodeRolloutWorkflow', { workflowType: 'nodeRolloutWorkflow', workflowId: 'dep-2/fog-1', attempt: 1, memo: { summary: 'Deploy x' }, searchAttributes: { DeployerApplication: ['x'] }, lastFailure: { message: 'no' }, startTime: new Date() }));
    processor.onEnd(sandboxSpan('RunWorkflow:deployWorkflow', { workflowType: 'deployWorkflow', workflowId: 'dep-2' }));
    expect(exporter.getFinishedSpans().map((s) => s.attributes)).toEqual([
      { workflowType: 'nodeRolloutWorkflow', workflowId: 'dep-2/fog-1', attempt: 1, [DEPLOYMENT_ID]: 'dep-2' },
      { workflowType: 'deployWorkflow', workflowId: 'dep-2', [DEPLOYMENT_ID]: 'dep-2' },
    ]);
  });

  it('exports no span that belongs to no deployment: an application’s lock, the listing of nodes, a span outside any request', () => {
    processor.onEnd(sandboxSpan('RunWorkflow:applicationLockWorkflow', { workflowType: 'applicationLockWorkflow', workflowId: 'lock/x' }));
    processor.onEnd(sandboxSpan('RunWorkflow:nodesWorkflow', { workflowType: 'nodesWorkflow', workflowId: 'nodes-20260101T000000000Z-abc' }));
    provider.getTracer('test').startSpan('RunActivity:holderStatus').end();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
