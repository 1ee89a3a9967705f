// What the HTTP API needs from the platform, as one interface: the routes see only this, so
// that a unit test hands them fakes and main.ts (through ./platform.ts) the real clients.
import type { ParseContext } from '../bridge/parse';
import type { DeploymentView } from '../operations/describe';
import type { Filters } from '../operations/filters';
import type { DeploymentRow } from '../operations/list';
import type { NodeView } from '../core/node-facts';
import type { StatusEvent } from '../core/schemas/event';
import type { DeploymentRecord } from '../core/schemas/record';
import type { Request } from '../core/schemas/request';
import type { Decision } from '../../workflows/definitions';
import type { TokenStore } from './auth';

export type DecideAnswer = { ok: true; accepted: Decision; failedNodes: string[] } | { ok: false; unknown: boolean; message: string };

export interface HttpDeps {
  tokens: TokenStore;
  /** What the bridge checks a request against, as of now (the inventory is re-read when it changes). */
  parseContext(): ParseContext;
  /** Produces `request` on the requests topic under `key`, as the Scheduler does. */
  send(key: string, request: Request): Promise<void>;
  /** The deployment as Temporal knows it; undefined when it does not. */
  describe(deploymentId: string): Promise<DeploymentView | undefined>;
  /** The deployment's record, for one Temporal has forgotten. */
  record(deploymentId: string): Promise<DeploymentView | undefined>;
  list(filters: Filters, limit: number): Promise<DeploymentRow[]>;
  records(filters: Filters, limit: number): Promise<DeploymentRecord[]>;
  nodes(): Promise<NodeView[]>;
  /** Calls `each` for the deployment's events after `afterSeq` until its terminal one (or `signal` aborts). */
  events(deploymentId: string, afterSeq: number, each: (event: StatusEvent) => Promise<void>, signal: AbortSignal): Promise<void>;
  decide(deploymentId: string, decision: Decision): Promise<DecideAnswer>;
  /** What the API cannot reach, by name (Temporal, Kafka) with the reason; empty when ready. */
  unreachable(): Promise<{ service: string; reason: string }[]>;
}
