// The module of the tracing workflow interceptors (./workflow-interceptors.ts): what a
// workflow bundle must hold for a worker with tracing on, and must not hold for one with
// tracing off (its spans would go to a sink nobody registered). Resolved without loading it.
export const TRACING_WORKFLOW_INTERCEPTORS = require.resolve('./workflow-interceptors');
