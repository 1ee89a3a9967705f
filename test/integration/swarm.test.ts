// Docker Swarm as a target, on the real local swarm of the stack (swarm-1..3, manager on
// swarm-1): the conformance suite (test/support/conformance.ts), with one service per chosen
// node placed there by hostname, a file delivered as a Swarm config and a secret as a Swarm
// secret. What runs where is asked of the manager itself (Engine API and `docker service ps`).
import { LABELS } from '../../src/core/labels';
import { conformance, engineStopTimes, type Platform } from '../support/conformance';
import { dockerOnManager, engineOfSwarmNode, hostnameOf, manager, removeSwarmApplication, runningTaskNodes, servicesOf, swarmNodes, tasksRunningOf } from '../support/swarm';

jest.setTimeout(600_000);

const swarm: Platform = {
  name: 'swarm',
  tag: 'sw',
  port: 18501,
  nodes: swarmNodes,
  nameOf: hostnameOf,
  refuseOn: (address) => `if ip -o addr | grep -q " ${address}/"; then exit 3; fi; `,
  container: { restartPolicy: 'no' },
  workloads: async (d, app) => (await servicesOf(d, app)).map((s) => ({ node: s.node, version: s.version, deploymentId: s.deploymentId, replicas: s.replicas })),
  specs: async (d, app) => (await servicesOf(d, app)).map((s) => [s.name, s.deploymentId, (s.spec as { TaskTemplate: unknown }).TaskTemplate]),
  // As an operator sees it: `docker service ps` places each running task.
  runningNodes: runningTaskNodes,
  runningOf: tasksRunningOf,
  graceSeconds: async (d, app) => (await servicesOf(d, app)).map((s) => (s.spec as { TaskTemplate: { ContainerSpec: { StopGracePeriod: number } } }).TaskTemplate.ContainerSpec.StopGracePeriod / 1e9),
  stopTimes: (d, _app, old, replace) => engineStopTimes(swarmNodes(d).map((n) => ({ node: hostnameOf(n), docker: engineOfSwarmNode(d, n) })), old, replace),
  graceSlackMs: 2000,
  secretMode: '400',
  secretPlaces: async (d, app) => {
    const m = manager(d);
    const [service] = await servicesOf(d, app);
    return {
      serviceInspect: JSON.stringify(await m.getService(service!.id).inspect()),
      // The secret exists, by name and labels; its value is not in them.
      secretList: JSON.stringify(await m.listSecrets({ filters: JSON.stringify({ label: [`${LABELS.application}=${app}`] }) })),
      serviceLs: dockerOnManager(d, 'service', 'ls', '--filter', `label=${LABELS.application}=${app}`, '--format', '{{.Name}} {{.Replicas}} {{.Image}}').join('\n'),
    };
  },
  leftovers: async (d, app) => [...(await servicesOf(d, app)).map((s) => `service/${s.name}`), ...(await runningTaskNodes(d, app)).map((n) => `task on ${n}`)],
  remove: removeSwarmApplication,
};

conformance(swarm);
