// The bare Docker Engine as a target, on the real fog nodes of the stack (fog-1..3, each its
// own engine): the conformance suite (test/support/conformance.ts), with one container per
// replica on each chosen node, a file and a secret delivered into it. What runs where is
// asked of each node's engine itself.
import type { ContainerInspectInfo } from 'dockerode';
import { LABELS } from '../../src/core/labels';
import { conformance, engineStopTimes, type Platform } from '../support/conformance';
import { containersOf, engineNodes, removeApplication, type TestDeployer } from '../support/deployer';

jest.setTimeout(600_000);

/** The application's containers on each node, as its engine lists them, with their inspect. */
async function inspected(d: TestDeployer, app: string) {
  const out: { node: string; running: boolean; inspect: ContainerInspectInfo }[] = [];
  for (const node of engineNodes(d)) {
    const docker = d.engines.node(node.id);
    const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.application}=${app}`] }) });
    for (const c of list) out.push({ node: node.id, running: c.State === 'running', inspect: await docker.getContainer(c.Id).inspect() });
  }
  return out;
}

const dockerEngine: Platform = {
  name: 'docker-engine',
  tag: 'de',
  port: 18961,
  nodes: engineNodes,
  nameOf: (n) => n.id,
  refuseOn: (address) => `if ip -o addr | grep -q " ${address}/"; then exit 3; fi; `,
  container: { restartPolicy: 'no' },
  workloads: async (d, app) => {
    const containers = await containersOf(d, app);
    return Object.entries(containers)
      .map(([node, list]) => ({ node, running: list.filter((c) => c.state === 'running') }))
      .filter(({ running }) => running.length > 0)
      .map(({ node, running }) => ({ node, version: running[0]!.version, deploymentId: running[0]!.deploymentId, replicas: running.length }));
  },
  // The running container of each node: the same one again after a rollback (its id), with the same configuration.
  specs: async (d, app) =>
    (await inspected(d, app))
      .filter((c) => c.running)
      .map((c) => [c.node, c.inspect.Id, c.inspect.Config.Image, c.inspect.Config.Cmd, c.inspect.Config.Labels, c.inspect.HostConfig.RestartPolicy]),
  runningNodes: async (d, app) => (await inspected(d, app)).filter((c) => c.running).map((c) => c.node).sort(),
  runningOf: async (d, app, deploymentId) =>
    Object.entries(await containersOf(d, app))
      .filter(([, list]) => list.some((c) => c.deploymentId === deploymentId && c.state === 'running'))
      .map(([node]) => node)
      .sort(),
  graceSeconds: async (d, app) => (await inspected(d, app)).filter((c) => c.running).map((c) => (c.inspect.Config as { StopTimeout?: number }).StopTimeout ?? 10),
  stopTimes: (d, _app, old, replace) => engineStopTimes(engineNodes(d).map((n) => ({ node: n.id, docker: d.engines.node(n.id) })), old, replace),
  graceSlackMs: 2000,
  secretMode: '400',
  secretPlaces: async (d, app) => ({ containerInspect: JSON.stringify((await inspected(d, app)).map((c) => c.inspect)) }),
  leftovers: async (d, app) => (await inspected(d, app)).map((c) => `${c.node}: ${c.inspect.Name}`),
  remove: removeApplication,
};

conformance(dockerEngine);
