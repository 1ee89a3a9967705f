// What the Deployer's identity may do on the real local cluster, and what its namespace lets
// a pod do. The identity (user "deployer", the inventory's credentials) holds exactly the
// permissions the Kubernetes target's calls need, as the API server itself lists them, and
// none of the ones that would reach past its namespace or its pods' sandbox. Its namespace
// refuses what Pod Security's baseline refuses, asked of the API server's own Pod Security
// in a namespace of its own, but the host network and host ports, how the target publishes
// an application on its node. A Deploy whose node's allow in the inventory permits more
// than the namespace admits fails before anything is applied, with the namespace's reason.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { kubeConfigOf, said, statusOfKube } from '../../activities/targets/kubernetes/clusters';
import { loadConfig } from '../../src/config';
import { workloadName } from '../../src/core/renderers/kubernetes';
import { loadInventory } from '../../src/inventory';
import { nodeAllowSchema, type Inventory, type KubernetesCluster } from '../../src/core/schemas/inventory';
import { startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { adminKubeConfig, kubeNodes, nodeNameOf, objectsOf, removeKubeApplication } from '../support/kube';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
/** Never bound: the pods that carry it are asked about in dry runs only. */
const hostPort = 18655;
const apps: string[] = [];
let dir: string;
let d: TestDeployer;
let cluster: KubernetesCluster;
/** The API as the Deployer (the inventory's credentials) and as the cluster's admin. */
let deployer: { core: CoreV1Api; auth: AuthorizationV1Api };
let admin: CoreV1Api;
let busybox: string;
/** A namespace of this run under Pod Security Admission's own baseline, for comparison. */
const baselineNs = `it-kacc-${stamp}-baseline`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kube-access-'));
  const stack = loadInventory(loadConfig(process.env).inventoryPath);
  const first = stack.nodes.find((n) => n.target.kind === 'kubernetes')!;
  // The first Kubernetes node allows privileged mode in the inventory, which its namespace does not admit.
  const inventory: Inventory = { ...stack, nodes: stack.nodes.map((n) => (n.id === first.id ? { ...n, allow: nodeAllowSchema.parse({ privileged: true }) } : n)) };
  const path = join(dir, 'inventory.json');
  writeFileSync(path, JSON.stringify(inventory, null, 2));
  d = await startDeployer('kube-access', { inventoryPath: path });
  cluster = d.inventory.clusters[0]!;
  const kc = kubeConfigOf(cluster);
  deployer = { core: kc.makeApiClient(CoreV1Api), auth: kc.makeApiClient(AuthorizationV1Api) };
  admin = adminKubeConfig().makeApiClient(CoreV1Api);
  busybox = `${d.inventory.registry.pull}/busybox:1`;
  await admin.createNamespace({ body: { metadata: { name: baselineNs, labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } } });
  // A pod is refused until its namespace's default ServiceAccount exists, with a 403 of its own.
  await waitFor(`the default ServiceAccount of ${baselineNs}`, () => admin.readNamespacedServiceAccount({ name: 'default', namespace: baselineNs }).catch(() => undefined));
});

afterAll(async () => {
  if (d) {
    for (const app of apps) await removeKubeApplication(d, app);
    await d.stop();
  }
  await admin?.deleteNamespace({ name: baselineNs }).catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Access = { verb: string; resource: string; group?: string; subresource?: string; namespace?: string; name?: string };
const show = (a: Access) => `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}${a.name ? ` ${a.name}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`;

/** What the API server answers the Deployer's identity when it asks whether it may (SelfSubjectAccessReview). */
async function may(a: Access): Promise<boolean> {
  const review = await deployer.auth.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { ...a, group: a.group ?? '' } } } });
  return review.status?.allowed === true;
}

describe("the Deployer's identity on the cluster", () => {
  it('may do in its namespace exactly what the Kubernetes target calls, as the API server lists its rules', async () => {
    const review = await deployer.auth.createSelfSubjectRulesReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: cluster.namespace } } });
    // One line per verb and resource; every signed-in user may ask who it is and what it may do (system:basic-user).
    const selfReviews = new Set(['authorization.k8s.io', 'authentication.k8s.io']);
    const granted = review.status!.resourceRules.flatMap((r) =>
      (r.apiGroups ?? []).filter((g) => !selfReviews.has(g)).flatMap((g) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${v} ${res}${g ? `.${g}` : ''}${r.resourceNames?.length ? ` ${r.resourceNames.join(',')}` : ''}`))),
    );
    expect([...new Set(granted)].sort()).toEqual(
      [
        // activities/targets/kubernetes/target.ts: read, list, server-side apply (a patch, and a create for a new object), scale (a patch), delete.
        ...['get', 'list', 'create', 'patch', 'delete'].map((v) => `${v} deployments.apps`),
        // The revisions a restore goes back to.
        'list replicasets.apps',
        // The Deployment's pods, and one-shot pods (checks, tests, the dry run of a Deployment's pod).
        ...['get', 'list', 'create', 'delete'].map((v) => `${v} pods`),
        ...['list', 'create', 'patch', 'delete'].flatMap((v) => [`${v} configmaps`, `${v} secrets`]),
        'get pods/log',
        'get pods/exec',
        'create pods/exec',
        // Cluster-wide: a node's readiness and platform.
        'get nodes',
      ].sort(),
    );
  });

  it('may read the kubelets\' leases, and nothing beyond its namespace and its pods', async () => {
    const ns = cluster.namespace;
    expect(await may({ verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease' })).toBe(true);
    const never: Access[] = [
      // Other namespaces: their secrets and workloads.
      { verb: 'get', resource: 'secrets', namespace: 'kube-system' },
      { verb: 'list', resource: 'secrets', namespace: 'default' },
      { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'default' },
      { verb: 'create', resource: 'pods', namespace: 'kube-system' },
      // More rights for itself, or a token of another identity.
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: ns },
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: ns },
      { verb: 'impersonate', resource: 'users' },
      // Its namespace's pod security: the namespace's label, the policy and its binding.
      { verb: 'patch', resource: 'namespaces', name: ns },
      { verb: 'delete', group: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicybindings', name: 'baseline-host-network' },
      { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicies', name: 'baseline-host-network' },
      // The nodes: every one at once, or changed (cordoned, relabelled), or reached past the API's checks.
      { verb: 'list', resource: 'nodes' },
      { verb: 'patch', resource: 'nodes', name: nodeNameOf(kubeNodes(d)[0]!) },
      { verb: 'get', resource: 'nodes', subresource: 'proxy', name: nodeNameOf(kubeNodes(d)[0]!) },
      // In its namespace, what the target never calls: a debug container (past the pod's own spec), a port forward, watching.
      { verb: 'patch', resource: 'pods', subresource: 'ephemeralcontainers', namespace: ns },
      { verb: 'create', resource: 'pods', subresource: 'portforward', namespace: ns },
      { verb: 'create', resource: 'pods', subresource: 'attach', namespace: ns },
      { verb: 'watch', resource: 'secrets', namespace: ns },
      { verb: 'update', group: 'apps', resource: 'deployments', namespace: ns },
    ];
    const allowed = [];
    for (const a of never) if (await may(a)) allowed.push(show(a));
    expect(allowed).toEqual([]);
  });
});

/** A pod of one container and the options under test, with no node unless the spec names one (the cluster has no scheduler). */
function pod(name: string, spec: Record<string, unknown> = {}, container: Record<string, unknown> = {}, annotations?: Record<string, string>): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: busybox, ...container }], ...spec } } as V1Pod;
}

/** 'admitted', or the API server's refusal in its words (a 403: admission's, not a malformed pod's). */
async function verdict(core: CoreV1Api, namespace: string, body: V1Pod): Promise<string> {
  try {
    await core.createNamespacedPod({ namespace, body, dryRun: 'All' });
    return 'admitted';
  } catch (err) {
    if (statusOfKube(err) !== 403) throw new Error(`${body.metadata!.name} in ${namespace}: ${said(err)}`);
    return said(err);
  }
}

describe("the Deployer's namespace: Pod Security baseline but for the host network and host ports", () => {
  it('refuses a privileged pod the Deployer creates there, with a 403 that says which rule', async () => {
    const name = `it-kacc-${stamp}-privileged`;
    const body = pod(name, { nodeName: nodeNameOf(kubeNodes(d)[0]!) }, { command: ['sleep', '3600'], securityContext: { privileged: true } });
    let answer: unknown;
    try {
      await deployer.core.createNamespacedPod({ namespace: cluster.namespace, body });
      answer = 'created';
      await deployer.core.deleteNamespacedPod({ name, namespace: cluster.namespace, gracePeriodSeconds: 0 });
    } catch (err) {
      answer = [statusOfKube(err), said(err)];
    }
    expect(answer).toEqual([403, expect.stringMatching(/^HTTP 403: pods ".*" is forbidden: .*Pod Security baseline: no container may set securityContext\.privileged to true$/)]);
  });

  // One pod per check of Pod Security's baseline (k8s.io/pod-security-admission's policy/check_*.go), and ones each check lets through.
  const cases: { name: string; pod: () => V1Pod; baseline: 'admitted' | 'refused'; here: 'admitted' | 'refused' }[] = [
    { name: 'plain', pod: () => pod('plain'), baseline: 'admitted', here: 'admitted' },
    { name: 'host network', pod: () => pod('hostnet', { hostNetwork: true }), baseline: 'refused', here: 'admitted' },
    { name: 'host port', pod: () => pod('hostport', {}, { ports: [{ containerPort: hostPort, hostPort }] }), baseline: 'refused', here: 'admitted' },
    { name: 'host PID', pod: () => pod('hostpid', { hostPID: true }), baseline: 'refused', here: 'refused' },
    { name: 'host IPC', pod: () => pod('hostipc', { hostIPC: true }), baseline: 'refused', here: 'refused' },
    { name: 'privileged', pod: () => pod('privileged', {}, { securityContext: { privileged: true } }), baseline: 'refused', here: 'refused' },
    { name: 'privileged init container', pod: () => pod('privinit', { initContainers: [{ name: 'i', image: busybox, securityContext: { privileged: true } }] }), baseline: 'refused', here: 'refused' },
    { name: 'a default capability', pod: () => pod('capok', {}, { securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } } }), baseline: 'admitted', here: 'admitted' },
    { name: 'SYS_ADMIN', pod: () => pod('capadmin', {}, { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }), baseline: 'refused', here: 'refused' },
    { name: 'NET_ADMIN', pod: () => pod('capnet', {}, { securityContext: { capabilities: { add: ['NET_ADMIN'] } } }), baseline: 'refused', here: 'refused' },
    { name: 'hostPath volume', pod: () => pod('hostpath', { volumes: [{ name: 'h', hostPath: { path: '/' } }] }), baseline: 'refused', here: 'refused' },
    { name: 'Windows host process', pod: () => pod('winhost', { hostNetwork: true, securityContext: { windowsOptions: { hostProcess: true } } }), baseline: 'refused', here: 'refused' },
    { name: 'unmasked /proc in a user namespace', pod: () => pod('procuns', { hostUsers: false }, { securityContext: { procMount: 'Unmasked' } }), baseline: 'admitted', here: 'admitted' },
    { name: 'seccomp unconfined (pod)', pod: () => pod('seccomppod', { securityContext: { seccompProfile: { type: 'Unconfined' } } }), baseline: 'refused', here: 'refused' },
    { name: 'seccomp unconfined (container)', pod: () => pod('seccompc', {}, { securityContext: { seccompProfile: { type: 'Unconfined' } } }), baseline: 'refused', here: 'refused' },
    { name: 'seccomp RuntimeDefault', pod: () => pod('seccompok', {}, { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }), baseline: 'admitted', here: 'admitted' },
    { name: 'AppArmor unconfined (pod)', pod: () => pod('aapod', { securityContext: { appArmorProfile: { type: 'Unconfined' } } }), baseline: 'refused', here: 'refused' },
    { name: 'AppArmor unconfined (container)', pod: () => pod('aac', {}, { securityContext: { appArmorProfile: { type: 'Unconfined' } } }), baseline: 'refused', here: 'refused' },
    { name: 'AppArmor unconfined (annotation)', pod: () => pod('aaann', {}, {}, { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' }), baseline: 'refused', here: 'refused' },
    { name: 'AppArmor runtime/default (annotation)', pod: () => pod('aaannok', {}, {}, { 'container.apparmor.security.beta.kubernetes.io/c': 'runtime/default' }), baseline: 'admitted', here: 'admitted' },
    { name: 'SELinux type spc_t', pod: () => pod('setype', { securityContext: { seLinuxOptions: { type: 'spc_t' } } }), baseline: 'refused', here: 'refused' },
    { name: 'SELinux user', pod: () => pod('seuser', {}, { securityContext: { seLinuxOptions: { user: 'system_u' } } }), baseline: 'refused', here: 'refused' },
    { name: 'SELinux container_t and a level', pod: () => pod('seok', {}, { securityContext: { seLinuxOptions: { type: 'container_t', level: 's0:c1' } } }), baseline: 'admitted', here: 'admitted' },
    { name: 'unsafe sysctl', pod: () => pod('sysbad', { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] } }), baseline: 'refused', here: 'refused' },
    { name: 'safe sysctl', pod: () => pod('sysok', { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_notsent_lowat', value: '16384' }] } }), baseline: 'admitted', here: 'admitted' },
    { name: 'probe aimed at another host', pod: () => pod('probehost', {}, { readinessProbe: { httpGet: { port: 80, host: '10.0.0.1' } } }), baseline: 'refused', here: 'refused' },
    { name: 'hook aimed at another host', pod: () => pod('hookhost', {}, { lifecycle: { preStop: { tcpSocket: { port: 80, host: '10.0.0.1' } } } }), baseline: 'refused', here: 'refused' },
  ];

  it("refuses what Pod Security Admission's own baseline refuses, with the rule's words, and admits the host network and host ports", async () => {
    const judged = [];
    for (const c of cases) {
      const baseline = await verdict(admin, baselineNs, c.pod());
      const here = await verdict(deployer.core, cluster.namespace, c.pod());
      judged.push({ name: c.name, baseline: baseline === 'admitted' ? baseline : 'refused', here: here === 'admitted' ? here : /Pod Security baseline: /.test(here) ? 'refused' : here });
    }
    // The baseline column is the API server's own Pod Security: each case does exercise what it names.
    expect(judged).toEqual(cases.map(({ name, baseline, here }) => ({ name, baseline, here })));
  });
});

describe('a Deploy to a Kubernetes node whose allow in the inventory permits more than its namespace admits', () => {
  it('fails the node before anything is applied, with the namespace\'s reason and what to do', async () => {
    const app = `it-kacc-${stamp}-priv`;
    apps.push(app);
    const node = kubeNodes(d)[0]!;
    await d.send({
      kind: 'Deploy',
      deploymentId: `${app}-1`,
      application: { name: app, version: '1', image: busybox },
      nodes: [node.id],
      container: { command: ['sleep', '3600'], privileged: true },
      healthCheck: { exec: { command: ['true'] }, deadlineMs: 20_000 },
    });
    const events = await d.terminal(`${app}-1`);
    const refused = `^failed: namespace ${cluster.namespace} of cluster ${cluster.id} does not admit the pods of deployment ${workloadName(app, nodeNameOf(node))} on ${node.id}: HTTP 403: .*Pod Security baseline: no container may set securityContext\\.privileged to true\\. What a node's allow in the inventory permits, its namespace must admit too: `;
    // The node says why, and neither configured nor deployed anything; so nothing was there to remove.
    expect(events.filter((e) => e.node === node.id).map((e) => [e.phase, e.message])).toEqual([
      ['RollingBack', expect.stringMatching(new RegExp(refused))],
      ['RollingBack', 'removed nothing; restarted nothing'],
    ]);
    expect(events.at(-1)!.phase).toBe('RolledBack');
    expect(objectsOf(d, app)).toEqual([]);
  });
});
