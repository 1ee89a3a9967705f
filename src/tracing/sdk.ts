// The OpenTelemetry SDK of one Deployer process, started only when tracing is on (./index.ts):
// spans batched to an OTLP/HTTP endpoint, each stamped with its deployment on the way
// (./deployment-spans.ts). Registered as the process's global tracer provider, with the W3C
// trace context and baggage propagators (whatever OTEL_PROPAGATORS says: the deploymentId
// travels as baggage) and an AsyncLocalStorage context manager.
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config';
import { DeploymentSpanProcessor } from './deployment-spans';
import { deploymentClientInterceptor, workerTracingOptions } from './temporal';
import type { Tracing, TracingProcess } from './index';

export function startSdk({ endpoint, serviceName }: NonNullable<Config['tracing']>, process: TracingProcess): Tracing {
  // service.name is what Jaeger files spans under; which process made a span is a resource attribute beside it.
  const resource = new Resource({ 'service.name': serviceName, 'deployer.process': process });
  // Spans leave in batches once a second: a deployment's trace is readable soon after it ends.
  const spanProcessor = new DeploymentSpanProcessor(new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }), { scheduledDelayMillis: 1000 }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }) });
  return {
    clientInterceptors: [deploymentClientInterceptor()],
    workerOptions: workerTracingOptions(spanProcessor, resource),
    shutdown: () => provider.shutdown(),
  };
}
