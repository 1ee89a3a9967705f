// Kubernetes as a target, on the real local cluster of the stack (a real API server, real
// kubelets with containerd on kube-1 and kube-2): the conformance suite
// (test/support/conformance.ts), with one Deployment per chosen node pinned there by
// nodeName, a file delivered in a ConfigMap and a secret from a Secret. What runs where is
// asked of the cluster itself, with kubectl.
import { conformance, type Platform } from '../support/conformance';
import { waitFor } from '../support/deployer';
import { kubeJson, kubeNodes, kubectl, namespaceOf, nodeNameOf, objectsOf, readyPodNodes, removeKubeApplication, workloadsOf } from '../support/kube';

jest.setTimeout(600_000);

const selector = (app: string) => `io.deployer.application=${app}`;

const kubernetes: Platform = {
  name: 'kube',
  tag: 'k8',
  port: 18601,
  nodes: kubeNodes,
  nameOf: nodeNameOf,
  // Never ready there: the server never listens, and the readiness probe fails.
  refuseOn: (address) => `if ip -o addr | grep -q " ${address}/"; then exec sleep 3600; fi; `,
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
};

conformance(kubernetes);
