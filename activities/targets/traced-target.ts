// A span around each call a target makes to its node (docs/tracing.md): the verb, the node and
// its kind of target, and each step the verb reports as an event of the span, in order. The
// span joins the activity's, and so the deployment's, trace. With tracing off the target is
// handed back as it is.
import type { InventoryNode } from '../../src/core/schemas/inventory';
import { inSpan, tracingOn, type SpanEvent } from '../../src/tracing';
import type { StepReporter, Target } from './target';

const withEvents = (step: StepReporter, event: SpanEvent): StepReporter => (phase, message) => {
  event(phase, { message });
  step(phase, message);
};

export function tracedTarget(target: Target, node: InventoryNode): Target {
  if (!tracingOn()) return target;
  const kind = node.target.kind;
  const call = <T>(verb: keyof Target, fn: (event: SpanEvent) => Promise<T>) => inSpan(`${kind} ${verb}`, { 'deployer.node': node.id, 'deployer.target': kind }, fn);
  return {
    checkConfig: (intent, step) => call('checkConfig', (event) => target.checkConfig(intent, withEvents(step, event))),
    apply: (intent, step) => call('apply', (event) => target.apply(intent, withEvents(step, event))),
    verify: (intent, step, stillThere) => call('verify', (event) => target.verify(intent, withEvents(step, event), stillThere)),
    test: (intent, step, stillThere) => call('test', (event) => target.test(intent, withEvents(step, event), stillThere)),
    restore: (ref) => call('restore', () => target.restore(ref)),
    retire: (ref) => call('retire', () => target.retire(ref)),
    stop: (ref) => call('stop', () => target.stop(ref)),
    remove: (ref) => call('remove', () => target.remove(ref)),
    locate: (application) => call('locate', () => target.locate(application)),
    describe: () => call('describe', () => target.describe()),
  };
}
