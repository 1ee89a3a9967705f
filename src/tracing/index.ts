// Tracing of deployments with OpenTelemetry (docs/tracing.md): one trace per deployment, from
// the request's arrival (the bridge, or the HTTP API that hands it to the bridge through Kafka)
// through its workflow, its node workflows and their activities to each call to a node, every
// span with the deploymentId. Off unless an endpoint is configured (src/config.ts), and then
// free: the SDK is not even loaded, no interceptor is installed, and the helpers below only
// call through.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { IHeaders } from 'kafkajs';
import type { Config } from '../config';
import { DEPLOYMENT_ID } from './deployment-spans';

/** The Deployer process a span was made in (a resource attribute, `deployer.process`). */
export type TracingProcess = 'worker' | 'bridge' | 'http';

/** What a process with tracing on hands its Temporal clients and workers. */
export interface Tracing {
  clientInterceptors: WorkflowClientInterceptor[];
  workerOptions: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Sends the spans not sent yet. */
  shutdown(): Promise<void>;
}

let on = false;

/** Starts the process's OpenTelemetry SDK when `settings` are given; undefined (and nothing started) when tracing is off. */
export async function startTracing(settings: Config['tracing'], process: TracingProcess): Promise<Tracing | undefined> {
  if (settings === undefined) return undefined;
  const { startSdk } = await import('./sdk');
  const tracing = startSdk(settings, process);
  on = true;
  return tracing;
}

const tracer = () => trace.getTracer('deployer');

/** Records a failure on the span and ends it. */
async function ending<T>(span: ReturnType<ReturnType<typeof tracer>['startSpan']>, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
    throw err;
  } finally {
    span.end();
  }
}

// Kafka headers are bytes when consumed: the W3C propagators read them as text.
const kafkaGetter: TextMapGetter<IHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => {
    const value = headers[key];
    return Array.isArray(value) ? value.map(String) : value?.toString();
  },
};
const kafkaSetter: TextMapSetter<IHeaders> = { set: (headers, key, value) => void (headers[key] = value) };

/**
 * Runs `fn`, the handling of one request where it arrives, as the root span of the
 * deployment's trace, its deploymentId in the trace's baggage for every span after it. A
 * request that arrives with a trace context in its Kafka headers (`carrier`: one the HTTP API
 * sent, or the Scheduler's) continues that trace.
 */
export function traceArrival<T>(where: 'http' | 'kafka', request: { kind: string; deploymentId: string }, fn: () => Promise<T>, carrier?: IHeaders): Promise<T> {
  if (!on) return fn();
  const parent = carrier !== undefined ? propagation.extract(ROOT_CONTEXT, carrier, kafkaGetter) : ROOT_CONTEXT;
  const baggage = (propagation.getBaggage(parent) ?? propagation.createBaggage()).setEntry(DEPLOYMENT_ID, { value: request.deploymentId });
  const ctx = propagation.setBaggage(parent, baggage);
  const span = tracer().startSpan(
    where === 'http' ? `submit ${request.kind}` : `request ${request.kind}`,
    { kind: where === 'http' ? SpanKind.SERVER : SpanKind.CONSUMER, attributes: { [DEPLOYMENT_ID]: request.deploymentId, 'deployer.request.kind': request.kind } },
    ctx,
  );
  return context.with(trace.setSpan(ctx, span), () => ending(span, fn));
}

/** The current trace context as Kafka message headers, for the bridge to continue; none when tracing is off. */
export function traceHeaders(): IHeaders | undefined {
  if (!on) return undefined;
  const headers: IHeaders = {};
  propagation.inject(context.active(), headers, kafkaSetter);
  return headers;
}

/** Adds a timed event (a step) to the span it is given to. */
export type SpanEvent = (name: string, attributes?: Attributes) => void;

const noEvent: SpanEvent = () => undefined;

/** Runs `fn` as a span of the current trace; `fn` may add events to it. */
export function inSpan<T>(name: string, attributes: Attributes, fn: (event: SpanEvent) => Promise<T>): Promise<T> {
  if (!on) return fn(noEvent);
  const span = tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes });
  return context.with(trace.setSpan(context.active(), span), () => ending(span, () => fn((n, a) => span.addEvent(n, a))));
}

/** Whether tracing is on in this process (its SDK started). */
export const tracingOn = () => on;
