// The Kubernetes target against what an operator's script would do without the Deployer, on
// the local cluster's 2 nodes, round by round in one run: each round replaces the running
// version on every node. Two ways, same nodes, same program, same Deployment:
//   - the Deployer (Kafka request -> Succeeded event), one Deployment per node;
//   - a plain script making the same API calls (server-side apply of the renderer's
//     Deployment) and waiting for the new pods to be ready and to answer, all nodes at once.
// Each way has its own application and port, so they never share a Deployment.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubernetesClusters } from '../../activities/targets/kubernetes/clusters';
import { nodeIntent } from '../../src/core/intent';
import { LABELS } from '../../src/core/labels';
import { FIELD_MANAGER, KUBE_LABELS, renderWorkload, selectorLabels } from '../../src/core/renderers/kubernetes';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { waitFor } from '../support/deployer';
import { kubeNodes, nodeNameOf, removeKubeApplication } from '../support/kube';
import { median, type Bench } from './support';

const program = (port: number) => ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`];

export interface KubeResult {
  deployerMs: number[];
  plainMs: number[];
}

function request(app: string, port: number, round: number, nodes: string[], image: string) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${round}`,
    application: { name: app, version: `r${round}`, image },
    nodes,
    container: { command: program(port), stopGracePeriodMs: 1000 },
    healthCheck: { tcp: { port }, intervalMs: 50, healthyAfter: 1 },
    strategy: { maxParallel: nodes.length },
  };
}

const answers = (host: string, port: number) =>
  new Promise<boolean | undefined>((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(undefined)));
  });

async function viaDeployer(b: Bench, app: string, port: number, round: number, nodes: string[], image: string): Promise<number> {
  const producedAt = await b.produce(app, request(app, port, round, nodes, image));
  const end = await b.terminal(`${app}-${round}`);
  if (end.event.phase !== 'Succeeded') throw new Error(`${app}-${round} ended ${end.event.phase}: ${end.event.message}`);
  return end.receivedAt - producedAt;
}

/** The Kubernetes target's calls without Temporal or Kafka: apply the same Deployment, wait for its new pods to be ready, probe. */
async function viaPlainScript(clusters: KubernetesClusters, b: Bench, app: string, port: number, round: number, image: string): Promise<number> {
  const started = performance.now();
  const nodes = kubeNodes(b.d);
  const intent = nodeIntent(deployRequestSchema.parse(request(app, port, round, nodes.map((n) => n.id), image)), image);
  await Promise.all(nodes.map(async (node) => {
    const { objects, core, cluster } = clusters.of(node);
    const { deployment } = renderWorkload(intent, nodeNameOf(node), cluster.namespace);
    const body = { ...deployment, spec: { ...deployment.spec, template: { ...deployment.spec.template, metadata: { ...deployment.spec.template.metadata, annotations: { ...deployment.spec.template.metadata.annotations, [KUBE_LABELS.apply]: randomUUID() } } } } };
    await objects.patch(body as KubernetesObject, undefined, undefined, FIELD_MANAGER, true, 'application/apply-patch+yaml');
    const selector = Object.entries(selectorLabels(app, nodeNameOf(node))).map(([k, v]) => `${k}=${v}`).join(',');
    await waitFor(`${deployment.metadata.name} round ${round}`, async () => {
      const pods = (await core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: selector })).items;
      const ready = pods.some((p) => p.metadata?.annotations?.[LABELS.deployment] === intent.deploymentId && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready ? answers(node.address, port) : undefined;
    }, 60_000, 50);
  }));
  return performance.now() - started;
}

export async function kubernetesBench(b: Bench, rounds: number): Promise<KubeResult> {
  const stamp = Date.now().toString(36);
  const apps = { deployer: `bench-k8d-${stamp}`, plain: `bench-k8p-${stamp}` };
  const ports = { deployer: 18690, plain: 18691 };
  const nodes = kubeNodes(b.d).map((n) => n.id);
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  const clusters = new KubernetesClusters(() => b.d.inventory);
  const result: KubeResult = { deployerMs: [], plainMs: [] };
  try {
    // Round 0 creates each way's Deployments (the image reaches every node); it is not measured.
    await viaDeployer(b, apps.deployer, ports.deployer, 0, nodes, image);
    await viaPlainScript(clusters, b, apps.plain, ports.plain, 0, image);
    for (let r = 1; r <= rounds; r++) {
      // Alternate which goes first, so drift on the machine hits both alike.
      const ways = [
        async () => result.deployerMs.push(await viaDeployer(b, apps.deployer, ports.deployer, r, nodes, image)),
        async () => result.plainMs.push(await viaPlainScript(clusters, b, apps.plain, ports.plain, r, image)),
      ];
      for (let i = 0; i < ways.length; i++) await ways[(i + r) % ways.length]!();
      console.log(`  kubernetes round ${r}: deployer ${result.deployerMs.at(-1)!.toFixed(0)} ms, plain ${result.plainMs.at(-1)!.toFixed(0)} ms`);
    }
    return result;
  } finally {
    for (const app of Object.values(apps)) await removeKubeApplication(b.d, app);
  }
}

export function describeKubernetes(r: KubeResult): string {
  const ratios = r.deployerMs.map((t, i) => t / r.plainMs[i]!);
  return [
    `kubernetes, a new version on 2 Kubernetes nodes at once, ${ratios.length} rounds (median):`,
    `  deployer (Kafka request -> Succeeded event)          ${median(r.deployerMs).toFixed(0)} ms`,
    `  plain script (same server-side applies)              ${median(r.plainMs).toFixed(0)} ms`,
    `  ratio deployer / plain                               ${median(ratios).toFixed(2)}  (per round: ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
  ].join('\n');
}
