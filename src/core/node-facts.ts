// What the targets report about nodes, as activities hand it to workflows and the CLI reads
// it: the steps a verb took, the instances of applications, and the node itself.
// Pure: imported by workflow code.
import type { FleetFacts } from './fleet';
import type { Phase } from './schemas/event';
import type { TargetKind } from './schemas/inventory';

/** The node-level phases a step reports, as status events name them. */
export type StepPhase = Extract<Phase, 'Configuring' | 'Deploying' | 'Verifying'>;

/** One step a verb took on a node, with when it happened. */
export interface StepRecord {
  at: string;
  phase: StepPhase;
  message: string;
  /** The seq it was published under as it happened (src/core/live-events.ts); absent when the deployment publishes it. */
  seq?: number;
}

/** One instance of an application on a node (a container, a task, a pod), by the target's own account. */
export interface Instance {
  name: string;
  application: string;
  version: string;
  deploymentId: string;
  running: boolean;
  /** The target's own word for the instance's state (`running`, `exited`, …). */
  state: string;
  /** As the target reports the instance's own health check, when it has one. */
  health?: 'healthy' | 'unhealthy' | 'starting';
}

/** A node as its target sees it. */
export interface NodeStatus {
  /** Whether the node can take work: reachable, and (for an orchestrator's node) a ready, active member. */
  ready: boolean;
  /** Why it is not ready, or what the target says of it. */
  detail?: string;
  /** The platform it runs containers for, as the target reports it (`linux`, `amd64`). */
  platform?: { os: string; architecture: string };
}

/** One node in `deployer nodes`: its status and what the Deployer runs there. */
export interface NodeView {
  node: string;
  address: string;
  target: TargetKind;
  /** What the fleet says of it: the Node Manager's status, site and generation, or the file's word alone. */
  fleet: FleetFacts;
  status: NodeStatus;
  instances: Instance[];
}
