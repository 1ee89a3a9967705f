// Planning Rollback, Scale and Undeploy: pure functions from a request, the application's
// history (the state the last successful operation left behind, then the one a Rollback
// goes back to) and where its containers are now (read from the engines) to what the
// deployment workflow carries out: a rollout of a known request and image to some nodes,
// and the nodes to take the application off afterwards. Deploy needs neither.
// Pure: used inside workflow code.
import { NotDeployedError, UnknownVersionError } from './errors';
import type { DeployRequest, OperationRequest } from './schemas/request';

/** What runs after a successful operation: the request that describes it, on the nodes it names. */
export interface ApplicationState {
  /** The deployment that left the application in this state. */
  deploymentId: string;
  /** The request the containers were made from; its `nodes` are where the application runs. */
  request: DeployRequest;
  /** Digest of the image built for it; absent for a prebuilt image, which is named in the request. */
  digest?: string;
}

export interface OperationPlan {
  /** What to roll out and where (`request.nodes`); absent when nothing is started. */
  rollout?: { request: DeployRequest; digest?: string };
  /** Nodes to take the application off once the rollout is healthy. */
  drop: string[];
  /** The version the application will run; absent when it is taken off every node it ran on. */
  version?: string;
}

/** Where the application's containers are now, by the engines' own account. */
export interface Whereabouts {
  /** Nodes with a running container of the application. */
  running: string[];
  /** Nodes with any container of the application, running or stopped. */
  present: string[];
}

const without = (nodes: readonly string[], gone: readonly string[]) => nodes.filter((n) => !gone.includes(n));

/** The last successful state, or a clear reason why there is none to act on. */
function current(application: string, history: readonly ApplicationState[], what: string): ApplicationState {
  const state = history[0];
  if (state === undefined) throw new NotDeployedError(application, `no successful deployment of ${application} is on record to ${what}`);
  return state;
}

export function planOperation(request: OperationRequest, history: readonly ApplicationState[], where: Whereabouts = { running: [], present: [] }): OperationPlan {
  switch (request.kind) {
    case 'Deploy':
      return { rollout: { request }, drop: [], version: request.application.version };

    case 'Rollback': {
      const now = current(request.application, history, 'roll back');
      if (where.running.length === 0) throw new NotDeployedError(request.application, `${request.application} runs on no node; deploy it first`);
      const nowVersion = now.request.application.version;
      // Default: the newest version that was healthy before the current one.
      const target =
        request.toVersion !== undefined
          ? history.find((s) => s.request.application.version === request.toVersion)
          : history.find((s) => s.request.application.version !== nowVersion);
      if (target === undefined) {
        throw new UnknownVersionError(
          request.application,
          request.toVersion !== undefined
            ? `no successful deployment of ${request.application}:${request.toVersion} is on record`
            : `no version of ${request.application} before ${nowVersion} is on record`,
        );
      }
      if (!hasImage(target)) {
        throw new UnknownVersionError(request.application, `the image of ${request.application}:${target.request.application.version} is not on record; deploy that version again instead`);
      }
      return {
        rollout: { request: { ...target.request, deploymentId: request.deploymentId, nodes: where.running }, ...digestOf(target) },
        drop: [],
        version: target.request.application.version,
      };
    }

    case 'Scale': {
      const now = current(request.application, history, 'scale');
      if (!hasImage(now)) throw new NotDeployedError(request.application, `the image of ${request.application}:${now.request.application.version} is not on record; deploy it again instead`);
      return {
        rollout: {
          request: { ...now.request, deploymentId: request.deploymentId, nodes: request.nodes, replicasPerNode: request.replicasPerNode },
          ...digestOf(now),
        },
        drop: without(where.present, request.nodes),
        version: now.request.application.version,
      };
    }

    case 'Undeploy': {
      // Nothing to remove is no failure: the Undeploy's goal, the application on no node, holds.
      const nodes = request.nodes ?? where.present;
      const left = without(where.running, nodes);
      const now = history[0];
      return { drop: nodes, ...(left.length > 0 && now !== undefined ? { version: now.request.application.version } : {}) };
    }
  }
}

/** A built image is known by its digest; without one the version cannot run again as it was. */
const hasImage = (s: ApplicationState) => s.request.application.image !== undefined || s.request.application.images !== undefined || s.digest !== undefined;

/**
 * The state an operation leaves behind when it succeeds: `deployed` are the nodes its
 * rollout reached, `digest` the image it ran (pushed by a Deploy, reused by the others).
 */
export function stateAfter(
  request: OperationRequest,
  plan: OperationPlan,
  result: { deployed: readonly string[]; digest?: string; where?: Whereabouts },
  history: readonly ApplicationState[],
): ApplicationState | undefined {
  if (plan.rollout !== undefined) {
    return { deploymentId: request.deploymentId, request: { ...plan.rollout.request, nodes: [...result.deployed] }, ...digestOf(result) };
  }
  const now = history[0];
  if (now === undefined) return undefined;
  return { ...now, deploymentId: request.deploymentId, request: { ...now.request, nodes: without(result.where?.running ?? now.request.nodes, plan.drop) } };
}

function digestOf(s: { digest?: string }): { digest?: string } {
  return s.digest !== undefined ? { digest: s.digest } : {};
}
