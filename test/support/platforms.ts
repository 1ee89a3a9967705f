// The three real targets of the stack, as the conformance suites ask them what runs
// (test/support/conformance.ts, conformance-faults.ts): the fog nodes' Docker Engines, the
// swarm and the Kubernetes cluster. Each says only how its own tooling reports what runs,
// how a node of it is stopped and started, and what a lost node means for a deployment.
import type { ContainerInspectInfo } from 'dockerode';
import { LABELS } from '../../src/core/labels';
import { engineStopTimes, onTheStack, type StackPlatform } from './conformance';
import { containersOf, engineNodes, removeApplication, waitFor, type TestDeployer } from './deployer';
import { kubeJson, kubelet, kubeNodes, kubectl, namespaceOf, nodeNameOf, objectsOf, readyPodNodes, removeKubeApplication, workloadsOf } from './kube';
import { stack } from './stack-control';
import { dockerOnManager, engineOfSwarmNode, hostnameOf, manager, removeSwarmApplication, runningTaskNodes, servicesOf, swarmNodes, tasksRunningOf } from './swarm';

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

export const dockerEngine: StackPlatform = {
  name: 'docker-engine',
  tag: 'de',
  port: 18961,
  ...onTheStack(engineNodes, (address) => `if ip -o addr | grep -q " ${address}/"; then exit 3; fi; `),
  nameOf: (n) => n.id,
  container: { restartPolicy: 'no' },
  workloads: async (d, app) => {
    const out = [];
    for (const node of engineNodes(d)) {
      // A node whose engine is down (a fault test) says nothing: it is left out, not an error.
      const list = await d.engines.node(node.id).listContainers({ filters: JSON.stringify({ label: [`${LABELS.application}=${app}`], status: ['running'] }) }).catch(() => []);
      if (list.length > 0) out.push({ node: node.id, version: list[0]!.Labels[LABELS.version]!, deploymentId: list[0]!.Labels[LABELS.deployment]!, replicas: list.length });
    }
    return out;
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
  faults: {
    port: 18971,
    perApp: 6,
    stop: (_d, node) => stack('stop', node.id),
    start: (_d, node) => stack('start', node.id),
    // The cause names the node; what it says depends on what the verify saw first: an engine
    // that stops stops its containers, then stops answering.
    lost: { phase: 'Failed', message: (node) => new RegExp(`^rollback incomplete on ${node.id}; cause: ${node.id}: (node '${node.id}' is unreachable|container .* on ${node.id} did not become healthy: stopped during verification)`), restoredWhileDown: false },
    checkLeft: async (d, app, succeeded) => {
      // Besides the running one, only the version it replaced, stopped, for a rollback without the registry.
      const [expected, replaced] = [succeeded.at(-1)!, succeeded.at(-2)];
      for (const [node, here] of Object.entries(await containersOf(d, app))) {
        expect([node, here.filter((c) => c.deploymentId !== expected).map((c) => [c.deploymentId, c.state])]).toEqual([node, replaced !== undefined ? [[replaced, 'exited']] : []]);
      }
    },
  },
};

export const swarm: StackPlatform = {
  name: 'swarm',
  tag: 'sw',
  port: 18501,
  ...onTheStack(swarmNodes, (address) => `if ip -o addr | grep -q " ${address}/"; then exit 3; fi; `),
  nameOf: hostnameOf,
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
  faults: {
    port: 18520,
    perApp: 5,
    stop: (_d, node) => stack('stop', node.id),
    start: (_d, node) => stack('start', node.id),
    // A service's spec lives in the swarm's manager, not on its node: the restore puts even the
    // unreachable node's service back at v1, which it runs when the node is back.
    // The cause names the node; what it says depends on what the verify saw first: an engine
    // that stops stops its containers, then stops answering.
    lost: { phase: 'RolledBack', message: (node) => new RegExp(`^rolled back: ${node.id}: (node '${node.id}' is unreachable|container .* on ${node.id} did not become healthy: stopped during verification)`), restoredWhileDown: true },
  },
};

const selector = (app: string) => `io.deployer.application=${app}`;

export const kubernetes: StackPlatform = {
  name: 'kube',
  tag: 'k8',
  port: 18601,
  // Never ready there: the server never listens, and the readiness probe fails.
  ...onTheStack(kubeNodes, (address) => `if ip -o addr | grep -q " ${address}/"; then exec sleep 3600; fi; `),
  nameOf: nodeNameOf,
  workloads: async (d, app) => workloadsOf(d, app).map((w) => ({ node: w.node, version: w.version, deploymentId: w.deploymentId, replicas: w.replicas })),
  specs: async (d, app) => workloadsOf(d, app).map((w) => w.template),
  // As an operator sees it: `kubectl get pods -o wide` places each ready pod.
  runningNodes: async (d, app) => readyPodNodes(d, app),
  runningOf: async (d, app, deploymentId) =>
    kubeJson(d, 'get', 'pods', '-l', selector(app))
      .items.filter((p) => p.metadata.annotations['io.deployer.deployment'] === deploymentId && p.status.phase === 'Running')
      .map((p) => p.spec.nodeName as string)
      .sort(),
  // Watched from the cluster while the new version replaces them: when each old pod is first
  // seen marked for deletion, and when first seen gone. Gone includes the kubelet reporting the
  // kill and the API server deleting the pod (about 1.5 s here): the slack leaves room for a
  // loaded machine and stays far below the default grace of 30 s.
  stopTimes: async (d, app, old, replace) => {
    const pods = () => kubeJson(d, 'get', 'pods', '-l', selector(app)).items;
    const before = pods().filter((p) => p.metadata.annotations['io.deployer.deployment'] === old).map((p) => ({ name: p.metadata.name as string, node: p.spec.nodeName as string }));
    const marked = new Map<string, number>();
    const gone = new Map<string, number>();
    const watching = waitFor('the old pods gone', () => {
      const at = Date.now();
      const now = pods();
      for (const { name } of before) {
        const p = now.find((x) => x.metadata.name === name);
        if (p === undefined) {
          if (!gone.has(name)) gone.set(name, at);
        } else if (p.metadata.deletionTimestamp !== undefined && !marked.has(name)) marked.set(name, at);
      }
      return gone.size === before.length;
    }, 120_000, 100);
    await Promise.all([replace(), watching]);
    return Object.fromEntries(before.map(({ name, node }) => [node, gone.get(name)! - (marked.get(name) ?? NaN)]));
  },
  graceSlackMs: 10_000,
  secretMode: '400',
  graceSeconds: async (d, app) => workloadsOf(d, app).map((w) => (w.template as { spec: { terminationGracePeriodSeconds: number } }).spec.terminationGracePeriodSeconds),
  checkRolledBack: async (d, app, version) => {
    // The previous revision itself runs again: the ReplicaSet of that version is the one with pods.
    const sets = kubeJson(d, 'get', 'replicasets', '-l', selector(app)).items.filter((s) => (s.spec.replicas ?? 0) > 0);
    expect(sets.map((s) => s.spec.template.metadata.annotations['io.deployer.version'])).toEqual(kubeNodes(d).map(() => version));
  },
  checkSecretStore: async (d, app, value) => {
    // The Secret holds the value (base64, as the API keeps it): the only place it is.
    const secrets = kubeJson<{ items: { data: Record<string, string> }[] }>(d, 'get', 'secrets', '-l', selector(app)).items;
    expect(secrets.map((x) => Buffer.from(x.data.APP_TOKEN!, 'base64').toString('utf8'))).toEqual([value]);
  },
  secretPlaces: async (d, app) => {
    const ns = namespaceOf(d);
    const secrets = kubeJson<{ items: { metadata: unknown }[] }>(d, 'get', 'secrets', '-l', selector(app)).items;
    return {
      // Everything in the namespace, as `kubectl get -o yaml` shows it, but the Secrets.
      objects: kubectl('-n', ns, 'get', 'deployments,replicasets,pods,configmaps,events', '-o', 'yaml'),
      secretLabelsOrAnnotations: JSON.stringify(secrets.map((x) => x.metadata)),
    };
  },
  leftovers: async (d, app) => objectsOf(d, app),
  remove: removeKubeApplication,
  faults: {
    port: 18620,
    perApp: 4,
    stop: (_d, node) => kubelet('stop', node),
    start: (_d, node) => kubelet('start', node),
    // The API server takes the previous revision back, but a restore is done only once the node
    // runs it again, and no pod on a node without its kubelet starts or stops.
    lost: { phase: 'Failed', message: (node) => new RegExp(`^rollback incomplete on ${node.id}; cause: .*${node.id}.*NotReady`), restoredWhileDown: false },
    checkLeft: async (d, app, succeeded) => {
      // Every pod that exists (running or not), per node: one, of the last success.
      const version = `v${succeeded.at(-1)!.split('-').at(-1)}`;
      const pods = () =>
        kubeJson(d, 'get', 'pods', '-l', selector(app))
          .items.filter((p) => p.metadata.deletionTimestamp === undefined)
          .map((p) => `${p.spec.nodeName}:${p.metadata.annotations['io.deployer.version']}`)
          .sort();
      await waitFor(`one pod of ${version} on each node`, () => pods().join() === kubeNodes(d).map((n) => `${nodeNameOf(n)}:${version}`).join(), 60_000);
    },
  },
};

