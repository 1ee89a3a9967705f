// Every activity, built from its adapter. The worker is the only place that wires them: a
// control worker serves the workflows' own activities and the nodes of its task queue; a
// site worker, next to its nodes, serves only the node activities of its site's queue.
import type { Client } from '@temporalio/client';
import type { Kafka, Producer } from 'kafkajs';
import { publishedSeqReader } from '../src/kafka/published-seq';
import type { Fleet } from '../src/core/fleet';
import { createBuildActivities } from './control/build';
import { createDependencyActivities } from './control/dependencies';
import { createEventActivities, type EventPublisher } from './control/events';
import { allHeartbeating } from './control/heartbeat';
import { createHistoryActivities } from './control/history';
import { createInventoryActivities } from './control/inventory';
import { createLockActivities } from './control/lock';
import { createRecordActivities } from './control/records';
import { createRunActivities } from './control/runs';
import type { BuildSourcePolicy } from './control/build-source';
import type { SecretProvider } from './control/secrets';
export { directorySecretProvider, type SecretProvider } from './control/secrets';
export type { TargetFactories } from './targets/node-activities';
export { createEventPublisher } from './control/events';
import { Engines } from './targets/docker-engine/engines';
import { createLegacyDockerActivities } from './targets/docker-engine/legacy-v1';
import { createLegacyHealthActivities } from './targets/docker-engine/legacy-v1-health';
import { dockerEngineTarget } from './targets/docker-engine/target';
import { eventRelay } from './targets/live-events';
import { createNodeActivities, type TargetFactories } from './targets/node-activities';
import { KubernetesClusters } from './targets/kubernetes/clusters';
import { kubernetesTarget } from './targets/kubernetes/target';
import { swarmTarget } from './targets/swarm/target';

export interface NodeDeps {
  /** The fleet as of now (src/fleet.ts): the inventory file merged with the Node Manager's topic. */
  fleet: () => Fleet;
  secrets: SecretProvider;
  client: Client;
  /** The queue of nodes without a task queue of their own (the control workers'). */
  defaultTaskQueue: string;
  /** Replaces a kind of target, e.g. with a simulation in a benchmark that says so. */
  targets?: Partial<TargetFactories>;
  /** Publishes on the events topic: a node step's events as they happen, and the deployments' own. */
  publishEvents: EventPublisher;
}

export interface ActivityDeps extends NodeDeps {
  kafka: Kafka;
  producer: Producer;
  eventsTopic: string;
  recordsTopic: string;
  /** How long an application's lock lives idle, for the locks these activities start (ms). */
  lockIdleMs?: number;
  /** What a build may read: directories under these roots, git URLs under these prefixes. */
  buildSources: BuildSourcePolicy;
}

/** What runs next to the nodes: the target verbs and the dependency checks that ask nodes. */
export function createNodeSideActivities({ fleet, secrets, client, defaultTaskQueue, targets, publishEvents }: NodeDeps) {
  const engines = new Engines(fleet);
  const factories: TargetFactories = { 'docker-engine': dockerEngineTarget(engines, secrets), swarm: swarmTarget(engines, secrets), kubernetes: kubernetesTarget(new KubernetesClusters(fleet), secrets), ...targets };
  const nodes = createNodeActivities(fleet, factories, defaultTaskQueue, { ...(publishEvents.live !== undefined ? { sink: publishEvents.live } : {}), relay: eventRelay(client) });
  const nodeOf = (id: string) => fleet().nodes.find((n) => n.id === id);
  return {
    ...allHeartbeating(nodes),
    ...createDependencyActivities(
      {
        locate: async (nodeId, application) => (await nodes.locateNodes({ application, nodeIds: [nodeId] }))[nodeId]!,
        queueOf: (nodeId) => nodeOf(nodeId)?.taskQueue ?? defaultTaskQueue,
      },
      client,
    ),
  };
}

export function createActivities(deps: ActivityDeps) {
  const { fleet, kafka, producer, client, secrets, eventsTopic, recordsTopic, defaultTaskQueue, lockIdleMs, buildSources, publishEvents } = deps;
  const engines = new Engines(fleet);
  return {
    ...createInventoryActivities(fleet, defaultTaskQueue, buildSources.gitPrefixes),
    ...allHeartbeating(createBuildActivities(engines, () => fleet().registry.push, buildSources)),
    ...createEventActivities(publishEvents),
    ...createRecordActivities(producer, recordsTopic),
    ...createLockActivities(client, { taskQueue: defaultTaskQueue, ...(lockIdleMs !== undefined ? { idleMs: lockIdleMs } : {}) }),
    ...allHeartbeating(createHistoryActivities(client, defaultTaskQueue)),
    ...allHeartbeating(createRunActivities(client, publishedSeqReader(kafka, eventsTopic))),
    ...createNodeSideActivities(deps),
    // Served until no deployment of the first workflow shape runs (workflows/patches.ts).
    ...allHeartbeating(createLegacyDockerActivities(engines, secrets, () => fleet().nodes)),
    ...createLegacyHealthActivities(engines),
  };
}

export type Activities = ReturnType<typeof createActivities>;
